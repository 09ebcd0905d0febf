"""Score a predicted beta2*(B) against labels from real training runs.

The real boundary at batch size B is the smallest ladder beta2 such that it and every
larger ladder value trained without failure (0 when every value trained; NaN when even
the top failed). A cell is *far* from the boundary when it is more than one ladder step
away from it: with k the index of the real boundary on the ladder, cells k-1 and k sit
next to it, and the scored cells are i <= k-2 and i >= k+1. Agreement is the share of
far cells whose predicted label (unsafe when beta2 < predicted beta2*(B)) equals the
real one.

Example:
    >>> import numpy as np
    >>> failed = np.array([[True, True, False, False], [True, False, False, False]])
    >>> s = score_boundary([1, 64], [0.1, 0.5, 0.9, 0.99], failed, [0.9, 0.5])
    >>> s.agreement, s.real_critical.tolist()
    (1.0, [0.9, 0.5])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError

__all__ = ["BoundaryScore", "real_boundary", "score_boundary"]


def real_boundary(beta2s: np.ndarray, failed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beta2*, ladder index of beta2*) per row of ``failed`` (B, len(beta2s)).

    The index is len(beta2s) when the top fails (beta2* NaN) and 0 when nothing fails.
    """
    L = beta2s.size
    idx = np.empty(failed.shape[0], dtype=int)
    for b, row in enumerate(failed):
        bad = np.flatnonzero(row)
        idx[b] = 0 if bad.size == 0 else bad[-1] + 1
    star = np.array([np.nan if k >= L else (0.0 if k == 0 else beta2s[k]) for k in idx])
    return star, idx


@dataclass(frozen=True)
class BoundaryScore:
    """Agreement of a predicted boundary with real training (see the module docstring)."""

    batch_sizes: tuple[int, ...]
    beta2s: np.ndarray
    failed: np.ndarray
    predicted_unsafe: np.ndarray
    far: np.ndarray
    real_critical: np.ndarray
    predicted_critical: np.ndarray
    agreement: float | None
    cells_compared: int
    unsafe_called_safe: int
    safe_called_unsafe: int
    real_monotone: bool
    predicted_monotone_where_real_is: bool
    recommended: np.ndarray | None
    recommended_in_failing_cell: np.ndarray | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _non_increasing(x: np.ndarray) -> np.ndarray:
    """Per consecutive pair: x[i+1] <= x[i] (NaN counts as 1, above every ladder value)."""
    y = np.where(np.isnan(x), 1.0, x)
    return y[1:] <= y[:-1] + 1e-12


def score_boundary(
    batch_sizes: Sequence[int],
    beta2s: Sequence[float],
    failed: Any,
    predicted_critical: Sequence[float],
    recommended: Sequence[float] | None = None,
) -> BoundaryScore:
    """Score ``predicted_critical`` (one beta2* per batch size) against ``failed`` labels.

    Args:
        batch_sizes: increasing batch sizes (rows of ``failed``).
        beta2s: the increasing beta2 ladder (columns of ``failed``).
        failed: bool (len(batch_sizes), len(beta2s)): a real run failed in that cell.
        predicted_critical: predicted beta2*(B); NaN means "no ladder value is safe".
        recommended: optionally a recommended beta2 per batch size; it is counted as in a
            failing cell when the nearest ladder value at or below it failed.

    Raises:
        adamcheck.InvalidParameterError: shapes that do not match.
    """
    sizes = tuple(int(b) for b in batch_sizes)
    ladder = np.asarray(beta2s, dtype=float)
    failed = np.asarray(failed, dtype=bool)
    pred = np.asarray(predicted_critical, dtype=float)
    if failed.shape != (len(sizes), ladder.size) or pred.shape != (len(sizes),):
        raise InvalidParameterError(
            f"failed must be (batch sizes, beta2s) = ({len(sizes)}, {ladder.size}) and predicted_critical "
            f"one value per batch size; got {failed.shape} and {pred.shape}"
        )
    star, k = real_boundary(ladder, failed)
    i = np.arange(ladder.size)[None, :]
    far = (i <= k[:, None] - 2) | (i >= k[:, None] + 1)
    unsafe = ladder[None, :] < np.where(np.isnan(pred), np.inf, pred)[:, None]
    compared = int(far.sum())
    agree = float((unsafe == failed)[far].mean()) if compared else None
    real_mono = _non_increasing(star)
    pred_mono = _non_increasing(pred)
    rec = rec_bad = None
    if recommended is not None:
        rec = np.asarray(recommended, dtype=float)
        rec_bad = np.zeros(len(sizes), dtype=bool)
        for b, r in enumerate(rec):
            below = np.flatnonzero(ladder <= r + 1e-12)
            rec_bad[b] = bool(np.isnan(r) or (below.size and failed[b, below[-1]]))
    return BoundaryScore(
        batch_sizes=sizes, beta2s=ladder, failed=failed, predicted_unsafe=unsafe, far=far,
        real_critical=star, predicted_critical=pred, agreement=agree, cells_compared=compared,
        unsafe_called_safe=int((failed & ~unsafe & far).sum()),
        safe_called_unsafe=int((~failed & unsafe & far).sum()),
        real_monotone=bool(real_mono.all()),
        predicted_monotone_where_real_is=bool(pred_mono[real_mono].all()),
        recommended=rec, recommended_in_failing_cell=rec_bad,
    )
