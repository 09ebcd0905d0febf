"""``recommend``: which (beta1, beta2) for a batch size, and the safe range around it.

The answer comes from three lenses and one verdict rule:

1. **Provable** - Shi et al. 2021's explicit sufficient condition for (n, d, D1) and the
   order of Zhang et al. 2026's Theorem 2.2 threshold, 1 - c (1 - beta1^n)/n^5 with the
   constant c not given by the paper. Honest but extremely conservative: shown only
   with ``--explain``, never used for the choice.
2. **Calibrated** (with sampled per-example gradients) - the critical beta2* at this
   batch size and the smallest beta2 the predictor trusts (:func:`calibrated_prediction`,
   the one seam through which the predictor is called).
3. **Practice** - the half-life rule beta2' = beta2^(B'/B) from a reference
   configuration (default :data:`adamcheck._halflife.DEFAULT_REFERENCE`), in tokens
   when the sequence length is known, clamped to the range used in practice.
4. **The verdict** (:mod:`adamcheck.recommend._verdict`, shared with ``adamcheck check``):
   the lower edge from published failures, beta1 >= sqrt(beta2) and beta2*, and the
   upper edge from the planned steps and the large-batch memory.

The choice (:func:`choose_beta2`): the practice value, raised to the calibrated one
when the gradients need more memory, raised above the lower edge when it sits on or
below it, then capped by the upper edge (never a memory longer than the planned run;
the output says what the cap trades).

Heavy modules (NumPy, SciPy, SymPy) are imported only by the lenses that need them, so
``adamcheck recommend --batch-size 32`` answers quickly.
"""

from __future__ import annotations

import math
import os
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .._answer import beta_text, steps_text
from .._diagnostics import Diagnostic, Level
from .._errors import DataError, InvalidParameterError
from .._files import check_input_file
from .._halflife import DEFAULT_REFERENCE, PRACTICE_CLAMP, BetaReference, half_life_beta2
from .._measurement import Measurement
from .._quiet import numpy_quiet
from .._validate import (
    as_real_array,
    check_beta,
    check_nonnegative_float,
    check_positive_int,
    check_seed,
    from_tensor,
)
from ..theory import shi_min_beta2, theorem22_order_scale
from ._edges import Edge, describe_reference, lower_edge, reference_size, round_beta2, upper_edge, upper_overruled
from ._eps import normal_state_dtype
from ._evidence import normal_domain
from ._lenses import SRC_SQRT, calibrated_measurement, monitor_file_measurements, no_measured_critical
from ._settings import RecommendSettings, VerdictSettings, as_reference
from ._verdict import Verdict, judge_betas

if TYPE_CHECKING:  # NumPy-heavy: imported by the gradient lens only
    from .._laws import GradientLaw
    from ..noise import GradientSource, NoiseEstimate

__all__ = [
    "CalibratedLens",
    "DEFAULT_BETA1",
    "EDGE_MEMORY_FACTOR",
    "PracticeLens",
    "ProvableLens",
    "Recommendation",
    "calibrated_prediction",
    "choose_beta2",
    "recommend",
    "recommend_with",
    "SCHEMA",
]

#: Version of ``Recommendation.to_dict()`` (``adamcheck recommend --json``); keys are only
#: ever added within a version.
SCHEMA = "adamcheck.recommend/3"

#: beta1 when the user gives none: the default of torch, optax, Keras and the papers' figures.
DEFAULT_BETA1 = 0.9
#: When the practice value sits on or below the lower edge, the recommendation takes
#: this many times the edge's memory 1/(1-beta2) (adamcheck's choice; with the edge at
#: beta1^2 it is the old rule "halfway from beta1^2 to 1").
EDGE_MEMORY_FACTOR = 2.0
_SRC_SHI = "Shi, Li, Hong, Sun (ICLR 2021), Theorems 4.3/4.4, via adamcheck.theory.shi_min_beta2"
_SRC_T22 = "Zhang, Li, Chen, Luo, Sun (2026), Theorem 2.2: beta2 >= 1 - c (1 - beta1^n)/n^5, c not given"
#: where beta2* from gradients comes from: recommend's calibrated lens and check's critical_beta2 rule cite it
SRC_TRAINING_BOUNDARY = "adamcheck's training boundary (docs/theory.md section 10) on your per-example gradients"
_SRC_DRIFT = SRC_TRAINING_BOUNDARY
_SRC_HALF = "half-life rule beta2' = beta2^(B'/B), Marek et al. 2025 (arXiv 2507.07101)"


def _q(value: Any, unit: str, source: str) -> dict[str, Any]:
    """A JSON field with its unit and source."""
    return {"value": value, "unit": unit, "source": source}


def _r(beta2: float | None, digits: int = 3) -> float | None:
    return None if beta2 is None else round_beta2(beta2, digits)


def _sig(x: float, digits: int = 2) -> float:
    return float(f"{x:.{digits}g}")


# -- lens 3: practice ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PracticeLens:
    """The half-life rule at this batch, in the unit the run is compared in.

    ``unit`` is ``"tokens"`` when the sequence length is known (``size`` and
    ``reference_size`` count tokens per step), else ``"samples"``.
    """

    beta2_half_life_rule: float
    beta2_clamped: float
    clamp: tuple[float, float]
    batch_size: int
    reference: BetaReference
    reference_size: float
    size: float
    unit: str
    how: str
    memory_steps: float
    source: str = _SRC_HALF
    assumptions: str = ("the reference configuration converged; gradient noise per sample (or token) is "
                        "comparable between the reference and your run")

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta2_half_life_rule": _q(_r(self.beta2_half_life_rule, 4), "1", self.source),
            "beta2_clamped": _q(_r(self.beta2_clamped, 4), "1", f"clamp {list(self.clamp)} of the reference recipe"),
            "reference": {"beta2": self.reference.beta2, "batch": _q(self.reference_size, self.unit, self.reference.source),
                          "how": self.how},
            "batch": _q(self.size, self.unit, "your run"),
            "memory": _q(_sig(self.memory_steps), "steps", "1/(1-beta2) of the clamped value"),
            "assumptions": self.assumptions,
        }


