"""``adamcheck recommend``: which (beta1, beta2) for a batch size."""

from __future__ import annotations

import textwrap
from contextlib import nullcontext
from typing import Any

import click

from .._answer import Answer, beta_text, steps_text
from .._errors import InvalidParameterError
from .._halflife import BetaReference
from .._plotting import check_plot_path
from ._common import (
    domain_option,
    emit,
    explain_option,
    grad_rms_option,
    json_option,
    quiet_option,
    state_dtype_option,
)

__all__ = ["command"]


WIDTH = 100
#: the recommendation's lines are the answer: wrapped over as many lines as they take, never cut
_ALL = 100


def _fmt(beta2: float | None) -> str:
    return beta_text(beta2)


def _wrap(text: str, first: str = "", rest: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first]


def _edge_text(edge: Any, side: str) -> str:
    from ..recommend._verdict import round_beta2  # lazy: keeps adamcheck.recommend (~80 ms) off `recommend --help`

    if edge.beta2 is None:
        return "none" if side == "lower" else "none (give --max-steps)"
    if side == "lower":
        return _fmt(round_beta2(edge.beta2, 3)) + (" (inclusive)" if edge.inclusive else "")
    return _fmt(round_beta2(edge.beta2, 2, up=True))


def answer(rec: Any) -> Any:
    """The short answer (an :class:`adamcheck._answer.Answer`): with a beta2 to judge, the
    same verdict lines as ``adamcheck check``; else the recommendation, the safe range at
    this batch size and the one reason."""
    from ..recommend._verdict import answer_lines, round_beta2  # lazy: keeps adamcheck.recommend (~80 ms) off `recommend --help`

    hint = "(--explain: the lenses and the evidence behind each edge"
    if rec.calibrated is None:
        hint = "(--explain: the lenses and the evidence; --gradients FILE: beta2* for your problem)"
    else:
        hint += ")"
    if rec.verdict is not None:
        v = rec.verdict
        head, lines = answer_lines(v, (), rec.to_dict())
        label = "RISK" if v.level == "risk" else "OK"
        return Answer(f"Verdict: {label} (exit {rec.exit_code}): {head}", lines, v.diagnostics, hint=hint)
    size = f"batch {rec.batch_size:,}"
    if rec.tokens_per_step:
        size += f" x {rec.tokens_per_sample:,} = {rec.tokens_per_step:,} tokens"
    first = f"beta1 = {_fmt(rec.beta1)}, beta2 = {_fmt(rec.beta2)}   ({size}; memory {steps_text(1 / (1 - rec.beta2))})"
    lo = hi = ""
    if rec.lower.beta2 is not None:
        lo = _fmt(round_beta2(rec.lower.beta2, 3)) + (" < " if rec.lower.inclusive else " <= ")
    applied = rec.upper_applied
    if rec.upper.beta2 is not None and applied:
        hi = f" <= {_fmt(round_beta2(rec.upper.beta2, 2, up=True))}"
    if not applied and not lo:
        lo = "0 < "  # the cap is overruled by beta2 = 0 itself, outside every theorem (beta1 >= sqrt(0))
    rng = f"{lo}beta2{hi}" if lo or hi else "no edge on record"
    if not applied:
        # the upper edge (advice) lies at or below the lower edge (a risk): no beta2 meets
        # both, so the range is the lower edge's alone and says why
        what = (f"the {rec.planned_steps:,}-step run" if rec.upper.kind == "steps"
                else "the large-batch edge")
        rng += (f" ({what} would cap beta2 at or below that, so no beta2 meets both: "
                "the cap is not applied, a risk outranks advice)")
    lines: list[Any] = [(f"safe range at this batch: {rng}   (batch counted in {rec.unit})", _ALL),
                        (f"  below: {rec.lower.reason}", _ALL)]
    if rec.upper.beta2 is not None:
        above = rec.upper.reason + ("" if applied else f" (upper edge {_fmt(rec.upper.beta2)}: not applied)")
        lines.append((f"  above: {above}", _ALL))
    lines.append((f"reason: {rec.reason}", _ALL))
    lines += [(f"warning: {w}", _ALL) for w in rec.warnings]
    return Answer(first, lines, hint=hint, indent="")


