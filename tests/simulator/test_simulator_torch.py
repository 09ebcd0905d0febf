"""Parity with torch.optim.Adam / AdamW: live when torch is importable, golden otherwise.

Every `torch`-convention trajectory equals torch's on the same mini-batch sequence
to relative 1e-12 in float64 over 1000 steps, for random betas, lr and eps, with and
without weight decay, Adam and AdamW (the simulator issue's parity requirement).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adamcheck.problems import LeastSquares, LogisticRegression
from adamcheck.simulator import sample_components, simulate

from torch_reference import parity_cases, parity_data, torch_trajectory

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "torch_adam.npz"
CLASSES = {"lsq": LeastSquares, "logistic": LogisticRegression}


def _ours(kind, X, y, case, steps=1000, batch=8):
    res = simulate(CLASSES[kind](X, y, batch_size=batch), steps=steps, convention="torch",
                   sampling="replacement", schedule="constant", seed=0, record_every=1, **case)
    return res.trajectory[:, 0, :]


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("kind", ["lsq", "logistic"])
def test_golden_torch_trajectories(kind):
    golden = np.load(GOLDEN, allow_pickle=False)
    every = int(golden["every"])
    X, y = golden[f"{kind}_X"], golden[f"{kind}_y"]
    for i, case in enumerate(parity_cases()):
        ours = _ours(kind, X, y, case)[::every]
        assert _rel(ours, golden[f"{kind}_{i}"]) < 1e-12, (kind, i, case)


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["lsq", "logistic"])
def test_live_torch_parity(kind):
    X, y = parity_data(kind, seed=1)
    n = -(-X.shape[0] // 8)
    comps = sample_components(n, "replacement", np.array([0]), 1, 1000)[:, 0]
    for case in parity_cases(seed=7, count=4):
        ref = torch_trajectory(kind, X, y, 8, comps, **case)
        ours = _ours(kind, X, y, case)
        assert _rel(ours, ref) < 1e-12, case


@pytest.mark.torch
def test_live_torch_parity_cyclic_and_x0():
    X, y = parity_data("lsq", seed=2)
    n = -(-X.shape[0] // 6)
    comps = np.arange(600) % n
    x0 = np.linspace(-1, 1, X.shape[1])
    case = dict(beta1=0.3, beta2=0.97, lr=0.03, eps=1e-6, weight_decay=0.02, decoupled=True)
    ref = torch_trajectory("lsq", X, y, 6, comps, x0=x0, **case)
    res = simulate(LeastSquares(X, y, batch_size=6), steps=600, convention="torch", sampling="cyclic",
                   schedule="constant", x0=x0, record_every=1, **case)
    assert _rel(res.trajectory[:, 0, :], ref) < 1e-12
