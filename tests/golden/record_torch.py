"""Record golden torch.optim.Adam/AdamW trajectories for the parity tests.

Run from the repository root with torch installed:

    python tests/golden/record_torch.py

It writes tests/golden/torch_adam.npz: for least squares and logistic regression on
small random data (tests/torch_reference.parity_data), eight random settings each
(tests/torch_reference.parity_cases: with and without weight decay, Adam and
AdamW), 1000 steps over the mini-batch sequence of the simulator's own sampler
(replacement sampling, seed 0), float64, every 10th iterate. The file records the torch version.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from torch_reference import parity_cases, parity_data, torch_trajectory  # noqa: E402

from adamcheck.simulator import sample_components  # noqa: E402

STEPS = 1000
BATCH = 8
EVERY = 10  # keep every 10th iterate (and the last): the file stays small


def main() -> None:
    import torch

    arrays = {
        "torch_version": np.array(torch.__version__),
        "steps": np.array(STEPS),
        "batch_size": np.array(BATCH),
        "every": np.array(EVERY),
    }
    for kind in ("lsq", "logistic"):
        X, y = parity_data(kind)
        n = -(-X.shape[0] // BATCH)
        comps = sample_components(n, "replacement", np.array([0]), 1, STEPS)[:, 0]
        arrays[f"{kind}_X"], arrays[f"{kind}_y"] = X, y
        for i, case in enumerate(parity_cases()):
            traj = torch_trajectory(kind, X, y, BATCH, comps, **case)
            arrays[f"{kind}_{i}"] = traj[::EVERY]
    out = Path(__file__).with_name("torch_adam.npz")
    np.savez_compressed(out, **arrays)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