def _render(rec: Any, explain: bool = False) -> str:
    short = answer(rec).render(WIDTH, max_lines=10 if rec.verdict is not None else 100)
    if not explain:
        notes = [n for n in rec.notes if n.startswith("gradient file:")]
        if not notes:  # what was taken from (or differs from) the gradient file: always shown
            return short
        lines = short.splitlines()
        return "\n".join(lines[:-1] + [w for n in notes for w in _wrap(f"note: {n}")] + lines[-1:])
    L = short.splitlines()[:-1]  # the hint names the flag that is already on
    for n in rec.notes:
        L += _wrap(f"note: {n}")
    if rec.domain_how:
        L += _wrap(f"domain: {rec.domain or 'not known'} ({rec.domain_how})")
    if rec.verdict is not None:
        L += ["", f"Your beta2 = {_fmt(rec.verdict.beta2)}, every rule (axis: divergence = will it fail; "
              "efficiency = will it train well)"]
        for d in sorted(rec.verdict.diagnostics, key=lambda d: d.level.rank):
            L += _wrap(f"{d.level.label:<12}{d.rule} [{d.axis}]: {d.message}", "  ", " " * 14)
    L += ["", "Lower edge (below it: RISK in 'adamcheck check')"]
    for part in rec.lower_parts:
        L += _wrap(f"{part.kind}: {_edge_text(part, 'lower')}: {part.reason}", "  ", "    ")
        L += _wrap(f"source: {part.source}", "    ", "      ")
        for row in part.evidence:
            L += _wrap(f"- {row.describe(rec.unit)}", "    ", "      ")
    L += ["Upper edge (above it: advice)"]
    for part in rec.upper_parts or (rec.upper,):
        head = part.reason if part.beta2 is None else f"{part.kind}: {_edge_text(part, 'upper')}: {part.reason}"
        L += _wrap(head, "  ", "    ")
        L += _wrap(f"source: {part.source}", "    ", "      ")
    p, c, pr = rec.practice, rec.calibrated, rec.provable
    L += ["", "1. Provable (sufficient conditions; extremely conservative, not used for the choice)"]
    if pr.theorem22_scale is not None:
        L += _wrap(f"Theorem 2.2 (2026) gives only the order: beta2 >= 1 - c(1 - beta1^n)/n^5 with n = {pr.n}; "
                   "the paper does not give c, so no number follows", "   ", "     ")
    L += _wrap(f"Shi et al. 2021: {pr.status}", "   ", "     ")
    L += ["2. Calibrated on your gradients"]
    if c is None:
        L += ["   not used: give --gradients FILE (per-example gradients, see 'adamcheck estimate')"]
    else:
        star, why = c.measured_critical()
        head = (f"critical beta2* = {_fmt(star)}" if star is not None else
                f"critical beta2*: none measured ({why}"
                + (f"; point estimate {_fmt(c.beta2_critical)}" if c.beta2_critical else "") + ")")
        L += _wrap(f"{head} ({c.steps} simulated steps, {c.coordinates} coordinates, {c.points} point(s))",
                   "   ", "     ")
        L += _wrap(f"mechanism: {c.mechanism}", "   ", "     ")
        L += _wrap(f"source: {c.source}", "   ", "     ")
    L += ["3. Practice (half-life rule)"]
    L += _wrap(f"reference: {p.reference.source}; compared in {p.unit}: {p.how}", "   ", "     ")
    L += _wrap(f"beta2' = {p.reference.beta2:g}^({p.size:,.0f}/{p.reference_size:,.0f}) = "
               f"{_fmt(p.beta2_half_life_rule)}; clamped to [{p.clamp[0]:g}, {p.clamp[1]:g}]: "
               f"{_fmt(p.beta2_clamped)}; memory {p.memory_steps:,.0f} steps", "   ", "     ")
    return "\n".join(L)


def _plot(rec: Any, path: str) -> None:
    from ..recommend import plot_beta2_against_batch  # lazy: keeps adamcheck.recommend (~80 ms) off `recommend --help`

    p = rec.practice
    per = rec.tokens_per_sample or 1  # the picture's x axis counts samples
    critical = [] if rec.beta2_critical is None else [rec.beta2_critical]
    plot_beta2_against_batch(
        path, reference=BetaReference(p.reference.beta2, p.reference_size / per, p.reference.source),
        clamp=tuple(p.clamp), batch_sizes=[rec.batch_size][: len(critical)],
        critical_beta2=critical, recommended=(rec.batch_size, rec.beta2),
        title=f"beta2 for batch {rec.batch_size}",
    )


