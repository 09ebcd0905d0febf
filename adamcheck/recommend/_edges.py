"""The two edges of the safe range at a batch size, each with its evidence.

The **lower edge** is where a lens says the run fails: the evidence edge (published
failures whose conditions match your run, :mod:`._evidence`, by the edge rule of
:mod:`._verdict`), beta1^2 (beta1 >= sqrt(beta2) is outside every convergence theorem)
and the edges of your own measurements; a part gives way where a more specific lens
measured the value training. The **upper edge** is advice: the memory 1/(1-beta2)
longer than the planned run, or far longer than the half-life rule's at large batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .._answer import beta_text, count_text, per_text
from .._errors import InvalidParameterError
from .._halflife import PRACTICE_CLAMP, BetaReference, half_life_beta2
from .._measurement import FLOORS, PRECEDENCE, Measurement
from ._evidence import EVIDENCE, Evidence, RunFacts, domain_label, matching_rows, normal_domain
from ._lenses import SRC_SQRT, applicable, below, gradient_measurement

#: Where the edge sits between the last failed and the first fine batch, as the
#: exponent t of F^(1-t) S^t (0 = at the failure, 1 = at the success). The papers do
#: not locate it; 0.5 (geometric midpoint) is adamcheck's choice.
DEFAULT_INTERPOLATION = 0.5
#: Upper edge at large batch: advice when 1/(1-beta2) exceeds this many times the
#: half-life rule's memory. adamcheck's choice between the evidence on both sides: in
#: Marin's MoE sweep 0.999 at 128 x 4096 tokens (4x the rule's memory) was within 0.1%
#: of the best loss, while Megatron's Mixtral example at 0.999 and 1M tokens per step
#: (8x) spiked and was fixed with 0.95.
DEFAULT_UPPER_RATIO = 5.0
#: Efficiency advice when the half-life rule's memory exceeds 1/(1-beta2) by this
#: factor. adamcheck's choice from the published costs: in Marin's MoE sweep a memory
#: 6x shorter than the rule's cost 0.1% of the final loss, 12x 0.2%, 25x 0.6%; at batch
#: 1 Marek et al.'s 500x shorter memory needed a 16x lower learning rate.
DEFAULT_LOWER_RATIO = 10.0

SRC_MEMORY = "EMA memory 1/(1-beta2) against the planned steps; Zhang et al. 2026 Thm 2.2's 1/(1-beta2) factor"
SRC_HALF_LIFE = "half-life rule beta2' = beta2_ref^(B'/B_ref), Marek et al. 2025 (arXiv 2507.07101)"
SRC_EVIDENCE = "published outcomes whose conditions match your run (adamcheck.recommend.EVIDENCE, docs/theory.md section 7)"
_SRC_MIXTRAL = "Megatron-LM Mixtral example (256 x 4096 tokens; public reports, docs/theory.md section 7)"

_LENS_OF_KIND = {"evidence": "evidence", "beta1": "theory", "gradients": "gradients", "monitor": "monitor",
                 "probe": "probe"}
_LENS_WORDS = {"monitor": "your run's monitor", "probe": "probe runs of your model",
               "gradients": "your sampled gradients", "evidence": "published runs like yours",
               "theory": "the convergence theory"}
_TOL = 1e-12



# -- edges ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edge:
    """One edge of the safe range at a batch size.

    ``beta2`` None means no edge on this side. For the lower edge, ``inclusive`` says
    whether beta2 equal to the edge is itself flagged (``<=``) or only values below it
    (``<``); for the upper edge beta2 above ``beta2`` gets the advice. ``kind`` names
    where it comes from (``evidence``, ``beta1``, ``gradients``, ``monitor``, ``probe``;
    ``steps``, ``large_batch`` above).
    """

    beta2: float | None
    inclusive: bool
    reason: str
    source: str
    kind: str = ""
    evidence: tuple[Evidence, ...] = ()

    @property
    def lens(self) -> str:
        """The lens of a lower edge (``theory`` for the beta1^2 edge), ``""`` for an upper one."""
        return _LENS_OF_KIND.get(self.kind, "")

    def flags(self, beta2: float, side: str) -> bool:
        if self.beta2 is None:
            return False
        if side == "lower":
            return beta2 <= self.beta2 if self.inclusive else beta2 < self.beta2
        return beta2 > self.beta2 + 1e-12

    def to_dict(self, unit: str) -> dict[str, Any]:
        return {"beta2": None if self.beta2 is None else round_beta2(self.beta2, digits=3),
                "inclusive": self.inclusive, "kind": self.kind, "reason": self.reason,
                "source": self.source, "evidence": [e.describe(unit) for e in self.evidence]}


_count = count_text
_per = per_text


def upper_overruled(low: Edge, high: Edge) -> bool:
    """Whether the upper edge ``high`` (run length, large-batch memory: advice) lies at or
    below the lower edge ``low`` (a risk), so that no beta2 meets both: the lower edge wins
    and the upper one is not applied (a risk outranks advice;
    :func:`adamcheck.recommend._recommend.choose_beta2`).

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> low = lower_edge(32, 0.9)[0]
        >>> [upper_overruled(low, upper_edge(32, reference=DEFAULT_REFERENCE, planned_steps=n)[0])
        ...  for n in (1, 5, 10)]
        [True, True, False]
    """
    if high.beta2 is None:
        return False
    capped = round_beta2(high.beta2, up=True)
    # beta2 = 0 is outside every theorem whatever beta1 (beta1 >= 0 = sqrt(0)), also where the
    # lower edge shows the evidence's words instead of that trivial floor (beta1 = 0)
    return capped <= 0.0 or low.flags(capped, "lower")


def round_beta2(beta2: float, digits: int = 2, up: bool | None = None) -> float:
    """beta2 with its gap 1 - beta2 kept to ``digits`` significant digits.

    A beta2 is known only as well as its memory 1/(1-beta2), so the gap is what is
    rounded: 0.998001 -> 0.998. ``up=True`` rounds the gap up (a shorter memory, for a
    cap that must hold), ``up=False`` down, None to nearest.

    Example:
        >>> round_beta2(0.998001), round_beta2(1 - 1 / 1500, up=True)
        (0.998, 0.99933)
    """
    gap = 1.0 - beta2
    if gap <= 0 or not math.isfinite(gap):
        return beta2
    scale = 10.0 ** (math.floor(math.log10(gap)) - digits + 1)
    q = gap / scale
    q = math.ceil(q - 1e-9) if up else (math.floor(q + 1e-9) if up is False else round(q))
    return round(1.0 - q * scale, 12)


# -- the evidence edge ------------------------------------------------------------------------
def _unit_of(row: Evidence) -> str:
    return "tokens" if row.tokens_per_sample is not None else "samples"


def _run_size(run: RunFacts, unit: str) -> float:
    return run.size() if unit == "tokens" else run.batch


@dataclass(frozen=True, eq=False)
class _Bracket:
    failed: Evidence  # the failure with the largest batch among beta2 >= b (in this source)
    fine: Evidence | None  # the success with the smallest batch among beta2 <= b (same source)
    threshold: float  # risk below this size
    unit: str

    def flags(self, run: RunFacts) -> bool:
        # The relative tolerance keeps a batch exactly at the geometric midpoint of two
        # evidence batches (sqrt(8 x 32) = 16.000000000000004) on the side it is on.
        size = _run_size(run, self.unit)
        return size <= self.failed.size(self.unit) * (1 + 1e-9) or size < self.threshold * (1 - 1e-9)


def _brackets(run: RunFacts, beta2: float, rows: Sequence[Evidence], t: float) -> list[_Bracket]:
    out = []
    for source in dict.fromkeys(r.source for r in rows):
        group = [r for r in rows if r.source == source]
        unit = _unit_of(group[0])
        fails = [e for e in group if e.failed_short and e.beta2 >= beta2 - _TOL and run.beta1 >= e.beta1 - _TOL]  # type: ignore[operator]
        fines = [e for e in group if e.trained and e.beta2 <= beta2 + _TOL and run.beta1 <= e.beta1 + _TOL]  # type: ignore[operator]
        if not fails:
            continue
        f = max(fails, key=lambda e: e.size(unit))
        s = min(fines, key=lambda e: e.size(unit), default=None)
        fb = f.size(unit)
        threshold = fb if s is None or s.size(unit) <= fb else fb ** (1 - t) * s.size(unit) ** t
        out.append(_Bracket(f, s, threshold, unit))
    return out


def _flagging(run: RunFacts, beta2: float, rows: Sequence[Evidence], t: float) -> _Bracket | None:
    hits = [b for b in _brackets(run, beta2, rows, t) if b.flags(run)]
    return max(hits, key=lambda b: b.failed.beta2, default=None)


def _run(size: float, beta1: float, unit: str, domain: str | None) -> RunFacts:
    if unit == "tokens":
        return RunFacts(size, beta1, 1, domain)
    return RunFacts(size, beta1, None, domain)


def evidence_risk(
    size: float, beta1: float, beta2: float, unit: str = "samples", *, domain: str | None = None,
    evidence: Iterable[Evidence] = EVIDENCE, interpolation: float = DEFAULT_INTERPOLATION,
) -> bool:
    """Whether (beta1, beta2) at ``size`` samples (or tokens) per step is below the evidence edge.

    Only rows whose domain and beta1 class match count (``domain`` None: none do).
    Risk when size <= F(beta2), or size < F^(1-t) S^t when a run of the same study
    trained above F (module docstring: F, S, t).

    Example:
        >>> evidence_risk(8, 0.0, 0.95, domain="vision"), evidence_risk(8, 0.0, 0.99, domain="vision")
        (True, False)
        >>> evidence_risk(8, 0.0, 0.95)          # domain not known: no published run applies
        False
    """
    run = _run(size, beta1, unit, normal_domain(domain))
    return _flagging(run, beta2, matching_rows(run, evidence), interpolation) is not None


def _evidence_edge(run: RunFacts, rows: Sequence[Evidence], t: float, why_none: str) -> Edge:
    """The largest flagged beta2: risk is monotone in beta2 and constant between row values."""
    levels = sorted({e.beta2 for e in rows}, reverse=True)
    for i, level in enumerate(levels):
        above = levels[i - 1] if i else None
        if above is not None:
            mid = _flagging(run, 0.5 * (level + above), rows, t)
            if mid is not None:
                return _edge_from(above, False, mid, run)
        here = _flagging(run, level, rows, t)
        if here is not None:
            return _edge_from(level, True, here, run)
    return Edge(None, False, why_none, SRC_EVIDENCE, "evidence")


def _edge_from(level: float, inclusive: bool, br: _Bracket, run: RunFacts) -> Edge:
    f, unit = br.failed, br.unit
    rows: tuple[Evidence, ...] = (f,) if br.fine is None else (f, br.fine)
    here = per_text(_run_size(run, unit), unit)
    if _run_size(run, unit) <= f.size(unit) * (1 + 1e-9):
        why = (f"{f.beta2:g} {f.outcome} at {per_text(f.size(unit), unit)} per step in {domain_label(f.domain)} "
               f"({f.short}); yours is {here}")
    else:
        g = br.fine
        assert g is not None
        why = (f"interpolated in one study: {f.beta2:g} {f.outcome} at {per_text(f.size(unit), unit)}, "
               f"{g.beta2:g} trained at {count_text(g.size(unit))} ({f.short}); yours is {here}")
    sources = "; ".join(dict.fromkeys(r.source for r in rows))
    return Edge(level, inclusive, why, sources, "evidence", rows)


def _no_evidence_reason(run: RunFacts, evidence: Iterable[Evidence], rows: Sequence[Evidence]) -> str:
    if run.domain is None:
        return "cannot tell from published runs: your domain is not known (pass --domain)"
    if not rows:
        if run.domain in ("lm", "lm-pretraining", "fine-tuning") and not run.tokens_per_sample:
            return "cannot tell from published runs: language-model runs are compared in tokens (pass --seq-len)"
        return (f"no published run in {domain_label(run.domain)} with beta1 of your kind ({run.beta1:g}) is on "
                "record")
    unit = _unit_of(rows[0])
    return (f"no published run in {domain_label(run.domain)} with beta1 <= {run.beta1:g} failed with a short "
            f"memory at {per_text(_run_size(run, unit), unit)} per step or more")


def _evidence_clear(run: RunFacts, rows: Sequence[Evidence], beta2: float | None = None) -> tuple[float | None, Evidence | None]:
    """The smallest beta2 that trained in a matching run at your batch or smaller and beta1 or
    larger, and the row to cite for ``beta2`` (the largest such run at or below it)."""
    clears = []
    for e in rows:
        if not e.trained or run.beta1 > e.beta1 + _TOL:  # type: ignore[operator]
            continue
        unit = _unit_of(e)
        if _run_size(run, unit) >= e.size(unit) * (1 - 1e-9):
            clears.append(e)
    if not clears:
        return None, None
    value = min(e.beta2 for e in clears)
    near = [e for e in clears if beta2 is None or e.beta2 <= beta2 + _TOL] or clears
    cite = max(near, key=lambda e: (e.size(_unit_of(e)), e.beta2))
    return value, cite


def _evidence_measurements(run: RunFacts, edge: Edge, clear: tuple[float | None, Evidence | None]) -> list[Measurement]:
    """The evidence lens at your batch and beta1: one measurement for the failures (the edge),
    one for the runs that trained (within the lens a failure wins where they overlap)."""
    out = []
    batch = max(1, int(round(run.batch)))
    if edge.beta2 is not None:
        failed = edge.beta2 if edge.inclusive else below(edge.beta2)
        out.append(Measurement("evidence", batch, run.beta1, failed=(failed,), reason=edge.reason, source=edge.source))
    value, row = clear
    if value is not None and row is not None:
        unit = _unit_of(row)
        reason = (f"{row.beta2:g} trained at {per_text(row.size(unit), unit)} per step with beta1 {row.beta1:g} in "
                  f"{domain_label(row.domain)} ({row.short}); yours is {per_text(_run_size(run, unit), unit)}")
        out.append(Measurement("evidence", batch, run.beta1, trained=(value,), reason=reason, source=row.source))
    return out


def _measured_edges(ms: Sequence[Measurement], batch: float, beta1: float) -> list[Edge]:
    out = []
    for lens in ("monitor", "probe", "gradients"):
        fails = [m for m in applicable(ms, lens, batch, beta1, "fails")
                 if m.edge is not None or m.critical is not None]
        if fails:
            what = {"gradients": "beta2* from your sampled gradients", "monitor": "your run's monitor",
                    "probe": "probe runs of your model"}[lens]
            # a computed threshold beta2* is exclusive (beta2 < beta2* fails); a largest failed value inclusive
            value, inclusive, m = max(((x.critical, False, x) if x.critical is not None else (x.edge, True, x)
                                       for x in fails), key=lambda t: (t[0], t[1]))
            op = "<=" if inclusive else "<"
            out.append(Edge(value, inclusive, f"beta2 {op} {beta_text(value)} fails by {what} at batch "
                            f"{m.batch_size:,}" + (f" ({m.reason})" if m.reason else ""), m.source or what, lens))
    return out


def _clears(ms: Sequence[Measurement], batch: float, beta1: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for lens in PRECEDENCE:
        values = [m.clear for m in applicable(ms, lens, batch, beta1, "trains") if m.clear is not None]
        if values:
            out[lens] = min(values)  # type: ignore[type-var]
    return out


def _clip(parts: list[Edge], clears: dict[str, float]) -> list[Edge]:
    """A lens's edge gives way where a more specific lens measured the value training
    (never a floor's: :data:`adamcheck._measurement.FLOORS`)."""
    out = []
    for part in parts:
        if part.lens in FLOORS:
            out.append(part)
            continue
        rank = PRECEDENCE.index(part.lens) if part.lens in PRECEDENCE else len(PRECEDENCE)
        higher = [(clears[h], h) for h in PRECEDENCE[:rank] if h in clears]
        if part.beta2 is not None and higher:
            c, who = min(higher)
            if part.beta2 >= c - _TOL:
                part = Edge(c, False, f"{part.reason}; but {_LENS_WORDS[who]} measured {beta_text(c)} and above "
                            "training, which takes precedence", part.source, part.kind, part.evidence)
        out.append(part)
    return out


def lower_edge(
    batch_size: float,
    beta1: float,
    *,
    tokens_per_sample: int | None = None,
    beta2_critical: float | None = None,
    critical_source: str = "",
    evidence: Iterable[Evidence] = EVIDENCE,
    interpolation: float = DEFAULT_INTERPOLATION,
    domain: str | None = None,
    measurements: Iterable[Measurement] = (),
) -> tuple[Edge, tuple[Edge, ...]]:
    """The lower edge at ``batch_size`` samples: below it a lens says the run fails.

    Parts: the evidence edge (rows matching ``domain``, compared in tokens when
    ``tokens_per_sample`` is known), beta1^2 (theory), and the edges of your own
    measurements (``beta2_critical`` from gradients, ``measurements`` of a monitor or
    probes). A part gives way where a more specific lens measured the value training.
    Returns (the binding edge, every part).

    Example:
        >>> edge, parts = lower_edge(8, 0.0, domain="vision")
        >>> edge.beta2, edge.inclusive, edge.kind               # Shi et al. 2021: 0.95 failed at batch 8
        (0.95, True, 'evidence')
        >>> lower_edge(32, 0.99)[0].kind
        'beta1'
    """
    if not 0.0 <= interpolation <= 1.0:
        raise InvalidParameterError(f"interpolation = {interpolation!r} must lie in [0, 1]")
    run = RunFacts(batch_size, beta1, tokens_per_sample, normal_domain(domain))
    rows = matching_rows(run, evidence)
    parts = [_evidence_edge(run, rows, interpolation, _no_evidence_reason(run, evidence, rows))]
    # Always present: even beta1 = beta2 = 0 is outside the theory (0 >= sqrt(0)).
    parts.append(Edge(beta1 * beta1, True, f"beta2 <= beta1^2 = {beta1 * beta1:g} puts beta1 = {beta1:g} >= "
                      "sqrt(beta2), outside every convergence theorem", SRC_SQRT, "beta1"))
    ms = list(measurements)
    if beta2_critical is not None:
        ms.append(gradient_measurement(int(max(1, round(batch_size))), beta1, beta2_critical,
                                       reason="beta2* from your sampled gradients", source=critical_source))
    parts += _measured_edges(ms, batch_size, beta1)
    ev = _evidence_measurements(run, parts[0], _evidence_clear(run, rows))
    parts = _clip(parts, _clears(ms + ev, batch_size, beta1))
    present = [p for p in parts if p.beta2 is not None]
    # The highest edge binds; at equal values an inclusive one flags more.
    best = max(present, key=lambda p: (p.beta2, p.inclusive), default=parts[0])
    if best.beta2 == 0.0:  # only beta2 = 0 excluded (beta1 = 0): say what the evidence says instead
        best = parts[0]
    return best, tuple(parts)


# -- the upper edge ---------------------------------------------------------------------------
def reference_size(reference: BetaReference, tokens_per_sample: int | None) -> tuple[float, str, str]:
    """(reference batch, unit, how) in the unit the run is compared in."""
    if tokens_per_sample:
        if reference.unit == "tokens":
            return reference.batch_size, "tokens", "its batch counts tokens"
        if reference.seq_len:
            return (reference.batch_size * reference.seq_len, "tokens",
                    f"{reference.batch_size:g} sequences of {reference.seq_len} tokens")
        return (reference.batch_size * tokens_per_sample, "tokens",
                f"{reference.batch_size:g} sequences, taken at your length of {tokens_per_sample} tokens")
    ref = reference.in_samples(None)
    if ref.seq_len:
        return (ref.batch_size, "samples", f"{ref.batch_size:g} sequences of {ref.seq_len} tokens, compared "
                "with yours as samples (your sequence length is not known)")
    return ref.batch_size, "samples", "its batch counts samples"


def describe_reference(reference: BetaReference, tokens_per_sample: int | None) -> str:
    """The reference run in the unit yours is compared in, e.g. ``0.999 at 131,072 tokens per step``.

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> describe_reference(DEFAULT_REFERENCE, 2048), describe_reference(DEFAULT_REFERENCE, None)
        ('0.999 at 131,072 tokens per step', '0.999 at 32 samples per step')
    """
    size, unit, _ = reference_size(reference, tokens_per_sample)
    mine = " (your reference)" if reference.source.startswith("user reference") else ""
    return f"{beta_text(reference.beta2)} at {per_text(size, unit)} per step{mine}"


def practice_beta2(batch_size: float, reference: BetaReference, tokens_per_sample: int | None) -> tuple[float, float]:
    """(the half-life rule at this batch, the rule clamped to :data:`PRACTICE_CLAMP`)."""
    ref_size, unit, _ = reference_size(reference, tokens_per_sample)
    size = batch_size * (tokens_per_sample or 1)
    rule = half_life_beta2(BetaReference(reference.beta2, ref_size, reference.source), size)
    return rule, min(max(rule, PRACTICE_CLAMP[0]), PRACTICE_CLAMP[1])


def upper_edge(
    batch_size: float,
    *,
    reference: BetaReference,
    tokens_per_sample: int | None = None,
    planned_steps: int | None = None,
    upper_ratio: float = DEFAULT_UPPER_RATIO,
) -> tuple[Edge, tuple[Edge, ...]]:
    """The upper edge: the lower of 1 - 1/steps and, at a batch at least the reference's,
    the beta2 whose memory is ``upper_ratio`` times that of the half-life rule clamped to
    :data:`~adamcheck._halflife.PRACTICE_CLAMP`.

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> edge, _ = upper_edge(256, reference=DEFAULT_REFERENCE, tokens_per_sample=4096)
        >>> round(edge.beta2, 4), edge.kind      # 0.999 at 1M tokens gets advice
        (0.9984, 'large_batch')
    """
    parts: list[Edge] = []
    if planned_steps is not None:
        cap = 1.0 - 1.0 / planned_steps  # exact: the same line as check's memory_vs_steps rule
        parts.append(Edge(cap, False, f"memory 1/(1-beta2) longer than the {planned_steps:,}-step run",
                          SRC_MEMORY, "steps"))
    ref_size, unit, how = reference_size(reference, tokens_per_sample)
    size = batch_size * (tokens_per_sample or 1)
    if size >= ref_size:
        _, rule = practice_beta2(batch_size, reference, tokens_per_sample)
        high = 1.0 - (1.0 - rule) / upper_ratio
        parts.append(Edge(high, False,
                          f"memory over {upper_ratio:g}x the half-life rule's ({beta_text(rule)}) at a batch at least "
                          "the reference's; too long a memory spiked in Megatron-LM's Mixtral example (0.999 at 1M "
                          "tokens per step)",
                          f"{SRC_HALF_LIFE}; reference: {reference.source} ({how}); {_SRC_MIXTRAL}",
                          "large_batch",
                          tuple(e for e in EVIDENCE if e.outcome == "spiked" and e.fix == "lower")))
    if not parts:
        return Edge(None, False, "no upper edge: give planned_steps (CLI --max-steps) to bound the memory",
                    SRC_MEMORY, "none"), ()
    return min(parts, key=lambda p: p.beta2), tuple(parts)  # type: ignore[arg-type, return-value]


