"""Critical boundaries for ``adamcheck boundary``: per beta1 for the counterexample,
per batch size for a model's sampled gradients (docs/theory.md section 9).

The counterexample's is :func:`adamcheck.drift.critical_beta2` on its two-point law
(one coordinate, whose drift ratio decides). A model's is the training boundary of
:func:`adamcheck.drift.training_boundary`, validated against real training runs
(benchmarks/validity/README.md).
"""

from __future__ import annotations

import numbers
from dataclasses import replace
from typing import Any, Sequence

from .._errors import DataError, InvalidParameterError
from .._limits import MAX_BATCH_SIZES
from .._validate import as_real_array, check_positive_int, from_tensor
from ..theory import check_counterexample_n, counterexample_default_a

__all__ = ["batch_size_boundary", "counterexample_boundary", "simulated_agreement"]


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

    n = check_counterexample_n(n)
    a = counterexample_default_a(n) if a is None else a
    b1 = np.linspace(0.0, 0.99, 34) if beta1s is None else as_real_array(beta1s, "beta1s", dtype=float)
    return critical_beta2(GradientLaw.two_point(n, a), b1, **options)


def batch_size_boundary(
    gradients: Any,
    batch_sizes: Sequence[int],
    *,
    beta1: float = 0.9,
    eps: float = 1e-8,
    steps: int | Sequence[int] = 4000,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
):
    """beta2*(B) at one beta1 for each batch size B, from per-example gradients.

    The training boundary of :func:`adamcheck.drift.training_boundary` (sign drift of
    the whole model and of its reversed coordinates, and update growth where
    beta1 >= sqrt(beta2)); the file is read once for every batch size. ``options`` go
    to that function (``max_update``, ``max_climbing``, ``window``, ``quantile``,
    ``coordinates``, ``beta2s``).

    Batch sizes count examples. A file whose rows are mini-batch gradients of R
    examples (``row_batch_size``, what :class:`adamcheck.torch.GradientMonitor` saves)
    makes a batch of B examples from B / R rows, so each B must be a multiple of R; the
    result's ``batch_sizes`` (and its statistics') are in examples either way. ``eps`` is
    in the units of the unscaled gradients: for rows stored with a ``loss_scale`` (or a
    mean over M), it is compared with the rows rescaled as :mod:`adamcheck.noise._scale` says.

    Raises:
        adamcheck.DataError: a batch size that is not a whole number of rows.
        adamcheck.InvalidParameterError: more than :data:`adamcheck._limits.MAX_BATCH_SIZES`
            batch sizes, or one above the examples the gradients hold (as ``recommend``).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).exponential(1.0, size=(400, 2)) - 0.8
        >>> b = batch_size_boundary(x, [1, 64], beta1=0.0, steps=500)
        >>> bool(b.critical_beta2[0] >= b.critical_beta2[1])
        True
    """
    from ..drift import training_boundary
    from ..noise._source import opened_gradients

    listed = _listed_sizes(batch_sizes)
    with opened_gradients(from_tensor(gradients, "gradients", DataError), progress=progress) as source:
        # examples counted as recommend counts a batch: a monitor file's row is R examples
        _check_within_data(listed, source.examples * source.meta.rows_per_example)
        sizes = tuple(check_positive_int(b, "batch_sizes") for b in listed)
        rows = [source.batch_rows(b) for b in sizes]
        # eps compares with the unscaled gradients: rows f times them (loss_scale...) take f x eps
        tb = training_boundary(source, rows, beta1=beta1, eps=eps * source.meta.row_factor, steps=steps, seed=seed,
                               progress=progress, **options)
    if tuple(rows) == sizes:
        return tb
    return replace(tb, batch_sizes=sizes,
                   statistics=tuple(replace(st, batch_size=b) for st, b in zip(tb.statistics, sizes)))


def _shown_int(value: int) -> str:
    return str(value) if value < 10**80 else f"a {len(str(value))}-digit number"


def _listed_sizes(batch_sizes: Any) -> list[Any]:
    """The batch sizes as a list, at most :data:`adamcheck._limits.MAX_BATCH_SIZES` of them."""
    from ..drift._training import _listed

    listed = _listed(batch_sizes, "batch_sizes")
    if len(listed) > MAX_BATCH_SIZES:
        raise InvalidParameterError(
            f"{len(listed):,} batch sizes are more than adamcheck's limit of {MAX_BATCH_SIZES} in one "
            "request (each is a full simulation): give fewer, a curve over batch size needs a few dozen")
    return listed


def _check_within_data(batch_sizes: Sequence[Any], examples: int) -> None:
    """Refuse, before any work, batch sizes above the examples the gradients hold, as
    ``recommend`` refuses them (a batch larger than the data would be answered as the full
    batch, under a size it is not)."""
    if examples < 1:  # a malformed header: its reader says what is wrong
        return
    # Sizes above the data first: 10**30 is "more than the file holds" before "out of int64".
    over = [int(b) for b in batch_sizes if isinstance(b, numbers.Integral) and not isinstance(b, bool)
            and b > examples]
    if over:
        shown = ", ".join(_shown_int(b) for b in over[:3]) + (f" and {len(over) - 3} more" if len(over) > 3 else "")
        raise InvalidParameterError(
            f"the gradients hold N = {examples} examples, fewer than the batch size B = {shown}: "
            f"give batch sizes up to {examples}, or sample at least B examples (better: many batches' worth)"
        )


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
