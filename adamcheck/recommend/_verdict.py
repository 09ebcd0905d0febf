"""The verdict on (beta1, beta2) at a batch size, on two axes that are never mixed.

``adamcheck recommend`` and ``adamcheck check`` both ask this module, so they can never
disagree.

**Divergence** (will the run fail: diverge, go NaN, end above its start, collapse?).
Only this axis makes a RISK (exit 1 in ``check``), and only where a mechanism or a
measurement that applies to *your* run says it fails. The lenses are asked in the
order of :data:`adamcheck._measurement.PRECEDENCE`, and the first that decides sets
the answer, in both directions (:func:`adamcheck._measurement.judge`):

1. ``monitor``/``probe``: measurements of your own run (:func:`measurements_from_meta`
   reads them from a monitor file, or pass them as ``measurements``);
2. ``gradients``: beta2* from your sampled gradients, where that lens decided;
3. ``evidence``: published outcomes whose conditions match your run
   (:mod:`._evidence`: domain, beta1 class, batch dominance, outcome kind), by the
   edge rule below;
4. ``theory``: beta1 >= sqrt(beta2), outside every convergence theorem (Zhang et al.
   2022, 2026; Reddi et al. 2018).

and eps is judged on its own (:mod:`._eps`: eps that rounds to 0 in an fp16 optimizer
state). With no lens deciding, the answer is "no known failure": adamcheck does not
guess from runs that do not match yours.

**Efficiency** (will it train as well as it could?): advice with a number, exit 0.
Above the **upper edge** the memory 1/(1-beta2) outlasts the planned run, or is more
than ``upper_ratio`` times the half-life rule's at a batch at least the reference's
(too long a memory spiked at large batch); below the half-life rule by more than
``lower_ratio`` times its memory, a shorter memory trains worse (the cost where a
source gives one: Marek et al. 2025, beta2 0.95 at batch 1 needed a 16x lower learning
rate than 0.9999).

**The edge rule** (:func:`evidence_risk`). Among the rows that match your run, write
F(b) for the largest batch at which a run with beta2 >= b failed, and S(b) for the
smallest batch at which a run with beta2 <= b trained, both within one source (one
study's table). Smaller batches need larger beta2 (Zhang et al. 2026, section 2; Shi
et al. 2021's table is monotone in both directions), so a failure at (F, b') flags
every (B <= F, b <= b') and a success clears every (B >= S, b >= b'). Between the two
the study does not place the edge; adamcheck puts it at F^(1-t) S^t in batch
(geometric), with ``interpolation`` t = 0.5 by default (a named choice, not a paper's
constant). Where no run with beta2 <= b trained, only the failures count. Where a
failure and a success disagree the failure wins.

**Units.** Language-model rows are compared in tokens per step (they need your
sequence length), the others in samples.

Sources: docs/theory.md section 7, and the papers named in each row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .._answer import beta_text, beta_texts, count_text, per_text, sqrt_rule_text, user_beta_text
from .._diagnostics import Diagnostic, Level, worst
from .._halflife import BetaReference
from .._measurement import PRECEDENCE, Measurement, judge
from .._validate import check_beta, check_positive_int
from ._edges import (
    upper_overruled,
    DEFAULT_INTERPOLATION,
    DEFAULT_LOWER_RATIO,
    DEFAULT_UPPER_RATIO,
    SRC_EVIDENCE,
    SRC_HALF_LIFE,
    Edge,
    _evidence_clear,
    _evidence_edge,
    _evidence_measurements,
    _LENS_WORDS,
    _no_evidence_reason,
    _run_size,
    _unit_of,
    describe_reference,
    evidence_risk,
    lower_edge,
    practice_beta2,
    reference_size,
    round_beta2,
    upper_edge,
)
from ._eps import eps_diagnostics
from ._evidence import (
    EVIDENCE,
    SHI_FAILED_BELOW_ACCURACY,
    Evidence,
    RunFacts,
    domain_label,
    matching_rows,
    row_applies,
    shi_evidence,
)
from ._lenses import SRC_SQRT, gradient_measurement, measurements_from_meta, no_measured_critical, theory_measurement
from ._settings import VerdictSettings

__all__ = [
    "EVIDENCE",
    "judge_betas",
    "Edge",
    "Evidence",
    "Verdict",
    "DEFAULT_INTERPOLATION",
    "DEFAULT_LOWER_RATIO",
    "DEFAULT_UPPER_RATIO",
    "SHI_FAILED_BELOW_ACCURACY",
    "evidence_risk",
    "gradient_measurement",
    "lower_edge",
    "measurements_from_meta",
    "upper_edge",
    "verdict",
    "answer_lines",
    "describe_reference",
    "reference_size",
    "round_beta2",
    "shi_evidence",
]

#: Efficiency advice in the order the short answer shows it (the first one present is shown).
_EFFICIENCY_ORDER = ("worse", "half_life", "memory_vs_steps", "eps_vs_grad", "eps_vs_sqrt_v")
#: The rule name each lens's finding carries (``adamcheck check`` rules).
RULE_OF_LENS = {"theory": "beta1_below_sqrt_beta2", "evidence": "lower_edge", "gradients": "critical_beta2",
                "monitor": "monitor", "probe": "probe"}


# -- the verdict ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Verdict:
    """(beta1, beta2) at a batch on both axes.

    ``level`` is ``"risk"`` when a lens (or eps) says the run fails, ``"advice"`` when
    only advice was found, else ``"ok"``. ``outcome`` is the divergence answer for beta2
    (``"fails"``, ``"trains"``, ``"cannot_tell"``) and ``lens`` the lens that set it
    (``""`` when none did); ``reason`` says why in one line. ``diagnostics`` holds every
    finding on both axes (:class:`~adamcheck._diagnostics.Diagnostic`). Sizes:
    ``batch_size`` in samples, ``tokens_per_step`` when the sequence length is known
    (then ``unit`` is ``"tokens"``).
    """

    batch_size: int
    tokens_per_step: int | None
    unit: str
    beta1: float
    beta2: float
    lower: Edge
    upper: Edge
    lower_parts: tuple[Edge, ...] = ()
    upper_parts: tuple[Edge, ...] = ()
    level: str = "ok"
    messages: tuple[str, ...] = field(default_factory=tuple)
    reference: str = ""
    domain: str | None = None
    domain_how: str = ""
    outcome: str = "cannot_tell"
    lens: str = ""
    reason: str = ""
    diagnostics: tuple[Diagnostic, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    abstained: tuple[Measurement, ...] = ()
    target_beta2: float | None = None

    def diagnostic(self, rule: str) -> list[Diagnostic]:
        """The diagnostics of one rule."""
        return [d for d in self.diagnostics if d.rule == rule]

    @property
    def size_text(self) -> str:
        """``batch 8`` or ``8 x 512 = 4,096 tokens per step``."""
        if self.tokens_per_step:
            per = self.tokens_per_step // self.batch_size
            return f"{self.batch_size:,} x {per:,} = {self.tokens_per_step:,} tokens per step"
        return f"batch {self.batch_size:,}"

    def headline(self) -> str:
        """The divergence answer in one line, with the lens that set it."""
        eps_risk = [d for d in self.diagnostics if d.rule == "eps_precision" and d.level is Level.RISK]
        if self.outcome == "fails":
            return f"fails (set by {self.lens}): {self.reason}"
        if eps_risk:
            return f"fails (eps): {eps_risk[0].message}"
        if self.outcome == "trains":
            return f"trains (set by {self.lens}): {self.reason}"
        return f"no known failure: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "batch_size": {"value": self.batch_size, "unit": "samples"},
            "tokens_per_step": {"value": self.tokens_per_step, "unit": "tokens"},
            "unit": self.unit, "beta1": self.beta1, "beta2": self.beta2, "reference": self.reference,
            "lower_edge": self.lower.to_dict(self.unit), "upper_edge": self.upper.to_dict(self.unit),
            "lower_edge_parts": [p.to_dict(self.unit) for p in self.lower_parts],
            "upper_edge_parts": [p.to_dict(self.unit) for p in self.upper_parts],
            "messages": list(self.messages),
            "domain": {"value": self.domain, "how": self.domain_how},
            "divergence": {"outcome": self.outcome, "lens": self.lens or None, "reason": self.reason,
                           "abstained": [{"lens": m.lens, "reason": m.reason} for m in self.abstained]},
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "measurements": [m.to_dict() for m in self.measurements],
            "target_beta2": self.target_beta2,
        }


def _lens_diagnostics(ms: Sequence[Measurement], beta2: float, batch: int, beta1: float, final: Any,
                      evidence_edge: Edge) -> list[Diagnostic]:
    out = []
    for lens in PRECEDENCE:
        mine = [m for m in ms if m.lens == lens]
        rule = RULE_OF_LENS[lens]
        if not mine:
            if lens == "evidence":
                level = "not_checked" if evidence_edge.reason.startswith("cannot tell") else "ok"
                out.append(Diagnostic(level, rule, evidence_edge.reason, SRC_EVIDENCE, axis="divergence", lens=lens))
            continue
        j = judge(mine, beta2, batch_size=batch, beta1=beta1)
        m = j.measurement
        if lens == "theory":
            text = sqrt_rule_text(beta1, beta2)
            source = SRC_SQRT
        elif j.outcome == "cannot_tell":
            why = "; ".join(a.reason for a in mine if not a.decided) or "no measured value at or near yours applies"
            out.append(Diagnostic("not_checked", rule, f"cannot tell from {_LENS_WORDS[lens]}: {why}",
                                  next((a.source for a in mine if a.source), _LENS_WORDS[lens]),
                                  axis="divergence", lens=lens))
            continue
        else:
            assert m is not None
            if lens == "evidence":
                text = f"beta2 = {beta_text(beta2)} {j.outcome}: {m.reason}"
            else:
                # the measured threshold (beta2* for the gradients lens) is what the user acts on
                need = (f" (it measured beta2 >= {beta_text(m.clear)} training)"
                        if j.outcome == "fails" and m.clear is not None else "")
                text = (f"beta2 = {beta_text(beta2)} {j.outcome} by {_LENS_WORDS[lens]} at "
                        f"{per_text(batch, 'samples')} per step{need}: {_measured_reason(m, j.outcome)}")
            source = m.source or _LENS_WORDS[lens]
            if j.outcome == "fails" and final.lens == lens and final.floor is not None:
                text += f"; {_floor_agrees(final.floor, beta1, beta2)}"
        if j.outcome == "fails":
            if final.outcome == "fails":
                level = "risk"
            else:
                level = "advice"
                text += f"; but {_LENS_WORDS[final.lens]} measured it training, which takes precedence"
        else:
            level = "ok"
        out.append(Diagnostic(level, rule, text, source, axis="divergence", lens=lens))
    return out


def _row_advice(rows: Sequence[Evidence], run: RunFacts, beta2: float) -> list[Diagnostic]:
    """Spikes and worse runs that match yours: advice pointing the way their fix went, one
    per kind and direction: the run nearest yours (closest batch, then closest beta2)."""
    nearest: dict[tuple[str, str], tuple[tuple[float, float], Evidence, str]] = {}
    for row in rows:
        if row.outcome not in ("spiked", "worse"):
            continue
        ok, why = row_applies(row, run, beta2)
        if not ok:
            continue
        unit = _unit_of(row)
        key = (abs(math.log(row.size(unit) / _run_size(run, unit))), abs(row.beta2 - beta2))
        slot = (row.outcome, row.fix)
        if slot not in nearest or key < nearest[slot][0]:
            nearest[slot] = (key, row, why)
    out = []
    for _, row, why in nearest.values():
        way = "raise" if row.fix == "raise" else "lower"
        unit = _unit_of(row)
        what = "trained worse" if row.outcome == "worse" else "spiked"
        cost = f": {row.worse_by}" if row.worse_by else ""
        text = (f"{row.beta2:g} {what} at {per_text(row.size(unit), unit)} per step in {domain_label(row.domain)}, "
                f"yours {per_text(_run_size(run, unit), unit)} ({row.short}){cost}; {way} beta2 (applies: {why})")
        axis = "divergence" if row.outcome == "spiked" else "efficiency"
        out.append(Diagnostic("advice", "spikes" if row.outcome == "spiked" else "worse", text,
                              row.source, axis=axis, lens="evidence"))
    return out


def verdict(
    batch_size: int,
    beta1: float,
    beta2: float,
    *,
    reference: BetaReference,
    tokens_per_sample: int | None = None,
    planned_steps: int | None = None,
    beta2_critical: float | None = None,
    critical_source: str = "",
    interpolation: float = DEFAULT_INTERPOLATION,
    upper_ratio: float = DEFAULT_UPPER_RATIO,
    lower_ratio: float = DEFAULT_LOWER_RATIO,
    domain: str | None = None,
    domain_how: str = "",
    measurements: Iterable[Measurement] = (),
    evidence: Iterable[Evidence] = EVIDENCE,
    eps: float | None = None,
    state_dtype: str | None = None,
    state_source: str = "",
    grad_rms: float | None = None,
) -> Verdict:
    """Judge (beta1, beta2) at ``batch_size`` samples per step on both axes (module docstring).

    ``domain``: your kind of training (:data:`adamcheck.recommend._evidence.DOMAINS`, or
    ``"lm"``); None: not known, so no published run applies. ``measurements``: your own
    (``monitor``, ``probe``, ``gradients``) as :class:`~adamcheck._measurement.Measurement`;
    ``beta2_critical`` adds a gradients one. ``eps`` with ``state_dtype`` (``fp32``,
    ``bf16``, ``fp16``: the precision of Adam's m and v) and ``grad_rms`` judge eps.

    Raises :class:`~adamcheck.InvalidParameterError` for betas outside [0, 1), a batch
    size below 1, an unknown domain or precision.

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> verdict(8, 0.0, 0.95, reference=DEFAULT_REFERENCE, domain="vision").level     # Shi et al. 2021
        'risk'
        >>> v = verdict(8, 0.9, 0.95, reference=DEFAULT_REFERENCE, tokens_per_sample=64, domain="lm")
        >>> v.outcome, v.level                    # nothing published says a run like this fails
        ('cannot_tell', 'advice')
        >>> verdict(1, 0.9, 0.5, reference=DEFAULT_REFERENCE).lens                         # 0.9 >= sqrt(0.5)
        'theory'
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    beta1 = check_beta(beta1, "beta1")
    beta2 = check_beta(beta2, "beta2")
    settings = VerdictSettings(
        reference=reference, tokens_per_sample=tokens_per_sample, planned_steps=planned_steps,
        beta2_critical=beta2_critical, critical_source=critical_source, interpolation=interpolation,
        upper_ratio=upper_ratio, lower_ratio=lower_ratio, domain=domain, domain_how=domain_how,
        measurements=tuple(measurements), evidence=tuple(evidence), eps=eps, state_dtype=state_dtype,
        state_source=state_source, grad_rms=grad_rms)
    return judge_betas(batch_size, beta1, beta2, settings)


def judge_betas(batch_size: int, beta1: float, beta2: float, settings: VerdictSettings) -> Verdict:
    """:func:`verdict` with its options as one :class:`~adamcheck.recommend._settings.VerdictSettings`
    (checked at its construction); ``batch_size``, ``beta1`` and ``beta2`` already checked."""
    s = settings
    tokens = s.tokens_per_sample
    run = RunFacts(batch_size, beta1, tokens, s.domain)
    rows = matching_rows(run, s.evidence)
    given = list(s.measurements)
    if s.beta2_critical is not None:
        given.append(gradient_measurement(batch_size, beta1, s.beta2_critical,
                                          reason="beta2* from your sampled gradients", source=s.critical_source))
    ev_edge = _evidence_edge(run, rows, s.interpolation, _no_evidence_reason(run, s.evidence, rows))
    ms = list(given)
    ms += _evidence_measurements(run, ev_edge, _evidence_clear(run, rows, beta2))
    ms.append(theory_measurement(batch_size, beta1))
    final = judge(ms, beta2, batch_size=batch_size, beta1=beta1)
    low, low_parts = lower_edge(batch_size, beta1, tokens_per_sample=tokens, evidence=s.evidence,
                                interpolation=s.interpolation, domain=s.domain, measurements=given)
    high, high_parts = upper_edge(batch_size, reference=s.reference, tokens_per_sample=tokens,
                                  planned_steps=s.planned_steps, upper_ratio=s.upper_ratio)
    diags = _lens_diagnostics(ms, beta2, batch_size, beta1, final, ev_edge)
    diags += _row_advice(rows, run, beta2)
    _, clamped = practice_beta2(batch_size, s.reference, tokens)
    if s.planned_steps is not None and 1.0 - 1.0 / s.planned_steps < clamped:
        target = round_beta2(1.0 - 1.0 / s.planned_steps, up=True)  # the run caps the memory
    else:
        target = round_beta2(clamped)
    diags += _memory_advice(beta2, target, high_parts, s.lower_ratio, run, s.reference, tokens, low)
    diags += eps_diagnostics(s.eps, s.state_dtype, state_source=s.state_source, beta2=beta2, grad_rms=s.grad_rms)
    level = worst(diags)
    lvl = "risk" if level is Level.RISK else "advice" if level is Level.ADVICE else "ok"
    messages = tuple(d.message for d in diags if d.level in (Level.RISK, Level.ADVICE))
    reason = _reason(final, ms, ev_edge, beta1, beta2)
    return Verdict(batch_size, batch_size * tokens if tokens else None,
                   "tokens" if tokens else "samples", beta1, beta2, low, high, low_parts, high_parts,
                   lvl, messages, describe_reference(s.reference, tokens), s.domain, s.domain_how,
                   final.outcome, final.lens, reason, tuple(diags), tuple(ms), final.abstained, target)


def _measured_reason(m: Measurement, outcome: str) -> str:
    """A gradients lens's reason names the mechanism of the failures it found; for a value it
    clears, say what it measured instead (the mechanism read as the reason the run trains)."""
    if outcome == "trains" and m.lens == "gradients" and m.clear is not None:
        none = no_measured_critical(m)
        if none is None:
            return f"at or above the beta2* = {beta_text(m.clear)} measured on your gradients"
        if m.clear <= 0:
            return none
        # nothing failed: the lowest value tried is not an edge, only where the ladder starts
        return f"your gradients show it training at beta2 >= {beta_text(m.clear)} (no failure found)"
    return m.reason


def _floor_agrees(floor: Measurement, beta1: float, beta2: float) -> str:
    """A floor (the theory's beta1 >= sqrt(beta2)) that agrees with the failure a lens measured."""
    if floor.lens == "theory":
        return f"the theory agrees ({sqrt_rule_text(beta1, beta2).split(':')[0]}: outside every convergence theorem)"
    return f"{_LENS_WORDS.get(floor.lens, floor.lens)} agrees ({floor.reason})"


def _reason(final: Any, ms: Sequence[Measurement], ev_edge: Edge, beta1: float, beta2: float) -> str:
    if final.outcome != "cannot_tell":
        m = final.measurement
        text = _measured_reason(m, final.outcome) if m is not None and m.reason else _LENS_WORDS.get(
            final.lens, final.lens)
        if final.floor is not None:
            text += f"; {_floor_agrees(final.floor, beta1, beta2)}"
        return text
    return f"the theory sees none ({sqrt_rule_text(beta1, beta2)}); {ev_edge.reason}"


def _memory_advice(beta2: float, target: float, high_parts: Sequence[Edge], lower_ratio: float, run: RunFacts,
                   reference: BetaReference, tokens_per_sample: int | None, low: Edge) -> list[Diagnostic]:
    """Efficiency: a memory far shorter than the half-life rule's, or longer than the upper edge
    (never advice to go at or below the lower edge: a risk outranks it)."""
    out = []
    mem = 1.0 / (1.0 - beta2)
    size = per_text(run.size(), run.unit) + " per step"
    for part in high_parts:
        if part.flags(beta2, "upper"):
            rule = "memory_vs_steps" if part.kind == "steps" else "half_life"
            shown_b2, shown_edge = beta_texts(beta2, round_beta2(part.beta2, 2, up=True))  # type: ignore[arg-type]
            fix = (f"no beta2 both meets it and stays above the lower edge ({low.reason}): keep beta2 above "
                   f"the lower edge (a risk outranks this advice)" if upper_overruled(low, part)
                   else f"lower beta2 to {shown_edge} or below")
            out.append(Diagnostic("advice", rule, f"beta2 = {shown_b2} (memory {count_text(mem)} steps) at {size}: "
                                  f"{part.reason}; {fix}", part.source,
                                  axis="efficiency", lens="theory" if part.kind == "steps" else "practice"))
    rule_mem = 1.0 / (1.0 - target)
    _, _, how = reference_size(reference, tokens_per_sample)
    source = f"{SRC_HALF_LIFE}; reference: {reference.source} ({how})"
    if rule_mem > lower_ratio * mem:
        mine, aim = beta_texts(beta2, target)
        out.append(Diagnostic(
            "advice", "half_life",
            f"beta2 = {mine} remembers {count_text(mem)} steps; the half-life rule (reference "
            f"{describe_reference(reference, tokens_per_sample)}) gives {aim} at {size}, a memory {count_text(rule_mem / mem)}x "
            f"as long: raise beta2 toward {aim} (a short memory trains worse, it does not fail)",
            f"{source}; ratio {lower_ratio:g} is adamcheck's choice", axis="efficiency", lens="practice"))
    elif not any(d.rule == "half_life" for d in out):
        mine, aim = beta_texts(beta2, target)
        upper = ", or (at a batch at least the reference's) over 5x longer" if any(
            p.kind == "large_batch" for p in high_parts) else ""
        out.append(Diagnostic(
            "ok", "half_life",
            f"beta2 = {mine} (memory {count_text(mem)} steps) at {size}: the half-life rule gives {aim} (memory "
            f"{count_text(rule_mem)} steps); advice only for a memory over {lower_ratio:g}x shorter{upper}",
            source, axis="efficiency", lens="practice"))
    return out


def answer_lines(v: Verdict, findings: Any = (), recommendation: dict[str, Any] | None = None) -> tuple[str, list[Any]]:
    """(what was judged, the lines after it) for the short answer of ``check`` and ``recommend``:
    the divergence answer and the lens that set it, the recommendation (from its
    ``to_dict()``, when one was computed), then the most important advice.

    ``findings`` are the diagnostics to draw from (default: the verdict's own).
    """
    diags = list(findings) or list(v.diagnostics)
    head = f"beta1 = {user_beta_text(v.beta1)}, beta2 = {user_beta_text(v.beta2)} at {v.size_text}"
    lines: list[Any] = [(f"divergence: {_divergence(v, diags)}", 3)]
    way = ""
    if recommendation is not None:
        b2 = recommendation["beta2"]
        way = "" if abs(b2 - v.beta2) < 1e-12 else ("raise" if b2 > v.beta2 else "lower")
        reason = (recommendation.get("answer") or {}).get("reason") or ""
        what = f"{way} beta2" if way else "keep beta2"
        lines.append(f"recommended: beta1 = {beta_text(recommendation['beta1'])}, beta2 = {beta_text(b2)}: {what}"
                     + (f" ({reason})" if reason else ""))
    lines += [f"eps: {d.message}" for d in diags if d.rule == "eps_precision" and d.level is Level.ADVICE]
    spikes = [d for d in diags if d.rule == "spikes" and d.level is Level.ADVICE]
    advice = sorted((d for d in diags if d.level is Level.ADVICE and d.axis == "efficiency"
                     and d.rule in _EFFICIENCY_ORDER), key=lambda d: _EFFICIENCY_ORDER.index(d.rule))
    # the half-life rule's "raise beta2" says what the recommendation already says
    advice = [d for d in advice if not (way == "raise" and d.rule == "half_life" and "raise beta2" in d.message)]
    lines += [f"spikes: {d.message}" for d in spikes[:1]] + [f"efficiency: {d.message}" for d in advice[:1]]
    return head, lines


def _divergence(v: Verdict, diags: list[Any]) -> str:
    eps = [d for d in diags if d.rule == "eps_precision" and d.level is Level.RISK]
    risks = [d for d in diags if d.level is Level.RISK and d.rule != "eps_precision"]
    if v.outcome == "fails" or risks:
        lens = v.lens or (risks[0].lens if risks else "")
        # the verdict's own reason where the findings shown hold none of its lens (check
        # drops the gradients lens's finding when no --gradients file was given)
        fallback = v.reason if v.outcome == "fails" or not risks else risks[0].message
        text = next((d.message for d in risks if d.lens == lens), fallback)
        return f"FAILS, set by {lens}: {text}" + (f"; and eps: {eps[0].message}" if eps else "")
    if eps:
        return f"FAILS, set by eps: {eps[0].message}"
    if v.outcome == "trains":
        return f"trains, set by {v.lens}: {v.reason}"
    abst = "".join(f"; {m.lens} cannot tell: {m.reason}" for m in v.abstained)
    return f"no known failure (no lens decided): {v.reason}{abst}"
