"""Real-training validation of adamcheck's beta2*(B): the full suite (a benchmark script).

For each problem (benchmarks/validity/problems.py), learning rate and beta1:

1. **Real labels.** ``adamcheck.torch.phase_sweep`` trains every (batch size, beta2,
   seed) copy with Adam exactly as ``torch.optim.Adam`` does. A run *fails* when its
   parameters or loss become non-finite, its final training loss is not below its
   initial loss, or (classification problems with ``min_eval``) its held-out accuracy
   is below 50%. A cell fails when any seed fails.
2. **Prediction.** Per-example gradients at 4 points of one healthy run (Adam at
   (0.9, 0.999), batch 32, the same lr; points at 0, 5%, 25% and 100% of the budget) for
   512 training examples; ``adamcheck.drift.training_boundary`` predicts beta2*(B) and
   ``adamcheck.recommend`` gives the recommended beta2 with those gradients.
3. **Score.** ``adamcheck.drift.score_boundary``: agreement on cells more than one
   ladder step from the real boundary, monotonicity, recommended beta2 in failing cells.

Writes ``results.json`` and one picture per (problem, budget, lr, beta1) (the real
phase map with the prediction drawn on it) into ``--out``. Usage::

    python benchmarks/validity/run.py --out benchmarks/validity/results            # full
    python benchmarks/validity/run.py --problems logistic_anes --quick --out /tmp/v  # minutes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)  # many small kernels: one thread is far faster on a busy machine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS, Problem, load_problem  # noqa: E402

LADDER = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
#: learning rates per problem family (the paper's eta0/sqrt(k) schedule for logistic)
LRS = {
    "logistic_fair": [(0.1, "inv-sqrt"), (1e-3, "constant")],
    "logistic_anes": [(0.1, "inv-sqrt"), (1e-3, "constant")],
    "logistic_digits": [(0.01, "constant"), (0.1, "inv-sqrt")],
    "mlp_digits": [(1e-3, "constant"), (1e-2, "constant")],
    "cnn_digits": [(1e-3, "constant"), (1e-2, "constant")],
    "charlm": [(1e-3, "constant"), (1e-2, "constant")],
}


def _failed(grid, problem: Problem) -> np.ndarray:
    """(seeds, B, lr, beta2, beta1) failure per run (see the module docstring)."""
    r = grid.records
    fail = ~r.finite | ~np.isfinite(r.final_loss) | (r.final_loss >= r.initial_loss)
    if problem.min_eval is not None and r.eval_metric is not None:
        fail |= ~(np.asarray(r.eval_metric, dtype=float) >= problem.min_eval)
    return fail


def collect_gradients(problem: Problem, lr: float, schedule: str, total_steps: int, *, examples: int = 512,
                      seed: int = 0) -> np.ndarray:
    """(4, examples, d) per-example gradients along a run of Adam (0.9, 0.999) at batch 32."""
    import torch
    from torch.func import functional_call, grad, vmap

    model = problem.model_fn(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    rng = np.random.default_rng(seed)
    N = len(problem.y)
    rows = torch.as_tensor(rng.choice(N, size=min(examples, N), replace=False))
    marks = sorted({0, int(0.05 * total_steps), int(0.25 * total_steps), total_steps})
    names = [n for n, _ in model.named_parameters()]

    def per_example() -> np.ndarray:
        params = {k: v.detach() for k, v in model.named_parameters()}

        def loss(p, x, y):
            return problem.loss_fn(functional_call(model, p, (x[None],)), y[None])

        g = vmap(grad(loss), in_dims=(None, 0, 0))(params, problem.X[rows], problem.y[rows])
        return torch.cat([g[k].reshape(len(rows), -1) for k in names], 1).numpy()

    out, step, B = [], 0, 32
    while True:
        perm = rng.permutation(N)
        for i in range(N // B):
            if step in marks:
                out.append(per_example())
            if step == total_steps:
                return np.stack(out).astype(np.float32)
            idx = torch.as_tensor(perm[i * B:(i + 1) * B])
            opt.zero_grad()
            problem.loss_fn(model(problem.X[idx]), problem.y[idx]).backward()
            if schedule == "inv-sqrt":
                for gr in opt.param_groups:
                    gr["lr"] = lr / np.sqrt(step + 1)
            opt.step()
            step += 1


def plot_panel(path: Path, title: str, ladder, sizes, fail_counts, seeds, pred, rec) -> None:
    from adamcheck._plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    share = fail_counts / seeds
    ax.imshow(share.T, origin="lower", cmap="Reds", vmin=0, vmax=1, aspect="auto")
    xs = np.arange(len(sizes))
    idx = np.interp(np.where(np.isnan(pred), 1.0, pred), ladder, np.arange(len(ladder)), left=-0.5)
    ax.step(xs, np.maximum(idx, 0) - 0.5, where="mid", color="tab:blue", lw=2, label="predicted beta2*(B)")
    if rec is not None:
        ax.plot(xs, np.interp(rec, ladder, np.arange(len(ladder))), "o", color="tab:green", label="recommended")
    ax.set_xticks(xs, [str(b) for b in sizes])
    ax.set_yticks(np.arange(len(ladder)), [str(b) for b in ladder])
    ax.set_xlabel("batch size")
    ax.set_ylabel("beta2 (red: share of seeds that failed)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def real_labels(problem: Problem, lrs: list[float], schedule: str, beta1s: list[float], budget: str, amount: int,
                seeds: int, sizes: list[int], ladder: list[float], quiet: bool):
    """One phase_sweep over (B, lr, beta2, beta1, seed): failed-seed counts and steps per B."""
    from adamcheck.torch import phase_sweep

    kw = {"steps": amount} if budget == "steps" else {"epochs": amount}
    grid = phase_sweep(problem.model_fn, problem.loss_fn, (problem.X, problem.y), batch_sizes=sizes,
                       beta1=beta1s, beta2=ladder, lr=lrs, seeds=seeds, schedule=schedule,
                       eval_data=(problem.X_eval, problem.y_eval), eval_fn=problem.eval_fn,
                       progress=not quiet, **kw)
    return _failed(grid, problem).sum(axis=0), [int(s) for s in grid.steps]


def score_panel(problem: Problem, lr: float, schedule: str, beta1: float, budget: str, amount: int, seeds: int,
                sizes: list[int], ladder: list[float], counts: np.ndarray, run_steps: list[int], G: np.ndarray,
                out: Path, with_recommend: bool = True) -> dict:
    """Predict beta2*(B) from G, score it against ``counts`` (B, beta2) failed seeds, draw the panel."""
    from adamcheck import recommend
    from adamcheck.drift import score_boundary, training_boundary

    t0 = time.time()
    tb = training_boundary(G, sizes, beta1=beta1, steps=[min(s, 8000) for s in run_steps])
    rec = None
    if with_recommend:
        rec = [recommend(batch_size=B, beta1=beta1, gradients=G, planned_steps=s).beta2
               for B, s in zip(sizes, run_steps)]
    t_pred = time.time() - t0
    score = score_boundary(sizes, ladder, counts > 0, tb.critical_beta2, rec)
    tag = f"{problem.name}_{budget}_lr{lr:g}_b1{beta1:g}"
    plot_panel(out / f"{tag}.png", f"{problem.name}, {budget} budget ({amount}), lr {lr:g} {schedule}, beta1 {beta1:g}",
               ladder, sizes, counts, seeds, tb.critical_beta2, None if rec is None else np.array(rec))
    return {
        "problem": problem.name, "description": problem.description, "budget": budget, "amount": amount,
        "run_steps": run_steps, "lr": lr, "schedule": schedule, "beta1": beta1, "seeds": seeds,
        "batch_sizes": sizes, "beta2": ladder, "failed_seeds": counts.tolist(),
        "real_critical": score.real_critical.tolist(), "predicted_critical": tb.critical_beta2.tolist(),
        "mechanism": list(tb.mechanism), "recommended": rec,
        "recommended_in_failing_cell": None if rec is None else score.recommended_in_failing_cell.tolist(),
        "agreement": score.agreement, "cells_compared": score.cells_compared,
        "unsafe_called_safe": score.unsafe_called_safe, "safe_called_unsafe": score.safe_called_unsafe,
        "real_monotone": score.real_monotone,
        "predicted_monotone_where_real_is": score.predicted_monotone_where_real_is,
        "seconds_prediction": round(t_pred, 1), "picture": f"{tag}.png",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--budget", choices=["steps", "epochs", "both"], default="steps")
    ap.add_argument("--steps", type=int, default=3000, help="steps per run with --budget steps")
    ap.add_argument("--epochs", type=int, default=20, help="epochs per run with --budget epochs")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--beta1", default="0,0.9")
    ap.add_argument("--lrs", default="all", help="'all' (the two per problem) or 'first'")
    ap.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    ap.add_argument("--quick", action="store_true", help="batch sizes 1,8,64, 1000 steps, 2 seeds, first lr")
    ap.add_argument("--out", default="benchmarks/validity/results")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--cache", default=None, help="labels and gradients kept here (default OUT/cache)")
    ap.add_argument("--no-recommend", action="store_true", help="score beta2* only, not the recommendation")
    a = ap.parse_args(argv)
    if a.quick:
        a.batch_sizes, a.steps, a.seeds, a.lrs = "1,8,64", 1000, 2, "first"
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(b) for b in a.batch_sizes.split(",")]
    cache = Path(a.cache) if a.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    budgets = ["steps", "epochs"] if a.budget == "both" else [a.budget]
    results = []
    results_path = out / "results.json"
    if results_path.exists():
        results = json.loads(results_path.read_text())
    beta1s = [float(x) for x in a.beta1.split(",")]
    for name in a.problems.split(","):
        problem = load_problem(name)
        lrs = LRS[name][:1] if a.lrs == "first" else LRS[name]
        for budget in budgets:
            amount = a.steps if budget == "steps" else a.epochs
            total = amount if budget == "steps" else amount * (len(problem.y) // 32)
            for schedule in dict.fromkeys(s for _, s in lrs):
                group = [lr for lr, s in lrs if s == schedule]
                key = f"{name}_{budget}{amount}_{schedule}_s{a.seeds}_B{'-'.join(map(str, sizes))}"
                labels = cache / f"labels_{key}_lr{'-'.join(f'{x:g}' for x in group)}_b1{a.beta1}.npz"
                t0 = time.time()
                if labels.exists():
                    z = np.load(labels, allow_pickle=False)
                    counts, run_steps = z["counts"], z["run_steps"].tolist()
                else:
                    counts, run_steps = real_labels(problem, group, schedule, beta1s, budget, amount, a.seeds,
                                                    sizes, LADDER, a.quiet)
                    np.savez(labels, counts=counts, run_steps=np.array(run_steps))
                t_train = time.time() - t0
                for j, lr in enumerate(group):
                    gpath = cache / f"grads_{name}_{budget}{amount}_{schedule}_lr{lr:g}.npy"
                    if gpath.exists():
                        G = np.load(gpath, allow_pickle=False)
                    else:
                        G = collect_gradients(problem, lr, schedule, total)
                        np.save(gpath, G)
                    for i, b1 in enumerate(beta1s):
                        r = score_panel(problem, lr, schedule, b1, budget, amount, a.seeds, sizes, LADDER,
                                        counts[:, j, :, i], run_steps, G, out, not a.no_recommend)
                        r["seconds_training_all_panels"] = round(t_train, 1)
                        results = [x for x in results
                                   if not all(x[k] == r[k] for k in ("problem", "budget", "lr", "beta1"))]
                        results.append(r)
                        results_path.write_text(json.dumps(results, indent=1))
                        print(f"{name:14s} {budget:6s} lr {lr:<6g} b1 {b1:<4g} agreement {r['agreement']}"
                              f" ({r['cells_compared']} cells) real {r['real_critical']} predicted"
                              f" {r['predicted_critical']} rec-in-failing"
                              f" {sum(r['recommended_in_failing_cell'] or [])} [{t_train:.0f}s train]", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
