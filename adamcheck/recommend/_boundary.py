"""Critical boundaries for ``adamcheck boundary``: per beta1 for the counterexample,
per batch size for a model's sampled gradients (docs/theory.md section 9).

Both are thin compositions of :func:`adamcheck.drift.critical_beta2` with the laws
the problem gives: the two-point law of the section-4 counterexample, or the
mini-batch laws of :func:`adamcheck.noise.minibatch_laws` at each batch size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .._errors import InvalidParameterError
from .._validate import check_beta, check_positive_int, check_seed

__all__ = ["BatchBoundary", "batch_size_boundary", "counterexample_boundary", "simulated_agreement"]


def counterexample_boundary(n: int, a: float | None = None, beta1s: Sequence[float] | None = None, **options: Any):
    """beta2*(beta1) of the counterexample (eq. 2.5) from its two-point law.

    ``a`` defaults to 1/(n-1)^2 (the paper's choice). Returns the
    :class:`adamcheck.drift.CriticalBoundary` (strict and lenient rules).

    Example:
        >>> b = counterexample_boundary(10, beta1s=[0.0])
        >>> 0.65 < float(b.strict[0]) < 0.75
        True
    """
    import numpy as np

    from .._laws import GradientLaw
    from ..drift import critical_beta2

    from ..theory import check_counterexample_n, counterexample_default_a

    n = check_counterexample_n(n)
    a = counterexample_default_a(n) if a is None else a
    b1 = np.linspace(0.0, 0.99, 34) if beta1s is None else np.asarray(beta1s, dtype=float)
    return critical_beta2(GradientLaw.two_point(n, a), b1, **options)


@dataclass
class BatchBoundary:
    """beta2* per batch size (strict rule), with brackets, the lenient rule and coverage."""

    batch_sizes: list[int]
    beta1: float
    critical_beta2: list[float]
    brackets: list[tuple[float, float]]
    lenient_beta2: list[float]
    unresolved: list[bool]
    informative: list[list[int]]
    excluded: list[list[int]]
    setters: list[list[dict[str, Any]]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1": self.beta1,
            "batch_sizes": self.batch_sizes,
            "critical_beta2": self.critical_beta2,
            "critical_beta2_brackets": self.brackets,
            "lenient_beta2": self.lenient_beta2,
            "unresolved": self.unresolved,
            "informative_coordinates": self.informative,
            "excluded_coordinates": self.excluded,
            "set_by": self.setters,
        }


def batch_size_boundary(
    gradients: Any,
    batch_sizes: Sequence[int],
    *,
    beta1: float = 0.9,
    dataset_size: int | None = None,
    eps: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> BatchBoundary:
    """beta2*(B) at one beta1 for each batch size B, from per-example gradients.

    For each B the mini-batch laws at every sampled point are built by resampling
    (:func:`adamcheck.noise.minibatch_laws`) and the strict boundary of
    :func:`adamcheck.drift.critical_beta2` is taken at ``beta1`` (worst point decides).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).exponential(1.0, size=(400, 2)) - 0.8
        >>> b = batch_size_boundary(x, [1, 64], beta1=0.0)
        >>> b.critical_beta2[0] >= b.critical_beta2[1]
        True
    """
    from .._progress import Progress
    from ..drift import critical_beta2
    from ..noise import minibatch_laws

    beta1 = check_beta(beta1, "beta1")
    seed = check_seed(seed)
    sizes = [check_positive_int(b, "batch size") for b in batch_sizes]
    if not sizes:
        raise InvalidParameterError("batch_sizes is empty: give at least one batch size, e.g. [1, 4, 16, 64, 256]")
    out = BatchBoundary(sizes, beta1, [], [], [], [], [], [], [])
    with Progress(len(sizes), "boundary", enabled=progress) as bar:
        for B in sizes:
            laws = minibatch_laws(gradients, B, seed=seed, dataset_size=dataset_size)
            cb = critical_beta2(laws, [beta1], eps=eps, seed=seed)
            out.critical_beta2.append(float(cb.strict[0]))
            out.brackets.append((float(cb.strict_bracket[0, 0]), float(cb.strict_bracket[0, 1])))
            out.lenient_beta2.append(float(cb.lenient[0]))
            out.unresolved.append(bool(cb.unresolved[0]))
            out.informative.append([int(v) for v in cb.informative])
            out.excluded.append([int(v) for v in cb.excluded])
            out.setters.append([s.__dict__ for s in (cb.setters[0] if cb.setters else ())])
            bar.update()
    return out


def simulated_agreement(boundary: Any, grid: Any, *, distance: float = 0.02) -> dict[str, Any]:
    """Compare beta2*(beta1) with a simulated phase grid (same beta1 axis).

    A cell is predicted divergent when beta2 < beta2*(beta1); it agrees when the
    simulation diverged exactly when predicted. Cells within ``distance`` in beta2 of
    the boundary are left out. Reported over all cells and over the cells with
    beta1 < sqrt(beta2) (the hypothesis of every convergence theorem, where the
    stationary analysis of docs/theory.md section 9 applies).
    """
    import numpy as np

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