def practice_lens(batch_size: int, reference: BetaReference, tokens_per_sample: int | None) -> PracticeLens:
    """The half-life rule at ``batch_size`` and its clamp (docs/theory.md section 7).

    Example:
        >>> round(practice_lens(64, DEFAULT_REFERENCE, 4096).beta2_half_life_rule, 6)
        0.998001
    """
    ref_size, unit, how = reference_size(reference, tokens_per_sample)
    size = batch_size * (tokens_per_sample or 1)
    rule = half_life_beta2(BetaReference(reference.beta2, ref_size, reference.source), size)
    lo, hi = PRACTICE_CLAMP
    clamped = min(max(rule, lo), hi)
    return PracticeLens(rule, clamped, (lo, hi), batch_size, reference, ref_size, size, unit, how, 1.0 / (1.0 - clamped))


# -- lens 1: provable ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ProvableLens:
    """Shi et al.'s explicit threshold (needs n, d, D1) and Theorem 2.2's order (needs n).

    ``beta2`` is Shi et al.'s threshold at this beta1, None when not computable or when
    no beta2 < 1 satisfies it (``status`` says which). ``theorem22_scale`` is
    (1 - beta1^n)/n^5: the theorem asks beta2 >= 1 - c x scale with c not given.
    """

    n: int | None
    d: int | None
    d1: float | None
    status: str
    beta2: float | None = None
    gap: float | None = None
    theorem22_scale: float | None = None
    shi: dict[str, Any] | None = None
    shi_beta1_zero: dict[str, Any] | None = None
    note: str = ""
    source: str = f"{_SRC_SHI}; {_SRC_T22}"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "d": self.d, "D1": self.d1, "status": self.status,
                "beta2": _q(self.beta2, "1", _SRC_SHI), "gap": self.gap,
                "theorem22_scale": _q(self.theorem22_scale, "1", _SRC_T22),
                "shi": self.shi, "shi_beta1_zero": self.shi_beta1_zero, "note": self.note}


def provable_lens(n: int | None, d: int | None, d1: float | None, beta1: float) -> ProvableLens:
    """Shi et al.'s explicit threshold and Theorem 2.2's order for n mini-batches."""
    if n is None:
        return ProvableLens(n, d, d1, "needs the number of mini-batches n = N/B: give the dataset size "
                            "(or gradients)")
    scale = theorem22_order_scale(n, beta1, "2026")
    if d is None or d1 is None or not math.isfinite(d1):
        return ProvableLens(n, d, d1, "Shi et al.'s explicit condition needs d and D1: give gradients",
                            theorem22_scale=scale)
    here = shi_min_beta2(n, d, d1, beta1, d1_convention="mean")
    rms = shi_min_beta2(n, d, d1, 0.0, d1_convention="mean") if beta1 > 0 else here
    if here.feasible:
        status = f"beta2 >= 1 - {here.gap_upper:.3g} (Theorem {here.theorem}) proves convergence"
        beta2, gap = float(here.beta2_upper), here.gap_upper
    else:
        status = (f"no beta2 < 1 satisfies Theorem {here.theorem} at beta1 = {beta1:g}; at beta1 = 0 "
                  f"(Theorem 4.3) beta2 >= 1 - {rms.gap_upper:.3g} would")
        beta2, gap = None, None
    return ProvableLens(n, d, d1, status, beta2, gap, scale, here.to_dict(), rms.to_dict(), here.note)


# -- lens 2: calibrated ---------------------------------------------------------------------
def _gradient_input(gradients: Any) -> Any:
    """What :func:`adamcheck.noise.estimate` accepts: an array, a GradientSource, or checked paths."""
    from ..noise import GradientSource  # lazy: keeps numpy off `import adamcheck.configs`

    if isinstance(gradients, (str, Path, bytes)):
        gradients = [gradients]
    gradients = from_tensor(gradients, "gradients")  # a torch tensor (CPU or GPU, with grad) via NumPy
    if isinstance(gradients, GradientSource):
        return gradients
    if hasattr(gradients, "__array__"):
        return as_real_array(gradients, "gradients", error=DataError)
    if isinstance(gradients, (dict, set, int, float)) or gradients is None:
        raise InvalidParameterError(
            f"gradients is a {type(gradients).__name__}: give a path, a list of paths or an (N, d) array"
        )
    try:
        paths = list(gradients)
    except TypeError:
        raise InvalidParameterError(
            f"gradients is a {type(gradients).__name__}: give a path, a list of paths or an (N, d) array"
        ) from None
    if not paths:
        raise InvalidParameterError("gradients is empty: give a path, a list of paths or an (N, d) array")
    if not any(isinstance(p, (str, bytes, os.PathLike)) for p in paths):  # a nested list of numbers
        return as_real_array(paths, "gradients", error=DataError, hint="; or a path or a list of paths")
    return [check_input_file(p, "gradient file", fix="give a .npy or .npz file") for p in paths]


