"""The verdict on (beta1, beta2) at a batch size: two edges, each with its evidence.

``adamcheck recommend`` and ``adamcheck check`` both ask this module, so they can never
disagree. Below the **lower edge** a published run with a memory this short at a batch
this small (or smaller) failed: that is a RISK (exit 1 in ``check``). Above the **upper
edge** the memory 1/(1-beta2) outlasts the planned run, or is far longer than the
half-life rule asks at large batch, where too long a memory caused loss spikes: that
is advice with a number (exit 0).

The lower edge is the largest of

* the **evidence edge**, derived from :data:`EVIDENCE` (published outcomes, one row per
  run: batch, beta2, outcome, source) by the rule of :func:`evidence_risk`;
* beta1^2, since beta1 >= sqrt(beta2) is outside every convergence theorem (Zhang et
  al. 2022, 2026; Reddi et al. 2018) and a batch-1 public sweep went NaN there;
* beta2* from the user's sampled gradients, when they were given.

**Units.** A run whose sequence length is known is placed among the runs counted in
tokens (language models); the other rows (images, regression examples) are not used
for it, since a sequence and an image are not comparable samples. Without a sequence
length every row counts samples (a sequence is one sample).

**The interpolation rule** (:func:`evidence_risk`). Write F(b) for the largest batch at
which a run with beta2 >= b failed, and S(b) for the smallest batch at which a run
with beta2 <= b was fine (the rows that apply to this beta1, see below). Smaller
batches need larger beta2 (Zhang et al. 2026, section 2; Shi et al. 2021's table is
monotone in both directions), so a failure at (F, b') flags every (B <= F, b <= b')
and a success clears every (B >= S, b >= b'). Between the two the papers do not place
the edge; adamcheck puts it at F^(1-t) S^t in batch (geometric), with
``interpolation`` t = 0.5 by default (a named choice, not a paper's constant). Where no
run with beta2 <= b was fine, only the failures count (no extrapolation past them).
Where a failure and a success disagree the failure wins.

**beta1.** Theorem 2.2's threshold order 1 - c (1 - beta1^n)/n^5 rises with beta1 and
beta1 >= sqrt(beta2) is outside the theory, so a failure at beta1 = x also counts for
every beta1 >= x, and a success only for beta1 <= x. Rows whose source does not report
beta1 count for every beta1 (an assumption, stated in the row).

Sources: /docs/theory.md section 7, and the papers named in each row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from .._errors import InvalidParameterError
from .._halflife import PRACTICE_CLAMP, BetaReference, half_life_beta2
from .._validate import check_beta, check_positive_int

__all__ = [
    "EVIDENCE",
    "Edge",
    "Evidence",
    "Verdict",
    "DEFAULT_INTERPOLATION",
    "DEFAULT_UPPER_RATIO",
    "SHI_FAILED_BELOW_ACCURACY",
    "evidence_risk",
    "lower_edge",
    "upper_edge",
    "verdict",
    "describe_reference",
    "reference_size",
    "round_beta2",
    "shi_evidence",
]

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
#: Shi et al. 2021 report train accuracy, not "failed": a run counts as failed here
#: below this train accuracy (%) after their 100 epochs, where beta2 = 0.99 reaches
#: 99.7-99.8%. adamcheck's reading of the table, not the paper's word.
SHI_FAILED_BELOW_ACCURACY = 90.0

_BAD = ("failed", "diverged", "worse")
_SRC_SHI = "Shi et al. (ICLR 2021), ResNet-18 on CIFAR-10, beta1 = 0, 100 epochs"
_SRC_MAREK = "Marek et al. 2025 (arXiv 2507.07101), language model, sequences of 1024 tokens"
_SRC_FLUID = "batch-1 fluid-simulation surrogates (public sweeps, docs/theory.md section 7)"
_SRC_MARIN = "Marin MoE sweep (marin repository, issue 4567), 4096-token sequences, d = 1024"
_SRC_MARIN_DENSE = ("Marin dense recipe (0.98^(B/128) without a floor at batch 4096 (marin repository; "
                    "4096-token sequences as Marin's recipes use))")
_SRC_MIXTRAL = "Megatron-LM Mixtral example (256 x 4096 tokens; public reports, docs/theory.md section 7)"
SRC_SQRT = ("beta1 < sqrt(beta2) is assumed by every convergence theorem for Adam (Zhang et al. 2022, "
            "2026 Thm 2.2; Reddi et al. 2018)")
SRC_MEMORY = "EMA memory 1/(1-beta2) against the planned steps; Zhang et al. 2026 Thm 2.2's 1/(1-beta2) factor"
SRC_HALF_LIFE = "half-life rule beta2' = beta2_ref^(B'/B_ref), Marek et al. 2025 (arXiv 2507.07101)"


@dataclass(frozen=True)
class Evidence:
    """One published run: ``beta2`` at ``batch`` samples per step and what happened.

    Attributes:
        batch: samples (sequences, images, examples) per optimizer step.
        beta2: the run's beta2.
        outcome: ``"failed"``, ``"diverged"``, ``"worse"`` (clearly behind the best
            beta2 at that batch), ``"spiked"`` (loss spikes from too long a memory) or
            ``"fine"``.
        source: the paper or report.
        beta1: the run's beta1 (None: not reported; the row counts for every beta1).
        tokens_per_sample: tokens per sequence for language models, else None.
        detail: the measured figure behind the outcome.
    """

    batch: float
    beta2: float
    outcome: str
    source: str
    beta1: float | None = None
    tokens_per_sample: int | None = None
    detail: str = ""
    cite: str = ""

    @property
    def tokens(self) -> float | None:
        """Tokens per step, or None for non-sequence data."""
        return None if self.tokens_per_sample is None else self.batch * self.tokens_per_sample

    @property
    def failed_short(self) -> bool:
        """A failure attributed to too short a memory (the lower edge's evidence)."""
        return self.outcome in _BAD

    def size(self, unit: str) -> float:
        return self.tokens if unit == "tokens" else self.batch  # type: ignore[return-value]

    @property
    def short(self) -> str:
        """A short citation: the row's ``cite`` or the source up to its first parenthesis."""
        return self.cite or self.source.split(" (")[0].split(",")[0]

    def describe(self, unit: str) -> str:
        where = _per(self.size(unit), unit)
        b1 = "" if self.beta1 is None else f"beta1 {self.beta1:g}, "
        return f"{b1}beta2 {self.beta2:g} at {where}: {self.outcome} ({self.detail}; {self.source})"

    def to_dict(self) -> dict[str, Any]:
        return {"batch": {"value": self.batch, "unit": "samples"}, "tokens": self.tokens,
                "beta1": self.beta1, "beta2": self.beta2, "outcome": self.outcome,
                "detail": self.detail, "source": self.source}


_SHI_TABLE = {  # batch -> {beta2: train accuracy %}, Shi et al. 2021 (docs/theory.md section 7)
    8: {0.8: (10.0, ""), 0.9: (10.0, ""), 0.95: (44.5, " +- 32.1 over seeds"), 0.99: (99.7, "")},
    16: {0.8: (28.7, ""), 0.9: (67.3, ""), 0.95: (96.4, ""), 0.99: (99.8, "")},
    32: {0.8: (66.9, ""), 0.9: (96.7, ""), 0.95: (99.2, ""), 0.99: (99.8, "")},
}
_MARIN_BPB = {  # batch -> {beta2: final c4 bits per byte}, lower is better
    64: {0.95: .9780, 0.97: .9759, 0.99: .9732, 0.995: .9722, 0.999: .9728},
    128: {0.95: .9743, 0.97: .9736, 0.99: .9727, 0.995: .9725, 0.999: .9734},
    256: {0.95: .9761, 0.97: .9748, 0.99: .9759, 0.995: .9760, 0.999: .9783},
    512: {0.95: .9826, 0.97: .9830, 0.99: .9831, 0.995: .9859, 0.999: .9917},
}


def shi_evidence(failed_below: float = SHI_FAILED_BELOW_ACCURACY) -> tuple[Evidence, ...]:
    """Shi et al. 2021's table as evidence rows, a run counting as failed below ``failed_below`` %.

    Rebuild :data:`EVIDENCE` with another reading of the table and pass it as ``evidence``.

    Example:
        >>> [r.outcome for r in shi_evidence() if r.batch == 16]
        ['failed', 'failed', 'fine', 'fine']
        >>> [r.outcome for r in shi_evidence(60.0) if r.batch == 16]
        ['failed', 'fine', 'fine', 'fine']
    """
    return tuple(
        Evidence(batch, b2, "failed" if acc < failed_below else "fine", _SRC_SHI, beta1=0.0,
                 detail=f"train accuracy {acc:g}%{extra}")
        for batch, row in _SHI_TABLE.items() for b2, (acc, extra) in row.items()
    )


def _marin_rows() -> list[Evidence]:
    out = []
    for batch, row in _MARIN_BPB.items():
        best = min(row.values())
        for b2, bpb in row.items():
            out.append(Evidence(batch, b2, "fine", _SRC_MARIN, beta1=0.9, tokens_per_sample=4096,
                                detail=f"c4 bits per byte {bpb:.4f}, {100 * (bpb / best - 1):.1f}% above the best"))
    return out


#: The published runs the lower edge is derived from (docs/theory.md section 7).
#: Left out on purpose: Marin's d = 768 sweep at batch 512, where runs crashed on both
#: sides of 0.99 (it locates neither edge), and a 17B model that spiked at 0.999 with
#: no batch size reported.
EVIDENCE: tuple[Evidence, ...] = tuple(
    list(shi_evidence(SHI_FAILED_BELOW_ACCURACY))
    + [
        Evidence(1, 0.95, "worse", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024,
                 detail="clearly worse than the half-life value 0.9999; beta1 and sequence length taken "
                 "as the baseline's"),
        Evidence(1, 0.9999, "fine", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024,
                 detail="trains well (the half-life value); beta1 and length as the baseline's"),
        Evidence(512, 0.95, "fine", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024,
                 detail="the baseline configuration"),
        Evidence(1, 0.95, "diverged", _SRC_FLUID, detail="beta1 not reported"),
        Evidence(1, 0.99, "diverged", _SRC_FLUID, detail="went NaN; beta1 not reported"),
        Evidence(1, 0.995, "diverged", _SRC_FLUID, detail="beta1 not reported"),
        Evidence(1, 0.999, "fine", _SRC_FLUID, detail="stable; beta1 not reported"),
        Evidence(1, 0.9999, "diverged", _SRC_FLUID, beta1=0.95, detail="went NaN at beta1 0.95"),
        Evidence(1, 0.9999, "fine", _SRC_FLUID, beta1=0.9, detail="stable at beta1 0.9"),
    ]
    + _marin_rows()
    + [
        Evidence(4096, 0.52, "diverged", _SRC_MARIN_DENSE, beta1=0.9, tokens_per_sample=4096,
                 detail="loss spikes; a floor on beta2 fixed them"),
        Evidence(256, 0.95, "fine", _SRC_MIXTRAL, beta1=0.9, tokens_per_sample=4096,
                 detail="stable after lowering beta2 from 0.999"),
        Evidence(256, 0.999, "spiked", _SRC_MIXTRAL, beta1=0.9, tokens_per_sample=4096,
                 detail="loss spikes (too long a memory: upper-edge evidence)"),
        Evidence(1562.5, 0.95, "fine", "GPT-3 (Brown et al. 2020, Table 2.1 and Appendix B): 3.2M tokens per step",
                 beta1=0.9, tokens_per_sample=2048, detail="175B model trained"),
        Evidence(1024, 0.95, "fine", "Llama 2 (Touvron et al. 2023): 4M tokens per step", beta1=0.9,
                 tokens_per_sample=4096, detail="models trained"),
        Evidence(15360, 0.95, "fine", "DeepSeek-V3 (2024): batch up to 15360 sequences of 4096 tokens",
                 beta1=0.9, tokens_per_sample=4096, detail="model trained"),
    ]
)


@dataclass(frozen=True)
class Edge:
    """One edge of the safe range at a batch size.

    ``beta2`` None means no edge on this side. For the lower edge, ``inclusive`` says
    whether beta2 equal to the edge is itself flagged (``<=``) or only values below it
    (``<``); for the upper edge beta2 above ``beta2`` gets the advice.
    """

    beta2: float | None
    inclusive: bool
    reason: str
    source: str
    kind: str = ""
    evidence: tuple[Evidence, ...] = ()

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


def _count(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.3g}M"
    return f"{x:,.0f}" if x >= 10 else f"{x:.3g}"


def _per(x: float, unit: str) -> str:
    return f"{_count(x)} {unit[:-1] if x == 1 else unit}"


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


def _applies(row: Evidence, beta1: float, failure: bool) -> bool:
    if row.beta1 is None:
        return True
    return beta1 >= row.beta1 - 1e-12 if failure else beta1 <= row.beta1 + 1e-12


def _rows_for(unit: str, evidence: Iterable[Evidence]) -> list[Evidence]:
    return [e for e in evidence if unit == "samples" or e.tokens_per_sample is not None]


@dataclass(frozen=True, eq=False)
class _Bracket:
    failed: Evidence | None  # the failure with the largest batch among beta2 >= b
    fine: Evidence | None  # the success with the smallest batch among beta2 <= b
    threshold: float  # risk below this batch (0: none)


def _bracket(beta1: float, beta2: float, unit: str, rows: list[Evidence], t: float) -> _Bracket:
    fails = [e for e in rows if e.failed_short and e.beta2 >= beta2 - 1e-12 and _applies(e, beta1, True)]
    fines = [e for e in rows if e.outcome == "fine" and e.beta2 <= beta2 + 1e-12 and _applies(e, beta1, False)]
    f = max(fails, key=lambda e: e.size(unit), default=None)
    s = min(fines, key=lambda e: e.size(unit), default=None)
    if f is None:
        return _Bracket(None, s, 0.0)
    fb = f.size(unit)
    if s is None or s.size(unit) <= fb:
        return _Bracket(f, s, fb)
    return _Bracket(f, s, fb ** (1 - t) * s.size(unit) ** t)


def evidence_risk(
    size: float, beta1: float, beta2: float, unit: str = "samples", *,
    evidence: Iterable[Evidence] = EVIDENCE, interpolation: float = DEFAULT_INTERPOLATION,
) -> bool:
    """Whether (beta1, beta2) at ``size`` samples (or tokens) per step is below the evidence edge.

    Risk when size <= F(beta2), or size < F^(1-t) S^t when a fine run brackets the
    edge above F (module docstring: F, S, t).

    Example:
        >>> evidence_risk(8, 0.0, 0.95), evidence_risk(8, 0.0, 0.99)   # Shi et al. 2021
        (True, False)
    """
    return _flagged(size, _bracket(beta1, beta2, unit, _rows_for(unit, evidence), interpolation), unit)


def _flagged(size: float, br: _Bracket, unit: str) -> bool:
    # The relative tolerance keeps a batch exactly at the geometric midpoint of two
    # evidence batches (sqrt(8 x 32) = 16.000000000000004) on the side it is on.
    return br.failed is not None and (size <= br.failed.size(unit) or size < br.threshold * (1 - 1e-9))


def _evidence_edge(size: float, beta1: float, unit: str, rows: list[Evidence], t: float) -> Edge:
    """The largest flagged beta2: risk is monotone in beta2 and constant between row values."""
    levels = sorted({e.beta2 for e in rows}, reverse=True)

    def risky(b2: float) -> _Bracket | None:
        br = _bracket(beta1, b2, unit, rows, t)
        return br if _flagged(size, br, unit) else None

    for i, level in enumerate(levels):
        above = levels[i - 1] if i else None
        if above is not None:
            mid = risky(0.5 * (level + above))
            if mid is not None:
                return _edge_from(above, False, mid, size, unit)
        here = risky(level)
        if here is not None:
            return _edge_from(level, True, here, size, unit)
    return Edge(None, False, f"no published run with beta1 <= {beta1:g} failed with a short memory at "
                f"{_per(size, unit)} or more",
                "docs/theory.md section 7", "evidence")


def _edge_from(level: float, inclusive: bool, br: _Bracket, size: float, unit: str) -> Edge:
    f = br.failed
    assert f is not None
    rows: tuple[Evidence, ...] = (f,) if br.fine is None else (f, br.fine)
    if size <= f.size(unit):
        why = f"{f.beta2:g} {f.outcome} at {_per(f.size(unit), unit)} per step ({f.short})"
    else:
        g = br.fine
        assert g is not None
        why = (f"interpolated: {f.beta2:g} {f.outcome} at {_per(f.size(unit), unit)} ({f.short}), "
               f"{g.beta2:g} fine at {_count(g.size(unit))} ({g.short})")
    sources = "; ".join(dict.fromkeys(r.source for r in rows))
    return Edge(level, inclusive, why, sources, "evidence", rows)


def lower_edge(
    batch_size: float,
    beta1: float,
    *,
    tokens_per_sample: int | None = None,
    beta2_critical: float | None = None,
    critical_source: str = "",
    evidence: Iterable[Evidence] = EVIDENCE,
    interpolation: float = DEFAULT_INTERPOLATION,
) -> tuple[Edge, tuple[Edge, ...]]:
    """The lower edge at ``batch_size`` samples (in tokens when ``tokens_per_sample`` is known).

    Returns (the binding edge, every component: evidence, beta1^2, beta2*).

    Example:
        >>> edge, parts = lower_edge(8, 0.9, tokens_per_sample=1024)
        >>> edge.beta2, edge.inclusive, edge.kind
        (0.95, True, 'evidence')
        >>> lower_edge(32, 0.99)[0].kind
        'beta1'
    """
    if not 0.0 <= interpolation <= 1.0:
        raise InvalidParameterError(f"interpolation = {interpolation!r} must lie in [0, 1]")
    unit = "tokens" if tokens_per_sample else "samples"
    size = batch_size * (tokens_per_sample or 1)
    parts = [_evidence_edge(size, beta1, unit, _rows_for(unit, evidence), interpolation)]
    # Always present: even beta1 = beta2 = 0 is outside the theory (0 >= sqrt(0)).
    parts.append(Edge(beta1 * beta1, True, f"beta2 <= beta1^2 = {beta1 * beta1:g} puts beta1 = {beta1:g} >= "
                      "sqrt(beta2), outside every convergence theorem",
                      SRC_SQRT, "beta1"))
    if beta2_critical is not None and beta2_critical > 0:
        parts.append(Edge(beta2_critical, False, "critical beta2* from your sampled gradients",
                          critical_source, "gradients"))
    present = [p for p in parts if p.beta2 is not None]
    # The highest edge binds; at equal values an inclusive one flags more.
    best = max(present, key=lambda p: (p.beta2, p.inclusive), default=parts[0])
    if best.beta2 == 0.0:  # only beta2 = 0 excluded (beta1 = 0): say what the evidence says instead
        best = parts[0]
    return best, tuple(parts)


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
    """The reference in the unit the run is compared in, e.g. ``0.999 at 131,072 tokens, Marin recipe``.

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> describe_reference(DEFAULT_REFERENCE, 2048), describe_reference(DEFAULT_REFERENCE, None)
        ('0.999 at 131,072 tokens, Marin recipe', '0.999 at 32 samples, Marin recipe')
    """
    size, unit, _ = reference_size(reference, tokens_per_sample)
    if reference.source.startswith("beta2 = 0.999 at batch 32 x 4096"):
        name = "Marin recipe"
    else:
        name = "yours" if reference.source.startswith("user reference") else reference.source
    return f"{reference.beta2:g} at {_per(size, unit)}, {name}"


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
        rule = half_life_beta2(BetaReference(reference.beta2, ref_size, reference.source), size)
        # Against the clamped rule: at very large batch practice keeps 0.95 (GPT-3, Llama).
        rule = min(max(rule, PRACTICE_CLAMP[0]), PRACTICE_CLAMP[1])
        high = 1.0 - (1.0 - rule) / upper_ratio
        parts.append(Edge(high, False,
                          f"memory > {upper_ratio:g}x the half-life rule's ({rule:.4g}); 0.999 at 1M "
                          "tokens spiked (Mixtral)",
                          f"{SRC_HALF_LIFE}; reference: {reference.source} ({how}); {_SRC_MIXTRAL}",
                          "large_batch",
                          tuple(e for e in EVIDENCE if e.outcome == "spiked")))
    if not parts:
        return Edge(None, False, "no upper edge: give planned_steps (CLI --max-steps) to bound the memory",
                    SRC_MEMORY, "none"), ()
    return min(parts, key=lambda p: p.beta2), tuple(parts)  # type: ignore[arg-type, return-value]


@dataclass(frozen=True, eq=False)
class Verdict:
    """(beta1, beta2) at a batch against both edges.

    ``level`` is ``"risk"`` below the lower edge, ``"advice"`` above the upper edge,
    else ``"ok"``. Sizes: ``batch_size`` in samples, ``tokens_per_step`` when the
    sequence length is known (then ``unit`` is ``"tokens"``).
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level, "batch_size": {"value": self.batch_size, "unit": "samples"},
            "tokens_per_step": {"value": self.tokens_per_step, "unit": "tokens"},
            "unit": self.unit, "beta1": self.beta1, "beta2": self.beta2, "reference": self.reference,
            "lower_edge": self.lower.to_dict(self.unit), "upper_edge": self.upper.to_dict(self.unit),
            "lower_edge_parts": [p.to_dict(self.unit) for p in self.lower_parts],
            "upper_edge_parts": [p.to_dict(self.unit) for p in self.upper_parts],
            "messages": list(self.messages),
        }


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
) -> Verdict:
    """Judge (beta1, beta2) at ``batch_size`` samples per step against both edges.

    Raises :class:`~adamcheck.InvalidParameterError` for betas outside [0, 1) or a batch
    size below 1.

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> verdict(8, 0.0, 0.95, reference=DEFAULT_REFERENCE).level     # Shi et al. 2021
        'risk'
        >>> verdict(64, 0.9, 0.95, reference=DEFAULT_REFERENCE, tokens_per_sample=4096).level
        'ok'
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    beta1 = check_beta(beta1, "beta1")
    beta2 = check_beta(beta2, "beta2")
    low, low_parts = lower_edge(batch_size, beta1, tokens_per_sample=tokens_per_sample,
                                beta2_critical=beta2_critical, critical_source=critical_source,
                                interpolation=interpolation)
    high, high_parts = upper_edge(batch_size, reference=reference, tokens_per_sample=tokens_per_sample,
                                  planned_steps=planned_steps, upper_ratio=upper_ratio)
    unit = "tokens" if tokens_per_sample else "samples"
    msgs = []
    level = "ok"
    for part in low_parts:
        if part.flags(beta2, "lower"):
            level = "risk"
            op = "<=" if part.inclusive else "<"
            msgs.append(f"beta2 = {beta2:g} {op} {round_beta2(part.beta2, 3):g}: {part.reason}")  # type: ignore[arg-type]
    for part in high_parts:
        if part.flags(beta2, "upper"):
            level = "advice" if level == "ok" else level
            msgs.append(f"beta2 = {beta2:g} > {round_beta2(part.beta2, 2, up=True):g}: {part.reason}")  # type: ignore[arg-type]
    return Verdict(batch_size, batch_size * tokens_per_sample if tokens_per_sample else None, unit,
                   beta1, beta2, low, high, low_parts, high_parts, level, tuple(msgs),
                   describe_reference(reference, tokens_per_sample))
