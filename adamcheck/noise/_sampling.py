"""What needs actual mini-batches: the two-batch estimator, mini-batch laws, real partitions.

These read only the rows they draw (random access, :meth:`GradientSource.take`), so
their cost is set by the number of batches, not by the file.

Design of the draws (one seed, shared by all points so the same examples are used at
every point): ``R`` *big* batches of ``m B`` distinct examples, each drawn uniformly
without replacement and cut into ``m`` disjoint *small* batches of B. Every small
batch is then a uniformly random B-subset and every big batch a uniformly random
mB-subset, exactly the batches of docs/theory.md section 8; McCandlish et al. read the
same pair off a data-parallel run (per-device and global batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._laws import GradientLaw
from .._validate import check_positive_int, check_probability, check_seed
from ._constants import NoiseConstants, minibatch_factor
from ._frontier import corners, d_frontier
from ._scale import GradientScale
from ._signal import nonnegative, nonnegative_intervals, read_signal
from ._source import GradientSource

__all__ = [
    "MiniBatchSample",
    "sample_minibatches",
    "TwoBatchEstimate",
    "two_batch_estimate",
    "laws_from_sample",
    "PartitionConstants",
    "partition_constants",
    "LAW_BUDGET",
]

#: Law atoms kept per point (K x coordinates, float64); beyond it only the coordinates
#: with the largest |mean| / standard error are kept.
LAW_BUDGET = 1 << 22


@dataclass
class MiniBatchSample:
    """Norms of sampled small and big batches at every point, and the small batches' atoms.

    Attributes:
        indices: (R, m B) example indices of the big batches.
        small_norms: (P, R, m) ||gbar_B||^2 of each small batch (canonical scale).
        big_norms: (P, R) ||gbar_mB||^2 of each big batch.
        atoms: (P, R m, len(coords)) small-batch mean gradients on ``coords``.
        coords: the coordinates kept in ``atoms``.
    """

    batch_size: int
    factor: int
    indices: np.ndarray
    small_norms: np.ndarray
    big_norms: np.ndarray
    atoms: np.ndarray
    coords: np.ndarray
    seed: int


def sample_minibatches(
    source: GradientSource,
    batch_size: int,
    *,
    factor: int = 8,
    big_batches: int | None = None,
    coords: Any = None,
    scale: GradientScale | None = None,
    seed: int = 0,
    on_rows: Callable[[int], None] | None = None,
) -> MiniBatchSample:
    """Draw ``R`` big batches of ``m = factor`` small batches (see the module doc) and read them.

    ``m`` is lowered to ``N // B`` when the file is small; ``R`` defaults to
    ``ceil(256 / m)`` so that at least 256 small batches are drawn.
    """
    B = check_positive_int(batch_size, "batch size")
    N = source.examples
    if N < B:
        raise DataError(
            f"the gradients hold N = {N} examples, fewer than the batch size B = {B}: "
            "sample at least B examples"
        )
    m = max(1, min(check_positive_int(factor, "big-batch factor"), N // B))
    R = big_batches if big_batches is not None else math.ceil(256 / m)
    R = check_positive_int(R, "big batches")
    seed = check_seed(seed)
    scale = scale or GradientScale()
    coords = np.arange(source.dim) if coords is None else np.asarray(coords, dtype=np.int64)
    rng = np.random.default_rng([seed, 0x5A3B])
    indices = np.stack([rng.choice(N, size=m * B, replace=False) for _ in range(R)])
    P = source.points
    small = np.empty((P, R, m))
    big = np.empty((P, R))
    atoms = np.empty((P, R * m, coords.size))
    f = scale.factor
    for p in range(P):
        for r in range(R):
            rows = source.take(p, indices[r]) / f
            means = rows.reshape(m, B, -1).mean(axis=1)
            small[p, r] = np.einsum("kd,kd->k", means, means)
            gb = means.mean(axis=0)
            big[p, r] = gb @ gb
            atoms[p, r * m : (r + 1) * m] = means[:, coords]
            if on_rows is not None:
                on_rows(m * B)
    return MiniBatchSample(B, m, indices, small, big, atoms, coords, seed)


# --------------------------------------------------------------------------------------
@dataclass
class TwoBatchEstimate:
    """McCandlish et al.'s two-batch-size estimates, as a training log would give them.

    ``grad_norm_sq``, ``trace_sigma``, ``b_simple`` use their formulas (batches from an
    infinite population); the ``*_fpc`` versions use the without-replacement factor
    c_B of the examples in the file and are unbiased for the file's exact values.
    """

    small_batch: int
    big_batch: int
    draws: int
    grad_norm_sq: np.ndarray
    trace_sigma: np.ndarray
    b_simple: np.ndarray
    grad_norm_sq_fpc: np.ndarray
    trace_sigma_fpc: np.ndarray
    b_simple_fpc: np.ndarray
    ci: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "small_batch": self.small_batch,
            "big_batch": self.big_batch,
            "big_batch_draws": self.draws,
            # a negative |G|^2 is no squared norm: null, the reason in "signal" (adamcheck.noise.read_signal)
            "grad_norm_sq": nonnegative(self.grad_norm_sq),
            "trace_sigma": self.trace_sigma,
            "b_simple": self.b_simple,
            "signal": read_signal(self.grad_norm_sq, self.trace_sigma, grad_ci=self.ci.get("grad_norm_sq"),
                                  b_simple_ci=self.ci.get("b_simple")),
            "grad_norm_sq_fpc": nonnegative(self.grad_norm_sq_fpc),
            "trace_sigma_fpc": self.trace_sigma_fpc,
            "b_simple_fpc": self.b_simple_fpc,
            # |G|^2's intervals met with [0, inf): a squared norm is not negative
            "ci": {k: (nonnegative_intervals(iv) if k.startswith("grad_norm_sq") else iv) for k, iv in self.ci.items()},
        }


def _two_batch_formulas(Es: Any, Eb: Any, Bs: int, Bb: int, cs: float, cb: float) -> dict[str, np.ndarray]:
    Es = np.asarray(Es, dtype=float)
    Eb = np.asarray(Eb, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = (Bb * Eb - Bs * Es) / (Bb - Bs)
        tr = (Es - Eb) / (1.0 / Bs - 1.0 / Bb)
        g2f = (cs * Eb - cb * Es) / (cs - cb)
        trf = (Es - Eb) / (cs - cb)
        # |G|^2 <= 0: B_simple has no finite value (inf; null in JSON), and a replicate with
        # it counts at the top of the bootstrap law instead of being dropped, which would
        # close an interval that is open above
        bs = np.where(g2 > 0, tr / np.where(g2 > 0, g2, 1.0), np.where(np.isnan(g2), np.nan, np.inf))
        bsf = np.where(g2f > 0, trf / np.where(g2f > 0, g2f, 1.0), np.where(np.isnan(g2f), np.nan, np.inf))
    return {
        "grad_norm_sq": g2, "trace_sigma": tr, "b_simple": bs,
        "grad_norm_sq_fpc": g2f, "trace_sigma_fpc": trf, "b_simple_fpc": bsf,
    }


def two_batch_estimate(
    sample: MiniBatchSample,
    population: int,
    *,
    level: float = 0.95,
    replicates: int = 1000,
    seed: int = 0,
) -> TwoBatchEstimate | None:
    """The two-batch-size estimator from a :class:`MiniBatchSample` (ratio of averages).

    With B_s = B and B_b = m B, average ``|G_s|^2`` over all small batches and
    ``|G_b|^2`` over all big batches first (ratio of averages, not average of ratios),
    then (McCandlish et al. 2018, appendix A.1)

        |G|^2   ~ (B_b |G_b|^2 - B_s |G_s|^2) / (B_b - B_s)
        tr(S)   ~ (|G_s|^2 - |G_b|^2) / (1/B_s - 1/B_b)
        B_simple ~ tr(S) / |G|^2.

    ``population`` is the number of examples the batches were drawn from (for the
    ``*_fpc`` versions, which replace 1/B by c_B). Intervals: percentile bootstrap over
    the R big batches. Returns None when m = 1 (the file holds fewer than 2B examples).

    Example:
        >>> import numpy as np
        >>> from adamcheck.noise import GradientSource
        >>> x = np.random.default_rng(0).normal(1.0, 1.0, size=(4096, 2))
        >>> s = sample_minibatches(GradientSource.from_array(x), 8, factor=8, big_batches=400)
        >>> est = two_batch_estimate(s, 4096, replicates=0)
        >>> bool(abs(est.b_simple[0] - 1.0) < 0.3)       # tr(S) / |G|^2 = 2 / 2
        True

    References:
        McCandlish, Kaplan, Amodei et al., arXiv:1812.06162 (2018), appendix A.1.
    """
    if sample.factor < 2:
        return None
    level = check_probability(level, "confidence level")
    Bs, Bb = sample.batch_size, sample.batch_size * sample.factor
    cs, cb = minibatch_factor(population, Bs), minibatch_factor(population, Bb)
    Es = sample.small_norms.mean(axis=(1, 2))
    Eb = sample.big_norms.mean(axis=1)
    est = _two_batch_formulas(Es, Eb, Bs, Bb, cs, cb)
    ci: dict[str, Any] = {}
    R = sample.big_norms.shape[1]
    if replicates > 0 and R > 1:
        rng = np.random.default_rng([check_seed(seed), 0x2BA7])
        pick = rng.integers(0, R, size=(replicates, R))
        Es_r = sample.small_norms.mean(axis=2)[:, pick].mean(axis=2)  # (P, reps)
        Eb_r = sample.big_norms[:, pick].mean(axis=2)
        boot = _two_batch_formulas(Es_r, Eb_r, Bs, Bb, cs, cb)
        lo, hi = (1 - level) / 2, (1 + level) / 2
        for k, v in boot.items():
            rows = []
            for p in range(v.shape[0]):
                x = v[p][~np.isnan(v[p])]
                if x.size < max(2, replicates // 2):
                    rows.append([None, None])
                else:
                    q = np.quantile(x, [lo, hi], method="inverted_cdf")
                    rows.append([float(q[0]), float(q[1])])
            ci[k] = rows
        ci.update({"level": level, "method": "percentile bootstrap over big batches",
                   "replicates": int(replicates), "seed": seed})
    return TwoBatchEstimate(Bs, Bb, R, ci=ci, **est)


# --------------------------------------------------------------------------------------
def choose_law_coords(mean: np.ndarray, mean_se: np.ndarray, atoms: int, coords: Any = None) -> np.ndarray:
    """Coordinates to keep in the laws: ``coords`` if given, all if K d fits LAW_BUDGET,
    else the ones whose mean is furthest from zero in standard errors (max over points)."""
    d = mean.shape[-1]
    if coords is not None:
        coords = np.unique(np.asarray(coords, dtype=np.int64).ravel())
        if coords.size == 0 or coords.min() < 0 or coords.max() >= d:
            raise InvalidParameterError(f"law coordinates must lie in 0..{d - 1}")
        return coords
    keep = max(1, LAW_BUDGET // max(1, atoms))
    if d <= keep:
        return np.arange(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean) / np.where(mean_se > 0, mean_se, np.inf)
    t = np.nan_to_num(np.atleast_2d(t), nan=0.0).max(axis=0)
    top = np.argsort(-t, kind="stable")[:keep]
    return np.sort(top)


def laws_from_sample(
    sample: MiniBatchSample,
    constants: NoiseConstants,
    *,
    match_moments: bool = True,
) -> list[GradientLaw]:
    """Per-point laws of the mini-batch gradient at batch B (see :func:`minibatch_laws`)."""
    scale = constants.scale
    coords = sample.coords
    B = sample.batch_size
    cB = minibatch_factor(constants.dataset_size, B)
    laws: list[GradientLaw] = []
    for p in range(sample.atoms.shape[0]):
        values = sample.atoms[p].copy()
        mean_exact = constants.mean[p, coords]
        second_exact = None
        matched = "none"
        if match_moments:
            shift = mean_exact - values.mean(axis=0)
            if constants.coordinate_variance is not None:
                # exact var of gbar_B per coordinate: c_B sigma_k^2 (sigma_k^2 over the data set)
                N_s, N = constants.sample_size, constants.dataset_size
                s2 = constants.coordinate_variance[p, coords] * (N_s / max(N_s - 1, 1) if N != N_s else 1.0)
                sig2 = s2 * ((N - 1) / N if N != N_s else 1.0)
                target_var = cB * sig2
                centred = values - values.mean(axis=0)
                sd = np.sqrt((centred**2).mean(axis=0))
                ok = sd > 0
                ratio = np.where(ok, np.sqrt(target_var) / np.where(ok, sd, 1.0), 1.0)
                values = mean_exact + centred * ratio
                second_exact = mean_exact**2 + target_var
                matched = "mean and variance"
            else:
                values = values + shift
                matched = "mean"
        K = values.shape[0]
        meta = {
            "point": p,
            "coords": coords,
            "mean_se": constants.mean_se[p, coords],
            "mean_all_examples": mean_exact,
            "second_moment_all_examples": second_exact,
            "dataset_size": constants.dataset_size,
            "sample_size": constants.sample_size,
            "reduction": scale.reduction,
            "loss_scale": scale.loss_scale,
            "mean_over": scale.mean_over,
            "atoms": K,
            "matched_moments": matched,
            "seed": sample.seed,
            "construction": (
                f"{K} mini-batches of B = {B} examples drawn without replacement "
                f"(batches independent), canonical scale"
            ),
        }
        laws.append(
            GradientLaw(
                values=values,
                weights=np.full(K, 1.0 / K),
                batch_size=B,
                label=f"resampled mini-batch law, point {p}, B = {B}",
                meta=meta,
            )
        )
    return laws


# --------------------------------------------------------------------------------------
@dataclass
class PartitionConstants:
    """(D0, D1) corners for actual partitions of the examples into n batches of B.

    ``sums[r, p]`` is ``sum_i ||grad ell_i||^2`` and ``grad_norm_sq[r, p]`` is
    ``||grad ell||^2`` with ``ell = (1/n) sum_i ell_i`` of partition r at point p.
    """

    kind: str
    batch_size: int
    n: int
    sums: np.ndarray
    grad_norm_sq: np.ndarray
    d1_at_d0_zero: np.ndarray
    d0_at_d1_n: np.ndarray
    seed: int | None

    def to_dict(self) -> dict[str, Any]:
        def summary(x: np.ndarray) -> dict[str, Any]:
            return {"min": float(np.min(x)), "median": float(np.median(x)), "max": float(np.max(x))}

        return {
            "kind": self.kind,
            "partitions": int(self.sums.shape[0]),
            "seed": self.seed,
            "d1_at_d0_zero": self.d1_at_d0_zero,
            "d0_at_d1_n": self.d0_at_d1_n,
            "d1_at_d0_zero_summary": summary(self.d1_at_d0_zero),
            "d0_at_d1_n_summary": summary(self.d0_at_d1_n),
            "frontiers": [d_frontier(self.sums[r], self.grad_norm_sq[r], self.n)["vertices"]
                          for r in range(self.sums.shape[0])],
        }


def partition_constants(
    source: GradientSource,
    batch_size: int,
    *,
    partitions: int = 10,
    kind: str = "random",
    scale: GradientScale | None = None,
    seed: int = 0,
    rows_per_read: int | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> PartitionConstants:
    """Exact corners of the (D0, D1) frontier for actual partitions of the file's examples.

    A partition cuts the N examples into ``n = N // B`` batches of B (the
    ``N - nB`` left over are in no batch); the mini-batch losses are
    ``ell_i = (1/B) sum_{j in batch i} ell_j`` and ``ell = (1/n) sum_i ell_i``, as in
    docs/theory.md section 1. The same partition is used at every point (it is a property
    of the data pipeline, not of theta).

    * ``kind="random"``: ``partitions`` uniformly random partitions (seeded): the
      spread of the corners across them shows how much a fixed partition matters;
      their average over partitions is the expected partition of
      :func:`noise_constants` (up to the left-over examples).
    * ``kind="file"``: the one partition into consecutive rows of the file (the order
      the user's loader produced the gradients in, if they were saved that way).

    Cost: one read of the file per partition and point (rows in random order);
    memory: one read of ``rows_per_read`` rows (default about 32 MiB) plus the
    permutation (one integer per example).

    Example:
        >>> import numpy as np
        >>> from adamcheck.noise import GradientSource
        >>> x = np.repeat([[1.5], [-0.25], [-0.25]], 2, axis=0)   # B = 2 copies of each f_i
        >>> pc = partition_constants(GradientSource.from_array(x), 2, kind="file")
        >>> round(float(pc.d1_at_d0_zero[0]), 9)                  # docs/theory.md section 4, 171/8
        21.375
    """
    B = check_positive_int(batch_size, "batch size")
    N = source.examples
    if N < B:
        raise DataError(f"the gradients hold N = {N} examples, fewer than the batch size B = {B}")
    if kind not in ("random", "file"):
        raise InvalidParameterError(f"partition kind {kind!r} is unknown: use 'random' or 'file'")
    scale = scale or GradientScale()
    f = scale.factor
    n = N // B
    if kind == "file":
        perms = [np.arange(N)]
        used_seed = None
    else:
        R = check_positive_int(partitions, "partitions")
        used_seed = check_seed(seed)
        rng = np.random.default_rng([used_seed, 0x9A27])
        perms = [rng.permutation(N) for _ in range(R)]
    P = source.points
    sums = np.zeros((len(perms), P))
    gns = np.zeros((len(perms), P))
    if rows_per_read is None:  # about 32 MiB of float64 rows per read
        rows_per_read = max(B, (32 << 20) // (8 * source.dim))
    per_read = max(1, rows_per_read // B) * B
    for r, perm in enumerate(perms):
        used = perm[: n * B]
        for p in range(P):
            total = np.zeros(source.dim)
            for a in range(0, used.size, per_read):
                rows = source.take(p, used[a : a + per_read]) / f
                means = rows.reshape(-1, B, rows.shape[1]).mean(axis=1)
                sums[r, p] += float(np.einsum("kd,kd->", means, means))
                total += means.sum(axis=0)
                if on_rows is not None:
                    on_rows(rows.shape[0])
            full = total / n
            gns[r, p] = float(full @ full)
    d1, d0 = corners(sums, gns, n)
    return PartitionConstants(kind, B, n, sums, gns, d1, d0, used_seed)
