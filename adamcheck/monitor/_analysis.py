"""One analysis of one window of a run, as a pure function: :func:`analyse_window`.

A :class:`Window` is what a recorder hands over (the window's mini-batch gradients at the
sampled coordinates, the run's betas and batch size, its training losses and two-batch
sums); :func:`analyse_window` turns it into a :class:`WindowAnalysis`, a frozen record of
numbers with no opinion: the judge (:mod:`adamcheck.monitor._judge`) decides what they
mean. Nothing here touches torch or the recorder's state, so the same window gives the
same analysis, bit for bit (the predictor and the drift ratio are seeded).

What an analysis computes:

* beta2*(B) (and at the ``multiples`` kB) by :func:`adamcheck.drift.training_boundary`
  (aggregate sign drift and update growth) on the window's rows, through
  :func:`predict_beta2_star`. This treats the window's gradients as i.i.d. draws at one
  frozen point, which is only approximately true while training moves the parameters:
  a short window is closer to frozen, a long one less noisy;
* the drift ratio (docs/theory.md section 9) at the run's own (beta1, beta2) per
  coordinate, on the ``law_coordinates`` most resolved ones;
* the resolved |G|^2 of the window's mean gradient and its noise floor (the walk-off rule,
  :mod:`adamcheck.monitor._walkoff`);
* the two-batch gradient noise scale (McCandlish et al. 2018, appendix A.1) from small
  batches (micro-batches or ranks) against the big batch (their mean).

A window that is empty or whose every entry is 0 (no gradient reached the sampled
coordinates) gives no beta2*: "every beta2 is safe" from no data would be a false answer.

References:
    McCandlish, Kaplan, Amodei, OpenAI Dota Team. "An Empirical Model of Large-Batch
    Training", arXiv:1812.06162 (2018), appendix A.1 (two-batch estimator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from .._laws import GradientLaw
from ..drift import drift_ratio, informative_mask, training_boundary
from ._settings import MonitorSettings
from ._walkoff import MeanGradient, WindowLoss, column_moments, mean_gradient

__all__ = ["BatchFinding", "DriftAtBetas", "NoiseScale", "TwoBatchSums", "Window", "WindowAnalysis",
           "analyse_window", "predict_beta2_star", "window_law"]


@dataclass(frozen=True)
class TwoBatchSums:
    """Sums for the two-batch noise scale over one window (from the recorder).

    Attributes:
        big_sq: mean over the window's steps of |g_B|^2 (batch B, the sample's norm).
        big_steps: how many steps that mean is over.
        small_sq: mean over small batches of |g_b|^2 (micro-batches or ranks).
        small_count: how many small batches (0: none seen).
        pair_sq: mean of |g_B|^2 over the steps that had small batches.
        small_batch: b, examples per small batch (0: none).
        source: ``"micro-batches"``, ``"ranks"`` or ``""``.
    """

    big_sq: float = 0.0
    big_steps: int = 0
    small_sq: float = 0.0
    small_count: int = 0
    pair_sq: float = 0.0
    small_batch: int = 0
    source: str = ""


@dataclass(frozen=True)
class Window:
    """One analysis window of a run: what :func:`analyse_window` reads.

    Attributes:
        rows: (n, k) finite mini-batch gradients at batch B on the sampled coordinates,
            oldest first (float32 or float64).
        step: the optimizer step at which the analysis runs.
        batch_size, beta1, beta2, eps: the run's.
        loss: the training losses observed in the window (None: none observed).
        nonfinite_losses: NaN/inf losses observed in the window (left out of ``loss``).
        sums: the two-batch sums (None: not recorded).
    """

    rows: np.ndarray
    step: int
    batch_size: int
    beta1: float
    beta2: float
    eps: float = 1e-8
    loss: WindowLoss | None = None
    nonfinite_losses: int = 0
    sums: TwoBatchSums | None = None


@dataclass(frozen=True)
class BatchFinding:
    """beta2* at one batch size.

    Attributes:
        batch_size: kB.
        beta2_critical: beta2* (None when no beta2 on the predictor's ladder is enough).
        mechanism: the failure the predictor found below beta2* (``"sign drift"``,
            ``"update growth"``...), or None.
    """

    batch_size: int
    beta2_critical: float | None
    mechanism: str | None = None

    @property
    def unresolved(self) -> bool:
        """True when no beta2 on the ladder is enough."""
        return self.beta2_critical is None


@dataclass(frozen=True)
class DriftAtBetas:
    """The drift ratio rho at the run's own (beta1, beta2) over the window's informative coordinates.

    Attributes:
        informative: coordinates whose window mean is > 2 standard errors from 0.
        minimum, median: rho over them (None when none is informative).
        reversed: how many have rho + 2 se < 0.
    """

    informative: int = 0
    minimum: float | None = None
    median: float | None = None
    reversed: int = 0


@dataclass(frozen=True)
class NoiseScale:
    """Two-batch numbers of a window.

    Attributes:
        grad_norm_sq: mean of |g_B|^2 over the window's steps (None: no step).
        b_simple: the two-batch gradient noise scale (None: no small batches, or the
            estimate of |G|^2 is not positive).
        small_batch: b (0: none); source: where the small batches came from.
    """

    grad_norm_sq: float | None = None
    b_simple: float | None = None
    small_batch: int = 0
    source: str = ""


@dataclass(frozen=True)
class WindowAnalysis:
    """What one analysis measured (no judgement: :mod:`adamcheck.monitor._judge` reads it).

    Attributes:
        step: the step it ran at; rows: steps in its window.
        batch_size, beta1, beta2: the run's at that step.
        findings: beta2* per batch multiple with at least 8 batches in the window.
        drift: the drift ratio at the run's betas.
        mean: the window's resolved |G|^2 and noise floor (None below 2 rows).
        loss: the window's observed training loss; nonfinite_losses: NaN/inf ones.
        noise: the two-batch numbers.
        no_gradient: the window was empty (no finite gradient recorded since the previous
            analysis) or every entry was 0: nothing to analyse.
        groups: beta2* of the declared parameter groups at their effective batch
            (:class:`~adamcheck.monitor.GroupAnalysis`; empty: no groups declared).
    """

    step: int
    rows: int
    batch_size: int
    beta1: float
    beta2: float
    findings: tuple[BatchFinding, ...] = ()
    drift: DriftAtBetas = DriftAtBetas()
    mean: MeanGradient | None = None
    loss: WindowLoss | None = None
    nonfinite_losses: int = 0
    noise: NoiseScale = NoiseScale()
    no_gradient: bool = False
    groups: tuple[Any, ...] = ()

    @property
    def own(self) -> BatchFinding | None:
        """The finding at the run's own batch size B (None: window too short or no gradient)."""
        return next((f for f in self.findings if f.batch_size == self.batch_size), None)

    @property
    def below_critical(self) -> bool:
        """The run's beta2 is below beta2* at its batch size (or no beta2 is enough)."""
        own = self.own
        return own is not None and (own.unresolved or self.beta2 < own.beta2_critical)  # type: ignore[operator]


def predict_beta2_star(
    rows: np.ndarray, multiples: Sequence[int], beta1: float, *, eps: float = 1e-8, seed: int = 0,
    steps: int = 2000, coordinates: int = 1024,
) -> list[tuple[int, float, bool, str | None]]:
    """beta2* from a window of recorded mini-batch gradients (W, k): the one call into the predictor.

    Each row is one step's gradient at batch B, so a batch of k rows is a batch of kB:
    :func:`adamcheck.drift.training_boundary` on the rows as "examples" at batch sizes
    ``multiples`` (in rows) gives beta2*(kB) by aggregate sign drift and update growth
    (see its docstring; its constants are adamcheck's choices). Returns, per multiple
    k with at least 8 batches in the window, ``(k, beta2*, unresolved, mechanism)``;
    unresolved means even the top of the ladder fails (beta2* is then NaN). Kept as one
    small function so that the predictor can be replaced in one place.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> rows = rng.normal(0.5, 1.0, (64, 3))
        >>> [(k, unresolved) for k, _, unresolved, _ in predict_beta2_star(rows, (1, 4, 16), 0.9, steps=200)]
        [(1, False), (4, False)]
    """
    x = np.asarray(rows)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    # float32 rows go in as they are: only the drawn columns are widened to float64
    # (the same numbers as widening the whole window first, without its 33 MB copy)
    ks = [int(k) for k in multiples if x.shape[0] // int(k) >= 8]
    if not ks or not x.any():  # a window of exact zeros (frozen parameters) predicts nothing
        return []
    tb = training_boundary(x[None], ks, beta1=beta1, eps=eps, steps=steps, coordinates=min(coordinates, x.shape[1]),
                           seed=seed)
    return [(k, float(b2), bool(np.isnan(b2)), mech) for k, b2, mech in zip(ks, tb.critical_beta2, tb.mechanism)]


def window_law(grads: np.ndarray, batch_size: int, law_coordinates: int,
               moments: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """The drift law of a window: its ``law_coordinates`` most resolved columns (None below 2 rows).

    ``moments``: :func:`adamcheck.monitor._walkoff.column_moments` of ``grads``, if already computed.

    Example:
        >>> law = window_law(np.array([[1.0, 0.0, 5.0], [1.2, 0.1, -5.0], [0.8, -0.1, 5.0]]), 4, 1)
        >>> law.meta["coords"].tolist(), law.batch_size
        ([0], 4)
    """
    x = np.asarray(grads)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    if x.shape[0] < 2:
        return None
    mean, se = column_moments(x) if moments is None else moments
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, np.abs(mean) / np.where(se > 0, se, 1.0), 0.0)
    keep = np.sort(np.argsort(-t, kind="stable")[: min(law_coordinates, x.shape[1])])
    return GradientLaw(
        values=x[:, keep].astype(np.float64), weights=np.full(x.shape[0], 1.0 / x.shape[0]), batch_size=batch_size,
        label=f"monitor window ({x.shape[0]} steps, batch {batch_size})",
        meta={"mean_se": se[keep], "coords": keep},
    )


def _drift_at_betas(law: Any, window: Window, settings: MonitorSettings) -> DriftAtBetas:
    if law is None:
        return DriftAtBetas()
    est = drift_ratio(law, window.beta1, window.beta2, eps=window.eps, seed=settings.seed, **settings.drift)
    rho = np.atleast_1d(np.asarray(est.value, dtype=float))
    se = np.atleast_1d(np.asarray(est.stderr, dtype=float))
    mask = informative_mask(law.mean(), law.mean_se, 2.0) & np.isfinite(rho)
    if not mask.any():
        return DriftAtBetas(informative=0)
    return DriftAtBetas(informative=int(mask.sum()), minimum=float(rho[mask].min()),
                        median=float(np.median(rho[mask])), reversed=int((rho[mask] + 2.0 * se[mask] < 0).sum()))


def _noise_scale(sums: TwoBatchSums | None, batch_size: int) -> NoiseScale:
    if sums is None:
        return NoiseScale()
    grad_norm_sq = sums.big_sq if sums.big_steps else None
    b, B = sums.small_batch, batch_size
    b_simple = None
    if sums.small_count and 0 < b < B:
        # McCandlish et al. A.1: |G|^2 and tr(Sigma) from E|g_b|^2 and E|g_B|^2
        g2 = (B * sums.pair_sq - b * sums.small_sq) / (B - b)
        trace = (sums.small_sq - sums.pair_sq) / (1.0 / b - 1.0 / B)
        b_simple = trace / g2 if g2 > 0 else None
    return NoiseScale(grad_norm_sq=grad_norm_sq, b_simple=b_simple, small_batch=sums.small_batch, source=sums.source)


def analyse_window(window: Window, settings: MonitorSettings) -> WindowAnalysis:
    """beta2*, the drift ratio at the run's betas, |G|^2 and the noise scale of one window.

    Pure: the same window and settings give the same analysis (see the module docstring
    for what each number is). ``window.rows`` must be finite (the recorder leaves
    non-finite steps out and counts them).

    Example:
        >>> rng = np.random.default_rng(1)
        >>> w = Window(rows=rng.normal(0.0, 1.0, (64, 8)), step=64, batch_size=4, beta1=0.9, beta2=0.999)
        >>> a = analyse_window(w, MonitorSettings(multiples=(1,), predictor_steps=200))
        >>> a.step, a.rows, [f.batch_size for f in a.findings], a.no_gradient
        (64, 64, [4], False)
        >>> analyse_window(Window(np.zeros((64, 8)), 64, 4, 0.9, 0.999), MonitorSettings()).findings
        ()
    """
    x = np.asarray(window.rows)
    n = int(x.shape[0])
    base = dict(step=int(window.step), rows=n, batch_size=window.batch_size, beta1=window.beta1, beta2=window.beta2,
                loss=window.loss, nonfinite_losses=window.nonfinite_losses,
                noise=_noise_scale(window.sums, window.batch_size))
    if n == 0 or not np.any(x):
        return WindowAnalysis(**base, no_gradient=True)
    # one pass over the window's columns serves the drift law and the walk-off rule
    moments = column_moments(x) if n >= 2 else None
    # The simulations' matrix products are small blocks: multithreaded BLAS only adds
    # spinning threads, which compete with training's own (CPU time 2-3x, wall time
    # too on a busy machine: 0.65 -> 0.21 s for the drift ratio, measured on the
    # tiny GPT-2's window); the same choice as adamcheck.simulator's engine.
    with threadpool_limits(limits=1, user_api="blas"):
        found = predict_beta2_star(x, settings.multiples, window.beta1, eps=window.eps, seed=settings.seed,
                                   steps=settings.predictor_steps, coordinates=settings.predictor_coordinates)
        drift = _drift_at_betas(window_law(x, window.batch_size, settings.law_coordinates, moments), window, settings)
    findings = tuple(BatchFinding(k * window.batch_size, None if unresolved else b2, mech)
                     for k, b2, unresolved, mech in found)
    mean = mean_gradient(x, moments) if moments is not None else None
    return WindowAnalysis(**base, findings=findings, drift=drift, mean=mean)
