"""``recommend``: which (beta1, beta2) for a batch size, through four lenses.

1. **Provable** - Shi et al. 2021's explicit sufficient condition for (n, d, D1) and the
   order of Zhang et al. 2026's Theorem 2.2 threshold, 1 - c (1 - beta1^n)/n^5 with the
   constant c unknown (the paper does not give it). Both are honest but extremely
   conservative; the numbers are shown even when they are 1 - 1e-12.
2. **Calibrated** (with sampled per-example gradients) - the critical beta2* at this
   batch size from the drift ratio of docs/theory.md section 9 (:mod:`adamcheck.drift`) on the
   mini-batch laws of the user's gradients (:mod:`adamcheck.noise`), and the smallest
   beta2 that keeps the drift ratio above a margin.
3. **Practice** - the half-life rule beta2' = beta2^(B'/B) from a reference configuration
   (default: :data:`adamcheck._halflife.DEFAULT_REFERENCE`) and the clamp range used in
   practice.
4. **The recommendation** - (beta1, beta2) with beta1 < sqrt(beta2), and the warnings on
   both sides: too little memory (the divergent phase) and too much (1/(1-beta2) longer
   than the run, the O(1/(1-beta2)) term of Theorem 2.2, loss spikes at large batch).

Without gradients the calibrated lens is not used, and the result says so.
Heavy modules (NumPy, SciPy, SymPy, matplotlib) are imported only by the lenses that
need them, so ``adamcheck recommend --batch-size 32`` answers quickly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .._errors import DataError, InvalidParameterError
from .._halflife import (
    DEFAULT_REFERENCE,
    PRACTICE_CLAMP,
    BetaReference,
    half_life_beta2,
    memory_steps,
    parse_reference,
)
from .._validate import (
    check_beta,
    check_nonnegative_float,
    check_positive_int,
    check_seed,
)

__all__ = ["Recommendation", "recommend", "DEFAULT_BETA1", "DEFAULT_MARGIN"]

#: beta1 when the user gives none: the default of torch, optax, Keras and the papers' figures.
DEFAULT_BETA1 = 0.9
#: Drift-ratio margin of the recommended beta2 (an adamcheck choice, not a paper's constant):
#: the mean step keeps at least half of its full-memory size in every informative coordinate.
DEFAULT_MARGIN = 0.5
#: Batch sizes (in reference units) past which the clamped half-life rule sits at its lower
#: end, where practice prefers low beta2 against loss spikes (docs/theory.md section 7).
_SRC_SHI = "Shi, Li, Hong, Sun (ICLR 2021), Theorems 4.3/4.4, via adamcheck.theory.shi_min_beta2"
_SRC_T22 = "Zhang, Li, Chen, Luo, Sun (2026), Theorem 2.2: beta2 >= 1 - c (1 - beta1^n)/n^5, c not given"
_SRC_DRIFT = "adamcheck's drift ratio (docs/theory.md section 9) on mini-batch laws of your gradients"
_SRC_HALF = "half-life rule beta2' = beta2^(B'/B), Marek et al. 2025 (arXiv 2507.07101)"


@dataclass
class Recommendation:
    """The answer of :func:`recommend`; ``to_dict()`` is ``adamcheck recommend --json``.

    Attributes:
        beta1, beta2: the recommendation.
        beta2_critical: beta2* at this batch size from the calibrated lens (None without
            gradients); ``beta2_critical_interval`` its bracket.
        beta2_calibrated: the smallest beta2 keeping the drift ratio above ``margin``.
        beta2_half_life_rule: the unclamped half-life rule; ``beta2_practice`` clamped.
        beta2_provable: Shi et al.'s threshold at this beta1 (None when not computable
            or when no beta2 < 1 satisfies it; ``provable`` says which and why).
        warnings: what to watch on both sides. ``notes``: what was and was not used.
    """

    batch_size: int
    beta1: float
    beta2: float
    beta2_critical: float | None
    beta2_critical_interval: tuple[float, float] | None
    beta2_lenient: float | None
    beta2_calibrated: float | None
    beta2_half_life_rule: float
    beta2_practice: float
    beta2_provable: float | None
    margin: float
    dataset_size: int | None = None
    tokens_per_sample: int | None = None
    provable: dict[str, Any] = field(default_factory=dict)
    calibrated: dict[str, Any] | None = None
    practice: dict[str, Any] = field(default_factory=dict)
    choice: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the mini-batch laws the calibrated lens used (one per sampled point), for callers
    #: such as ``adamcheck check``'s eps rule; not part of the JSON.
    laws: list[Any] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "dataset_size": self.dataset_size,
            "tokens_per_sample": self.tokens_per_sample,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "beta2_critical": self.beta2_critical,
            "beta2_critical_interval": self.beta2_critical_interval,
            "beta2_lenient": self.beta2_lenient,
            "beta2_calibrated": self.beta2_calibrated,
            "beta2_half_life_rule": self.beta2_half_life_rule,
            "beta2_practice": self.beta2_practice,
            "beta2_provable": self.beta2_provable,
            "margin": self.margin,
            "choice": self.choice,
            "provable": self.provable,
            "calibrated": self.calibrated,
            "practice": self.practice,
            "warnings": self.warnings,
            "notes": self.notes,
        }


# -- lens 3: practice ---------------------------------------------------------------------
def practice_lens(batch_size: float, reference: BetaReference, tokens_per_sample: int | None) -> dict[str, Any]:
    """The half-life rule at ``batch_size`` and its clamp (docs/theory.md section 7)."""
    rule = half_life_beta2(reference, batch_size)
    lo, hi = PRACTICE_CLAMP
    clamped = min(max(rule, lo), hi)
    out: dict[str, Any] = {
        "beta2_half_life_rule": rule,
        "beta2_clamped": clamped,
        "clamp": [lo, hi],
        "reference": {"beta2": reference.beta2, "batch_size": reference.batch_size, "unit": "samples",
                      "source": reference.source},
        "memory_steps": memory_steps(clamped),
        "memory_samples": memory_steps(clamped) * batch_size,
        "source": _SRC_HALF,
        "assumptions": "the reference configuration converged; gradient noise per sample is "
        "comparable between the reference and your run",
    }
    if tokens_per_sample:
        out["memory_tokens"] = out["memory_samples"] * tokens_per_sample
    return out


# -- lens 1: provable ---------------------------------------------------------------------
def provable_lens(n: int | None, d: int | None, d1: float | None, beta1: float) -> dict[str, Any]:
    """Shi et al.'s explicit threshold and Theorem 2.2's order for n mini-batches."""
    out: dict[str, Any] = {"n": n, "d": d, "D1": d1, "beta2": None}
    if n is None:
        out["status"] = "needs the number of mini-batches n = N/B: give --dataset-size (or --gradients)"
        return out
    from ..theory import theorem22_order_scale

    out["theorem22"] = {
        "scale_2026": theorem22_order_scale(n, beta1, "2026"),
        "scale_2022": theorem22_order_scale(n, beta1, "2022"),
        "statement": f"beta2 >= 1 - c * {theorem22_order_scale(n, beta1, '2026'):.3g} "
        f"(= 1 - c (1 - beta1^n)/n^5 with n = {n}); c is a constant the paper does not give",
        "source": _SRC_T22,
    }
    if d is None or d1 is None or not math.isfinite(d1):
        out["status"] = "Shi et al.'s explicit condition needs d and D1: give --gradients"
        return out
    from ..theory import shi_min_beta2

    here = shi_min_beta2(n, d, d1, beta1, d1_convention="mean")
    rms = shi_min_beta2(n, d, d1, 0.0, d1_convention="mean") if beta1 > 0 else here
    out["shi"] = here.to_dict()
    out["shi_beta1_zero"] = rms.to_dict()
    out["source"] = _SRC_SHI
    if here.feasible:
        out["beta2"] = float(here.beta2_upper)
        out["gap"] = here.gap_upper
        out["status"] = f"beta2 >= 1 - {here.gap_upper:.3g} (Theorem {here.theorem}) proves convergence"
    else:
        out["status"] = (
            f"no beta2 < 1 satisfies Theorem {here.theorem} at beta1 = {beta1:g}; at beta1 = 0 "
            f"(Theorem 4.3) beta2 >= 1 - {rms.gap_upper:.3g} would"
        )
    out["note"] = here.note
    return out


# -- lens 2: calibrated ---------------------------------------------------------------------
def _gradient_facts(gradients: Any, batch_size: int, dataset_size: int | None, seed: int) -> dict[str, Any]:
    from ..noise import estimate

    est = estimate(gradients, batch_size, dataset_size=dataset_size, replicates=0, seed=seed)
    c = est.constants
    return {"estimate": est, "n": int(c.n), "d": int(est.shape[2]), "N": int(c.dataset_size),
            "d1": float(c.d1_at_d0_zero), "points": int(est.shape[0])}


def calibrated_lens(
    laws: Sequence[Any], beta1: float, *, margin: float, eps: float, seed: int
) -> dict[str, Any]:
    """beta2* (strict and lenient) and the recommended beta2 from the drift ratio."""
    from ..drift import recommended_beta2

    rec = recommended_beta2(list(laws), beta1, margin=margin, eps=eps, seed=seed)
    b = rec.boundary
    strict = float(b.strict[0])
    bracket = (float(b.strict_bracket[0, 0]), float(b.strict_bracket[0, 1]))
    setters = [s.__dict__ for s in (b.setters[0] if b.setters else ())]
    return {
        "beta2_critical": strict,
        "beta2_critical_interval": bracket,
        "beta2_lenient": float(b.lenient[0]),
        "beta2_recommended": float(rec.beta2),
        "recommended_interval": list(rec.bracket),
        "unresolved": bool(rec.unresolved or b.unresolved[0]),
        "limited_by": rec.limited_by,
        "binding_coordinates": [s.__dict__ for s in rec.binding],
        "critical_coordinates": setters,
        "excluded_coordinates": [int(v) for v in b.excluded],
        "informative_coordinates": [int(v) for v in b.informative],
        "margin": margin,
        "eps": eps,
        "source": _SRC_DRIFT,
        "assumptions": "theta frozen while (m, v) mix; gradients i.i.d. from the mini-batch law at each "
        "sampled point; the worst point decides; coordinates whose mean is within 2 standard errors "
        "of zero are left out",
    }


# -- the recommendation ---------------------------------------------------------------------
def _sqrt_condition(beta1: float, beta2: float) -> float:
    """Raise beta2 if needed so that beta1 < sqrt(beta2) (halfway from beta1^2 to 1)."""
    if beta1 < math.sqrt(beta2):
        return beta2
    return 1.0 - (1.0 - beta1 * beta1) / 2.0


def recommend(
    batch_size: int,
    *,
    dataset_size: int | None = None,
    gradients: str | Path | Sequence[str | Path] | None = None,
    beta1: float | None = None,
    reference: BetaReference | str | None = None,
    tokens_per_sample: int | None = None,
    eps: float | None = None,
    margin: float = DEFAULT_MARGIN,
    planned_steps: int | None = None,
    seed: int = 0,
) -> Recommendation:
    """Recommend (beta1, beta2) for ``batch_size``, with the evidence of each lens.

    Math: the calibrated beta2* is the smallest beta2 past which no informative
    coordinate's drift ratio rho(beta1, beta2; P_B) = E_pi[m/(sqrt v + eps)] /
    (E g/sqrt(E g^2)) is negative beyond its standard error (docs/theory.md section 9); the
    recommended beta2 keeps rho >= ``margin``. The practice lens is beta2_ref^(B/B_ref);
    the provable lens is Shi et al.'s condition and Theorem 2.2's order.

    Args:
        batch_size: samples (sequences) per optimizer step, B.
        dataset_size: N, the data set size (n = N // B mini-batches).
        gradients: per-example gradient file(s) (``.npy``/``.npz``, (N, d) or (P, N, d)),
            see :func:`adamcheck.noise.estimate`; enables the calibrated lens.
        beta1: your beta1 (default 0.9).
        reference: a configuration known to work, ``"BETA2@BATCH"`` or a BetaReference
            (default: 0.999 at batch 32, the public recipe of docs/theory.md section 7).
        tokens_per_sample: tokens per sample, to report memories in tokens.
        eps: your Adam epsilon for the drift ratio (default 0: scale free).
        margin: drift-ratio margin of the recommended beta2 (default 0.5).
        planned_steps: steps you plan to run (warns when 1/(1-beta2) exceeds them).
        seed: seed of the resampled mini-batches and the Monte Carlo.

    Example:
        >>> rec = recommend(32)
        >>> rec.beta2, rec.beta2_critical is None
        (0.999, True)
        >>> round(recommend(256).beta2_half_life_rule, 4)
        0.992

    References:
        Zhang et al. 2026 (arXiv:2603.02092); Shi et al. ICLR 2021; Marek et al. 2025
        (arXiv:2507.07101); docs/theory.md sections 3, 7, 9.
    """
    batch_size = check_positive_int(batch_size, "batch size")
    if dataset_size is not None:
        dataset_size = check_positive_int(dataset_size, "dataset size")
        if batch_size > dataset_size:
            raise InvalidParameterError(
                f"batch size {batch_size} is larger than the data set ({dataset_size}): use at most {dataset_size}"
            )
    beta1_given = beta1 is not None
    beta1 = check_beta(DEFAULT_BETA1 if beta1 is None else beta1, "beta1")
    if isinstance(reference, str):
        reference = parse_reference(reference)
    reference = reference or DEFAULT_REFERENCE
    if tokens_per_sample is not None:
        tokens_per_sample = check_positive_int(tokens_per_sample, "tokens per sample")
    eps = 0.0 if eps is None else check_nonnegative_float(eps, "eps")
    margin = check_nonnegative_float(margin, "margin")
    if margin >= 1:
        raise InvalidParameterError(f"margin = {margin:g} must be below 1 (rho tends to 1 as beta2 -> 1)")
    if planned_steps is not None:
        planned_steps = check_positive_int(planned_steps, "planned steps")
    seed = check_seed(seed)

    notes: list[str] = []
    warnings: list[str] = []
    practice = practice_lens(batch_size, reference.in_samples(tokens_per_sample), tokens_per_sample)

    facts = None
    calibrated = None
    if gradients is not None:
        paths = [gradients] if isinstance(gradients, (str, Path)) else list(gradients)
        for p in paths:
            if not Path(p).is_file():
                raise DataError(f"gradient file {str(p)!r} does not exist: check the path")
        facts = _gradient_facts(paths, batch_size, dataset_size, seed)
        calibrated = calibrated_lens(facts["estimate"].laws, beta1, margin=margin, eps=eps, seed=seed)
        calibrated["points"] = facts["points"]
        calibrated["d"] = facts["d"]
        dataset_size = dataset_size or facts["N"]
    else:
        notes.append(
            "calibrated lens not used: no --gradients given, so beta2* for your problem was not "
            "computed; the recommendation rests on the practice rule"
        )

    n = facts["n"] if facts else (dataset_size // batch_size if dataset_size else None)
    provable = provable_lens(n, facts["d"] if facts else None, facts["d1"] if facts else None, beta1)

    beta2 = practice["beta2_clamped"]
    choice = "practice: the half-life rule from the reference, clamped to the practice range"
    if calibrated is not None and not calibrated["unresolved"]:
        floor = calibrated["beta2_recommended"]
        if floor > beta2:
            beta2 = floor
            choice = ("calibrated: your gradients need more memory than the practice rule gives; the "
                      "smallest beta2 keeping the drift ratio above the margin")
        else:
            choice += (f"; your gradients allow beta2 >= {floor:.4g} (drift ratio above the margin at the "
                       "sampled points), so the practice value is safe by the calibrated lens too")
            notes.append(
                "the calibrated lens sees only the sampled points; the practice value is kept because "
                "it is also safe there and matches a configuration known to work"
            )
    elif calibrated is not None:
        warnings.append(
            "the calibrated search found no beta2 on its ladder that keeps every informative "
            "coordinate above the margin; the practice rule is used, check it with a simulation"
        )
    adjusted = _sqrt_condition(beta1, beta2)
    if adjusted != beta2:
        warnings.append(
            f"beta1 = {beta1:g} >= sqrt(beta2) = {math.sqrt(beta2):.4f}: outside every convergence "
            f"theorem; raised beta2 to {adjusted:.6g} (or lower beta1)"
        )
        beta2 = adjusted

    crit = calibrated["beta2_critical"] if calibrated else None
    if crit is not None and crit > practice["beta2_clamped"]:
        warnings.append(
            f"your gradients need beta2 >= {crit:.4g} at batch {batch_size}, above the practice "
            f"rule's {practice['beta2_clamped']:.4g}: small batches need larger beta2"
        )
    mem = memory_steps(beta2)
    if planned_steps is not None and mem > planned_steps:
        warnings.append(
            f"1/(1-beta2) = {mem:,.0f} steps exceeds the {planned_steps:,} planned steps: the second "
            "moment would still be averaging its start when training ends"
        )
    if mem > 1000.5:  # beyond beta2 = 0.999
        warnings.append(
            f"1/(1-beta2) = {mem:,.0f}: Theorem 2.2's rate term O(log T/((1-beta2) sqrt T)) grows "
            "with it (20x at 0.95, 1000x at 0.999); larger beta2 is not free, keep it no higher "
            "than needed"
        )
    if practice["beta2_half_life_rule"] <= practice["clamp"][0]:
        warnings.append(
            f"large batch: the half-life rule ({practice['beta2_half_life_rule']:.4g}) is below the "
            f"practice range, where lower beta2 (GPT-3, Llama, DeepSeek use 0.95) guards against "
            "loss spikes; raise beta2 only if the calibrated lens asks for it"
        )
    if not beta1_given:
        notes.append(f"beta1 = {DEFAULT_BETA1:g} (the common default; pass --beta1 for yours)")

    return Recommendation(
        batch_size=batch_size,
        beta1=beta1,
        beta2=float(beta2),
        beta2_critical=crit,
        beta2_critical_interval=tuple(calibrated["beta2_critical_interval"]) if calibrated else None,
        beta2_lenient=calibrated["beta2_lenient"] if calibrated else None,
        beta2_calibrated=calibrated["beta2_recommended"] if calibrated else None,
        beta2_half_life_rule=float(practice["beta2_half_life_rule"]),
        beta2_practice=float(practice["beta2_clamped"]),
        beta2_provable=provable.get("beta2"),
        margin=margin,
        dataset_size=dataset_size,
        tokens_per_sample=tokens_per_sample,
        provable=provable,
        calibrated=calibrated,
        practice=practice,
        choice=choice,
        warnings=warnings,
        notes=notes,
        laws=list(facts["estimate"].laws) if facts else [],
    )