@dataclass(frozen=True, eq=False)
class CalibratedLens:
    """What the calibrated predictor says at this batch size.

    The first four fields are the seam every predictor fills: ``beta2_critical`` (beta2*,
    below which training is predicted to fail; 0 when no ladder value failed),
    ``beta2_recommended`` (the smallest beta2 the predictor trusts; None when even the
    top of its ladder fails), ``mechanism`` (in words) and ``source``. The rest are the
    training boundary's details (docs/theory.md section 10).
    """

    beta2_critical: float | None
    beta2_recommended: float | None
    mechanism: str
    source: str
    unresolved: bool = False
    eps: float | None = None
    steps: int | None = None
    points: int | None = None
    d: int | None = None
    coordinates: int | None = None
    aggregate_drift_ratio: tuple[float, ...] = ()
    climbing_share: tuple[float, ...] = ()
    sustained_update: tuple[float, ...] = ()
    ladder: tuple[float, ...] = ()
    assumptions: str = ""
    #: the ladder values the file lens decided (docs/theory.md section 10): what the verdict
    #: and the lower edge use; ``beta2_critical`` is only the point estimate beside them
    beta2_failed: tuple[float, ...] = ()
    beta2_trained: tuple[float, ...] = ()
    #: False where the file cannot tell at this batch size (``reason`` says why)
    decided: bool = True
    reason: str = ""
    #: True when this lens reports decided cells (the training boundary); other predictors
    #: give only beta2* and are read as "below fails, the rest trains"
    cells: bool = False

    def measured_critical(self) -> tuple[float | None, str | None]:
        """(beta2*, None) where the lens measured a failure; else (None, why): nothing failed
        (the lowest value that trained is where the ladder starts, not an edge), the file
        cannot tell, or every value fails (:func:`~adamcheck.recommend._lenses.no_measured_critical`)."""
        if self.unresolved:
            return None, "every beta2 on the ladder fails at this batch size"
        why = no_measured_critical(calibrated_measurement(self, 1, 0.0))  # the rule reads no batch or beta1
        return (None, why) if why is not None else (self.beta2_critical, None)

    def to_dict(self) -> dict[str, Any]:
        out = {f: getattr(self, f) for f in self.__dataclass_fields__}
        star, why = self.measured_critical()
        out["beta2_critical"] = {**_q(_r(star, 4), "1", self.source), "reason": why}
        # the statistics' guess without their standard errors, kept where no edge was measured
        out["beta2_point_estimate"] = _q(_r(self.beta2_critical, 4), "1", self.source)
        out["beta2_recommended"] = _q(_r(self.beta2_recommended, 4), "1", self.source)
        return out

    def with_sizes(self, points: int, d: int) -> "CalibratedLens":
        return replace(self, points=points, d=d)


@dataclass(frozen=True)
class _FileSettings:
    """The run settings a gradient file states, taken where the caller gave none."""

    batch_size: int | None
    beta1: float | None
    eps: float | None
    tokens_per_sample: int | None
    planned_steps: int | None
    beta1_source: str | None = None
    notes: tuple[str, ...] = ()


def _file_settings(gradients: "GradientSource | None", batch_size: int | None, beta1: float | None,
                   eps: float | None, tokens_per_sample: int | None, planned_steps: int | None) -> _FileSettings:
    """Settings from the gradient file's metadata (a GradientMonitor file states its run's):
    the caller's values win, with a note where they differ from the file's."""
    given = {"batch_size": batch_size, "beta1": beta1, "eps": eps, "seq_len": tokens_per_sample,
             "planned_steps": planned_steps}
    if gradients is None:
        if batch_size is None:
            raise InvalidParameterError("batch size not given: pass the samples per optimizer step (--batch-size)")
        return _FileSettings(batch_size, beta1, eps, tokens_per_sample, planned_steps)
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    with opened_gradients(_gradient_input(gradients)) as source:  # headers and metadata only
        meta, name = source.meta, source.label
    values, taken, differ = meta.fill(given, name)
    notes = [f"gradient file: {d}" for d in differ]
    if taken:
        notes.insert(0, f"gradient file: {', '.join(f'{k} {values[k]:g}' for k in taken)} taken from {name}")
    if values["batch_size"] is None:
        raise InvalidParameterError(
            f"batch size not given and {name} states none: pass the samples per optimizer step (--batch-size)"
        )
    return _FileSettings(values["batch_size"], values["beta1"], values["eps"], values["seq_len"],
                         values["planned_steps"], f"the gradient file {name}" if beta1 is None and
                         values["beta1"] is not None else None, tuple(notes))


@dataclass(frozen=True, eq=False)
class GradientFacts:
    """What one open of the gradient files tells the recommendation besides the calibrated lens.

    Attributes:
        estimate: the noise estimate (its laws feed check's eps rule).
        n: mini-batches per epoch, N // B (None for a monitor file: its rows are steps).
        d: coordinates sampled.
        N: the data-set size (None for a monitor file).
        d1: D1 at D0 = 0 of the partition (None for a monitor file).
        points: sampled points.
        notes: what the file reading said, for the answer.
    """

    estimate: "NoiseEstimate"
    n: int | None
    d: int
    N: int | None
    d1: float | None
    points: int
    notes: tuple[str, ...]