@click.command(
    help="""Recommend (beta1, beta2) for a batch size, with the safe range and its evidence.

The answer comes first: (beta1, beta2), the safe range at this batch size (lower edge:
where a lens says the run fails, from published failures that match your run,
beta1 >= sqrt(beta2) and your own measurements; upper edge: --max-steps and the memory
at large batch), and the one reason. With --beta2, the verdict on your value instead,
the same as 'adamcheck check' gives (exit 1 on a risk). --explain adds the lenses:
provable (Shi et al., Theorem 2.2), calibrated (with --gradients), practice (the
half-life rule), and the evidence rows with sources. Words: docs/glossary.md.
A file saved by adamcheck.torch.GradientMonitor states its run's batch size, beta1
and eps: with it, --batch-size and --beta1 default to the file's (a note says when
a flag differs), and its rows (one per step, each averaging the run's batch) are
read at that batch.

\b
Examples:
  adamcheck recommend --batch-size 32
  adamcheck recommend --batch-size 4 --gradients examples/digits/grads.npz --json
  adamcheck recommend --batch-size 512 --reference 0.95@2048 --seq-len 1024
  adamcheck recommend --batch-size 1 --max-steps 1500 --explain
  adamcheck recommend --batch-size 8 --seq-len 512 --beta2 0.95
"""
)
@click.option("--batch-size", "-b", type=int, default=None,
              help="Samples (sequences) per optimizer step [default: the --gradients file's batch_size].")
@click.option("--dataset-size", type=int, default=None, help="N, the data set size (n = N // B).")
@click.option("--gradients", type=click.Path(dir_okay=False), multiple=True,
              help="Per-example gradient file(s) (.npy/.npz) or a GradientMonitor file: calibrate to your problem "
                   "(settings the file states are the defaults).")
@click.option("--beta1", type=float, default=None, help="Your beta1 (default 0.9).")
@click.option("--beta2", type=float, default=None,
              help="Your beta2: judge it (the same verdict and exit code as 'adamcheck check').")
@click.option("--reference", default=None, help="A configuration known to work, BETA2@BATCH (default 0.999@32).")
@click.option("--seq-len", "seq_len", type=int, default=None,
              help="Tokens per sequence: batches are compared in tokens (as in 'adamcheck check').")
# --tokens-per-sample was this option's first name; kept, hidden, for scripts that use it
@click.option("--tokens-per-sample", "tokens_alias", type=int, default=None, hidden=True)
@click.option("--eps", type=float, default=None,
              help="Your Adam epsilon, in the gradients' units (default torch's 1e-8).")
@click.option("--max-steps", "planned_steps", type=int, default=None,
              help="Planned optimizer steps, as in check: the memory 1/(1-beta2) never exceeds them.")
# --steps was this option's first name; hidden because --steps means steps per simulated run elsewhere
@click.option("--steps", "planned_steps_alias", type=int, default=None, hidden=True)
@domain_option
@state_dtype_option
@grad_rms_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampled coordinates and mini-batches.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Draw beta2 against batch size with the recommendation (.png/.pdf/.svg).")
@explain_option
@json_option
@quiet_option
def command(batch_size, dataset_size, gradients, beta1, beta2, reference, seq_len, tokens_alias, eps,
            planned_steps, planned_steps_alias, domain, state_dtype, grad_rms, seed, plot_path, explain, as_json,
            quiet) -> int:
    from ..recommend import RecommendSettings, recommend_with  # lazy: keeps adamcheck.recommend (~80 ms) off `recommend --help`

    planned_steps = planned_steps if planned_steps is not None else planned_steps_alias
    if seq_len is not None and tokens_alias is not None and seq_len != tokens_alias:
        raise InvalidParameterError(f"--seq-len {seq_len} and --tokens-per-sample {tokens_alias} disagree: "
                                    "give --seq-len only")
    seq_len = seq_len if seq_len is not None else tokens_alias
    if plot_path:
        check_plot_path(plot_path)
    # the options, checked once before the gradient files are opened
    settings = RecommendSettings(dataset_size=dataset_size, beta1=beta1, reference=reference, tokens_per_sample=seq_len,
                                 eps=eps, planned_steps=planned_steps, seed=seed, beta2=beta2, domain=domain,
                                 state_dtype=state_dtype, grad_rms=grad_rms)
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `adamcheck recommend --help`

    # one open of the gradient files serves the file's settings, the noise facts and the predictor
    with opened_gradients(list(gradients), progress=not quiet) if gradients else nullcontext() as source:
        rec = recommend_with(batch_size, source, settings)
    if plot_path:
        _plot(rec, plot_path)
    emit(rec, as_json, lambda r: _render(r, explain))
    return rec.exit_code
