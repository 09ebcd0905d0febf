"""Held-out check: the suite's method, unchanged, on a problem none of its constants saw.

``--problem breast_cancer`` (default): scikit-learn's breast-cancer data (569 x 30,
standardised, stratified 80/20 split), logistic regression with the mean loss, as issue 21
describes it. ``--problem randhie_mlp``: statsmodels' RAND health-insurance experiment data
(20,190 x 9 features), an MLP 9-32-1 (tanh) regressing log(1 + medical visits) with the mean
squared error (target standardised on the training split): a non-convex regression, a model
class the suite has not got. Both: batch sizes 1, 2, 4, 8, 16;
learning rates 0.1/sqrt(k) and constant 1e-3; beta1 0 and 0.9; 3,000 steps; 3 seeds. Real
labels, the file lens, the probe and the recommendation are computed and scored exactly as
``run.py`` does for a suite panel (same functions, same defaults). The problem is not in
``problems.PROBLEMS`` and nothing in adamcheck was set on it.

    python benchmarks/validity/heldout.py --out /tmp/adamcheck_heldout      # about 10 min on 2 busy cores
    python benchmarks/validity/heldout.py --problem randhie_mlp --out /tmp/adamcheck_heldout_randhie
    python benchmarks/validity/report.py /tmp/adamcheck_heldout/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402
from problems import Problem, _binary_logistic, _regression_split  # noqa: E402

SIZES = [1, 2, 4, 8, 16]
LRS = [(0.1, "inv-sqrt"), (1e-3, "constant")]


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return _binary_logistic("heldout_breast_cancer", "logistic regression, scikit-learn breast cancer (569 x 30)",
                            X, y.astype(float))


def randhie_mlp(hidden: int = 32) -> Problem:
    import statsmodels.api as sm
    import torch

    data = sm.datasets.randhie.load_pandas().data
    y = np.log1p(data["mdvis"].to_numpy(dtype=float))
    X = data.drop(columns=["mdvis"]).to_numpy(dtype=float)
    Xtr, Xte, ytr, yte = _regression_split(X, y)
    f = Xtr.shape[1]

    def model_fn(seed: int):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(f, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

    def loss_fn(out, target):
        return ((out[..., 0] - target) ** 2).mean()

    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Problem("heldout_randhie_mlp", f"MLP {f}-{hidden}-1 regression (MSE), statsmodels randhie (20,190 x {f})",
                   t(Xtr), t(ytr), t(Xte), t(yte), model_fn, loss_fn, loss_fn, None, f * hidden + 2 * hidden + 1)


HELDOUT = {"breast_cancer": breast_cancer, "randhie_mlp": randhie_mlp}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", choices=sorted(HELDOUT), default="breast_cancer")
    ap.add_argument("--out", default="/tmp/adamcheck_heldout")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-probe", action="store_true")
    a = ap.parse_args(argv)
    out = Path(a.out)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    problem = HELDOUT[a.problem]()
    results = []
    for lr, schedule in LRS:
        labels = run.real_labels(problem, [lr], schedule, [0.0, 0.9], a.steps, a.seeds, SIZES, cache, True)
        G = run.gradients(problem, lr, schedule, a.steps, cache)
        for i, b1 in enumerate([0.0, 0.9]):
            r = run.score_panel(problem, lr, schedule, b1, a.steps, a.seeds, SIZES, labels, 0, i, G, out, cache,
                                True, not a.no_probe, True)
            results.append(r)
            (out / "results.json").write_text(json.dumps(results, indent=1))
            print(f"lr {lr:g} {schedule} b1 {b1:g}: file acc {r['file']['accuracy']} cov {r['file']['coverage']:.2f} "
                  f"real {r['real_critical']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
