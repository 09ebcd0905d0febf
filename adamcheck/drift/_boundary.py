"""Critical beta2 and recommended beta2 from drift ratios (docs/theory.md section 9).

A model gives, at each of P sampled points (checkpoints), a law per coordinate.
Coordinate ``j`` at point ``p`` is *informative* when its mean gradient can be told
from zero, ``|E g| > z_mean * mean_se`` (``mean_se`` from ``law.mean_se``; when
absent every coordinate with ``E g != 0`` counts as informative and the result says
so). Non-informative coordinates are left out and counted.

A cell is *reversed beyond its standard error* when ``rho + z * stderr < 0`` (the
upper end of the z-sigma interval is below zero: the drift is reversed with
confidence). Rules, on a ladder of beta2 values sorted upwards, separately for each
beta1:

* **strict** (default): the smallest ladder beta2 such that for it and every larger
  ladder beta2 no informative coordinate at any point is reversed (rho need not be
  monotone in beta2, hence "and every larger"). If the top of the ladder is still
  reversed, beta2* is undefined (NaN, ``unresolved``).
* **lenient**: the same with "reversed share of gradient mass <= threshold", the share
  at a point being ``sum_{j reversed} |E g_j| / sum_{j informative} |E g_j|`` and the
  worst point counting. It is reported on the ladder (not refined), capped at the
  refined strict value.
* **refinement**: between the last reversed ladder value ``lo`` and the next one
  ``hi``, the strict beta2* is bisected (in ``log(1 - beta2)``) ``refine_steps`` times on
  the coordinates that were reversed at ``lo`` (the *setters*); the reported value is
  the upper end of the final bracket, so it is never below the true crossing of the
  setters by more than the final bracket allows.

The recommended beta2 uses the same machinery with the conservative test
``rho - z * stderr < margin`` as failure: the smallest beta2 such that for it and every
larger ladder value every informative coordinate at every point keeps ``rho >= margin``
with confidence. With ``eps > 0``, ``rho -> sqrt(E g^2)/(sqrt(E g^2)+eps) < 1`` as
beta2 -> 1, so a margin above that limit cannot be met (NaN, ``unresolved``).

Screening (laws given as many samples): rho is first computed on the ladder with a
cheap Monte Carlo budget; only coordinates that the cheap pass cannot clear
(``rho - z * stderr < t`` at or above the highest row the cheap pass already fails)
are recomputed at the full budget. Cells the cheap pass clears are cleared with
their (larger) standard error, so screening never clears a cell the full pass would
fail except with the z-sigma error probability.

References:
    docs/theory.md sections 7 and 9; Zhang et al., arXiv:2603.02092 (2026), section 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._laws import GradientLaw
from .._validate import (
    as_real_array,
    check_beta,
    check_betas_array,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_probability,
    check_seed,
)
from ..theory import check_counterexample_n, counterexample_default_a
from ._ratio import DriftGrid, drift_ratio_grid

__all__ = [
    "BoundarySearch",
    "MARGIN",
    "MarginRule",
    "STRICT",
    "StrictRule",
    "CriticalBoundary",
    "MarginRecommendation",
    "Setter",
    "critical_beta2",
    "recommended_beta2",
    "run_recommended_beta2",
    "default_beta2_ladder",
    "informative_mask",
    "counterexample_boundary",
    "simulated_agreement",
]


def default_beta2_ladder(num: int = 25, min_gap: float = 1e-4) -> np.ndarray:
    """``1 - logspace(0, log10(min_gap), num)``: beta2 from 0 to ``1 - min_gap``, log-spaced in 1 - beta2.

    Example:
        >>> [round(float(b), 4) for b in default_beta2_ladder(5)]
        [0.0, 0.9, 0.99, 0.999, 0.9999]
    """
    if num < 2:
        raise InvalidParameterError(f"ladder size {num} is too small: use at least 2 values")
    check_positive_float(min_gap, "min_gap")
    if min_gap >= 1:
        raise InvalidParameterError(f"min_gap = {min_gap:g} must be below 1, e.g. 1e-4")
    return 1.0 - np.logspace(0.0, np.log10(min_gap), num)


@dataclass(frozen=True)
class Setter:
    """A (point, coordinate) reversed at the last failing ladder beta2."""

    point: int
    coordinate: int
    beta2: float
    rho: float
    stderr: float


@dataclass(frozen=True)
class CriticalBoundary:
    """beta2*(beta1) by the strict and lenient rules (see the module docstring).

    Arrays are indexed like ``beta1s``. ``strict`` is refined between ladder points,
    ``strict_grid`` is the ladder value before refinement and ``strict_bracket`` the
    final bisection bracket. ``unresolved`` marks beta1 values whose top ladder beta2
    still fails. ``excluded``/``informative`` count coordinates per point;
    ``mean_se_known`` says per point whether ``law.mean_se`` was available.
    """

    beta1s: np.ndarray
    beta2s: np.ndarray
    strict: np.ndarray
    strict_grid: np.ndarray
    strict_bracket: np.ndarray
    lenient: np.ndarray
    unresolved: np.ndarray
    setters: tuple[tuple[Setter, ...], ...]
    excluded: np.ndarray
    informative: np.ndarray
    mean_se_known: np.ndarray
    z: float
    z_mean: float
    threshold: float
    eps: float
    grids: tuple[DriftGrid, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1s": self.beta1s,
            "strict": self.strict,
            "strict_grid": self.strict_grid,
            "strict_bracket": self.strict_bracket,
            "lenient": self.lenient,
            "unresolved": self.unresolved,
            "setters": [[s.__dict__ for s in row] for row in self.setters],
            "excluded": self.excluded,
            "informative": self.informative,
            "mean_se_known": self.mean_se_known,
            "z": self.z,
            "z_mean": self.z_mean,
            "threshold": self.threshold,
            "eps": self.eps,
            "ladder": self.beta2s,
        }


@dataclass(frozen=True)
class MarginRecommendation:
    """Smallest beta2 keeping rho >= margin (with confidence) at ``beta1``, and the boundary."""

    beta1: float
    beta2: float
    bracket: tuple[float, float]
    margin: float
    unresolved: bool
    binding: tuple[Setter, ...]
    boundary: CriticalBoundary | None
    paper_condition: bool  # beta1 < sqrt(beta2), Zhang et al. 2026 Theorem 2.2
    limited_by: str = "margin"  # "margin" (binding coordinates), "paper_condition" or "nothing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1": self.beta1,
            "beta2": self.beta2,
            "bracket": list(self.bracket),
            "margin": self.margin,
            "unresolved": self.unresolved,
            "binding": [s.__dict__ for s in self.binding],
            "paper_condition": self.paper_condition,
            "limited_by": self.limited_by,
            "boundary": None if self.boundary is None else self.boundary.to_dict(),
        }


def informative_mask(mean: np.ndarray, mean_se: np.ndarray | None, z_mean: float) -> np.ndarray:
    """``|E g| > z_mean * mean_se`` (or ``E g != 0`` when ``mean_se`` is None), per coordinate.

    Example:
        >>> informative_mask(np.array([0.1, 0.01, 0.0]), np.array([0.02, 0.02, 0.02]), 2.0).tolist()
        [True, False, False]
    """
    mean = np.asarray(mean, dtype=float)
    if mean_se is None:
        return mean != 0
    return np.abs(mean) > z_mean * np.asarray(mean_se, dtype=float)


# -- internals --------------------------------------------------------------------------


def _points(source: Any) -> list[Any]:
    if isinstance(source, (GradientLaw, DriftGrid)):
        return [source]
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, (GradientLaw, DriftGrid)) for s in source):
        return list(source)
    raise InvalidParameterError(
        "expected a GradientLaw, a DriftGrid or a non-empty list of them (one per sampled point)"
    )


@dataclass(frozen=True)
class StrictRule:
    """The strict boundary's rule: a cell fails when rho is below ``t`` with confidence, ``rho + z se < t``."""

    name = "strict"

    def fails(self, rho: np.ndarray, se: np.ndarray, z: float, t: float) -> np.ndarray:
        """Cells whose drift ratio is below ``t`` by more than ``z`` standard errors."""
        with np.errstate(invalid="ignore"):
            return rho + z * se < t


