"""Walking off or settling: how the monitor reads a beta2* warning after its first analysis.

Near a stationary point every beta2 < 1 shows some sign drift: the mean gradient G is
small against the mini-batch noise, and Adam's mean step need not descend there. That is
the neighbourhood of size O((1 - beta2) sqrt(D0)) in which Theorem 2.2 leaves Adam
(docs/theory.md section 3), not a failure. A run fails by *walking off*: its mean step
climbs while it is far from stationarity, so the mean gradient stops shrinking. Measured
on real runs (benchmarks/validity/README.md), the resolved |G|^2 of the monitor's windows
falls by 10-1000x in runs that train and stays on a plateau or grows in runs that fail.

The rule: the first analysis warns whenever beta2 < beta2* (it scored 77/80 and 40/40
runs there); a later one only when the window's resolved |G|^2 exceeds the smallest
earlier one by more than one noise unit tr(S)/n, i.e. the run is moving away from
stationarity; otherwise the monitor records a note. No new constant: "one noise unit" is
the null fluctuation scale of the estimator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class MeanGradient:
    """The resolved squared norm of a window's mean gradient.

    Attributes:
        sq: |G|^2 estimated without bias, |mean|^2 - tr(S)/n (S: the sample covariance of
            the n rows); negative when the mean is not resolved from noise.
        noise: tr(S)/n, the noise floor of |mean|^2 (its expectation when G = 0).
    """

    sq: float
    noise: float


def mean_gradient(rows: np.ndarray) -> MeanGradient:
    """Unbiased |E g|^2 of i.i.d. rows g_1..g_n (shape (n, k), n >= 2) and its noise floor.

    E|mean|^2 = |E g|^2 + tr(Cov g)/n, and E tr(S) = tr(Cov g) for the unbiased sample
    covariance S, so |mean|^2 - tr(S)/n has expectation |E g|^2.

    Example:
        >>> import numpy as np
        >>> rows = np.array([[1.0, 0.0], [3.0, 0.0]])
        >>> m = mean_gradient(rows)
        >>> (m.sq, m.noise)
        (3.0, 1.0)
    """
    x = np.asarray(rows, dtype=np.float64)
    n = x.shape[0]
    mean = x.mean(axis=0)
    noise = float(x.var(axis=0, ddof=1).sum() / n)
    return MeanGradient(sq=float(mean @ mean) - noise, noise=noise)


def walking_off(current: MeanGradient, earlier: Sequence[MeanGradient]) -> bool:
    """True when a beta2* warning at this analysis should be raised (see the module doc).

    ``earlier`` holds the windows of the previous analyses (empty at the first one, which
    always warns). Later: the resolved |G|^2 must exceed the smallest earlier one (an
    unresolved, negative one counts as 0) by more than ``current.noise``.

    Example:
        >>> first = MeanGradient(0.02, 0.005)
        >>> walking_off(MeanGradient(0.005, 0.002), [first])   # still falling: settling
        False
        >>> walking_off(MeanGradient(0.2, 0.02), [MeanGradient(0.15, 0.02)])  # growing
        True
    """
    if not earlier:
        return True
    low = min(max(e.sq, 0.0) for e in earlier)
    return current.sq - low > current.noise
