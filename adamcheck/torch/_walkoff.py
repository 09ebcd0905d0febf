"""Walking off or settling: how the monitor reads a beta2* finding after its first analysis.

Near a stationary point every beta2 < 1 shows some sign drift: the mean gradient G is
small against the mini-batch noise, and Adam's mean step need not descend there. That is
the neighbourhood of size O((1 - beta2) sqrt(D0)) in which Theorem 2.2 leaves Adam
(docs/theory.md section 3), not a failure. A run fails by *walking off*: its mean step
climbs and the loss rises. Measured on real runs (benchmarks/validity/README.md): in runs
that train, the training loss and the resolved |G|^2 of the monitor's windows fall; in runs
that fail, the loss rises, while |G|^2 stays on a plateau or even falls when the loss
saturates (a linear model whose weights inflate), so the gradient alone cannot tell them
apart.

The rule: the first analysis warns whenever beta2 < beta2*. A later one warns when the
window's mean training loss exceeds the lowest earlier window's by more than two standard
errors of their difference (the monitor's usual resolution, as for "informative"
coordinates), or the resolved |G|^2 exceeds its lowest earlier value by more than one noise
unit tr(S)/n; otherwise the finding is held back as a note. Without observed losses
(:meth:`GradientMonitor.observe_loss`, which the Hugging Face and Lightning callbacks
call) nothing is held back. No new constant: the margins are the estimators' own noise.
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


@dataclass(frozen=True)
class WindowLoss:
    """The training losses observed in one analysis window.

    Attributes:
        mean: their mean.
        se: its standard error std/sqrt(count) (0 for a single value, e.g. a logged
            average); consecutive losses are correlated, so this understates the noise and
            errs towards warning.
        count: how many losses.
    """

    mean: float
    se: float
    count: int


def column_moments(rows: np.ndarray, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and standard error std(ddof=1)/sqrt(n) of rows (n, k), n >= 2, in float64.

    Columns are widened to float64 ``block`` at a time (~2 MB for 1,000 rows, cache-resident;
    a float32 monitor window widened at once is 33 MB of fresh memory): the same per-column
    numbers as widening the whole array first.

    Example:
        >>> mean, se = column_moments(np.array([[1.0, 0.0], [3.0, 0.0]], dtype=np.float32))
        >>> mean.tolist(), se.tolist()
        ([2.0, 0.0], [1.0, 0.0])
    """
    x = np.asarray(rows)
    mean, se = np.empty(x.shape[1]), np.empty(x.shape[1])
    for j in range(0, x.shape[1], block):
        part = x[:, j : j + block].astype(np.float64)
        mean[j : j + block] = part.mean(axis=0)
        se[j : j + block] = part.std(axis=0, ddof=1)
    se /= np.sqrt(x.shape[0])
    return mean, se


def mean_gradient(rows: np.ndarray, moments: tuple[np.ndarray, np.ndarray] | None = None) -> MeanGradient:
    """Unbiased |E g|^2 of i.i.d. rows g_1..g_n (shape (n, k), n >= 2) and its noise floor.

    E|mean|^2 = |E g|^2 + tr(Cov g)/n, and E tr(S) = tr(Cov g) for the unbiased sample
    covariance S, so |mean|^2 - tr(S)/n has expectation |E g|^2; tr(S)/n is the sum of the
    squared per-column standard errors. ``moments``: :func:`column_moments` of ``rows``,
    if already computed.

    Example:
        >>> import numpy as np
        >>> rows = np.array([[1.0, 0.0], [3.0, 0.0]])
        >>> m = mean_gradient(rows)
        >>> (m.sq, m.noise)
        (3.0, 1.0)
    """
    mean, se = column_moments(rows) if moments is None else moments
    noise = float(se @ se)
    return MeanGradient(sq=float(mean @ mean) - noise, noise=noise)


def window_loss(values: Sequence[float]) -> WindowLoss | None:
    """Mean and standard error of the finite losses observed in a window (None if there are none).

    Example:
        >>> window_loss([0.5, 0.7])
        WindowLoss(mean=0.6, se=0.1, count=2)
        >>> window_loss([]) is None
        True
    """
    x = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        return None
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return WindowLoss(mean=round(float(x.mean()), 15), se=round(se, 15), count=int(x.size))


def walking_off(current: MeanGradient, earlier: Sequence[MeanGradient], loss: WindowLoss | None = None,
                earlier_losses: Sequence[WindowLoss] = ()) -> bool:
    """True when a beta2* finding at this analysis should be a warning (see the module doc).

    ``earlier``/``earlier_losses`` hold the previous analyses' windows (empty at the first
    analysis, which always warns). Later: warn when the loss rose above its lowest earlier
    window by more than 2 sqrt(se^2 + se_low^2), or the resolved |G|^2 rose above its earlier
    low (an unresolved, negative value counts as 0) by more than ``current.noise``; without
    losses, always.

    Example:
        >>> g1, l1 = MeanGradient(0.02, 0.005), WindowLoss(0.40, 0.01, 1000)
        >>> walking_off(MeanGradient(0.005, 0.002), [g1], WindowLoss(0.20, 0.01, 1000), [l1])  # settling
        False
        >>> walking_off(MeanGradient(0.015, 0.002), [g1], WindowLoss(0.90, 0.02, 1000), [l1])  # loss climbs
        True
        >>> walking_off(MeanGradient(0.005, 0.002), [g1])  # no losses: cannot tell
        True
    """
    if not earlier or loss is None or not earlier_losses:
        return True
    low = min(max(e.sq, 0.0) for e in earlier)
    grad_grew = current.sq - low > current.noise
    best = min(earlier_losses, key=lambda e: e.mean)
    loss_rose = loss.mean - best.mean > 2.0 * float(np.hypot(loss.se, best.se))
    return grad_grew or loss_rose
