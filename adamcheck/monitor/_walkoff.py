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

The rule (:func:`walk_off`): the first analysis warns whenever beta2 < beta2*. A later one
warns when any of these holds, and otherwise holds the finding back as a note:

* a training loss observed in the window was not finite (NaN or inf: the run has failed);
* the window's mean training loss exceeds the loss at the start of training (the first
  observed loss, or the mean of the first ``start_losses``) by more than two standard
  errors of their difference: a run above where it started has blown up, however flat its
  loss now is (a run that sits at loss 960 after starting at 0.69 is not settling, although
  its loss no longer rises);
* the window's mean loss exceeds the lowest earlier window's by more than two standard
  errors of their difference (the monitor's usual resolution, as for "informative"
  coordinates);
* the resolved |G|^2 exceeds its lowest earlier value by more than one noise unit tr(S)/n.

Without observed losses (:meth:`GradientMonitor.observe_loss`, which the Hugging Face and
Lightning callbacks call) nothing is held back. No new constant: the margins are the
estimators' own noise; how many first losses make "the start" is a setting
(``MonitorSettings.start_losses``, adamcheck's choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["MeanGradient", "WalkOff", "WindowLoss", "above", "column_moments", "mean_gradient", "walk_off",
           "walking_off", "window_loss"]


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

    @property
    def resolved(self) -> float | None:
        """|G|^2 when the estimate is positive, else None ("not resolved from the noise")."""
        return self.sq if self.sq > 0 else None


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


@dataclass(frozen=True)
class WalkOff:
    """The walk-off rule's reading of one analysis (:func:`walk_off`).

    Attributes:
        off: True when a beta2* finding here is a warning.
        why: ``"first analysis"``, ``"no losses observed"``, ``"loss not finite"``,
            ``"loss above its start"``, ``"loss rose"``, ``"gradient grew"``, or ``"settling"``.
        loss_low: the lowest earlier window loss (None without earlier losses).
        sq_low: the lowest earlier resolved |G|^2, negative values counted as 0 (None at the
            first analysis).
    """

    off: bool
    why: str
    loss_low: WindowLoss | None = None
    sq_low: float | None = None


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


def above(a: WindowLoss, b: WindowLoss) -> bool:
    """a's mean exceeds b's by more than two standard errors of their difference.

    Example:
        >>> above(WindowLoss(0.9, 0.1, 10), WindowLoss(0.5, 0.1, 10)), above(WindowLoss(0.7, 0.1, 10), WindowLoss(0.5, 0.1, 10))
        (True, False)
    """
    return a.mean - b.mean > 2.0 * float(np.hypot(a.se, b.se))


def walk_off(current: MeanGradient | None, earlier: Sequence[MeanGradient], loss: WindowLoss | None = None,
             earlier_losses: Sequence[WindowLoss] = (), start: WindowLoss | None = None,
             nonfinite_losses: int = 0) -> WalkOff:
    """Whether a beta2* finding at this analysis is a warning, and why (module docstring).

    ``earlier``/``earlier_losses``: the previous analyses' windows (empty at the first
    analysis, which always warns). ``start``: the loss at the start of training (the first
    observed losses). ``nonfinite_losses``: NaN/inf losses observed in this window.

    Example:
        >>> g1, l1, l0 = MeanGradient(0.02, 0.005), WindowLoss(0.40, 0.01, 1000), WindowLoss(0.7, 0.05, 20)
        >>> walk_off(MeanGradient(0.005, 0.002), [g1], WindowLoss(0.20, 0.01, 1000), [l1], l0).why
        'settling'
        >>> walk_off(MeanGradient(0.015, 0.002), [g1], WindowLoss(0.90, 0.02, 1000), [l1], l0).why
        'loss above its start'
        >>> walk_off(MeanGradient(0.005, 0.002), [g1]).why  # no losses: cannot tell
        'no losses observed'
    """
    if not earlier and not earlier_losses:
        return WalkOff(True, "first analysis")
    sq_low = min((max(e.sq, 0.0) for e in earlier), default=None)
    best = min(earlier_losses, key=lambda e: e.mean) if earlier_losses else None
    if nonfinite_losses:
        return WalkOff(True, "loss not finite", best, sq_low)
    if loss is None or best is None:
        return WalkOff(True, "no losses observed", best, sq_low)
    if start is not None and above(loss, start):
        return WalkOff(True, "loss above its start", best, sq_low)
    if above(loss, best):
        return WalkOff(True, "loss rose", best, sq_low)
    if current is not None and sq_low is not None and current.sq - sq_low > current.noise:
        return WalkOff(True, "gradient grew", best, sq_low)
    return WalkOff(False, "settling", best, sq_low)


def walking_off(current: MeanGradient, earlier: Sequence[MeanGradient], loss: WindowLoss | None = None,
                earlier_losses: Sequence[WindowLoss] = (), start: WindowLoss | None = None) -> bool:
    """``walk_off(...).off``: True when a beta2* finding at this analysis should be a warning.

    Example:
        >>> g1, l1 = MeanGradient(0.02, 0.005), WindowLoss(0.40, 0.01, 1000)
        >>> walking_off(MeanGradient(0.005, 0.002), [g1], WindowLoss(0.20, 0.01, 1000), [l1])  # settling
        False
        >>> walking_off(MeanGradient(0.015, 0.002), [g1], WindowLoss(0.90, 0.02, 1000), [l1])  # loss climbs
        True
    """
    return walk_off(current, earlier, loss, earlier_losses, start).off
