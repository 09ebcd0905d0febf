"""phase_sweep against a loop of torch.optim.Adam over the same configurations.

The workload is the digits MLP of the validation suite (64-128-10, d = 9,610, standardised sklearn
digits, cross-entropy): a grid of K = len(beta2) x len(beta1) x seeds configurations at
each batch size, trained for ``--steps`` steps. Both routes are timed in the same run on
the same batches (``sweep_batch_indices``):

* ``phase_sweep`` (stacked copies, one vmapped forward/backward per step, vectorised
  Adam), with the full-data loss recorded only at the start and the end;
* the peer: for each configuration, a fresh module and ``torch.optim.Adam``, stepping
  through the same mini-batches (``zero_grad``, forward, ``backward``, ``step``).

Prints microseconds per configuration-step for each route and the ratio peer / sweep
(> 1: the sweep is faster). Torch runs with ``--threads`` intra-op threads (1 by
default: on a shared machine more threads mostly add contention; say what you used).

    python benchmarks/bench_sweep.py [--batch-sizes 1,32] [--steps 100] [--betas 8] [--seeds 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from adamcheck.torch import phase_sweep, sweep_batch_indices


def data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32), y


def model_fn(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def loss_fn(out, y):
    return torch.nn.functional.cross_entropy(out, y)


def sweep_seconds(X, y, B: int, beta1, beta2, seeds: int, steps: int) -> float:
    t = time.perf_counter()
    phase_sweep(model_fn, loss_fn, (X, y), batch_sizes=[B], beta1=beta1, beta2=beta2, lr=1e-3, seeds=seeds,
                steps=steps, record_every=steps, grad_norms=False, progress=False)
    return time.perf_counter() - t


def loop_seconds(X, y, B: int, beta1, beta2, seeds: int, steps: int) -> float:
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    t = time.perf_counter()
    for s in range(seeds):
        batches = [torch.as_tensor(r) for r in sweep_batch_indices(len(X), B, s, steps)]
        for b1 in beta1:
            for b2 in beta2:
                model = model_fn(s)
                opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(b1, b2))
                for idx in batches:
                    opt.zero_grad()
                    loss_fn(model(Xt[idx]), yt[idx]).backward()
                    opt.step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-sizes", default="1,32")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--betas", type=int, default=8, help="beta2 values (beta1 in {0, 0.9})")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    X, y = data()
    beta1 = [0.0, 0.9]
    beta2 = list(np.linspace(0.1, 0.999, args.betas))
    K = len(beta1) * len(beta2) * args.seeds
    rows = []
    for B in [int(b) for b in args.batch_sizes.split(",")]:
        sweep_seconds(X, y, B, beta1, beta2[:1], 1, 2)  # warm-up (imports, first vmap)
        s = sweep_seconds(X, y, B, beta1, beta2, args.seeds, args.steps)
        p = loop_seconds(X, y, B, beta1, beta2, args.seeds, args.steps)
        per = K * args.steps
        rows.append({"batch_size": B, "configurations": K, "steps": args.steps,
                     "sweep_us": s / per * 1e6, "loop_us": p / per * 1e6, "ratio_loop_over_sweep": p / s})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"digits MLP 64-128-10, {K} configurations x {args.steps} steps, torch threads = {args.threads}")
    print(f"{'B':>5} {'sweep us/config-step':>22} {'Adam loop us/config-step':>26} {'loop / sweep':>13}")
    for r in rows:
        print(f"{r['batch_size']:>5} {r['sweep_us']:>22.1f} {r['loop_us']:>26.1f} {r['ratio_loop_over_sweep']:>13.2f}")


if __name__ == "__main__":
    main()