def _gradient_facts(inp: "_Inputs") -> tuple[GradientFacts, CalibratedLens]:
    """The noise facts and the calibrated lens from one open of the gradient files.

    Batch sizes count examples: a file whose rows average R examples (a GradientMonitor
    file) serves batch B with B / R rows (DataError unless B is a multiple of R). Its rows
    are steps of one run, not a data set: they give neither N nor the partition's D1.
    The estimate's streaming pass also finds the non-zero coordinates the training
    boundary draws from, so the file is streamed twice, not three times (the second pass
    keeps only the drawn columns).
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    from ..drift._training import sample_coordinates  # lazy: keeps numpy off `import adamcheck.configs`
    from ..noise import EstimateSettings, run_estimate  # lazy: keeps numpy off `import adamcheck.configs`
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    with opened_gradients(inp.gradients) as source:
        monitor = source.meta.is_monitor
        source.batch_rows(inp.batch_size)
        nonzero = np.zeros(source.dim, dtype=bool)

        def seen(p: int, start: int, block: Any) -> None:
            nonzero[:] |= (block != 0).any(axis=0)

        # the laws serve only check's eps rule (a median of second moments): 64 atoms are plenty,
        # and 256 made them the largest allocation of the whole command (3.8x the file)
        est = run_estimate(source, inp.batch_size, EstimateSettings(replicates=0, seed=inp.seed, law_atoms=64),
                           dataset_size=None if monitor else inp.dataset_size, on_block=seen)
        sample = sample_coordinates(source, seed=inp.seed, nonzero=nonzero)
        calibrated = _calibrated(source, sample, inp.batch_size, inp.beta1, eps=inp.eps, steps=inp.planned_steps,
                                 seed=inp.seed).with_sizes(int(est.shape[0]), int(est.shape[2]))
    c = est.constants
    facts = GradientFacts(
        estimate=est, n=None if monitor else int(c.n), d=int(est.shape[2]),
        N=None if monitor else int(c.dataset_size), d1=None if monitor else float(c.d1_at_d0_zero),
        points=int(est.shape[0]), notes=tuple(source.notes) + ((
            "the gradient file's rows are mini-batch gradients of a monitored run's steps, not examples of a "
            "data set: the data-set size and the provable lens's D1 do not come from it",) if monitor else ()))
    return facts, calibrated


def calibrated_prediction(
    gradients: Any,
    batch_size: int,
    beta1: float,
    *,
    eps: float,
    steps: int | None,
    seed: int,
) -> CalibratedLens:
    """beta2* and the recommended beta2 at ``batch_size`` from sampled per-example gradients.

    The one place the calibrated predictor is called, so it can be swapped. It is the
    training boundary of :func:`adamcheck.drift.training_boundary` (docs/theory.md
    section 10): sign drift of the whole model and of its reversed coordinates, and
    update growth where beta1 >= sqrt(beta2), checked against real training runs
    (benchmarks/validity/README.md). ``steps`` is the planned run length (default 4000
    simulated steps, at most 20000).
    """
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    with opened_gradients(gradients) as source:
        return _calibrated(source, source, batch_size, beta1, eps=eps, steps=steps, seed=seed)


def _calibrated(source: "GradientSource", sample: Any, batch_size: int, beta1: float, *, eps: float,
                steps: int | None, seed: int) -> CalibratedLens:
    """:func:`calibrated_prediction` on an open source; ``sample`` is the source itself or its
    :class:`~adamcheck.drift.ColumnSample` already read."""
    from ..drift import training_boundary  # lazy: keeps numpy off `import adamcheck.configs`

    n_steps = 4000 if steps is None else int(min(max(steps, 20), 20000))
    # batch_size counts examples (rows of R examples: B / R rows); eps compares with the unscaled
    # gradients, so with the rows' scale f (loss_scale...) it is f x eps (u(f g, f eps) = u(g, eps))
    tb = training_boundary(sample, [source.batch_rows(batch_size)], beta1=beta1,
                           eps=eps * source.meta.row_factor, steps=n_steps, seed=seed)
    star = float(tb.critical_beta2[0])
    st = tb.statistics[0]
    unresolved = star != star
    why = tb.mechanism[0]
    return CalibratedLens(
        beta2_critical=None if unresolved else star,
        # a file that cannot tell at this batch raises nothing (its point estimate is shown only)
        beta2_recommended=None if unresolved or not tb.decided[0] else star,
        mechanism=(f"{why}: measured on your gradients below beta2*" if why and tb.beta2_failed[0]
                   # nothing decided failing: the mechanism is the point estimate's guess only
                   else f"{why}: the point estimate's reading below it, no failure decided" if why
                   else "no failure found on the ladder at this batch size"),
        source=_SRC_DRIFT,
        unresolved=unresolved,
        eps=eps,
        steps=n_steps,
        coordinates=tb.coordinates,
        aggregate_drift_ratio=tuple(float(x) for x in st.drift),
        climbing_share=tuple(float(x) for x in st.climbing),
        sustained_update=tuple(float(x) for x in st.update),
        ladder=tuple(float(x) for x in st.beta2s),
        beta2_failed=tuple(float(x) for x in tb.beta2_failed[0]),
        beta2_trained=tuple(float(x) for x in tb.beta2_trained[0]),
        decided=bool(tb.decided[0]),
        reason=str(tb.reason[0]),
        cells=True,
        assumptions="theta frozen at each sampled point while (m, v) mix; mini-batches drawn from the "
        "sampled examples; the worst point decides; max_update 2, max_climbing 1 and a 10-step window "
        "are adamcheck's choices; the learning rate is not used",
    )


# -- the recommendation ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Choice:
    """The chosen beta2, the one reason, its source, and what a cap traded (if any)."""

    beta2: float
    reason: str
    source: str
    trades: str = ""


def _above_edge(low: Edge) -> float:
    """EDGE_MEMORY_FACTOR times the memory of the lower edge: 1 - (1 - edge) / factor (an edge
    without a beta2 flags nothing, so it is never asked)."""
    edge = 0.0 if low.beta2 is None else low.beta2
    return 1.0 - (1.0 - edge) / EDGE_MEMORY_FACTOR


def choose_beta2(practice: PracticeLens, calibrated: CalibratedLens | None, low: Edge, high: Edge) -> Choice:
    """The choice rule: practice, raised by the calibrated lens and the lower edge, capped by the upper edge.

    Example:
        >>> from adamcheck.recommend._edges import lower_edge, upper_edge
        >>> p = practice_lens(1, DEFAULT_REFERENCE, None)
        >>> c = choose_beta2(p, None, lower_edge(1, 0.9)[0],
        ...                  upper_edge(1, reference=DEFAULT_REFERENCE, planned_steps=1500)[0])
        >>> c.beta2, 1 / (1 - c.beta2) <= 1500
        (0.99933, True)
    """
    ref = practice.reference
    beta2 = practice.beta2_clamped
    per_sample = round(practice.size / practice.batch_size) if practice.unit == "tokens" else None
    reason = f"half-life rule from the reference run {describe_reference(ref, per_sample)}"
    origin = "the half-life rule"
    if practice.beta2_clamped != practice.beta2_half_life_rule:
        reason += f", clamped to the practice range [{practice.clamp[0]:g}, {practice.clamp[1]:g}]"
    source = f"{practice.source}; reference: {ref.source}"
    if calibrated is not None and calibrated.beta2_recommended is not None and calibrated.beta2_recommended > beta2:
        beta2 = calibrated.beta2_recommended
        reason = "your gradients need more memory than the practice rule gives (calibrated lens)"
        source = calibrated.source
        origin = "calibrated lens"
    if low.flags(beta2, "lower"):
        beta2 = _above_edge(low)
        reason = f"{EDGE_MEMORY_FACTOR:g}x the memory of the lower edge ({low.reason})"
        source = low.source
        origin = "the lower edge"
    trades = ""
    # The run's length and the large-batch memory cap the answer, but never onto the lower
    # edge (a risk outranks advice).
    if high.beta2 is not None and beta2 > high.beta2:
        capped = round_beta2(high.beta2, up=True)
        if upper_overruled(low, high):
            # a cap is efficiency advice; it never pushes the answer onto the lower edge, where
            # a lens says the run fails (a risk outranks advice)
            floor = _above_edge(low)
            edge_reason, edge_source = low.reason, low.source
            if not low.flags(capped, "lower"):  # only beta2 = 0 itself, which the edge shown does not list
                edge_reason = "beta2 = 0 puts beta1 >= sqrt(beta2), outside every convergence theorem"
                edge_source = SRC_SQRT
            trades = (f"the {'run' if high.kind == 'steps' else 'large-batch edge'} would cap the memory at "
                      f"{steps_text(1 / (1 - capped))}, at or below the lower edge ({edge_reason}): not capped "
                      "there, a risk outranks the advice")
            if floor >= beta2:
                return Choice(round_beta2(beta2, up=False), reason, source, trades)
            return Choice(round_beta2(floor, up=False),
                          f"{EDGE_MEMORY_FACTOR:g}x the memory of the lower edge ({edge_reason})", edge_source, trades)
        trades = (f"capped from {beta_text(beta2)} (memory {1 / (1 - beta2):,.0f} steps) to {beta_text(capped)} "
                  f"({steps_text(1 / (1 - capped))}): a second moment that forgets its start within the "
                  "run, traded for less averaging of the gradient noise in v")
        why = (f"the {1 / (1 - high.beta2):,.0f}-step run caps the memory" if high.kind == "steps"
               else "capped by the large-batch edge") + (
            f" ({origin} asks for {1 / (1 - beta2):,.0f} steps)")
        return Choice(capped, why, high.source, trades)
    rounded = round_beta2(beta2)
    if rounded < beta2 and (source != practice.source + f"; reference: {ref.source}" or low.flags(rounded, "lower")):
        rounded = round_beta2(beta2, up=False)  # a raise must stay a raise
    return Choice(rounded, reason, source, trades)


def _count(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:g}"


@dataclass(frozen=True, eq=False)
class Recommendation:
    """The answer of :func:`recommend`; ``to_dict()`` is ``adamcheck recommend --json``.

    Attributes:
        beta1, beta2: the recommendation (beta2 rounded to two significant digits of
            1 - beta2: what its memory supports).
        reason, source: the one reason for beta2 and where it comes from; ``trades``
            what a cap by the upper edge gave up ("" when none).
        lower, upper: the edges of the safe range at this batch (:class:`Edge`);
            ``lower_parts``/``upper_parts`` every component.
        provable, calibrated, practice: the lenses (``calibrated`` None without gradients).
        diagnostics: :class:`~adamcheck._diagnostics.Diagnostic` records: what to watch
            (advice: ``warnings`` has their messages) and what was and was not used (ok,
            not checked: ``notes``).
    """

    batch_size: int
    beta1: float
    beta2: float
    reason: str
    source: str
    lower: Edge
    upper: Edge
    practice: PracticeLens
    provable: ProvableLens
    calibrated: CalibratedLens | None = None
    lower_parts: tuple[Edge, ...] = ()
    upper_parts: tuple[Edge, ...] = ()
    trades: str = ""
    beta1_source: str = "yours"
    dataset_size: int | None = None
    tokens_per_sample: int | None = None
    planned_steps: int | None = None
    #: what to watch (advice) and what was and was not used (ok, not checked), in order
    diagnostics: tuple[Diagnostic, ...] = ()
    #: the mini-batch laws the calibrated lens used (one per sampled point), for callers
    #: such as ``adamcheck check``'s eps rule; not part of the JSON.
    laws: tuple[GradientLaw, ...] = field(default=(), repr=False)
    #: your domain (None: not known) and how it was found
    domain: str | None = None
    domain_how: str = ""
    #: the measurements of your own run the answer used (monitor, probe, gradients)
    measurements: tuple[Measurement, ...] = ()
    #: the verdict on your beta2 (:class:`~adamcheck.recommend._verdict.Verdict`), when one was given
    verdict: Verdict | None = None

    @property
    def unit(self) -> str:
        return self.practice.unit

    @property
    def warnings(self) -> tuple[str, ...]:
        """The messages of the advice among :attr:`diagnostics` (what to watch)."""
        return tuple(d.message for d in self.diagnostics if d.level in (Level.RISK, Level.ADVICE))

    @property
    def notes(self) -> tuple[str, ...]:
        """The messages of the other :attr:`diagnostics` (what was and was not used)."""
        return tuple(d.message for d in self.diagnostics if d.level not in (Level.RISK, Level.ADVICE))

    @property
    def tokens_per_step(self) -> int | None:
        return None if self.tokens_per_sample is None else self.batch_size * self.tokens_per_sample

    @property
    def beta2_critical(self) -> float | None:
        return None if self.calibrated is None else self.calibrated.beta2_critical

    @property
    def beta2_half_life_rule(self) -> float:
        return self.practice.beta2_half_life_rule

    @property
    def beta2_practice(self) -> float:
        return self.practice.beta2_clamped

    @property
    def beta2_calibrated(self) -> float | None:
        return None if self.calibrated is None else self.calibrated.beta2_recommended

    @property
    def beta2_provable(self) -> float | None:
        return self.provable.beta2

    @property
    def memory_steps(self) -> float:
        return 1.0 / (1.0 - self.beta2)

    @property
    def upper_applied(self) -> bool:
        """False when the upper edge lies at or below the lower edge: no beta2 meets both,
        the lower edge wins (a risk outranks advice) and the upper edge is not applied."""
        return not upper_overruled(self.lower, self.upper)

    def _upper_dict(self, edge: Edge) -> dict[str, Any]:
        out = edge.to_dict(self.unit)
        overruled = upper_overruled(self.lower, edge)
        out["applied"] = not overruled
        out["not_applied"] = ("at or below the lower edge: no beta2 meets both, and a risk outranks "
                              "advice" if overruled else None)
        return out

    def to_dict(self) -> dict[str, Any]:
        unit = self.unit
        mem = self.memory_steps
        return {
            "schema": SCHEMA,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "answer": {
                "beta1": _q(self.beta1, "1", self.beta1_source),
                "beta2": _q(self.beta2, "1", self.source),
                "reason": self.reason,
                "trades": self.trades or None,
                "memory": _q(_sig(mem), "steps", "1/(1-beta2)"),
                "memory_samples": _q(_sig(mem * self.batch_size), "samples", "1/(1-beta2) x batch"),
                "memory_tokens": None if self.tokens_per_step is None else _q(
                    _sig(mem * self.tokens_per_step), "tokens", "1/(1-beta2) x tokens per step"),
            },
            "safe_range": {"unit": unit, "lower": self.lower.to_dict(unit), "upper": self._upper_dict(self.upper),
                           "lower_parts": [p.to_dict(unit) for p in self.lower_parts],
                           "upper_parts": [self._upper_dict(p) for p in self.upper_parts]},
            "batch": {"samples": self.batch_size, "tokens_per_sample": self.tokens_per_sample,
                      "tokens": self.tokens_per_step, "compared_in": unit},
            "dataset_size": self.dataset_size,
            "planned_steps": self.planned_steps,
            "beta2_critical": self._critical_dict(),
            "beta2_half_life_rule": _q(_r(self.beta2_half_life_rule, 4), "1", _SRC_HALF),
            "beta2_practice": _q(_r(self.beta2_practice, 4), "1", f"clamp {list(self.practice.clamp)}"),
            "beta2_calibrated": _q(_r(self.beta2_calibrated, 4), "1", _SRC_DRIFT if self.calibrated else "not computed"),
            "beta2_provable": _q(self.beta2_provable, "1", _SRC_SHI),
            "lenses": {"provable": self.provable, "calibrated": self.calibrated, "practice": self.practice},
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "domain": {"value": self.domain, "how": self.domain_how},
            "measurements": [m.to_dict() for m in self.measurements],
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "exit_code": self.exit_code,
        }

    def _critical_dict(self) -> dict[str, Any]:
        """``beta2_critical`` for ``--json``: the measured beta2*, or null with the reason."""
        if self.calibrated is None:
            return {**_q(None, "1", "not computed"), "reason": "no gradients given"}
        star, why = self.calibrated.measured_critical()
        return {**_q(_r(star, 4), "1", _SRC_DRIFT), "reason": why}

    @property
    def exit_code(self) -> int:
        """0, or the verdict's exit code when a beta2 was judged (1: a risk)."""
        return 0 if self.verdict is None else (1 if self.verdict.level == "risk" else 0)