@dataclass(frozen=True)
class MarginRule:
    """The recommendation's rule: a cell fails when rho cannot be shown to reach ``t``, ``rho - z se < t``."""

    name = "margin"

    def fails(self, rho: np.ndarray, se: np.ndarray, z: float, t: float) -> np.ndarray:
        """Cells whose drift ratio is not above ``t`` by ``z`` standard errors."""
        with np.errstate(invalid="ignore"):
            return rho - z * se < t


#: The two rules a boundary search applies (the strict boundary; the margin recommendation).
STRICT, MARGIN = StrictRule(), MarginRule()


@dataclass(frozen=True, eq=False)
class BoundarySearch:
    """The settings of one boundary search, validated once at construction.

    The rule (``rule`` and ``t``) and the search's budget travel together instead of as
    fourteen positional arguments through the scan, the bisection and the rules.

    Attributes:
        t: the rule's threshold on rho: 0 for the strict boundary, the margin for the
            recommendation.
        rule: :data:`STRICT` (a cell fails when rho is below ``t`` with confidence,
            ``rho + z se < t``) or :data:`MARGIN` (a cell fails when rho cannot be shown
            to reach ``t``, ``rho - z se < t``).
        z, z_mean, threshold, eps, seed, target_se, refine_steps, screen: as
            :func:`critical_beta2`.
        paper_condition: cells with ``beta1 >= sqrt(beta2)`` fail too (Zhang et al. 2026,
            Theorem 2.2).
        stop_at_t: stop the ladder scan at the first row failing the rule.
        options: passed to :func:`~adamcheck.drift.drift_ratio_grid`.

    Raises:
        InvalidParameterError: a value out of range (named as the public argument).
    """

    t: float = 0.0
    rule: StrictRule | MarginRule = STRICT
    z: float = 2.0
    z_mean: float = 2.0
    threshold: float = 0.01
    eps: float = 0.0
    seed: int = 0
    target_se: float = 0.01
    refine_steps: int = 5
    screen: bool = True
    paper_condition: bool = False
    stop_at_t: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.rule, (StrictRule, MarginRule)):
            raise InvalidParameterError(f"boundary rule {self.rule!r} must be STRICT or MARGIN")
        checked = {
            "t": check_nonnegative_float(self.t, "margin"),
            "z": check_nonnegative_float(self.z, "z"),
            "z_mean": check_nonnegative_float(self.z_mean, "z_mean"),
            "threshold": check_probability(self.threshold, "threshold"),
            "eps": check_nonnegative_float(self.eps, "eps"),
            "seed": check_seed(self.seed),
            "target_se": check_positive_float(self.target_se, "target_se"),
            "refine_steps": check_nonnegative_int(self.refine_steps, "refine_steps"),
            "screen": bool(self.screen),
            "paper_condition": bool(self.paper_condition),
            "stop_at_t": bool(self.stop_at_t),
            "options": dict(self.options),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def fails(self, rho: np.ndarray, se: np.ndarray) -> np.ndarray:
        """The rule's failing cells (NaN cells, not computed, never fail)."""
        return self.rule.fails(rho, se, self.z, self.t) & ~np.isnan(rho)

    def reversed(self, rho: np.ndarray, se: np.ndarray) -> np.ndarray:
        """Cells reversed beyond their standard error, ``rho + z se < 0`` (the lenient rule's test)."""
        return replace(self, t=0.0, rule=STRICT).fails(rho, se)

    def maybe_fails(self, rho: np.ndarray, se: np.ndarray) -> np.ndarray:
        """Cells a screening pass cannot clear, ``rho - z se < t``."""
        return MARGIN.fails(rho, se, self.z, self.t) & ~np.isnan(rho)

    def search_options(self) -> dict:
        """Search budget; a cell is settled once rho is z + 1 standard errors away from t."""
        out = dict(_SEARCH_MC)
        out["decide"] = (self.t, self.z + 1.0)
        out.update(self.options)
        return out


#: Monte Carlo budget for the boundary searches (confirmation and bisection): fewer,
#: shorter batches than a full grid; rounds are added until every cell meets target_se
#: or is settled (see ``decide``), up to 2^18 steps. A cell left with a larger standard
#: error is judged with it: it counts as reversed only if rho + z se < 0.
_SEARCH_MC = {"min_batches": 16, "batch_len": 1024, "strata": 4, "max_steps": 262_144}


def _needs_screening(law: GradientLaw, markov_max_atoms: int) -> bool:
    return law.n_atoms > markov_max_atoms


def _block_grid(law: GradientLaw, b1s: np.ndarray, rows_b2: np.ndarray, search: BoundarySearch, seed: int,
                mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rho on a block of ladder rows; many-atom laws are screened (see module docstring)."""
    options, eps, target_se = search.options, search.eps, search.target_se
    if not search.screen or not _needs_screening(law, options.get("markov_max_atoms", 8)):
        g = drift_ratio_grid(law, b1s, rows_b2, eps=eps, seed=seed, target_se=target_se, **options)
        return g.rho, g.stderr, g.method
    cheap = dict(options)
    cheap.update(min_batches=10, batch_len=512, max_steps=20 * 512, strata=1)
    g = drift_ratio_grid(law, b1s, rows_b2, eps=eps, seed=seed, target_se=10 * target_se, **cheap)
    rho, se, meth = g.rho.copy(), g.stderr.copy(), g.method.copy()
    cand = (search.maybe_fails(rho, se) & mask[:, None, None]).any(axis=(1, 2))
    coords = np.flatnonzero(cand)
    if coords.size:
        sub = GradientLaw(values=law.values[:, coords], weights=law.weights, label=law.label)
        full = drift_ratio_grid(sub, b1s, rows_b2, eps=eps, seed=seed + 1, target_se=target_se,
                                **search.search_options())
        rho[coords], se[coords], meth[coords] = full.rho, full.stderr, full.method
    return rho, se, meth


def _scan_grid(law: GradientLaw, b1s: np.ndarray, ladder: np.ndarray, search: BoundarySearch, seed: int,
               mask: np.ndarray, block: int = 4) -> DriftGrid:
    """Grid on the ladder computed in blocks from the top down, stopping below the rows that matter.

    The strict and lenient rules (and the margin rule, whose failing rows lie above
    them) only look at the highest failing rows, so once a block contains, for every
    beta1, a row whose reversed share exceeds ``search.threshold`` the lower rows cannot
    change any answer and are left uncomputed (NaN, method ""). The failing rows of
    the rule (margin or strict) found on the way are at or above that row. With
    ``search.stop_at_t`` the scan stops at the first row failing the rule itself
    (or the paper condition): enough for the recommendation alone.
    """
    d, n1, n2 = law.dim, b1s.size, ladder.size
    rho = np.full((d, n2, n1), np.nan)
    se = np.full((d, n2, n1), np.nan)
    meth = np.full((d, n2), "", dtype=object)
    weight = np.abs(law.mean()) * mask
    total = weight.sum()
    keep = np.flatnonzero(mask)  # excluded coordinates are never computed (left NaN)
    full_law = law
    if keep.size:
        law = GradientLaw(
            values=law.values[:, keep], weights=law.weights, batch_size=law.batch_size, label=law.label
        )
    sub_mask = np.ones(keep.size, dtype=bool)
    found = np.zeros(n1, dtype=bool)
    hi = n2
    k = 0
    while keep.size and hi > 0 and not found.all():
        lo = max(hi - block, 0)
        r, e, m = _block_grid(law, b1s, ladder[lo:hi], search, seed + 31 * k, sub_mask)
        rho[keep, lo:hi], se[keep, lo:hi], meth[keep, lo:hi] = r, e, m
        r, e = rho[:, lo:hi], se[:, lo:hi]
        if search.stop_at_t:
            fail = (search.fails(r, e) & mask[:, None, None]).any(axis=0)  # (rows, n1)
            if search.paper_condition:
                fail |= ~(b1s[None, :] < np.sqrt(ladder[lo:hi])[:, None])
            found |= fail.any(axis=0)
        else:
            rev = search.reversed(r, e) & mask[:, None, None]
            if total > 0:
                share = np.einsum("j,jrc->rc", weight, rev.astype(float)) / total
                found |= (share > search.threshold).any(axis=0)
        hi = lo
        k += 1
    return DriftGrid(
        beta1s=b1s,
        beta2s=ladder,
        rho=rho,
        stderr=se,
        method=meth.astype(str),
        denominator=full_law.normalised_mean(),
        mean=full_law.mean(),
        mean_se=full_law.mean_se,
        eps=search.eps,
        seed=seed,
        label=full_law.label,
        batch_size=full_law.batch_size,
        law=full_law,
    )


def _bisect(points: Sequence[GradientLaw], setters: Sequence[Setter], b1: float, lo: float, hi: float,
            search: BoundarySearch) -> tuple[float, float]:
    """Bisect in log(1 - beta2) between lo (fails) and hi (passes) on the setters only."""
    by_point: dict[int, list[int]] = {}
    for s in setters:
        by_point.setdefault(s.point, []).append(s.coordinate)
    for k in range(search.refine_steps):
        mid = 1.0 - np.sqrt((1.0 - lo) * (1.0 - hi))
        failed = bool(search.paper_condition and not b1 < np.sqrt(mid))
        for p, coords in ([] if failed else by_point.items()):
            law = points[p]
            sub = GradientLaw(values=law.values[:, coords], weights=law.weights, label=law.label)
            g = drift_ratio_grid(sub, [b1], [mid], eps=search.eps, seed=search.seed + 1000 + k,
                                 target_se=search.target_se, **search.search_options())
            if search.fails(g.rho[:, 0, 0], g.stderr[:, 0, 0]).any():
                failed = True
                break
        if failed:
            lo = mid
        else:
            hi = mid
    return lo, hi


def _given_grids(grids: list[DriftGrid], beta1s: Any) -> tuple[np.ndarray, np.ndarray]:
    """The shared (beta1, beta2) axes of precomputed grids, checked."""
    b1s = grids[0].beta1s
    ladder = grids[0].beta2s
    for g in grids[1:]:
        if not (np.array_equal(g.beta1s, b1s) and np.array_equal(g.beta2s, ladder)):
            raise InvalidParameterError("drift grids of different points must share their beta1 and beta2 axes")
    if beta1s is not None and not np.array_equal(check_betas_array(beta1s, "beta1"), b1s):
        raise InvalidParameterError("beta1s differ from the grids' beta1 axis: pass beta1s=None with grids")
    if np.any(np.diff(ladder) <= 0):
        raise InvalidParameterError("the grids' beta2 axis must be strictly increasing for the boundary rules")
    return b1s, ladder


def _point_grids(source: Any, beta1s: Any, beta2s: Any, search: BoundarySearch
                 ) -> tuple[np.ndarray, np.ndarray, list[DriftGrid], list[Any], BoundarySearch]:
    """(beta1s, ladder, one grid per point, the points' laws, the search): grids given or scanned."""
    pts = _points(source)
    given = [p for p in pts if isinstance(p, DriftGrid)]
    if given and len(given) != len(pts):
        raise InvalidParameterError("give either laws or drift grids, not a mix of both")
    if given:
        b1s, ladder = _given_grids(given, beta1s)
        return b1s, ladder, given, [g.law for g in given], replace(search, eps=given[0].eps)
    if beta1s is None:
        raise InvalidParameterError("give beta1s (e.g. [0.9]) when passing gradient laws")
    b1s = check_betas_array(beta1s, "beta1")
    ladder = default_beta2_ladder() if beta2s is None else np.unique(check_betas_array(beta2s, "beta2"))
    if ladder.size < 2:
        raise InvalidParameterError("the beta2 ladder needs at least 2 values")
    grids = [
        _scan_grid(law, b1s, ladder, search, search.seed + 17 * p, informative_mask(law.mean(), law.mean_se, search.z_mean))
        for p, law in enumerate(pts)
    ]
    return b1s, ladder, grids, pts, search


@dataclass(frozen=True, eq=False)
class _Failures:
    """Per point and cell, which informative coordinates fail the rule; the worst reversed share."""

    masks: list[np.ndarray]
    per_point: list[np.ndarray]  # (d, n2, n1) per point
    any_fail: np.ndarray  # (n2, n1)
    worst_share: np.ndarray  # (n2, n1)


def _failures(grids: list[DriftGrid], b1s: np.ndarray, ladder: np.ndarray, search: BoundarySearch) -> _Failures:
    n1, n2 = b1s.size, ladder.size
    masks = [informative_mask(g.mean, g.mean_se, search.z_mean) & np.isfinite(g.denominator) & (g.denominator != 0)
             for g in grids]
    any_fail = np.zeros((n2, n1), dtype=bool)
    if search.paper_condition:  # Zhang et al. 2026, Theorem 2.2 needs beta1 < sqrt(beta2)
        any_fail |= ~(b1s[None, :] < np.sqrt(ladder)[:, None])
    worst_share = np.zeros((n2, n1))
    per_point = []
    for g, m in zip(grids, masks):
        f = search.fails(g.rho, g.stderr) & m[:, None, None]
        per_point.append(f)
        any_fail |= f.any(axis=0)
        weight = np.abs(g.mean) * m
        total = weight.sum()
        if total > 0:
            share = np.einsum("j,jrc->rc", weight, f.astype(float)) / total
            worst_share = np.maximum(worst_share, share)
    return _Failures(masks, per_point, any_fail, worst_share)


def _boundary(source: Any, beta1s: Any, beta2s: Any, search: BoundarySearch) -> CriticalBoundary:
    b1s, ladder, grids, laws, search = _point_grids(source, beta1s, beta2s, search)
    fl = _failures(grids, b1s, ladder, search)
    n1, n2 = b1s.size, ladder.size
    strict = np.full(n1, np.nan)
    strict_grid = np.full(n1, np.nan)
    bracket = np.full((n1, 2), np.nan)
    lenient = np.full(n1, np.nan)
    unresolved = np.zeros(n1, dtype=bool)
    setters_all = []
    for c in range(n1):
        rows = np.flatnonzero(fl.any_fail[:, c])
        setters: list[Setter] = []
        if rows.size == 0:
            strict[c] = strict_grid[c] = ladder[0]
            bracket[c] = (ladder[0], ladder[0])
        elif rows[-1] == n2 - 1:
            unresolved[c] = True
            last = rows[-1]
        else:
            last = rows[-1]
            strict_grid[c] = ladder[last + 1]
        if rows.size:
            for p, f in enumerate(fl.per_point):
                for j in np.flatnonzero(f[:, last, c]):
                    g = grids[p]
                    setters.append(
                        Setter(p, int(j), float(ladder[last]), float(g.rho[j, last, c]), float(g.stderr[j, last, c]))
                    )
            if not unresolved[c]:
                lo, hi = float(ladder[last]), float(ladder[last + 1])
                if search.refine_steps > 0 and all(law is not None for law in laws):
                    lo, hi = _bisect(laws, setters, float(b1s[c]), lo, hi, search)
                strict[c] = hi
                bracket[c] = (lo, hi)
        setters_all.append(tuple(setters))
        lrows = np.flatnonzero(fl.worst_share[:, c] > search.threshold)
        if lrows.size == 0:
            lenient[c] = ladder[0]
        elif lrows[-1] < n2 - 1:
            # on the ladder, and never above the refined strict value (lenient <= strict)
            lenient[c] = min(ladder[lrows[-1] + 1], strict[c]) if np.isfinite(strict[c]) else ladder[lrows[-1] + 1]
    return CriticalBoundary(
        beta1s=b1s,
        beta2s=ladder,
        strict=strict,
        strict_grid=strict_grid,
        strict_bracket=bracket,
        lenient=lenient,
        unresolved=unresolved,
        setters=tuple(setters_all),
        excluded=np.asarray([int((~m).sum()) for m in fl.masks]),
        informative=np.asarray([int(m.sum()) for m in fl.masks]),
        mean_se_known=np.asarray([g.mean_se is not None for g in grids]),
        z=search.z,
        z_mean=search.z_mean,
        threshold=search.threshold,
        eps=search.eps,
        grids=tuple(grids),
    )


# -- public -----------------------------------------------------------------------------


def critical_beta2(
    source: GradientLaw | DriftGrid | Sequence[GradientLaw] | Sequence[DriftGrid],
    beta1s: Sequence[float] | np.ndarray | None = None,
    beta2s: Sequence[float] | np.ndarray | None = None,
    *,
    z: float = 2.0,
    z_mean: float = 2.0,
    threshold: float = 0.01,
    eps: float = 0.0,
    seed: int = 0,
    target_se: float = 0.01,
    refine_steps: int = 5,
    screen: bool = True,
    **options: Any,
) -> CriticalBoundary:
    """Critical beta2*(beta1): where the drift ratio stops being reversed (docs/theory.md section 9).

    Math: coordinate j at point p is reversed at (b1, b2) when
    ``rho_pj(b1, b2) + z * se_pj < 0``. Strict rule: ``beta2* = min{b2 in ladder : no
    informative (p, j) is reversed at any ladder b2' >= b2}``, refined by bisection on
    the setters; lenient rule: the same with the worst point's reversed share of
    ``|E g|``-weighted mass ``<= threshold``. Coordinates with ``|E g| <= z_mean *
    mean_se`` are excluded and counted.

    Args:
        source: one law or grid per sampled point (a single one is one point). Grids
            from :func:`drift_ratio_grid` are used as they are (their axes are the beta1
            values and the ladder; strictly increasing beta2 axis).
        beta1s: beta1 values (needed for laws); a single value is the fast 1-D path.
        beta2s: the ladder (default :func:`default_beta2_ladder`: 25 values from 0 to 0.9999,
            six per decade of 1 - beta2).
        z: sigmas for "reversed beyond its standard error".
        z_mean: sigmas for "mean gradient told from zero".
        threshold: lenient rule's reversed mass share (default 1%).
        eps: Adam's epsilon (laws must then be in real gradient units).
        seed, target_se, refine_steps, screen: determinism, accuracy, bisection steps,
            cheap screening of many-atom laws.
        options: passed to :func:`drift_ratio_grid` (e.g. ``max_steps``).

    Returns:
        :class:`CriticalBoundary`.

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> cb = critical_beta2(GradientLaw.two_point(10, 1 / 81), [0.0], refine_steps=0)
        >>> 0.7 < float(cb.strict[0]) < 0.95
        True

    References:
        docs/theory.md section 9; Zhang et al., arXiv:2603.02092 (2026), Theorem 2.3.
    """
    search = BoundarySearch(t=0.0, rule=STRICT, z=z, z_mean=z_mean, threshold=threshold, eps=eps, seed=seed,
                            target_se=target_se, refine_steps=refine_steps, screen=screen, options=options)
    return _boundary(source, beta1s, beta2s, search)


def recommended_beta2(
    source: GradientLaw | DriftGrid | Sequence[GradientLaw] | Sequence[DriftGrid],
    beta1: float = 0.9,
    beta2s: Sequence[float] | np.ndarray | None = None,
    *,
    margin: float = 0.5,
    z: float = 2.0,
    z_mean: float = 2.0,
    threshold: float = 0.01,
    eps: float = 0.0,
    seed: int = 0,
    target_se: float = 0.01,
    refine_steps: int = 5,
    screen: bool = True,
    paper_condition: bool = True,
    with_boundary: bool = True,
    **options: Any,
) -> MarginRecommendation:
    """Smallest beta2 whose drift ratio stays above ``margin`` for every informative coordinate.

    Math: fails at (b1, b2) when ``rho_pj - z * se_pj < margin`` for some informative
    (p, j) (we want ``rho >= margin`` with confidence); the recommendation is the
    smallest ladder b2 such that no ladder b2' >= b2 fails, refined by bisection.
    ``margin`` (default 0.5: the mean step keeps at least half of its full-memory
    size) is a choice of adamcheck, not a paper's constant. With ``paper_condition``
    (default) ladder values with ``beta1 >= sqrt(beta2)`` count as failing too, so the
    recommendation also satisfies the hypothesis of Zhang et al. 2026, Theorem 2.2.
    ``with_boundary=False`` skips the strict boundary (``boundary`` is None) and stops
    the ladder scan at the first failing row: the fastest path for laws. Also returns the strict
    critical boundary at the same beta1 and whether ``beta1 < sqrt(beta2)`` (the
    condition of Zhang et al. 2026, Theorem 2.2). Larger beta2 is not free (the
    neighbourhood term grows like 1/(1-beta2), docs/theory.md section 3): report both.

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> rec = recommended_beta2(GradientLaw.two_point(10, 1 / 81), 0.9, refine_steps=0)
        >>> bool(rec.beta2 >= rec.boundary.strict[0])
        True

    References:
        docs/theory.md sections 3, 7 and 9.
    """
    beta1 = check_beta(beta1, "beta1")
    search = BoundarySearch(t=margin, rule=MARGIN, z=z, z_mean=z_mean, threshold=threshold, eps=eps, seed=seed,
                            target_se=target_se, refine_steps=refine_steps, screen=screen,
                            paper_condition=paper_condition, stop_at_t=not with_boundary, options=options)
    return run_recommended_beta2(source, beta1, beta2s, search)


def run_recommended_beta2(
    source: GradientLaw | DriftGrid | Sequence[GradientLaw] | Sequence[DriftGrid],
    beta1: float,
    beta2s: Sequence[float] | np.ndarray | None,
    search: BoundarySearch,
) -> MarginRecommendation:
    """:func:`recommended_beta2` with its settings as one :class:`BoundarySearch` (``rule=MARGIN``).

    ``search.t`` is the margin; ``search.stop_at_t`` is ``not with_boundary``.

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> search = BoundarySearch(t=0.5, rule=MARGIN, refine_steps=0, paper_condition=True)
        >>> rec = run_recommended_beta2(GradientLaw.two_point(10, 1 / 81), 0.9, None, search)
        >>> bool(rec.beta2 >= rec.boundary.strict[0])
        True
    """
    if not isinstance(search, BoundarySearch) or not isinstance(search.rule, MarginRule):
        raise InvalidParameterError("give a BoundarySearch with rule=MARGIN (or call recommended_beta2)")
    beta1 = check_beta(beta1, "beta1")
    pts = _points(source)
    b1s = None if isinstance(pts[0], DriftGrid) else [beta1]
    rec = _boundary(pts, b1s, beta2s, search)
    col = int(np.argmin(np.abs(rec.beta1s - beta1)))
    if isinstance(pts[0], DriftGrid) and abs(rec.beta1s[col] - beta1) > 1e-12:
        raise InvalidParameterError(f"beta1 = {beta1:g} is not on the grids' beta1 axis: compute grids that include it")
    # strict boundary from the same grids (no recomputation of rho)
    strict_rule = replace(search, t=0.0, rule=STRICT, paper_condition=False, stop_at_t=False)
    strict = None if search.stop_at_t else _boundary(list(rec.grids), None, None, strict_rule)
    b2 = float(rec.strict[col])
    if rec.setters[col]:
        limited_by = "margin"
    elif search.paper_condition and (rec.unresolved[col] or b2 > rec.beta2s[0]):
        limited_by = "paper_condition"
    else:
        limited_by = "nothing"
    return MarginRecommendation(
        beta1=float(rec.beta1s[col]),
        beta2=b2,
        bracket=(float(rec.strict_bracket[col, 0]), float(rec.strict_bracket[col, 1])),
        margin=search.t,
        unresolved=bool(rec.unresolved[col]),
        binding=rec.setters[col],
        boundary=strict,
        paper_condition=bool(np.isfinite(b2) and rec.beta1s[col] < np.sqrt(b2)),
        limited_by=limited_by,
    )


def counterexample_boundary(n: int, a: float | None = None, beta1s: Sequence[float] | None = None, **options: Any):
    """beta2*(beta1) of the counterexample (eq. 2.5) from its two-point law.

    ``a`` defaults to 1/(n-1)^2 (the paper's choice). Returns the
    :class:`adamcheck.drift.CriticalBoundary` (strict and lenient rules).

    Example:
        >>> b = counterexample_boundary(10, beta1s=[0.0])
        >>> 0.65 < float(b.strict[0]) < 0.75
        True
    """
    n = check_counterexample_n(n)
    a = counterexample_default_a(n) if a is None else a
    b1 = np.linspace(0.0, 0.99, 34) if beta1s is None else as_real_array(beta1s, "beta1s", dtype=float)
    return critical_beta2(GradientLaw.two_point(n, a), b1, **options)


def simulated_agreement(boundary: Any, grid: Any, *, distance: float = 0.02) -> dict[str, Any]:
    """Compare beta2*(beta1) with a simulated phase grid (same beta1 axis).

    A cell is predicted divergent when beta2 < beta2*(beta1); it agrees when the
    simulation diverged exactly when predicted. Cells within ``distance`` in beta2 of
    the boundary are left out. Reported over all cells and over the cells with
    beta1 < sqrt(beta2) (the hypothesis of every convergence theorem, where the
    stationary analysis of docs/theory.md section 9 applies).
    """
    star = np.asarray(boundary.strict, dtype=float)
    b1 = np.asarray(grid.beta1, dtype=float)
    b2 = np.asarray(grid.beta2, dtype=float)
    if star.shape != b1.shape or not np.allclose(np.asarray(boundary.beta1s, dtype=float), b1):
        raise InvalidParameterError("the boundary and the phase grid must share their beta1 axis")
    predicted = b2[:, None] < star[None, :]
    simulated = grid.outcome == "diverged"
    far = np.abs(b2[:, None] - star[None, :]) > distance
    inside = b1[None, :] < np.sqrt(b2[:, None])

    def share(mask: Any) -> float | None:
        return float((predicted == simulated)[mask].mean()) if mask.any() else None

    return {
        "agreement": share(far),
        "agreement_beta1_below_sqrt_beta2": share(far & inside),
        "cells_compared": int(far.sum()),
        "cells_compared_beta1_below_sqrt_beta2": int((far & inside).sum()),
        "undecided_share": float((grid.outcome == "undecided")[far].mean()) if far.any() else None,
        "distance": distance,
    }
