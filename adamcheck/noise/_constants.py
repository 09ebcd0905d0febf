"""Noise constants from the accumulated sums, with bootstrap confidence intervals.

All quantities are on the canonical scale of :mod:`._scale` (unscaled, mean-reduced).
For one point, with N_s examples in the file, N in the data set (``dataset_size``,
default N_s) and batch size B:

* full gradient ``G = (1/N) sum_j grad ell_j``; the file gives ``gbar``;
* per-example variance ``sigma^2 = (1/N) sum_j ||grad ell_j - G||^2 = tr(Sigma)``, the
  trace of the covariance of one uniformly drawn example (McCandlish et al. 2018);
* mini-batch second moment (docs/theory.md section 8; B drawn without replacement)
  ``E||gbar_B||^2 = ||G||^2 + c_B sigma^2`` with ``c_B = (N - B) / (B (N - 1))``;
* gradient noise scale ``B_simple = tr(Sigma) / ||G||^2``;
* the (D0, D1) condition for the *expected partition*: the data set is cut into
  ``n = N // B`` mini-batches by a uniformly random partition and S is replaced by its
  expectation over partitions, ``E sum_i ||grad ell_i||^2 = n E||gbar_B||^2`` (each
  batch of a random partition is a uniformly random B-subset). Hence
  ``D1 at D0 = 0`` is ``n max_p (1 + c_B B_simple,p)`` and ``D0 at D1 = n`` is
  ``n c_B max_p sigma_p^2``. (For the partition you actually use, see
  :func:`adamcheck.noise.partition_constants`.)

When the file holds the whole data set (N_s = N) these are exact. When it holds a
sample of it (N_s < N, examples drawn without replacement) the estimators are unbiased:
``s^2 = (N_s/(N_s-1)) (Q/N_s - ||gbar||^2)``, ``sigma^2 = ((N-1)/N) s^2`` and
``||G||^2 = ||gbar||^2 - (1/N_s)(1 - N_s/N) s^2``.

Intervals: percentile bootstrap over examples at the granularity of the accumulator's
groups (:mod:`._accumulate`): each replicate draws G groups with replacement; the sums
of the drawn groups give every statistic, via the G x G Gram matrix of group sums, so
a replicate costs O(G^2), not a pass over the data. All points share the draw, so the
interval of a corner (a max over points) is consistent. Replicates of ||G||^2 and
tr(Sigma) are bias-corrected (see ``_bootstrap``). What the intervals are for
(``ci["target"]``): with a sample of a larger data set, that data set's values; when
the file is the whole data set its values are exact, and the intervals are for the data
distribution (what another data set of the same size would give), centred on the
unbiased estimates reported in ``ci["estimate"]`` (c_B = 1/B there).

References:
    McCandlish, Kaplan, Amodei et al. "An Empirical Model of Large-Batch Training",
    arXiv:1812.06162 (2018), section 2 and appendix A.
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), Assumption A2.2.
    Efron, Tibshirani. "An Introduction to the Bootstrap" (1993), ch. 13 (percentile
    intervals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_positive_int, check_probability, check_seed
from ._accumulate import NoiseAccumulator
from ._frontier import corners, d_frontier
from ._scale import GradientScale

__all__ = ["NoiseConstants", "noise_constants", "minibatch_factor", "point_statistics"]

_SCALARS = ("grad_norm_sq", "trace_sigma", "minibatch_second_moment", "b_simple")


def minibatch_factor(dataset_size: int, batch_size: int) -> float:
    """``c_B = (N - B) / (B (N - 1))``: E||gbar_B||^2 = ||G||^2 + c_B sigma^2 (docs/theory.md section 8).

    Example:
        >>> minibatch_factor(10, 10), minibatch_factor(10, 1)
        (0.0, 1.0)
    """
    N, B = int(dataset_size), int(batch_size)
    if N <= 1:
        return 0.0
    return (N - B) / (B * (N - 1))


def point_statistics(
    count: Any, sum_norm_sq: Any, sq_total: Any, *, dataset_size: float | None, batch_size: int
) -> dict[str, np.ndarray]:
    """Statistics of one point from (count, ||sum||^2, sum of ||g_j||^2), vectorised.

    ``dataset_size``: None when the examples are the whole data set (N = count, exact
    values); a number N > count when they are a sample of a data set of N (unbiased
    estimators, without-replacement corrections); ``inf`` for the data distribution
    itself (unbiased estimators of ||E g||^2 and tr Cov g, and c_B = 1/B).
    """
    cnt = np.asarray(count, dtype=float)
    ssn = np.asarray(sum_norm_sq, dtype=float)
    Q = np.asarray(sq_total, dtype=float)
    B = float(batch_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        m2 = ssn / cnt**2
        plug = np.maximum(Q / cnt - m2, 0.0)
        if dataset_size is None:
            G2, sig2 = m2, plug
            cB = np.where(cnt > 1, (cnt - B) / (B * (cnt - 1.0)), 0.0)
        else:
            s2 = np.where(cnt > 1, plug * cnt / (cnt - 1), 0.0)
            if np.isinf(dataset_size):
                G2 = m2 - s2 / cnt
                sig2 = s2
                cB = np.full_like(cnt, 1.0 / B)
            else:
                N = float(dataset_size)
                G2 = m2 - (1.0 / cnt) * (1.0 - cnt / N) * s2
                sig2 = (N - 1.0) / N * s2
                cB = np.full_like(cnt, (N - B) / (B * (N - 1.0)) if N > 1 else 0.0)
        mb2 = G2 + cB * sig2
        bs = np.where(G2 > 0, sig2 / np.where(G2 > 0, G2, 1.0), np.inf)
    return {"grad_norm_sq": G2, "trace_sigma": sig2, "minibatch_second_moment": mb2, "b_simple": bs}


@dataclass
class NoiseConstants:
    """Per-point noise statistics, the (D0, D1) frontier of the expected partition, intervals.

    Per-point arrays have shape (P,); per-coordinate arrays (P, d).
    """

    batch_size: int
    dataset_size: int
    sample_size: int
    n: int
    scale: GradientScale
    grad_norm_sq: np.ndarray
    trace_sigma: np.ndarray
    minibatch_second_moment: np.ndarray
    b_simple: np.ndarray
    d1_at_d0_zero: float
    d0_at_d1_n: float
    frontier: list[list[float]]
    mean: np.ndarray
    mean_se: np.ndarray
    coordinate_variance: np.ndarray | None
    ci: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "batch_size": self.batch_size,
            "dataset_size": self.dataset_size,
            "sample_size": self.sample_size,
            "grad_norm_sq": self.grad_norm_sq,
            "trace_sigma": self.trace_sigma,
            "minibatch_second_moment": self.minibatch_second_moment,
            "b_simple": self.b_simple,
            "d1_at_d0_zero": self.d1_at_d0_zero,
            "d0_at_d1_n": self.d0_at_d1_n,
            "frontier": self.frontier,
            "ci": self.ci,
        }


def noise_constants(
    acc: NoiseAccumulator,
    batch_size: int,
    *,
    dataset_size: int | None = None,
    scale: GradientScale | None = None,
    level: float = 0.95,
    replicates: int = 1000,
    seed: int = 0,
) -> NoiseConstants:
    """Noise constants and bootstrap intervals from an accumulator (see the module doc).

    Args:
        acc: the merged state of one pass (:func:`adamcheck.noise.accumulate`).
        batch_size: B.
        dataset_size: N, the size of the data set the file samples (default: the
            number of examples in the file, i.e. the file is the data set).
        scale: how the rows were made (:class:`GradientScale`); default mean, scale 1.
        level: confidence level of the intervals.
        replicates: bootstrap replicates (0 for none).
        seed: seed of the bootstrap draws.

    Example:
        >>> import numpy as np
        >>> from adamcheck.noise import GradientSource, accumulate, make_config
        >>> x = np.array([[1.5], [-0.25], [-0.25]])          # docs/theory.md section 4, n = 3, a = 1/4
        >>> src = GradientSource.from_array(x)
        >>> acc = accumulate(src, make_config(3, 1))
        >>> c = noise_constants(acc, batch_size=1, replicates=0)
        >>> round(c.d1_at_d0_zero, 9)                          # 171/8
        21.375
    """
    B = check_positive_int(batch_size, "batch size")
    scale = scale or GradientScale()
    level = check_probability(level, "confidence level")
    replicates = int(replicates)
    if replicates < 0:
        raise InvalidParameterError("replicates must be 0 or more")
    seed = check_seed(seed)
    G = acc.config.groups
    N_s, N, finite, n, notes = _sizes(acc, B, dataset_size)

    f = scale.factor
    gsum = acc.gsum / f  # canonical units
    gsq = acc.gsq / f**2
    count = acc.count
    tot_sum = gsum.sum(axis=1)  # (P, d)
    stats = point_statistics(
        count.sum(axis=1), np.einsum("pd,pd->p", tot_sum, tot_sum), gsq.sum(axis=1),
        dataset_size=finite, batch_size=B,
    )
    S = n * stats["minibatch_second_moment"]
    front = d_frontier(S, stats["grad_norm_sq"], n)
    if np.any(stats["grad_norm_sq"] < 0):
        # an unbiased |G|^2 below 0 is noise, not a zero gradient (adamcheck.noise.read_signal)
        notes.append(
            "some sampled point's mean gradient is not resolved from its noise (unbiased |grad|^2 <= 0): "
            "the smallest D1 with D0 = 0 cannot be told from this file (its interval's lower end is a lower bound)"
        )
    elif not np.isfinite(front["d1_at_d0_zero"]):
        notes.append(
            "some sampled point has a zero full gradient but noisy mini-batches: no finite D1 "
            "works with D0 = 0 (strong growth fails there)"
        )

    mean = tot_sum / N_s
    dev = gsum - count[:, :, None] * mean[:, None, :]
    mean_se = np.sqrt(G / max(G - 1, 1) * np.einsum("pgd,pgd->pd", dev, dev)) / N_s
    cvar = None
    if acc.csq is not None:
        cvar = np.maximum(acc.csq / f**2 / N_s - mean**2, 0.0)

    ci: dict[str, Any] = {}
    if replicates > 0:
        # The file is the whole data set: its values are exact, so the intervals are for
        # the data distribution the examples came from (what another data set would show).
        target = math.inf if finite is None else finite
        ci = _bootstrap(gsum, gsq, count, level, replicates, seed, target, B, n)
        if finite is None:
            centre = point_statistics(
                count.sum(axis=1), np.einsum("pd,pd->p", tot_sum, tot_sum), gsq.sum(axis=1),
                dataset_size=math.inf, batch_size=B,
            )
            d1c, d0c = corners(n * centre["minibatch_second_moment"], centre["grad_norm_sq"], n)
            ci["target"] = (
                "the data distribution: the file is the whole data set, so the point values are "
                "exact for it; the intervals say what another data set of the same size would give "
                "(centred on the unbiased estimates in 'estimate')"
            )
            ci["estimate"] = {**{k: centre[k] for k in _SCALARS}, "d1_at_d0_zero": float(d1c),
                              "d0_at_d1_n": float(d0c)}
        else:
            ci["target"] = f"the data set of N = {N} examples the file samples"
    return NoiseConstants(
        batch_size=B, dataset_size=N, sample_size=N_s, n=n, scale=scale,
        grad_norm_sq=stats["grad_norm_sq"], trace_sigma=stats["trace_sigma"],
        minibatch_second_moment=stats["minibatch_second_moment"], b_simple=stats["b_simple"],
        d1_at_d0_zero=front["d1_at_d0_zero"], d0_at_d1_n=front["d0_at_d1_n"],
        frontier=front["vertices"], mean=mean, mean_se=mean_se, coordinate_variance=cvar,
        ci=ci, notes=notes,
    )


def _sizes(acc: NoiseAccumulator, B: int, dataset_size: int | None) -> tuple[int, int, float | None, int, list[str]]:
    """(examples in the file N_s, data-set size N, N when it differs from N_s else None, batches n, notes)."""
    P = acc.config.points
    N_s = acc.examples(0)
    if any(acc.examples(p) != N_s for p in range(P)):
        raise DataError("points hold different numbers of examples: give every point the same examples")
    if N_s < B:
        raise DataError(
            f"the gradients hold N = {N_s} examples, fewer than the batch size B = {B}: "
            "sample at least B examples (better: many batches' worth)"
        )
    if dataset_size is None:
        N = N_s
        finite = None
    else:
        N = check_positive_int(dataset_size, "dataset size")
        if N < N_s:
            raise InvalidParameterError(
                f"dataset size {N} is smaller than the {N_s} examples in the file: "
                "give the size of the whole data set (at least the number of examples)"
            )
        finite = None if N == N_s else float(N)
    n = N // B
    notes: list[str] = []
    if N % B:
        notes.append(
            f"N = {N} is not a multiple of B = {B}: the partition has n = {n} batches "
            f"and leaves {N % B} examples out"
        )
    return N_s, N, finite, n, notes


def _bootstrap(
    gsum: np.ndarray, gsq: np.ndarray, count: np.ndarray, level: float, R: int, seed: int,
    target: float, B: int, n: int,
) -> dict[str, Any]:
    """Percentile intervals of bias-corrected group-bootstrap replicates.

    In the bootstrap world the truth is the plug-in value of the file, not the unbiased
    estimate, so raw replicates of ||G||^2 sit about tr(Sigma)/N too high. Each point's
    replicates of ||G||^2 and tr(Sigma) are therefore shifted by their bootstrap bias
    (mean of replicates minus the estimate; Efron & Tibshirani 1993, ch. 10), and
    E||g_B||^2, B_simple and the corners are computed from the shifted pair.
    """
    P, G, _ = gsum.shape
    rng = np.random.default_rng([seed, 0xB007])
    draws = rng.multinomial(G, np.full(G, 1.0 / G), size=R).astype(float)  # (R, G)
    per: dict[str, np.ndarray] = {k: np.empty((R, P)) for k in _SCALARS}
    cB = 1.0 / B if np.isinf(target) else minibatch_factor(int(target), B)
    for p in range(P):
        gram = gsum[p] @ gsum[p].T
        cnt = draws @ count[p]
        ssn = ((draws @ gram) * draws).sum(axis=1)
        Q = draws @ gsq[p]
        with np.errstate(invalid="ignore", divide="ignore"):
            st = point_statistics(cnt, ssn, Q, dataset_size=target, batch_size=B)
        tot = gsum[p].sum(axis=0)
        est = point_statistics(count[p].sum(), tot @ tot, gsq[p].sum(), dataset_size=target, batch_size=B)
        bad = cnt < 2
        comps = {}
        for k in ("grad_norm_sq", "trace_sigma"):
            v = st[k].astype(float)
            v[bad] = np.nan
            comps[k] = v - (np.nanmean(v) - float(est[k]))
        G2, sig2 = comps["grad_norm_sq"], np.maximum(comps["trace_sigma"], 0.0)
        per["grad_norm_sq"][:, p] = G2
        per["trace_sigma"][:, p] = sig2
        per["minibatch_second_moment"][:, p] = G2 + cB * sig2
        with np.errstate(invalid="ignore", divide="ignore"):
            per["b_simple"][:, p] = np.where(G2 > 0, sig2 / np.where(G2 > 0, G2, 1.0),
                                             np.where(np.isnan(G2), np.nan, np.inf))
    d1, d0 = corners(n * per["minibatch_second_moment"], per["grad_norm_sq"], n)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2

    def interval(x: np.ndarray) -> Any:
        x = x[~np.isnan(x)] if x.ndim == 1 else x
        if x.ndim == 1:
            if x.size == 0:
                return [None, None]
            # inverted_cdf never interpolates, so an infinite replicate (D1 = inf) stays inf, not NaN
            q = np.quantile(x, [lo_q, hi_q], method="inverted_cdf")
            return [float(q[0]), float(q[1])]
        return [interval(x[:, p]) for p in range(x.shape[1])]

    out: dict[str, Any] = {
        "level": level,
        "method": "percentile bootstrap over examples (the accumulator's groups), bias-corrected replicates",
        "replicates": R,
        "groups": G,
        "seed": seed,
    }
    for k in _SCALARS:
        out[k] = interval(per[k])
    out["d1_at_d0_zero"] = interval(d1)
    out["d0_at_d1_n"] = interval(d0)
    return out
