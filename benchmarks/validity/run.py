"""Real-training validation of adamcheck's lenses on beta2: the full suite (a benchmark script).

For each problem (benchmarks/validity/problems.py), learning rate and beta1 (a *panel*):

1. **Real labels and losses.** ``adamcheck.torch.phase_sweep`` trains every (batch size,
   beta2, seed) copy with Adam (AdamW for the transformer) exactly as ``torch.optim``
   does. A run *fails* when its parameters or loss become non-finite, its final training
   loss is not below its initial loss, or (classification problems with ``min_eval``) its
   held-out accuracy is below 50%. A cell fails when any seed fails. The final training
   loss of each cell (mean over seeds; a run that blew up counts as its initial loss) is
   kept for the regret.
2. **The file lens.** Per-example gradients at 4 points of one healthy run (Adam at
   (0.9, 0.999), batch 32, the panel's lr; points at 0, 5%, 25% and 100% of the budget)
   for 512 training examples; ``adamcheck.drift.training_boundary`` decides each cell
   (fails / trains / cannot tell from this file).
3. **The probe lens.** ``adamcheck.torch.probe`` from the initial weights (seed 0's model)
   at each batch size, over the ladder, one seed, a horizon of a tenth of the budget (a run
   that trained there at beta1 >= sqrt(beta2) is undecided: the probe's bound rule).
4. **Both, in precedence** (probe > gradients, :func:`adamcheck._measurement.judge`).
5. **The recommendation.** ``adamcheck.recommend(batch_size=B, beta1=..., gradients=...,
   planned_steps=..., tokens_per_sample=...)`` (the language models count the batch in
   tokens, as their users' ``--seq-len`` does); its beta2 is trained for real (same seeds
   and budget) for the regret.

Scores per panel and lens: **accuracy** on the cells the lens decided that lie more than
one ladder step from the real boundary, **coverage** (the share of those far cells it
decided), and the **regret** of a beta2 (its final loss minus the best ladder value's, at
each batch size, averaged over batch sizes) for the recommended beta2, 0.999 and 0.95.
A ``diag`` panel sets beta1 = beta2 for every ladder value (outside the bound beta1 <
sqrt(beta2) everywhere: the lens must not fail 0.95/0.95 merely for that).

Writes ``results.json`` and one picture per panel into ``--out``; ``--problems`` runs a
subset and merges into an existing results.json. Usage::

    python benchmarks/validity/run.py --out benchmarks/validity/results                      # full
    python benchmarks/validity/run.py --problems logistic_anes --quick --out /tmp/v          # minutes
    python benchmarks/validity/run.py --score-only --out benchmarks/validity/results         # rescore caches
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)  # many small kernels: one thread is far faster on a busy machine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS, Problem, load_problem  # noqa: E402

LADDER = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
#: beta1 = beta2 = each of these in the diag panels (below 0.3 the pair means little; one run per value)
DIAG = [0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999]
BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
SMALL_SIZES = [1, 4, 16, 64]
#: per problem: learning rates (with schedule), batch sizes, steps, seeds and the diag panel's lr
SETTINGS = {
    "logistic_fair": dict(lrs=[(0.1, "inv-sqrt"), (1e-3, "constant")]),
    "logistic_anes": dict(lrs=[(0.1, "inv-sqrt"), (1e-3, "constant")]),
    "logistic_digits": dict(lrs=[(0.01, "constant"), (0.1, "inv-sqrt")]),
    "regression_diabetes": dict(lrs=[(0.01, "constant"), (0.1, "inv-sqrt")]),
    "mlp_digits": dict(lrs=[(1e-3, "constant"), (1e-2, "constant")], diag=1e-3, diag_sizes=SMALL_SIZES, diag_seeds=2),
    "cnn_digits": dict(lrs=[(1e-3, "constant"), (1e-2, "constant")], sizes=SMALL_SIZES, steps=2000, seeds=2),
    "charlm": dict(lrs=[(1e-3, "constant"), (1e-2, "constant")], sizes=SMALL_SIZES, steps=2000, seeds=2),
    "tinylm": dict(lrs=[(1e-3, "constant"), (3e-3, "constant")], sizes=SMALL_SIZES, steps=1500, seeds=2,
                   beta1=[0.9]),
}
LRS = {k: v["lrs"] for k, v in SETTINGS.items()}  # older scripts import this


def _key(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:12]


def _failed(grid, problem: Problem) -> np.ndarray:
    """(seeds, B, lr, beta2, beta1) failure per run (see the module docstring)."""
    r = grid.records
    fail = ~r.finite | ~np.isfinite(r.final_loss) | (r.final_loss >= r.initial_loss)
    if problem.min_eval is not None and r.eval_metric is not None:
        fail |= ~(np.asarray(r.eval_metric, dtype=float) >= problem.min_eval)
    return fail


def _final_losses(grid) -> tuple[np.ndarray, np.ndarray]:
    """(B, lr, beta2, beta1) mean final and initial training loss over seeds; blown-up runs count as their start."""
    r = grid.records
    final = np.where(r.finite & np.isfinite(r.final_loss), r.final_loss, r.initial_loss)
    return final.mean(axis=0), r.initial_loss.mean(axis=0)


def _sweep(problem: Problem, *, sizes, beta1, beta2, lrs, schedule, seeds, steps, quiet):
    from adamcheck.torch import phase_sweep

    wd = problem.weight_decay
    return phase_sweep(problem.model_fn, problem.loss_fn, (problem.X, problem.y), batch_sizes=sizes, beta1=beta1,
                       beta2=beta2, lr=lrs, seeds=seeds, schedule=schedule, steps=steps, weight_decay=wd,
                       decoupled=wd > 0, eval_data=(problem.X_eval, problem.y_eval), eval_fn=problem.eval_fn,
                       progress=not quiet)


def collect_gradients(problem: Problem, lr: float, schedule: str, total_steps: int, *, examples: int = 512,
                      seed: int = 0) -> np.ndarray:
    """(4, examples, d) per-example gradients along a run of Adam (0.9, 0.999) at batch 32."""
    from torch.func import functional_call, grad, vmap

    model = problem.model_fn(seed)
    cls = torch.optim.AdamW if problem.weight_decay else torch.optim.Adam
    opt = cls(model.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=problem.weight_decay)
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


def plot_panel(path: Path, title: str, ladder, sizes, fail_counts, seeds, pred, rec, outcome=None) -> None:
    from adamcheck._plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    share = fail_counts / seeds
    ax.imshow(share.T, origin="lower", cmap="Reds", vmin=0, vmax=1, aspect="auto")
    xs = np.arange(len(sizes))
    if pred is not None:
        idx = np.interp(np.where(np.isnan(pred), 1.0, pred), ladder, np.arange(len(ladder)), left=-0.5)
        ax.step(xs, np.maximum(idx, 0) - 0.5, where="mid", color="tab:blue", lw=1.5, alpha=0.6,
                label="point estimate beta2*(B)")
    if outcome is not None:
        o = np.asarray(outcome)
        fb, fj = np.nonzero(o == "fails")
        tb, tj = np.nonzero(o == "trains")
        ax.plot(fb, fj, "x", color="black", ms=5, label="file: fails")
        ax.plot(tb, tj, ".", color="black", ms=5, label="file: trains")
    if rec is not None:
        ax.plot(xs, np.interp(rec, ladder, np.arange(len(ladder))), "o", color="tab:green", label="recommended")
    ax.set_xticks(xs, [str(b) for b in sizes])
    ax.set_yticks(np.arange(len(ladder)), [str(b) for b in ladder])
    ax.set_xlabel("batch size")
    ax.set_ylabel("beta2 (red: share of seeds that failed)")
    ax.set_title(title, fontsize=8)
    ax.legend(loc="lower left", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- caches ------------------------------------------------------------------------------------------


def real_labels(problem, lrs, schedule, beta1s, steps, seeds, sizes, cache: Path, quiet: bool) -> dict:
    """One phase_sweep over (B, lr, beta2, beta1, seed): failed-seed counts and mean losses (cached)."""
    path = cache / f"labels_{problem.name}_{schedule}_{_key(lrs, beta1s, steps, seeds, sizes, LADDER)}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    t0 = time.time()
    grid = _sweep(problem, sizes=sizes, beta1=beta1s, beta2=LADDER, lrs=lrs, schedule=schedule, seeds=seeds,
                  steps=steps, quiet=quiet)
    final, initial = _final_losses(grid)
    out = {"counts": _failed(grid, problem).sum(axis=0), "final": final, "initial": initial,
           "seconds": np.array(time.time() - t0)}
    np.savez(path, **out)
    return out


def diag_labels(problem, lr, schedule, steps, seeds, sizes, cache: Path, quiet: bool) -> dict:
    """beta1 = beta2 for every ladder value: (B, beta) counts and losses (cached)."""
    path = cache / f"diag_{problem.name}_{schedule}_{_key(lr, steps, seeds, sizes, DIAG)}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    t0 = time.time()
    counts, final, initial = [], [], []
    for b in DIAG:
        grid = _sweep(problem, sizes=sizes, beta1=[b], beta2=[b], lrs=[lr], schedule=schedule, seeds=seeds,
                      steps=steps, quiet=quiet)
        f, i = _final_losses(grid)
        counts.append(_failed(grid, problem).sum(axis=0)[:, 0, 0, 0])
        final.append(f[:, 0, 0, 0])
        initial.append(i[:, 0, 0, 0])
    out = {"counts": np.stack(counts, 1), "final": np.stack(final, 1), "initial": np.stack(initial, 1),
           "seconds": np.array(time.time() - t0)}
    np.savez(path, **out)
    return out


def gradients(problem, lr, schedule, steps, cache: Path) -> np.ndarray:
    path = cache / f"grads_{problem.name}_steps{steps}_{schedule}_lr{lr:g}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    G = collect_gradients(problem, lr, schedule, steps)
    np.save(path, G)
    return G


def recommended_runs(problem, lr, schedule, beta1, B, beta2, steps, seeds, cache: Path, quiet: bool) -> dict:
    """Real runs at the recommended beta2 (cached): failed seeds and mean final loss."""
    path = cache / f"rec_{problem.name}_{schedule}_{_key(lr, beta1, B, round(beta2, 10), steps, seeds)}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    grid = _sweep(problem, sizes=[B], beta1=[beta1], beta2=[beta2], lrs=[lr], schedule=schedule, seeds=seeds,
                  steps=steps, quiet=quiet)
    final, _ = _final_losses(grid)
    out = {"failed": _failed(grid, problem).sum(), "final": final[0, 0, 0, 0]}
    np.savez(path, **out)
    return out


#: keyword arguments every probe of the suite is given beyond the panel's settings (the probe's own
#: defaults when empty); probe_rescore.py --probe-kw sets them to compare variants on the same labels
PROBE_KW: dict = {}


def probes(problem, lr, schedule, beta1, sizes, steps, cache: Path, ladder=None) -> list[dict]:
    """adamcheck.torch.probe at each batch size from seed 0's initial weights (cached, with each run's loss trace)."""
    from adamcheck.torch import probe

    ladder = LADDER if ladder is None else ladder
    kw = dict(PROBE_KW)
    path = cache / f"probe_{problem.name}_{schedule}_{_key(lr, beta1, sizes, steps, ladder, sorted(kw.items()))}.json"
    if path.exists():
        return json.loads(path.read_text())
    out = []
    for B in sizes:
        r = probe(problem.model_fn(0), problem.loss_fn, (problem.X, problem.y), batch_size=B, lr=lr, steps=steps,
                  beta1=beta1, beta2s=ladder, seeds=1, schedule=schedule, weight_decay=problem.weight_decay,
                  decoupled=problem.weight_decay > 0, **kw)
        d = r.to_dict()
        m = r.to_measurement()
        d["measurement"] = {"failed": list(m.failed), "trained": list(m.trained), "decided": m.decided,
                            "reason": m.reason}
        rec = r.grid.records  # loss traces, for re-judging without re-training
        d["trace_steps"] = [int(x) for x in rec.trace_steps[0]]
        trace = rec.loss_trace[0][:, 0, :, 0, :]  # (seed, beta2, record)
        d["trace"] = np.where(np.isfinite(trace), trace, np.nan).tolist()
        d["probe_kw"] = kw
        out.append(d)
    path.write_text(json.dumps(out))
    return out


# --- scoring -----------------------------------------------------------------------------------------


def _far(ladder, failed) -> np.ndarray:
    from report import far_cells  # lazy: report is a sibling script, on the path when run is

    return far_cells(ladder, failed)


def lens_score(outcome: np.ndarray, failed: np.ndarray, far: np.ndarray) -> dict:
    """Accuracy on decided far cells, coverage of far cells, and the two kinds of error."""
    decided = (outcome != "cannot_tell") & far
    says_fail = outcome == "fails"
    right = decided & (says_fail == failed)
    n = int(decided.sum())
    return {"accuracy": (int(right.sum()) / n) if n else None, "decided": n, "far": int(far.sum()),
            "coverage": n / int(far.sum()) if far.sum() else None,
            "coverage_all_cells": float((outcome != "cannot_tell").mean()),
            "unsafe_called_safe": int((decided & failed & ~says_fail).sum()),
            "safe_called_unsafe": int((decided & ~failed & says_fail).sum()),
            "says_every_beta2_fails": int(sum(all(o == "fails" for o in row) for row in outcome))}


def probe_costs(pr: list[dict]) -> dict[str, list]:
    """Each probe's cost under names that cannot be mistaken (adamcheck.torch.ProbeResult).

    ``optimizer_steps``: steps summed over the ladder's runs; ``seconds``: wall time;
    ``time_over_step``: probe time / one training step. A probe cached before these names
    stored the last as ``cost_steps`` (a time ratio, not a count of steps).
    """
    return {"optimizer_steps": [d.get("optimizer_steps", d["steps"] * len(d["beta2"]) * d["seeds"]) for d in pr],
            "seconds": [d["seconds"] for d in pr],
            "time_over_step": [d.get("time_over_step", d.get("cost_steps")) for d in pr]}


def _probe_outcomes(pr: list[dict]) -> tuple[np.ndarray, list]:
    from adamcheck._measurement import Measurement

    from adamcheck.torch._probe import top_fails_reason

    ms, rows = [], []
    for d in pr:
        m = d["measurement"]
        top = top_fails_reason(d["beta2"], d["outcome"], d["steps"])  # cached probes predate this rule
        decided = m["decided"] and not top
        meas = Measurement("probe", d["batch_size"], d["beta1"], failed=m["failed"] if decided else (),
                           trained=m["trained"] if decided else (), decided=decided, reason=top or m["reason"])
        ms.append(meas)
        rows.append([meas.outcome(b) for b in d["beta2"]])
    return np.array(rows), ms


def regret(final: np.ndarray, initial: np.ndarray, value_final: np.ndarray) -> tuple[float, float]:
    """Mean over batch sizes of (final loss of a beta2) - (best ladder final loss), and the same
    as a share of the best run's decrease (initial - best)."""
    best = final.min(axis=1)
    return float(np.mean(value_final - best)), float(np.mean((value_final - best) / np.maximum(initial - best, 1e-12)))


