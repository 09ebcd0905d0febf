"""The drift ratio rho(beta1, beta2; P) of docs/theory.md section 9: public entry points.

    rho(b1, b2; P) = E_pi[ m/(sqrt(v) + eps) ] / ( E[g]/sqrt(E[g^2]) ),

where ``g ~ P`` i.i.d. (one coordinate of a frozen point's mini-batch gradient) and
``pi`` is the stationary law of the ``paper``-convention moments
``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2`` (no bias correction).
``rho -> 1`` as ``b2 -> 1`` (``sqrt(E g^2)/(sqrt(E g^2)+eps)`` when eps > 0),
``rho < 0`` is the divergent phase (the mean step climbs), and at ``b1 = b2 = 0`` it is
``E[sign g] sqrt(E g^2)/E g``.

Each (b2, b1) cell is computed by one of three routes, chosen per ``b2`` row and
coordinate (``method="auto"``):

* ``closed-form`` for ``b2 = 0``: ``(1-b1) E[g/(|g|+eps)] + b1 E g E[1/(|g|+eps)]``;
* ``markov`` (:mod:`._markov`) for laws with at most ``markov_max_atoms`` distinct
  values and ``1 - b2 >= markov_min_gap``: a discretised chain for ``v`` with the
  gradient integrated out exactly; its ``stderr`` is a discretisation-error
  estimate (difference between grid spacings ``delta`` and ``2 delta``, refined until
  it is below ``target_se`` or ``delta`` reaches ``min_delta``);
* ``monte-carlo`` (:mod:`._montecarlo`) for the rest: one gradient sequence for all
  cells, conditioning on the fresh gradient, control variates whose means are exact
  (they carry the expansion around ``v = E g^2`` that dominates as ``b2 -> 1``), and
  batch-means standard errors; steps are added until every cell's standard error
  is at most ``target_se`` (or ``max_steps``).

Note that eps breaks scale invariance: with ``eps > 0`` the law must be in the
user's real gradient units.

References:
    docs/theory.md sections 4 and 9 (adamcheck's calibrated boundary, not a paper's
    theorem); Zhang et al., arXiv:2603.02092 (2026), section 2 (the counterexample).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._laws import GradientLaw
from .._progress import Progress
from .._validate import (
    check_beta,
    check_betas_array,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from ._markov import markov_numerator, merge_atoms
from ._moments import LawMoments, beta2_zero_row
from ._montecarlo import MCBudget, run_mc_grid

__all__ = ["DriftEstimate", "DriftGrid", "DriftSettings", "drift_ratio", "drift_ratio_grid", "run_drift_ratio_grid",
           "METHODS"]

METHODS = ("auto", "markov", "monte-carlo")


@dataclass(frozen=True)
class DriftEstimate:
    """rho at one (beta1, beta2) for every coordinate of a law.

    ``value``/``stderr``/``denominator`` are floats for a 1-D law and arrays of shape
    (d,) otherwise; ``method`` is the route used (per coordinate for d > 1);
    ``denominator`` is the theoretical E g/sqrt(E g^2). ``stderr`` is a Monte Carlo
    standard error (``monte-carlo``), a discretisation-error estimate (``markov``) or 0
    (``closed-form``).
    """

    value: Any
    stderr: Any
    method: Any
    denominator: Any
    beta1: float
    beta2: float
    eps: float


@dataclass(frozen=True)
class DriftGrid:
    """rho on a (beta2, beta1) grid for every coordinate of one law (one point).

    Arrays ``rho``/``stderr`` have shape (d, len(beta2s), len(beta1s)): rows over
    beta2, columns over beta1 (the simulator's phase-grid layout), and ``method`` is
    (d, len(beta2s)). ``values``/``errors`` drop the leading axis when d == 1.
    ``mean`` is E g per coordinate, ``mean_se`` its standard error when the law
    carries :attr:`GradientLaw.mean_se` (None otherwise).
    """

    beta1s: np.ndarray
    beta2s: np.ndarray
    rho: np.ndarray
    stderr: np.ndarray
    method: np.ndarray
    denominator: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray | None
    eps: float
    seed: int
    label: str = ""
    batch_size: int | None = None
    law: GradientLaw | None = field(default=None, repr=False, compare=False)

    @property
    def dim(self) -> int:
        return int(self.rho.shape[0])

    @property
    def values(self) -> np.ndarray:
        return self.rho[0] if self.dim == 1 else self.rho

    @property
    def errors(self) -> np.ndarray:
        return self.stderr[0] if self.dim == 1 else self.stderr

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON (arrays become lists; NaN becomes null via _jsonio)."""
        return {
            "beta1s": self.beta1s,
            "beta2s": self.beta2s,
            "rho": self.values,
            "stderr": self.errors,
            "method": self.method[0] if self.dim == 1 else self.method,
            "denominator": self.denominator,
            "eps": self.eps,
            "seed": self.seed,
            "label": self.label,
            "batch_size": self.batch_size,
        }


@dataclass(frozen=True, eq=False)
class DriftSettings:
    """Every setting of :func:`drift_ratio_grid` but the law, the axes and the progress bar.

    The fields are that function's arguments of the same name, checked once when built.

    Raises:
        InvalidParameterError: an unknown method or a value out of range.
    """

    eps: float = 0.0
    seed: int = 0
    method: str = "auto"
    target_se: float = 0.01
    markov_max_atoms: int = 8
    markov_min_gap: float = 0.02
    delta: float = 0.01
    min_delta: float = 0.0025
    max_steps: int = 2_000_000
    min_batches: int = 24
    batch_len: int = 2048
    strata: int = 8
    decide: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("eps", check_nonnegative_float(self.eps, "eps"))
        put("seed", check_seed(self.seed))
        put("target_se", check_positive_float(self.target_se, "target_se"))
        if self.method not in METHODS:
            raise InvalidParameterError(f"unknown method {self.method!r}: choose one of {', '.join(METHODS)}")
        put("markov_max_atoms", check_positive_int(self.markov_max_atoms, "markov_max_atoms"))
        put("markov_min_gap", check_nonnegative_float(self.markov_min_gap, "markov_min_gap"))
        put("delta", check_positive_float(self.delta, "delta"))
        put("min_delta", check_positive_float(self.min_delta, "min_delta"))
        put("max_steps", check_positive_int(self.max_steps, "max_steps"))

    def budget(self) -> MCBudget:
        """The Monte Carlo route's share of these settings."""
        return MCBudget(target_se=self.target_se, min_batches=self.min_batches, max_steps=self.max_steps,
                        batch_len=self.batch_len, strata=self.strata, decide=self.decide)


def _as_law(law: Any) -> GradientLaw:
    if isinstance(law, GradientLaw):
        return law
    raise InvalidParameterError(
        f"expected a GradientLaw, got {type(law).__name__}: build one with "
        "GradientLaw.two_point(n, a) or GradientLaw.from_samples(samples)"
    )


def _markov_row_block(x, w, b1s, b2, eps, delta, min_delta, target_abs, tol):
    """N(b1) at one b2 by the markov route with the refinement rule; returns (N, err, delta_used)."""
    coarse, tail_c, _ = markov_numerator(x, w, b1s, b2, eps=eps, delta=2 * delta, tol=tol)
    fine, tail_f, _ = markov_numerator(x, w, b1s, b2, eps=eps, delta=delta, tol=tol)
    err = np.abs(fine - coarse) + tail_f + tail_c
    while err.max() > target_abs and delta / 2 >= min_delta * (1 - 1e-9):
        delta /= 2
        finer, tail, _ = markov_numerator(x, w, b1s, b2, eps=eps, delta=delta, tol=tol)
        err = np.abs(finer - fine) + tail + tail_f
        fine, tail_f = finer, tail
    return fine, err, delta


def drift_ratio_grid(
    law: GradientLaw,
    beta1s: Sequence[float] | np.ndarray,
    beta2s: Sequence[float] | np.ndarray,
    *,
    eps: float = 0.0,
    seed: int = 0,
    method: str = "auto",
    target_se: float = 0.01,
    markov_max_atoms: int = 8,
    markov_min_gap: float = 0.02,
    delta: float = 0.01,
    min_delta: float = 0.0025,
    max_steps: int = 2_000_000,
    min_batches: int = 24,
    batch_len: int = 2048,
    strata: int = 8,
    decide: tuple[float, float] | None = None,
    progress: bool = False,
) -> DriftGrid:
    """rho(b1, b2; P) on a grid, for every coordinate of ``law`` (docs/theory.md section 9).

    Math: ``rho = E_pi[m/(sqrt v + eps)] / (E g/sqrt(E g^2))`` with ``pi`` the stationary
    law of ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2`` under i.i.d. ``g ~ law``.
    The numerator is linear in ``m``, so ``N(b1, b2) = (1-b1) sum_k b1^k E[g_{-k} f(v_0)]``
    and one computation per ``b2`` row serves every ``b1``; see the module docstring
    for the three routes and what ``stderr`` means for each.

    Args:
        law: a :class:`~adamcheck._laws.GradientLaw` (d coordinates, each treated on its own).
        beta1s, beta2s: grid axes, each entry in [0, 1). A ``1 - beta2`` log grid such as
            ``1 - np.logspace(0, -4, 101)`` resolves the region near 1 best.
        eps: Adam's epsilon (outside the root, ``paper`` convention); 0 is scale free.
        seed: seeds the Monte Carlo route (same seed, same bytes).
        method: ``"auto"``, ``"markov"`` (few-atom laws only) or ``"monte-carlo"``.
        target_se: wanted standard error (or error estimate) on rho in every cell.
        markov_max_atoms, markov_min_gap: the markov route is used when a coordinate has
            at most this many distinct values and ``1 - b2 >= markov_min_gap``.
        delta, min_delta: markov grid spacing in log v, and how far it may be refined.
        max_steps, min_batches, batch_len: Monte Carlo budget.
        strata: for laws with more than 16 atoms, how many stratified draws the fresh
            gradient is averaged over (variance reduction; exact sum for <= 16 atoms).
        decide: ``(level, z)``: Monte Carlo cells whose ``|rho - level| >= z * stderr``
            need not reach ``target_se`` (used by the boundary searches).
        progress: draw a progress bar on stderr.

    Returns:
        :class:`DriftGrid` with ``rho``/``stderr`` of shape (d, len(beta2s), len(beta1s)).

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> grid = drift_ratio_grid(GradientLaw.two_point(10, 1 / 81), [0.0], [0.0, 0.999])
        >>> grid.values.shape
        (2, 1)
        >>> bool(grid.values[0, 0] < 0 < grid.values[1, 0])
        True

    References:
        docs/theory.md section 9; Zhang et al., arXiv:2603.02092 (2026), section 2.
    """
    settings = DriftSettings(eps=eps, seed=seed, method=method, target_se=target_se,
                             markov_max_atoms=markov_max_atoms, markov_min_gap=markov_min_gap, delta=delta,
                             min_delta=min_delta, max_steps=max_steps, min_batches=min_batches, batch_len=batch_len,
                             strata=strata, decide=decide)
    return run_drift_ratio_grid(law, beta1s, beta2s, settings, progress=progress)


def run_drift_ratio_grid(law: GradientLaw, beta1s: Sequence[float] | np.ndarray, beta2s: Sequence[float] | np.ndarray,
                         settings: DriftSettings, *, progress: bool = False) -> DriftGrid:
    """:func:`drift_ratio_grid` with its settings as one :class:`DriftSettings` (checked when built).

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> grid = run_drift_ratio_grid(GradientLaw.two_point(10, 1 / 81), [0.0], [0.0, 0.999], DriftSettings())
        >>> bool(grid.values[0, 0] < 0 < grid.values[1, 0])
        True

    References:
        docs/theory.md section 9; Zhang et al., arXiv:2603.02092 (2026), section 2.
    """
    law = _as_law(law)
    b1s = check_betas_array(beta1s, "beta1")
    b2s = check_betas_array(beta2s, "beta2")
    s = settings
    x_all, w = law.values, law.weights
    mom = LawMoments(x_all, w)
    den = mom.denominator
    cells = _Cells(law.dim, b2s.size, b1s.size)
    zero_rows = b2s == 0.0
    if zero_rows.any():
        cells.fill_zero_rows(zero_rows, beta2_zero_row(x_all, w, b1s, s.eps))
    few_atoms, marginals = _few_atoms(x_all, w, s)
    markov_rows = _markov_rows(b2s, zero_rows, s)
    # cells handled by Monte Carlo: rows not markov for few-atom coordinates, all non-zero rows otherwise
    mc_rows_few = (~zero_rows) & (~markov_rows)
    mc_rows_rich = ~zero_rows
    work = int(markov_rows.sum()) * int(few_atoms.sum()) + (mc_rows_rich.sum() > 0)
    bar = Progress(total=max(work, 1), label="drift grid", enabled=progress)
    for j, (xj, wj) in marginals.items():
        if den[j] != 0:
            _markov_cells(cells, j, xj, wj, den[j], b1s, b2s[markov_rows], np.flatnonzero(markov_rows), s, bar)
    groups = []
    usable = den != 0  # E g = 0 (or g = 0): rho is undefined, left NaN
    if mc_rows_few.any() and (few_atoms & usable).any():
        groups.append((np.flatnonzero(few_atoms & usable), np.flatnonzero(mc_rows_few)))
    if mc_rows_rich.any() and (~few_atoms & usable).any():
        groups.append((np.flatnonzero(~few_atoms & usable), np.flatnonzero(mc_rows_rich)))
    for k, (coords, rows) in enumerate(groups):
        res = run_mc_grid(x_all[:, coords], w, b1s, b2s[rows], s.budget(), eps=s.eps, seed=s.seed + k)
        cells.fill(np.ix_(coords, rows), res.rho, res.se, "monte-carlo")
    bar.update()
    bar.close()
    cells.clear(den == 0)
    return DriftGrid(
        beta1s=b1s,
        beta2s=b2s,
        rho=cells.rho,
        stderr=cells.err,
        method=cells.meth.astype(str),
        denominator=den,
        mean=mom.mu,
        mean_se=law.mean_se,
        eps=s.eps,
        seed=s.seed,
        label=law.label,
        batch_size=law.batch_size,
        law=law,
    )


class _Cells:
    """rho, its standard error and the route of every (coordinate, b2, b1) cell, filled route by route."""

    def __init__(self, d: int, n2: int, n1: int):
        self.rho = np.full((d, n2, n1), np.nan)
        self.err = np.full((d, n2, n1), np.nan)
        self.meth = np.full((d, n2), "", dtype=object)

    def fill_zero_rows(self, rows: np.ndarray, exact: np.ndarray) -> None:
        self.rho[:, rows, :] = exact[:, None, :]
        self.err[:, rows, :] = 0.0
        self.meth[:, rows] = "closed-form"

    def fill(self, at: Any, rho: np.ndarray, err: np.ndarray, method: str) -> None:
        self.rho[at] = rho
        self.err[at] = err
        self.meth[at] = method

    def clear(self, zero_mean: np.ndarray) -> None:
        """Coordinates with ``E g = 0``: rho is undefined."""
        if zero_mean.any():
            self.rho[zero_mean] = np.nan
            self.err[zero_mean] = np.nan


def _few_atoms(x_all: np.ndarray, w: np.ndarray, s: DriftSettings) -> tuple[np.ndarray, dict[int, Any]]:
    """Which coordinates have at most ``markov_max_atoms`` distinct values, and their merged atoms."""
    srt = np.sort(x_all[w > 0], axis=0)
    distinct = 1 + (np.diff(srt, axis=0) != 0).sum(axis=0)  # per coordinate
    few_atoms = distinct <= s.markov_max_atoms
    marginals = {int(j): merge_atoms(x_all[:, j], w) for j in np.flatnonzero(few_atoms)}
    if s.method == "markov" and not few_atoms.all():
        raise InvalidParameterError(
            f"method='markov' needs at most {s.markov_max_atoms} distinct values per coordinate: "
            "use method='auto' or 'monte-carlo' for laws given as many samples"
        )
    return few_atoms, marginals


def _markov_rows(b2s: np.ndarray, zero_rows: np.ndarray, s: DriftSettings) -> np.ndarray:
    """The b2 rows the markov route takes (for the few-atom coordinates)."""
    if s.method == "markov":
        return ~zero_rows
    if s.method == "monte-carlo":
        return np.zeros(b2s.size, dtype=bool)
    return (~zero_rows) & ((1.0 - b2s) >= s.markov_min_gap)


def _markov_cells(cells: _Cells, j: int, xj: np.ndarray, wj: np.ndarray, den_j: float, b1s: np.ndarray,
                  b2_rows: np.ndarray, rows: np.ndarray, s: DriftSettings, bar: Progress) -> None:
    """Coordinate ``j``'s markov rows (``rows``, at ``b2_rows``), refined to ``target_se``."""
    target_abs = s.target_se * abs(den_j)
    for r, b2 in zip(rows, b2_rows):
        N, e, _ = _markov_row_block(xj, wj, b1s, float(b2), s.eps, s.delta, s.min_delta, target_abs,
                                    1e-7 * abs(den_j))
        cells.fill((j, r), N / den_j, e / abs(den_j), "markov")
        bar.update()


def drift_ratio(
    law: GradientLaw,
    beta1: float,
    beta2: float,
    *,
    eps: float = 0.0,
    seed: int = 0,
    method: str = "auto",
    target_se: float = 0.01,
    **options: Any,
) -> DriftEstimate:
    """rho(beta1, beta2; law) with its standard error, per coordinate (docs/theory.md section 9).

    Math: ``rho = E_pi[m/(sqrt v + eps)] / (E g/sqrt(E g^2))``; at ``beta1 = beta2 = 0``
    it equals ``E[sign g] sqrt(E g^2)/E g`` (eps = 0). Same routes and options as
    :func:`drift_ratio_grid` (a 1 x 1 grid).

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> est = drift_ratio(GradientLaw.two_point(3, 0.25), 0.0, 0.0)
        >>> round(est.value, 6), est.method          # (1/3 - 2/3) * sqrt(E g^2) / E g
        (-0.889757, 'closed-form')

    References:
        docs/theory.md section 9.
    """
    beta1 = check_beta(beta1, "beta1")
    beta2 = check_beta(beta2, "beta2")
    grid = drift_ratio_grid(
        law, [beta1], [beta2], eps=eps, seed=seed, method=method, target_se=target_se, **options
    )
    value = grid.rho[:, 0, 0]
    se = grid.stderr[:, 0, 0]
    meth = grid.method[:, 0]
    if grid.dim == 1:
        return DriftEstimate(
            float(value[0]), float(se[0]), str(meth[0]), float(grid.denominator[0]), beta1, beta2, grid.eps
        )
    return DriftEstimate(value, se, meth, grid.denominator, beta1, beta2, grid.eps)