@dataclass(frozen=True, eq=False)
class _Inputs:
    batch_size: int
    dataset_size: int | None
    gradients: "GradientSource | None"
    beta1: float
    beta1_given: bool
    reference: BetaReference
    tokens_per_sample: int | None
    eps: float
    planned_steps: int | None
    seed: int


def _validate(batch_size: Any, dataset_size: Any, gradients: Any, beta1: Any, reference: Any,
              tokens_per_sample: Any, eps: Any, planned_steps: Any, seed: Any) -> _Inputs:
    batch_size = check_positive_int(batch_size, "batch size")
    if dataset_size is not None:
        dataset_size = check_positive_int(dataset_size, "dataset size")
        if batch_size > dataset_size:
            raise InvalidParameterError(
                f"batch size {batch_size} is larger than the data set ({dataset_size}): use at most {dataset_size}"
            )
    reference = as_reference(reference)
    if tokens_per_sample is not None:
        tokens_per_sample = check_positive_int(tokens_per_sample, "tokens per sample")
    return _Inputs(
        batch_size=batch_size,
        dataset_size=dataset_size,
        gradients=None if gradients is None else _gradient_input(gradients),
        beta1=check_beta(DEFAULT_BETA1 if beta1 is None else beta1, "beta1"),
        beta1_given=beta1 is not None,
        reference=reference,
        tokens_per_sample=tokens_per_sample,
        eps=1e-8 if eps is None else check_nonnegative_float(eps, "eps"),
        planned_steps=None if planned_steps is None else check_positive_int(planned_steps, "planned steps"),
        seed=check_seed(seed),
    )


