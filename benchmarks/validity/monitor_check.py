"""Does GradientMonitor, watching a real run, warn in the runs that fail and stay quiet in the others?

The file-based prediction (run.py) reads per-example gradients sampled along one healthy
run. On logistic regression on digits it calls safe the small-beta2 cells that fail: at
every sampled point Adam's mean step at those beta2 still descends (``--diagnose`` prints
the cosines), and the failing runs only reach climbing points after they have walked off
the healthy path. The monitor sees the run's own points. This script trains one real run
per (batch size, beta2) cell with ``torch.optim.Adam`` and the monitor attached (told the
planned steps, as the callbacks tell it; analyses at ``--first`` and at every multiple of
``--every``, each on the steps since the previous one, at most ``--every``), records whether
it warned ``beta2_below_critical`` (in the first ``--every`` steps, and at all), and scores
that against the outcome of the same run (failed: non-finite, or final training loss not
below the initial one) and against the suite's cell label (results.json: any of 3 seeds
failed). ``--first auto`` (the default) is the monitor's own default first analysis (10% of
the planned steps, at most 200: step 200 of 3,000); ``--first 1000 --every 1000`` is the
schedule the monitor had before it analysed early; ``--every auto`` spaces later analyses by the monitor's cost
budget, as its defaults do (on these small models, whose steps take well under a
millisecond, the budget allows no analysis after the first).

Usage::

    python benchmarks/validity/monitor_check.py --problem logistic_digits --lr 0.01 --beta1 0
    python benchmarks/validity/monitor_check.py --problem logistic_digits --first 1000 --every 1000
    python benchmarks/validity/monitor_check.py --problem logistic_digits --diagnose
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import load_problem  # noqa: E402
from run import BATCH_SIZES, LADDER  # noqa: E402


def full_loss(problem, model) -> float:
    with torch.no_grad():
        return float(problem.loss_fn(model(problem.X), problem.y))


def monitored_run(problem, B: int, beta1: float, beta2: float, lr: float, steps: int, every: int | None,
                  schedule: str = "constant", seed: int = 0, observe_loss: bool = True,
                  first: int | None = None) -> dict:
    """One real run with the monitor attached: its outcome and the monitor's warnings.

    ``every`` None: the monitor's budget schedule; ``first`` None: the monitor's rule (with
    ``every`` given, the first analysis is at ``every``).
    """
    from adamcheck.torch import GradientMonitor

    model = problem.model_fn(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, beta2))
    mon = GradientMonitor(opt, batch_size=B, every=every, window=every or 1000, first_analysis=first,
                          planned_steps=steps, model=model, warn=False, seed=seed)
    rng = np.random.default_rng(seed)
    N = len(problem.y)
    initial = full_loss(problem, model)
    for t in range(1, steps + 1):
        idx = torch.as_tensor(rng.integers(0, N, B))
        opt.zero_grad()
        loss = problem.loss_fn(model(problem.X[idx]), problem.y[idx])
        loss.backward()
        if observe_loss:
            mon.observe_loss(loss)  # what a user passes: the mini-batch loss (walk-off rule)
        if schedule == "inv-sqrt":
            for g in opt.param_groups:
                g["lr"] = lr / np.sqrt(t)
        opt.step()
    final = full_loss(problem, model)
    report = mon.report()
    crit = [w for w in report.warnings if w.kind == "beta2_below_critical"]
    early = every or 1000
    return {"B": B, "beta2": beta2, "initial": initial, "final": final,
            "failed": bool(not np.isfinite(final) or final >= initial),
            "beta1": beta1, "analysed_steps": [a.step for a in mon.analyses],
            # what the judge read, so that a rule can be re-scored without training again
            "analyses": [{"step": a.step, "rows": a.rows, "below": a.below_critical,
                          "beta2_critical": a.own.beta2_critical if a.own else None,
                          "loss": [a.loss.mean, a.loss.se] if a.loss else None,
                          "mean_grad": [a.mean.sq, a.mean.noise] if a.mean else None} for a in mon.analyses],
            "loss_start": report.loss_start,
            "warned": bool(crit), "warned_early": bool(any(w.step <= early for w in crit)),
            "first_warning_step": crit[0].step if crit else None,
            "warnings": [(w.step, w.value) for w in crit],
            "settling_notes": [n for n in report.notes if "held back" in n],
            "spikes": report.spikes,
            "spike_warnings": sum(w.kind == "update_spike" for w in report.warnings)}


def cosines(problem, lr: float, steps: int, beta2s, sizes, seed: int = 0) -> list[dict]:
    """cos(G, E[u]) at the points the suite samples (a healthy run) and along failing runs."""
    from run import collect_gradients

    out = []
    G = collect_gradients(problem, lr, "constant", steps, seed=seed).astype(np.float64)
    rng = np.random.default_rng(seed)
    for p, Gp in enumerate(G):
        mean = Gp.mean(0)
        for B in sizes:
            for b2 in beta2s:
                v = (Gp ** 2).mean(0)
                acc = np.zeros_like(mean)
                for _ in range(4000):
                    g = Gp[rng.integers(0, len(Gp), B)].mean(0)
                    v = b2 * v + (1 - b2) * g * g
                    acc += g / (np.sqrt(v) + 1e-8)
                out.append({"point": p, "B": B, "beta2": b2,
                            "cos": float(mean @ acc / np.linalg.norm(mean) / np.linalg.norm(acc))})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="logistic_digits")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--schedule", default="constant")
    ap.add_argument("--beta1", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", default="1000", help="fixed spacing of analyses, or 'auto' (the cost budget)")
    ap.add_argument("--first", default="auto", help="step of the first analysis, or 'auto' (the monitor's)")
    ap.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    ap.add_argument("--results", default=str(Path(__file__).resolve().parent / "results" / "results.json"))
    ap.add_argument("--out", default=None, help="write the per-run records here (JSON)")
    ap.add_argument("--diagnose", action="store_true", help="print cos(G, E[u]) at the suite's sampled points")
    a = ap.parse_args(argv)
    problem = load_problem(a.problem)
    sizes = [int(b) for b in a.batch_sizes.split(",")]
    every = None if a.every == "auto" else int(a.every)
    if a.first == "auto":  # the monitor's default first analysis for this run length, whatever --every is
        from adamcheck.monitor import MonitorSettings, first_analysis_step

        first = first_analysis_step(MonitorSettings(), a.steps)
    else:
        first = int(a.first)
    if a.diagnose:
        rows = cosines(problem, a.lr, a.steps, [0.5, 0.9, 0.999], [1, 4, 16])
        print("cos(full-batch gradient, Adam's mean step at beta1 = 0) at the points of the healthy run")
        for r in rows:
            print(f"  point {r['point']}  B {r['B']:>3}  beta2 {r['beta2']:<6} cos {r['cos']:+.2f}")
        return 0
    label = None
    rp = Path(a.results)
    if rp.exists():
        for p in json.loads(rp.read_text()):
            if (p["problem"], p["beta1"], p["lr"], p["budget"]) == (a.problem, a.beta1, a.lr, "steps"):
                label = {(B, b2): n > 0 for B, row in zip(p["batch_sizes"], p["failed_seeds"])
                         for b2, n in zip(p["beta2"], row)}
    runs = []
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for B in sizes:
            for b2 in LADDER:
                r = monitored_run(problem, B, a.beta1, b2, a.lr, a.steps, every, a.schedule, first=first)
                r["cell_failed"] = None if label is None else label.get((B, b2))
                runs.append(r)
                cell = {None: "-", True: "fails", False: "trains"}[r["cell_failed"]]
                print(f"B {B:>3} beta2 {b2:<6} loss {r['initial']:.3f} -> {r['final']:9.3e} "
                      f"{'FAILED' if r['failed'] else 'ok    '}  suite cell {cell:<6}  "
                      f"warned {'at step ' + str(r['first_warning_step']) if r['warned'] else 'no'}  "
                      f"(analyses at {r['analysed_steps']})",
                      file=sys.stderr, flush=True)

    def score(key: str, truth: str) -> str:
        rs = [r for r in runs if r[truth] is not None]
        hit = sum(r[key] == r[truth] for r in rs)
        missed = sum(r[truth] and not r[key] for r in rs)
        false = sum(r[key] and not r[truth] for r in rs)
        return f"{hit}/{len(rs)} agree ({missed} failing not warned, {false} warned but fine)"

    early = every or 1000
    print(f"{a.problem}, lr {a.lr:g} {a.schedule}, beta1 {a.beta1:g}, {a.steps} steps, first analysis {first}, "
          f"then every {a.every} ({time.time() - t0:.0f} s)")
    print("  'this run': the monitored run's own outcome (failed: final training loss >= initial, or "
          "non-finite); 'the suite's cell': results.json, failed if any of its seeds failed")
    for key, name in (("warned", "warned at any analysis"), ("warned_early", f"warned by step {early}")):
        print(f"  {name:<26} vs this run: {score(key, 'failed')};  vs the suite's cell: {score(key, 'cell_failed')}")
    for failed in (True, False):
        sp = [r["spikes"] for r in runs if r["failed"] == failed]
        if sp:
            warned = sum(r['spike_warnings'] > 0 for r in runs if r['failed'] == failed)
            how = (f"{warned} of {len(sp)} runs warned" if a.beta1 >= np.sqrt(min(LADDER)) or warned else
                   "counted only, not warned: beta1 < sqrt(beta2) in every run")
            print(f"  update-norm jumps per {'failing' if failed else 'training'} run: median {np.median(sp):.0f}, "
                  f"range {min(sp)}-{max(sp)} ({how})")
    held = [r for r in runs if r["failed"] and r["settling_notes"]]
    print(f"  failing runs with a finding held back as settling: {len(held)}"
          + (" (" + ", ".join(f"B {r['B']} beta2 {r['beta2']}" for r in held) + ")" if held else ""))
    if a.out:
        Path(a.out).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