def score_panel(problem: Problem, lr: float, schedule: str, beta1: float, steps: int, seeds: int, sizes: list[int],
                labels: dict, j_lr: int, i_b1: int, G: np.ndarray, out: Path, cache: Path, with_recommend: bool,
                with_probe: bool, quiet: bool) -> dict:
    from adamcheck import recommend
    from adamcheck._measurement import judge
    from adamcheck.drift import gradient_measurements, score_boundary, training_boundary

    counts = labels["counts"][:, j_lr, :, i_b1]
    has_loss = "final" in labels
    final = labels["final"][:, j_lr, :, i_b1] if has_loss else None
    initial = labels["initial"][:, j_lr, :, i_b1].mean(axis=1) if has_loss else None
    failed = counts > 0
    far = _far(LADDER, failed)
    t0 = time.time()
    tb = training_boundary(G, sizes, beta1=beta1, beta2s=LADDER, steps=min(steps, 8000))
    t_pred = time.time() - t0
    file_out = np.array(tb.outcome)
    file_ms = gradient_measurements(tb)
    res = {"problem": problem.name, "description": problem.description, "panel": "ladder", "budget": "steps",
           "amount": steps, "run_steps": [steps] * len(sizes), "lr": lr, "schedule": schedule, "beta1": beta1,
           "seeds": seeds, "batch_sizes": sizes, "beta2": LADDER, "failed_seeds": counts.tolist(),
           "final_loss": final.tolist() if has_loss else None,
           "initial_loss": initial.tolist() if has_loss else None, "labels": labels.get("source", "trained here"),
           "file": {**lens_score(file_out, failed, far), "outcome": file_out.tolist(), "reason": list(tb.reason),
                    "seconds": round(t_pred, 1)}}
    sc = score_boundary(sizes, LADDER, failed, tb.critical_beta2)
    res.update({"real_critical": sc.real_critical.tolist(), "predicted_critical": tb.critical_beta2.tolist(),
                "mechanism": list(tb.mechanism), "agreement": sc.agreement, "cells_compared": sc.cells_compared,
                "unsafe_called_safe": sc.unsafe_called_safe, "safe_called_unsafe": sc.safe_called_unsafe,
                "real_monotone": sc.real_monotone, "predicted_monotone_where_real_is":
                sc.predicted_monotone_where_real_is})
    if with_probe:
        horizon = max(50, steps // 10)
        pr = probes(problem, lr, schedule, beta1, sizes, horizon, cache)
        p_out, p_ms = _probe_outcomes(pr)
        both = np.array([[judge([p_ms[b]] + list(file_ms), x, batch_size=B, beta1=beta1).outcome for x in LADDER]
                         for b, B in enumerate(sizes)])
        res["probe"] = {**lens_score(p_out, failed, far), "outcome": p_out.tolist(), "steps": horizon,
                        **probe_costs(pr), "best_beta2": [d["best_beta2"] for d in pr]}
        res["combined"] = {**lens_score(both, failed, far), "outcome": both.tolist()}
    ref = {}
    if has_loss:
        for name, b2 in (("0.999", 0.999), ("0.95", 0.95)):
            ref[name] = regret(final, initial, final[:, LADDER.index(b2)])
    res["regret"] = {k: {"mean": v[0], "relative": v[1]} for k, v in ref.items()}
    rec = None
    if with_recommend and has_loss:
        rec = [float(recommend(batch_size=B, beta1=beta1, gradients=G, planned_steps=steps,
                               tokens_per_sample=problem.tokens_per_sample).beta2) for B in sizes]
        rec_final, rec_failed = [], []
        for b, (B, r2) in enumerate(zip(sizes, rec)):
            hit = [j for j, x in enumerate(LADDER) if abs(x - r2) < 1e-12]
            if hit:
                rec_final.append(final[b, hit[0]])
                rec_failed.append(int(counts[b, hit[0]]))
            else:
                rr = recommended_runs(problem, lr, schedule, beta1, B, r2, steps, seeds, cache, quiet)
                rec_final.append(float(rr["final"]))
                rec_failed.append(int(rr["failed"]))
        g = regret(final, initial, np.array(rec_final))
        res["regret"]["recommended"] = {"mean": g[0], "relative": g[1]}
        res["recommended"] = rec
        res["recommended_final_loss"] = rec_final
        res["recommended_in_failing_cell"] = [int(x > 0) for x in rec_failed]
    tag = f"{problem.name}_steps_lr{lr:g}_b1{beta1:g}"
    plot_panel(out / f"{tag}.png", f"{problem.name}, {steps} steps, lr {lr:g} {schedule}, beta1 {beta1:g}", LADDER,
               sizes, counts, seeds, tb.critical_beta2, None if rec is None else np.array(rec), file_out)
    res["picture"] = f"{tag}.png"
    res["seconds_training_all_panels"] = float(labels.get("seconds", np.nan))
    return res


def old_labels(path: str, name: str, lrs: list, beta1s: list, sizes: list) -> dict | None:
    """failed-seed counts of an earlier results.json (no losses), shaped as real_labels' (None if any panel is missing)."""
    old = json.loads(Path(path).read_text())
    counts = np.zeros((len(sizes), len(lrs), len(LADDER), len(beta1s)), dtype=int)
    for j, lr in enumerate(lrs):
        for i, b1 in enumerate(beta1s):
            hit = [r for r in old if r["problem"] == name and r["lr"] == lr and r["beta1"] == b1
                   and r.get("panel", "ladder") == "ladder"]
            if not hit or hit[0]["beta2"] != LADDER or hit[0]["batch_sizes"] != sizes:
                return None
            counts[:, j, :, i] = np.array(hit[0]["failed_seeds"])
    return {"counts": counts, "source": f"failed seeds read from {path}"}


def score_diag(problem, lr, schedule, steps, seeds, sizes, labels, G, out: Path, cache: Path, with_probe: bool) -> dict:
    from adamcheck._measurement import judge
    from adamcheck.drift import gradient_measurements, training_boundary

    counts, final = labels["counts"], labels["final"]
    initial = labels["initial"].mean(axis=1)
    failed = counts > 0
    far = _far(DIAG, failed)
    t0 = time.time()
    file_out = np.empty(failed.shape, dtype=object)
    file_ms = {}
    for j, b in enumerate(DIAG):
        tb = training_boundary(G, sizes, beta1=b, beta2s=[b], steps=min(steps, 8000))
        file_out[:, j] = [o[0] for o in tb.outcome]
        file_ms[b] = gradient_measurements(tb)
    file_out = file_out.astype(str)
    res = {"problem": problem.name, "description": problem.description, "panel": "diag", "budget": "steps",
           "amount": steps, "lr": lr, "schedule": schedule, "beta1": "=beta2", "seeds": seeds, "batch_sizes": sizes,
           "beta2": DIAG, "failed_seeds": counts.tolist(), "final_loss": final.tolist(),
           "file": {**lens_score(file_out, failed, far), "outcome": file_out.tolist(),
                    "seconds": round(time.time() - t0, 1)}}
    from adamcheck.drift import real_boundary

    res["real_critical"] = real_boundary(np.asarray(DIAG), failed)[0].tolist()
    if with_probe:
        horizon = max(50, steps // 10)
        p_out = np.empty(failed.shape, dtype=object)
        both = np.empty(failed.shape, dtype=object)
        for j, b in enumerate(DIAG):
            pr = probes(problem, lr, schedule, b, sizes, horizon, cache, ladder=[b])
            po, pms = _probe_outcomes(pr)
            p_out[:, j] = po[:, 0]
            both[:, j] = [judge([pms[i]] + list(file_ms[b]), b, batch_size=B, beta1=b).outcome
                          for i, B in enumerate(sizes)]
        res["probe"] = {**lens_score(p_out.astype(str), failed, far), "outcome": p_out.astype(str).tolist(),
                        "steps": horizon}
        res["combined"] = {**lens_score(both.astype(str), failed, far), "outcome": both.astype(str).tolist()}
    res["regret"] = {k: {"mean": v[0], "relative": v[1]} for k, v in (
        ("0.999", regret(final, initial, final[:, DIAG.index(0.999)])),
        ("0.95", regret(final, initial, final[:, DIAG.index(0.95)])))}
    tag = f"{problem.name}_diag_lr{lr:g}"
    plot_panel(out / f"{tag}.png", f"{problem.name}, beta1 = beta2, {steps} steps, lr {lr:g}", DIAG, sizes, counts,
               seeds, None, None, file_out)
    res["picture"] = f"{tag}.png"
    res["seconds_training_all_panels"] = float(labels.get("seconds", np.nan))
    return res


def _same(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in ("problem", "panel", "lr", "beta1"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--beta1", default="0,0.9")
    ap.add_argument("--lrs", default="all", help="'all' (the two per problem) or 'first'")
    ap.add_argument("--quick", action="store_true", help="batch sizes 1,8,64 (1,4,64), 1000 steps, 2 seeds, first lr")
    ap.add_argument("--out", default="benchmarks/validity/results")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--cache", default=None, help="labels, gradients and probes kept here (default OUT/cache)")
    ap.add_argument("--no-recommend", action="store_true", help="do not score (or train) the recommended beta2")
    ap.add_argument("--no-probe", action="store_true", help="do not run the probe lens")
    ap.add_argument("--no-diag", action="store_true", help="skip the beta1 = beta2 panels")
    ap.add_argument("--diag-only", action="store_true", help="only the beta1 = beta2 panels")
    ap.add_argument("--labels-only", action="store_true", help="train the real labels (and gradients), score nothing")
    ap.add_argument("--labels-from", default=None,
                    help="an earlier results.json: reuse its failed-seed counts (no losses: no regret) where it has "
                         "the panel with the same batch sizes")
    ap.add_argument("--batch-sizes", default=None, help="override every problem's batch sizes, e.g. 1,4,16,64")
    ap.add_argument("--seeds", type=int, default=None, help="override every problem's seed count")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(a.cache) if a.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else []
    beta1s = [float(x) for x in a.beta1.split(",")]
    for name in a.problems.split(","):
        problem = load_problem(name)
        cfg = SETTINGS[name]
        sizes = cfg.get("sizes", BATCH_SIZES)
        b1s = [b for b in beta1s if b in cfg.get("beta1", beta1s)]  # the transformer is trained with beta1 0.9 only
        steps, seeds = cfg.get("steps", 3000), cfg.get("seeds", 3)
        lrs = cfg["lrs"]
        if a.quick:
            sizes, steps, seeds, lrs = ([1, 8, 64] if sizes == BATCH_SIZES else [1, 4, 64]), 1000, 2, lrs[:1]
        elif a.lrs == "first":
            lrs = lrs[:1]
        if a.batch_sizes:
            sizes = [int(b) for b in a.batch_sizes.split(",")]
        if a.seeds:
            seeds = a.seeds
        for schedule in ([] if a.diag_only else dict.fromkeys(s for _, s in lrs)):
            group = [lr for lr, s in lrs if s == schedule]
            labels = old_labels(a.labels_from, name, group, b1s, sizes) if a.labels_from else None
            if labels is None:
                labels = real_labels(problem, group, schedule, b1s, steps, seeds, sizes, cache, a.quiet)
            for j, lr in enumerate(group):
                G = gradients(problem, lr, schedule, steps, cache)
                if a.labels_only:
                    continue
                for i, b1 in enumerate(b1s):
                    r = score_panel(problem, lr, schedule, b1, steps, seeds, sizes, labels, j, i, G, out, cache,
                                    not a.no_recommend, not a.no_probe, a.quiet)
                    results = [x for x in results if not _same(x, r)] + [r]
                    results_path.write_text(json.dumps(results, indent=1))
                    f = r["file"]
                    print(f"{name:20s} lr {lr:<6g} b1 {b1:<4g} file acc {f['accuracy']} cov {f['coverage']:.2f} "
                          f"probe {r.get('probe', {}).get('accuracy')} regret {r['regret']}", flush=True)
        diag_lr = cfg.get("diag")
        if diag_lr and not a.no_diag and not a.quick and not a.labels_from:
            schedule = dict(lrs)[diag_lr] if diag_lr in dict(lrs) else "constant"
            d_sizes, d_seeds = cfg.get("diag_sizes", sizes), cfg.get("diag_seeds", seeds)
            labels = diag_labels(problem, diag_lr, schedule, steps, d_seeds, d_sizes, cache, a.quiet)
            if a.labels_only:
                continue
            G = gradients(problem, diag_lr, schedule, steps, cache)
            r = score_diag(problem, diag_lr, schedule, steps, d_seeds, d_sizes, labels, G, out, cache, not a.no_probe)
            results = [x for x in results if not _same(x, r)] + [r]
            results_path.write_text(json.dumps(results, indent=1))
            print(f"{name:20s} diag lr {diag_lr:g} file acc {r['file']['accuracy']} cov {r['file']['coverage']}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