#: where the notes on a gradient file come from
SRC_GRADIENT_FILE = "the gradient file's metadata and rows (adamcheck.noise.GradientFileMeta, the one loader)"


def _file_notes(notes: Iterable[str]) -> list[Diagnostic]:
    """What reading the gradient file said, as information (level ok) of the gradients lens."""
    return [Diagnostic(Level.OK, "gradient_file", n, SRC_GRADIENT_FILE, lens="gradients") for n in notes]


def _warnings(inp: _Inputs, practice: PracticeLens, calibrated: CalibratedLens | None, choice: Choice,
              low: Edge) -> list[Diagnostic]:
    """What to watch (advice) and what was and was not used (ok, not checked), in the answer's order."""
    out: list[Diagnostic] = []

    def add(level: Level, rule: str, message: str, source: str, axis: str = "", lens: str = "") -> None:
        out.append(Diagnostic(level, rule, message, source, axis, lens))

    if calibrated is None:
        add(Level.NOT_CHECKED, "calibrated_lens", "calibrated lens not used: no gradients given, so beta2* for your "
            "problem was not computed; the answer rests on the practice rule and the published evidence",
            SRC_TRAINING_BOUNDARY, lens="gradients")
    elif calibrated.cells and not calibrated.decided:
        add(Level.NOT_CHECKED, "calibrated_lens", f"the gradient file cannot tell at batch {inp.batch_size}: "
            f"{calibrated.reason or calibrated.mechanism}", calibrated.source, lens="gradients")
    elif calibrated.beta2_recommended is None:
        add(Level.ADVICE, "calibrated_lens", "the calibrated search found every beta2 on its ladder unsafe at this "
            f"batch size ({calibrated.mechanism}); use a larger batch or check with a real run",
            calibrated.source, "divergence", "gradients")
    elif calibrated.beta2_recommended <= practice.beta2_clamped:
        add(Level.OK, "calibrated_lens", "the calibrated lens sees only the sampled points; the practice value is "
            "kept because it is also safe there and matches a configuration known to work; a run that walks "
            "off those points is not seen (adamcheck.torch.GradientMonitor watches your run's own)",
            calibrated.source, lens="gradients")
    if calibrated is not None and calibrated.cells:
        worst = max(calibrated.beta2_failed, default=None)
        if worst is not None and worst >= practice.beta2_clamped:
            add(Level.ADVICE, "critical_beta2", f"your gradients show beta2 = {beta_text(worst)} failing at batch "
                f"{inp.batch_size}, at or above the practice rule's {beta_text(practice.beta2_clamped)}: small "
                "batches need larger beta2", calibrated.source, "divergence", "gradients")
    elif calibrated is not None and calibrated.beta2_critical is not None and \
            calibrated.beta2_critical > practice.beta2_clamped:
        add(Level.ADVICE, "critical_beta2", f"your gradients need beta2 >= {beta_text(calibrated.beta2_critical)} "
            f"at batch {inp.batch_size}, above the practice rule's {beta_text(practice.beta2_clamped)}: "
            "small batches need larger beta2", calibrated.source, "divergence", "gradients")
    if low.flags(practice.beta2_clamped, "lower"):
        add(Level.ADVICE, "lower_edge", f"the practice value {beta_text(practice.beta2_clamped)} is at or below the "
            f"lower edge {beta_text(low.beta2)} ({low.reason}): raised to {beta_text(choice.beta2)}", low.source,
            "divergence")
    if choice.trades:
        add(Level.ADVICE, "upper_edge", choice.trades, choice.source, "efficiency")
    if low.flags(choice.beta2, "lower"):
        add(Level.ADVICE, "lower_edge", f"beta2 = {beta_text(choice.beta2)} is at or below the lower edge "
            f"{beta_text(low.beta2)}: {low.reason}", low.source, "divergence")
    if practice.beta2_half_life_rule <= practice.clamp[0]:
        add(Level.OK, "half_life", f"large batch: the half-life rule ({beta_text(practice.beta2_half_life_rule)}) "
            "is below the practice range; GPT-3, Llama and DeepSeek train at 0.95 there", practice.source,
            "efficiency", "practice")
    if not inp.beta1_given:
        add(Level.OK, "beta1_default", f"beta1 = {DEFAULT_BETA1:g} (the common default; pass beta1 for yours)",
            "the default of torch, optax and Keras", lens="practice")
    return out


