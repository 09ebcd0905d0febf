"""``adamcheck recommend``: which (beta1, beta2) for a batch size."""

from __future__ import annotations

from typing import Any

import click

from ._common import emit, json_option, quiet_option

__all__ = ["command"]


def _fmt(beta2: float | None) -> str:
    if beta2 is None:
        return "n/a"
    gap = 1.0 - beta2
    if 0 < gap < 1e-4:
        return f"1 - {gap:.3g}"
    return f"{beta2:.6g}"


def _render(rec: Any) -> str:
    p, c, pr = rec.practice, rec.calibrated, rec.provable
    L = [f"batch size {rec.batch_size}" + (f", data set {rec.dataset_size}" if rec.dataset_size else "")
         + (f", {rec.tokens_per_sample} tokens per sample" if rec.tokens_per_sample else ""), ""]
    L.append("1. Provable (sufficient conditions; extremely conservative)")
    if pr.get("theorem22"):
        L.append(f"   Theorem 2.2 (2026): {pr['theorem22']['statement']}")
    L.append(f"   Shi et al. 2021: {pr.get('status')}")
    L.append("")
    L.append("2. Calibrated on your gradients (drift ratio, docs/theory.md section 9)")
    if c is None:
        L.append("   not used: give --gradients FILE (per-example gradients, see 'adamcheck estimate')")
    else:
        lo, hi = c["beta2_critical_interval"]
        L.append(f"   critical beta2* = {_fmt(c['beta2_critical'])}  (bracket {_fmt(lo)} .. {_fmt(hi)}; "
                 f"lenient rule {_fmt(c['beta2_lenient'])})")
        L.append(f"   recommended beta2 (drift ratio >= {c['margin']:g}) = {_fmt(c['beta2_recommended'])}")
        inf = c["informative_coordinates"]
        exc = c["excluded_coordinates"]
        L.append(f"   coordinates used per point: {inf}; left out (mean within 2 s.e. of 0): {exc}")
        if c["critical_coordinates"]:
            L.append("   set by: " + ", ".join(
                f"point {s.get('point')} coordinate {s.get('coordinate')}" for s in c["critical_coordinates"][:5]))
    L.append("")
    L.append("3. Practice (half-life rule)")
    ref = p["reference"]
    L.append(f"   reference: {ref['source']}")
    L.append(f"   beta2' = {ref['beta2']:g}^({rec.batch_size}/{ref['batch_size']:g}) = {p['beta2_half_life_rule']:.6g};"
             f" clamped to [{p['clamp'][0]:g}, {p['clamp'][1]:g}]: {p['beta2_clamped']:.6g}")
    mem = f"   memory 1/(1-beta2) = {p['memory_steps']:,.0f} steps = {p['memory_samples']:,.0f} samples"
    if "memory_tokens" in p:
        mem += f" = {p['memory_tokens']:,.0f} tokens"
    L.append(mem)
    L.append("")
    L.append(f"4. Recommendation: beta1 = {rec.beta1:g}, beta2 = {_fmt(rec.beta2)}")
    L.append(f"   ({rec.choice}; beta1 < sqrt(beta2) = {rec.beta2 ** 0.5:.4f}; "
             f"1/(1-beta2) = {1 / (1 - rec.beta2):,.0f} steps)")
    for w in rec.warnings:
        L.append(f"   warning: {w}")
    for n in rec.notes:
        L.append(f"   note: {n}")
    return "\n".join(L)


def _plot(rec: Any, path: str) -> None:
    from .._halflife import BetaReference
    from ..recommend import plot_beta2_against_batch

    ref = rec.practice["reference"]
    critical = [] if rec.beta2_critical is None else [rec.beta2_critical]
    plot_beta2_against_batch(
        path, reference=BetaReference(ref["beta2"], ref["batch_size"], ref["source"]),
        clamp=tuple(rec.practice["clamp"]), batch_sizes=[rec.batch_size][: len(critical)],
        critical_beta2=critical, recommended=(rec.batch_size, rec.beta2),
        title=f"beta2 for batch {rec.batch_size}",
    )


@click.command(
    help="""Recommend (beta1, beta2) for a batch size, with the evidence.

Four lenses: provable (Shi et al.'s explicit condition, Theorem 2.2's order),
calibrated (the critical beta2* from your sampled per-example gradients; only with
--gradients), practice (the half-life rule from a configuration known to work), and
the recommendation with warnings on both sides.

\b
Examples:
  adamcheck recommend --batch-size 32
  adamcheck recommend --batch-size 4 --gradients examples/digits/grads.npz --json
  adamcheck recommend --batch-size 512 --reference 0.95@2048 --tokens-per-sample 1024
"""
)
@click.option("--batch-size", "-b", type=int, required=True, help="Samples (sequences) per optimizer step.")
@click.option("--dataset-size", type=int, default=None, help="N, the data set size (n = N // B).")
@click.option("--gradients", type=click.Path(dir_okay=False), multiple=True,
              help="Per-example gradient file(s) (.npy/.npz): calibrate to your problem.")
@click.option("--beta1", type=float, default=None, help="Your beta1 (default 0.9).")
@click.option("--reference", default=None, help="A configuration known to work, BETA2@BATCH (default 0.999@32).")
@click.option("--tokens-per-sample", type=int, default=None, help="Tokens per sample (memories in tokens).")
@click.option("--eps", type=float, default=None, help="Your Adam epsilon, in the gradients' units (default 0).")
@click.option("--margin", type=float, default=0.5, show_default=True,
              help="Drift-ratio margin of the recommended beta2.")
@click.option("--max-steps", "planned_steps", type=int, default=None, help="Planned optimizer steps (for warnings), as in check.")
# --steps was this option's first name; hidden because --steps means steps per simulated run elsewhere
@click.option("--steps", "planned_steps_alias", type=int, default=None, hidden=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of resampling and Monte Carlo.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Draw beta2 against batch size with the recommendation (.png/.pdf/.svg).")
@json_option
@quiet_option
def command(batch_size, dataset_size, gradients, beta1, reference, tokens_per_sample, eps, margin,
            planned_steps, planned_steps_alias, seed, plot_path, as_json, quiet) -> int:
    from ..recommend import recommend

    planned_steps = planned_steps if planned_steps is not None else planned_steps_alias
    if plot_path:
        from .._plotting import check_plot_path

        check_plot_path(plot_path)
    rec = recommend(
        batch_size, dataset_size=dataset_size, gradients=list(gradients) or None, beta1=beta1,
        reference=reference, tokens_per_sample=tokens_per_sample, eps=eps, margin=margin,
        planned_steps=planned_steps, seed=seed,
    )
    if plot_path:
        _plot(rec, plot_path)
    emit(rec, as_json, _render)
    return 0
