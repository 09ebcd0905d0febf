"""Simulator throughput on the 1-D counterexample over a 256 x 256 (beta1, beta2) grid.

Prints nanoseconds per run-step (median of repeats) for three routes measured in
the same run, and the ratios between them:

* adamcheck's engine (``adamcheck.simulate``), with 1 worker and with every core;
* a straightforward vectorised NumPy loop over the same grid (new arrays every step,
  the same sampled component for every run as the engine's common random numbers);
* torch.optim.Adam looped one configuration at a time (gradient assigned directly,
  the cheapest honest use of torch), if torch is installed.

The peers' cost per run-step does not depend on the state, so they are timed over
fewer steps than the engine; the engine's cost does (runs that stay in the linear
piece take the shared-moment path), so it runs the full horizon and the share of
run-steps on each path is printed.

    python benchmarks/bench_simulator.py [--n 20] [--steps 20000] [--grid 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from adamcheck.problems import Counterexample
from adamcheck.simulator import simulate
from adamcheck.simulator._parallel import available_workers


def grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    b1, b2 = np.meshgrid(np.linspace(0.0, 0.99, size), np.linspace(0.5, 0.9999, size))
    return b1.ravel(), b2.ravel()


def engine_ns(n: int, steps: int, size: int, workers: int, repeats: int) -> tuple[float, float, dict]:
    b1, b2 = grid(size)
    problem = Counterexample(n=n, a=1 / (n - 1) ** 2)
    times, res = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        res = simulate(problem, steps=steps, beta1=b1, beta2=b2, lr=0.1, schedule="inv-sqrt",
                       eps=1e-8, seed=0, workers=workers)
        times.append(time.perf_counter() - t)
    shared = res.shared_run_steps / (res.runs * res.steps)
    counts = {k: int((res.outcome == k).sum()) for k in ("diverged", "converged", "undecided")}
    return statistics.median(times) / (b1.size * steps) * 1e9, shared, counts


def naive_ns(n: int, steps: int, size: int, repeats: int) -> float:
    b1, b2 = grid(size)
    a = 1 / (n - 1) ** 2
    slopes = np.array([1 + (n - 1) * a] + [-a] * (n - 1))
    times = []
    for r in range(repeats):
        rng = np.random.default_rng(r)
        x = np.zeros(b1.size)
        m = np.zeros(b1.size)
        v = np.zeros(b1.size)
        t = time.perf_counter()
        for k in range(1, steps + 1):
            c = slopes[rng.integers(0, n)]
            g = np.where(x >= -1, c, c * (x + 2))
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x = x - 0.1 / np.sqrt(k) * m / (np.sqrt(v) + 1e-8)
        times.append(time.perf_counter() - t)
    return statistics.median(times) / (b1.size * steps) * 1e9


def torch_ns(n: int, steps: int, configs: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    a = 1 / (n - 1) ** 2
    slopes = [1 + (n - 1) * a] + [-a] * (n - 1)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, n, size=steps)
    b1, b2 = grid(16)
    pick = rng.choice(b1.size, size=configs, replace=False)
    times = []
    for i in pick:
        x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([x], lr=0.1, betas=(float(b1[i]), float(b2[i])), eps=1e-8)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 / np.sqrt(k + 1))
        t = time.perf_counter()
        for k in range(steps):
            xv = float(x.detach())
            x.grad = torch.tensor([slopes[idx[k]] * min(xv + 2.0, 1.0)], dtype=torch.float64)
            opt.step()
            sched.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times) / steps * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--grid", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peer-steps", type=int, default=1000)
    ap.add_argument("--torch-configs", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    cores = available_workers()
    e1, shared, counts = engine_ns(args.n, args.steps, args.grid, 1, args.repeats)
    eall, _, _ = engine_ns(args.n, args.steps, args.grid, cores, args.repeats)
    naive = naive_ns(args.n, args.peer_steps, args.grid, args.repeats)
    tns = torch_ns(args.n, args.peer_steps, args.torch_configs)
    out = {
        "problem": f"counterexample n={args.n}, a=1/(n-1)^2, {args.grid}x{args.grid} grid, "
                   f"beta1 in [0, 0.99], beta2 in [0.5, 0.9999], eta_0/sqrt(k), {args.steps} steps",
        "outcomes": counts,
        "shared_path_fraction": shared,
        "engine_ns_per_run_step_1_worker": e1,
        f"engine_ns_per_run_step_{cores}_workers": eall,
        "naive_numpy_ns_per_run_step": naive,
        "torch_adam_ns_per_run_step": tns,
        "speedup_vs_naive_1_worker": naive / e1,
        f"speedup_vs_naive_{cores}_workers": naive / eall,
        f"speedup_vs_torch_{cores}_workers": None if tns is None else tns / eall,
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(out["problem"])
    print(f"outcomes: {counts}; run-steps on the shared-moment path: {shared:.1%}")
    print(f"engine, 1 worker      : {e1:8.2f} ns/run-step")
    print(f"engine, {cores} workers     : {eall:8.2f} ns/run-step")
    print(f"naive NumPy loop      : {naive:8.2f} ns/run-step   -> engine is {naive / e1:.1f}x (1 worker), "
          f"{naive / eall:.1f}x ({cores} workers) faster")
    if tns is None:
        print("torch.optim.Adam      : torch not installed")
    else:
        print(f"torch.optim.Adam loop : {tns:8.0f} ns/run-step   -> engine is {tns / eall:,.0f}x faster")


if __name__ == "__main__":
    main()