@numpy_quiet
def recommend(
    batch_size: int | None = None,
    *,
    dataset_size: int | None = None,
    gradients: str | Path | Sequence[str | Path] | None = None,
    beta1: float | None = None,
    reference: BetaReference | str | None = None,
    tokens_per_sample: int | None = None,
    eps: float | None = None,
    planned_steps: int | None = None,
    seed: int = 0,
    beta2: float | None = None,
    domain: str | None = None,
    domain_how: str = "",
    measurements: Iterable[Measurement] = (),
    state_dtype: str | None = None,
    grad_rms: float | None = None,
) -> Recommendation:
    """Recommend (beta1, beta2) for ``batch_size``, with the safe range and its evidence.

    Math: the practice value is beta2_ref^(B/B_ref) (in tokens when ``tokens_per_sample``
    is known), clamped to [0.95, 0.9999]; it is raised to the calibrated beta2* (the
    training boundary of docs/theory.md section 10, from your per-example gradients) and
    above the lower edge, then capped
    by the upper edge (:mod:`adamcheck.recommend._verdict`): with ``planned_steps``,
    1/(1-beta2) never exceeds the run.

    Args:
        batch_size: samples (sequences) per optimizer step, B (default: the gradient
            file's ``batch_size``, as a GradientMonitor file states it).
        dataset_size: N, the data set size (n = N // B mini-batches).
        gradients: per-example gradient file(s) (``.npy``/``.npz``, (N, d) or (P, N, d)), a
            GradientMonitor file (rows of R examples: batch B uses B / R rows) or an array,
            see :func:`adamcheck.noise.estimate`; enables the calibrated lens. Settings the
            file states (batch_size, beta1, eps, seq_len, planned_steps) are the defaults
            of the arguments here; a value given that differs from the file's gets a note.
        beta1: your beta1 (default: the file's, else 0.9).
        reference: a configuration known to work, ``"BETA2@BATCH"`` or a BetaReference
            (default: 0.999 at 32 sequences of 4096 tokens, docs/theory.md section 7).
        tokens_per_sample: tokens per sample; then batches are compared in tokens.
        eps: your Adam epsilon, in the units of the gradients (default torch's 1e-8).
        planned_steps: steps you plan to run: caps the memory 1/(1-beta2), and is the
            length of the runs the calibrated lens simulates (4000 when not given).
        seed: seed of the resampled mini-batches and the Monte Carlo.
        beta2: your beta2: the answer then carries the verdict on it (``verdict``, the same
            as ``adamcheck check`` gives, and ``exit_code``).
        domain: your kind of training (``lm``, ``lm-pretraining``, ``fine-tuning``,
            ``vision``, ``regression``, ``rl``, ``gan``); published runs count only where
            theirs matches (None: none do).
        domain_how: how the domain was found, for the answer.
        measurements: your own :class:`~adamcheck._measurement.Measurement` (monitor,
            probe runs); a monitor file given as ``gradients`` adds its own.
        state_dtype: ``fp32``, ``bf16`` or ``fp16``, the precision of Adam's m and v (eps).
        grad_rms: the gradient RMS per coordinate, when known (eps against it).

    Raises:
        InvalidParameterError: a value out of range, no batch size given or stated.
        DataError: a gradient file missing or unusable, a batch size that is not a whole
            number of the file's rows.

    Example:
        >>> rec = recommend(32)
        >>> rec.beta2, rec.beta2_critical is None
        (0.999, True)
        >>> round(recommend(256).beta2_half_life_rule, 4)
        0.992
        >>> r = recommend(1, planned_steps=1500)
        >>> 1 / (1 - r.beta2) <= 1500
        True

    References:
        Zhang et al. 2026 (arXiv:2603.02092); Shi et al. ICLR 2021; Marek et al. 2025
        (arXiv:2507.07101); docs/theory.md sections 3, 7, 9.
    """
    settings = RecommendSettings(
        dataset_size=dataset_size, beta1=beta1, reference=reference, tokens_per_sample=tokens_per_sample, eps=eps,
        planned_steps=planned_steps, seed=seed, beta2=beta2, domain=domain, domain_how=domain_how,
        measurements=tuple(measurements), state_dtype=state_dtype, grad_rms=grad_rms)
    return recommend_with(batch_size, gradients, settings)


@numpy_quiet
def recommend_with(batch_size: int | None, gradients: Any, settings: RecommendSettings) -> Recommendation:
    """:func:`recommend` with its options as one :class:`~adamcheck.recommend.RecommendSettings`
    (checked at its construction). ``gradients`` as in :func:`recommend`, or an open
    :class:`~adamcheck.noise.GradientSource` (read as is: the caller opened it once).

    Example:
        >>> recommend_with(32, None, RecommendSettings(planned_steps=1500)).beta2
        0.999
    """
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    # the files are opened once for the whole command: settings, lenses and measurements share the source
    with opened_gradients(_gradient_input(gradients)) if gradients is not None else nullcontext() as source:
        file = _file_settings(source, batch_size, settings.beta1, settings.eps, settings.tokens_per_sample,
                              settings.planned_steps)
        inp = _validate(file.batch_size, settings.dataset_size, source, file.beta1, settings.reference,
                        file.tokens_per_sample, file.eps, file.planned_steps, settings.seed)
        return _recommendation(inp, file, settings)


def _domain(settings: RecommendSettings, tokens_per_sample: int | None) -> tuple[str | None, str]:
    """Your domain and how it was found: given, else a language model when a sequence length is."""
    dom, how = normal_domain(settings.domain), settings.domain_how
    if dom is None and tokens_per_sample:
        return "lm", "a language model: a sequence length was given"
    return dom, (how or "given") if dom is not None else how


def _recommendation(inp: _Inputs, file: _FileSettings, settings: RecommendSettings) -> Recommendation:
    """The lenses, the edges, the choice and (with a beta2) the verdict, on checked inputs."""
    practice = practice_lens(inp.batch_size, inp.reference, inp.tokens_per_sample)
    facts, calibrated = _gradient_facts(inp) if inp.gradients is not None else (None, None)
    size_n = inp.dataset_size or (facts.N if facts else None)
    n = facts.n if facts and facts.n is not None else (size_n // inp.batch_size if size_n else None)
    provable = provable_lens(n, facts.d if facts else None, facts.d1 if facts else None, inp.beta1)
    dom, domain_how = _domain(settings, inp.tokens_per_sample)
    ms = list(settings.measurements)
    if calibrated is not None:
        ms.append(calibrated_measurement(calibrated, inp.batch_size, inp.beta1))
    if inp.gradients is not None:
        ms += monitor_file_measurements(inp.gradients, inp.batch_size, inp.beta1)
    low, low_parts = lower_edge(inp.batch_size, inp.beta1, tokens_per_sample=inp.tokens_per_sample,
                                domain=dom, measurements=ms)
    high, high_parts = upper_edge(inp.batch_size, reference=inp.reference, tokens_per_sample=inp.tokens_per_sample,
                                  planned_steps=inp.planned_steps)
    choice = choose_beta2(practice, calibrated, low, high)
    said = _warnings(inp, practice, calibrated, choice, low)
    judged = None
    if settings.beta2 is not None:
        judged = judge_betas(inp.batch_size, inp.beta1, settings.beta2, VerdictSettings(
            reference=inp.reference, tokens_per_sample=inp.tokens_per_sample, planned_steps=inp.planned_steps,
            domain=dom, domain_how=domain_how, measurements=tuple(ms), eps=settings.eps,
            state_dtype=settings.state_dtype, grad_rms=settings.grad_rms))
    return Recommendation(
        batch_size=inp.batch_size, beta1=inp.beta1, beta2=float(choice.beta2), reason=choice.reason,
        source=choice.source, lower=low, upper=high, practice=practice, provable=provable,
        calibrated=calibrated, beta1_source=file.beta1_source or ("yours" if inp.beta1_given
                                                                  else "the common default (torch, optax)"),
        lower_parts=low_parts, upper_parts=high_parts, trades=choice.trades,
        dataset_size=size_n, tokens_per_sample=inp.tokens_per_sample, planned_steps=inp.planned_steps,
        diagnostics=tuple(_file_notes(file.notes + (facts.notes if facts else ())) + said),
        laws=tuple(facts.estimate.laws) if facts else (),
        domain=dom, domain_how=domain_how, measurements=tuple(ms), verdict=judged,
    )
