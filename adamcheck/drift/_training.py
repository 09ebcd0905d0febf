"""Training boundary: beta2*(B) from per-example gradients, for both ways Adam fails.

The drift ratio (docs/theory.md section 9) looks at one coordinate at a time. Real
networks fail in two ways, and this module measures both on the same simulated
moment chains:

1. **Sign drift** (the counterexample of Zhang et al. 2026, section 2.3): Adam's mean
   step climbs the loss. At a frozen point with full gradient ``G`` (coordinates j),
   the first-order change of the loss per step is ``-lr * sum_j G_j E[u_j]`` with
   ``u = m_hat / (sqrt(v_hat) + eps)``. Normalised by its beta2 -> 1 value,

       rho_agg(beta1, beta2; B) = sum_j G_j E[u_j] / sum_j G_j^2 / sqrt(E g_j^2),

   the *aggregate drift ratio*. rho_agg < 0 is the divergent phase of the paper, for
   the whole model at once; for one coordinate it is the drift ratio itself. Reversed
   coordinates can also sink a model whose total drift is still downhill: in a linear
   model each of them walks off like the counterexample's x. Their weight is the
   *climbing share*

       climb(beta1, beta2; B) = sum_j max(0, -G_j E[u_j]) / sum_j G_j^2 / sqrt(E g_j^2),

   the climbing coordinates' pace against the whole descent of Adam with beta2 -> 1.
   A cell is unsafe by sign drift when rho_agg < 0 or climb > ``max_climbing``. A few
   coordinates with reversed drift (climb well below 1), which a real network absorbs,
   no longer condemn the run as the per-coordinate rule of :func:`critical_beta2` does.
2. **Update growth** (beta1 >= sqrt(beta2)): the bound
   ``|m_t| / sqrt(v_t) <= (1 - beta1) / sqrt((1 - beta2)(1 - beta1^2/beta2))`` of the
   update holds only for beta1 < sqrt(beta2). Past it, a large gradient followed by
   small ones makes ``|u|`` grow like ``(beta1/sqrt(beta2))^k``: heavy-tailed small-batch
   gradients (rare large values, many near zero) then give bursts of steps, all in one
   direction, far larger than ``lr``. The statistic is the ``quantile`` (over sampled
   coordinates) of each coordinate's largest *sustained update* over a simulated run of
   ``steps`` steps: over every ``window`` consecutive steps whose updates share one sign,
   the smallest ``|u|`` among them. Persistence is what tells a burst from a harmless
   spike: under a short memory, a gradient crossing zero makes ``|u|`` large for a step
   or two (ratios of near-Gaussian noise are heavy-tailed, whatever the batch size); a
   burst keeps its sign and its size for many steps. A cell in the region
   beta1 >= sqrt(beta2) is unsafe when the statistic exceeds ``max_update``.

The chains: at each sampled point (parameters frozen), mini-batches of B examples are
drawn without replacement inside a batch and independently across steps (the
sampling of the 2026 paper), their mean gradients are fed to Adam's moments with
torch's bias correction, for every beta2 of a ladder at once. With beta1 = 0,
``|u| <= 1/sqrt(1 - beta2)``, so only sign drift can make a cell unsafe.

Constants that are adamcheck's choices, not a paper's (parameters, with their
defaults): ``max_climbing = 1`` (reversed coordinates climbing as fast as the whole
model descends), ``max_update = 2`` (in units of the learning rate: twice the sustained
update Adam reaches at its default betas (0.9, 0.999), about 1 on every problem of the
suite), ``window = 10`` steps, ``quantile = 0.99`` and ``steps = 4000``. They were set on one
problem (a 64-128-10 MLP on scikit-learn's digits at lr 1e-3) and then checked on others; see benchmarks/validity/README.md for
how well they transfer and where they do not (the real edge also moves with the
learning rate, which this statistic does not see). The maximum over a run grows with
its length: a run much longer than ``steps`` can fail where this says safe, so
``steps`` should be the planned run length when it can be afforded.

References: Zhang et al., arXiv:2603.02092 (2026), sections 2.2-2.3 (convergence for
beta1 < sqrt(beta2), the divergent counterexample); Reddi et al., ICLR 2018 (the
update bound's role); docs/theory.md sections 3, 4 and 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._quiet import numpy_quiet
from .._shown import shown_repr
from .._validate import (
    check_beta,
    check_betas_array,
    check_flag,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
    from_tensor,
)

__all__ = [
    "TrainingBoundary",
    "TrainingStatistics",
    "ColumnSample",
    "sample_coordinates",
    "training_statistics",
    "training_boundary",
    "DEFAULT_TRAINING_LADDER",
]

#: beta2 values tried by default: the ladder of the validation suite, plus 0.6.
DEFAULT_TRAINING_LADDER = (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)

MECHANISM_DRIFT = "sign drift (Adam's mean step climbs the loss)"
MECHANISM_GROWTH = "update growth (beta1 >= sqrt(beta2) with heavy-tailed small-batch gradients)"


@dataclass(frozen=True)
class ColumnSample:
    """Per-example gradients restricted to a seeded subset of coordinates, read once.

    Attributes:
        values: float64 array (P, N, k): P points, N examples, k sampled coordinates.
        columns: the sampled coordinate indices, shape (k,), sorted.
        d: the number of coordinates in the file.
    """

    values: np.ndarray
    columns: np.ndarray
    d: int


def sample_coordinates(gradients: Any, coordinates: int = 512, *, seed: int = 0,
                       progress: bool = False) -> ColumnSample:
    """Read per-example gradients once, keeping ``coordinates`` seeded columns.

    ``gradients`` is a path, a list of paths, a :class:`adamcheck.noise.GradientSource`
    or an array of shape (N, d) or (P, N, d), read through
    :func:`adamcheck.noise._source.opened_gradients` (the loader of every command).
    Coordinates whose gradient is zero for every example at every point carry no
    information and are not drawn when others remain. One call serves every batch size.
    The sample's rows are the file's rows: for a file whose rows are mini-batch
    gradients of R examples (``row_batch_size``, a GradientMonitor file), batch sizes
    given to :func:`training_statistics` count rows (B examples = B / R rows; see
    :func:`adamcheck.recommend.batch_size_boundary`, which converts). ``progress``
    draws a bar on stderr over the two passes.

    Raises:
        adamcheck.DataError: unreadable file, wrong shape, non-finite values.
        adamcheck.InvalidParameterError: ``coordinates`` < 1.

    Example:
        >>> import numpy as np
        >>> s = sample_coordinates(np.arange(24.0).reshape(2, 3, 4), coordinates=2, seed=0)
        >>> s.values.shape, s.d
        ((2, 3, 2), 4)
    """
    from .._limits import check_work
    from .._progress import Progress
    from .._validate import check_finite_array
    from ..noise._source import opened_gradients

    coordinates = check_positive_int(coordinates, "coordinates")
    seed = check_seed(seed)
    gradients = from_tensor(gradients, "gradients", DataError)  # a torch tensor (GPU, with grad) via NumPy
    progress = check_flag(progress, "progress")
    with opened_gradients(gradients, progress=progress) as src:
        progress = progress or src.progress
        P, N, d = src.shape
        k = min(coordinates, d)
        check_work(f"{coordinates:,} coordinates of {P * N:,} rows", nbytes=8.0 * P * N * k, ops=2.0 * P * N * d,
                   fix="sample fewer coordinates")
        rows = max(1, (16 << 20) // max(1, 8 * d))  # ~16 MB per chunk
        rng = np.random.default_rng(seed)
        # One streaming pass finds the coordinates that are ever non-zero; the second
        # pass keeps only the drawn columns (memory: P * N * coordinates).
        with Progress(2 * P * N, "reading gradients", enabled=progress) as bar:
            nonzero = np.zeros(d, dtype=bool)
            for p in range(P):
                for _, block in src.iter_chunks(p, 0, N, rows):
                    nonzero |= (block != 0).any(axis=0)
                    bar.update(block.shape[0])
            pool = np.flatnonzero(nonzero) if nonzero.any() else np.arange(d)
            cols = np.sort(rng.choice(pool, size=min(coordinates, pool.size), replace=False))
            values = np.empty((P, N, cols.size))
            for p in range(P):
                for start, block in src.iter_chunks(p, 0, N, rows):
                    values[p, start : start + block.shape[0]] = block[:, cols]
                    bar.update(block.shape[0])
    check_finite_array(values, "gradients")
    return ColumnSample(values=values, columns=cols, d=int(d))


@dataclass(frozen=True)
class TrainingStatistics:
    """Both failure statistics on a beta2 ladder at one (beta1, B).

    Arrays have one entry per ladder beta2 (``beta2s``), worst sampled point taken:
    ``drift`` is the smallest aggregate drift ratio rho_agg over points, ``climbing``
    the largest climbing share, ``update`` the largest ``quantile`` of per-coordinate
    sustained |u| over points.
    """

    beta1: float
    batch_size: int
    beta2s: np.ndarray
    drift: np.ndarray
    update: np.ndarray
    steps: int
    climbing: np.ndarray

    @property
    def outside_bound(self) -> np.ndarray:
        """beta1 >= sqrt(beta2): where the update bound fails and growth is possible."""
        return self.beta1 >= np.sqrt(self.beta2s)

    def growth(self, max_update: float) -> np.ndarray:
        """Update growth: outside the bound and the update quantile above ``max_update``."""
        return self.outside_bound & (self.update > max_update)

    def sign_drift(self, max_climbing: float) -> np.ndarray:
        """Sign drift: the whole model climbs (rho_agg < 0) or its reversed coordinates climb fast."""
        return (self.drift < 0) | (self.climbing > max_climbing)

    def unsafe(self, max_update: float, max_climbing: float = 1.0) -> np.ndarray:
        """Boolean per ladder beta2: sign drift or update growth."""
        return self.sign_drift(max_climbing) | self.growth(max_update)

    def mechanism(self, max_update: float, max_climbing: float = 1.0) -> list[str | None]:
        grow = self.growth(max_update)
        drift = self.sign_drift(max_climbing)
        return [MECHANISM_DRIFT if d else MECHANISM_GROWTH if g else None for d, g in zip(drift, grow)]


def _minibatch_means(x: np.ndarray, batch_size: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, k) means of ``batch_size`` rows drawn without replacement per step."""
    n = x.shape[0]
    if batch_size >= n:
        return np.repeat(x.mean(axis=0, keepdims=True), steps, axis=0)
    # argpartition of uniform keys is a without-replacement draw per row, vectorised;
    # a gather-and-sum costs steps * B * k, far less than a dense (steps, N) product.
    out = np.empty((steps, x.shape[1]))
    chunk = max(1, (1 << 21) // max(1, n + batch_size * x.shape[1]))
    for s in range(0, steps, chunk):
        rows = min(chunk, steps - s)
        idx = np.argpartition(rng.random((rows, n)), batch_size - 1, axis=1)[:, :batch_size]
        out[s : s + rows] = x[idx].mean(axis=1)
    return out


def _window_reduce(x: np.ndarray, w: int, op: Any) -> np.ndarray:
    """op (np.minimum or np.maximum) over every w consecutive entries of the last axis.

    Doubling: windows of 1, 2, 4... entries by pairwise ``op``, then w as a sum of powers
    of two; O(log w) contiguous passes instead of w strided ones.
    """
    n = x.shape[-1] - w + 1
    spans = {1: x}
    p = 1
    while 2 * p <= w:
        prev = spans[p]
        spans[2 * p] = op(prev[..., :-p], prev[..., p:])
        p *= 2
    out, offset, left = None, 0, w
    for p in sorted(spans, reverse=True):
        if p <= left:
            block = spans[p][..., offset : offset + n]
            out = block if out is None else op(out, block)
            offset += p
            left -= p
    return out


def _sustained(u: np.ndarray, w: int) -> np.ndarray:
    """Largest over t of min(|u|) over w consecutive steps of one sign; u (..., T) -> (...)."""
    if u.shape[-1] < w:
        return np.zeros(u.shape[:-1])
    up = _window_reduce(u, w, np.minimum)  # > 0 only where the whole window is positive
    down = -_window_reduce(u, w, np.maximum)  # > 0 only where the whole window is negative
    return np.maximum(np.maximum(up.max(axis=-1), down.max(axis=-1)), 0.0)


def _point_statistics(
    g: np.ndarray, full: np.ndarray, beta1: float, beta2s: np.ndarray, eps: float, quantile: float, burn: int,
    window: int = 10, dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rho_agg, the update quantile and the climbing share at one point for every ladder beta2.

    The moment chains are linear filters of g and g^2, computed a block of steps at a
    time as matrix products (:func:`adamcheck.drift._montecarlo._ema`), for a chunk of
    coordinates and every ladder beta2 at once; memory is bounded by the chunk.
    The sustained-burst statistic is only needed (and computed) where
    beta1 >= sqrt(beta2).
    """
    from ._montecarlo import _ema, _ema_kernels

    steps, k = g.shape
    t = np.arange(1, steps + 1, dtype=float)
    with np.errstate(under="ignore"):
        c1 = 1.0 - beta1**t
        c2 = 1.0 - beta2s[:, None] ** t[None, :]  # (L, T)
    c1, c2 = c1.astype(dtype), c2.astype(dtype)
    k_m = tuple(a.astype(dtype) for a in _ema_kernels(np.array([beta1])))
    k_v = tuple(a.astype(dtype) for a in _ema_kernels(beta2s))
    grow = beta1 >= np.sqrt(beta2s)
    mean_u = np.zeros((beta2s.size, k))
    peak = np.zeros((beta2s.size, k))
    # ~2 MB float32 per (c, L, T) temporary: they stay in cache and are reused from the
    # heap; at 16 MB they spilled and page-faulted (the monitor's 1,000 x 512 window,
    # 2 batch sizes: 0.3-0.7 s -> 0.2 s; 4 points x 4,000 steps: 3.6 -> 2.7 s; same numbers)
    chunk = max(1, (1 << 19) // max(1, steps * beta2s.size))
    for j0 in range(0, k, chunk):
        x = np.ascontiguousarray(g[:, j0 : j0 + chunk].T, dtype=dtype)  # (c, T)
        m_hat = _ema(x, k_m, np.zeros((x.shape[0], 1), dtype=dtype))[:, 0, :] / c1  # (c, T)
        v_hat = _ema(x * x, k_v, np.zeros((x.shape[0], beta2s.size), dtype=dtype)) / c2  # (c, L, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = m_hat[:, None, :] / (np.sqrt(v_hat) + eps)
        u[~(v_hat > 0)] = 0.0  # a coordinate that has seen only zeros has not moved
        mean_u[:, j0 : j0 + chunk] = u[..., burn:].mean(axis=-1, dtype=np.float64).T
        if grow.any():
            peak[grow, j0 : j0 + chunk] = _sustained(u[:, grow, :], window).T
    second = (g * g).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = float(np.where(second > 0, full * full / np.sqrt(second), 0.0).sum())
    contrib = mean_u * full  # each coordinate's share of the first-order descent, (L, k)
    if limit > 0:
        drift = contrib.sum(axis=1) / limit
        climbing = np.maximum(-contrib, 0.0).sum(axis=1) / limit
    else:
        drift, climbing = np.ones(beta2s.size), np.zeros(beta2s.size)
    update = np.quantile(peak, quantile, axis=1)
    return np.asarray(drift, dtype=float), update, climbing


def training_statistics(
    sample: ColumnSample,
    batch_size: int,
    *,
    beta1: float = 0.9,
    beta2s: Sequence[float] | None = None,
    eps: float = 1e-8,
    steps: int = 4000,
    quantile: float = 0.99,
    window: int = 10,
    seed: int = 0,
) -> TrainingStatistics:
    """rho_agg and the update statistic at one batch size for a ladder of beta2.

    Shapes: ``sample.values`` (P, N, k); the result's arrays (len(beta2s),).
    ``eps`` is your Adam epsilon in the units of the gradients (training units).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(0.5, 1.0, size=(1, 200, 3))
        >>> s = training_statistics(ColumnSample(x, np.arange(3), 3), 4, beta1=0.0,
        ...                         beta2s=[0.5, 0.999], steps=500)
        >>> bool((s.drift > 0).all()), bool(s.update[0] <= 1 / np.sqrt(1 - 0.5))
        (True, True)
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    beta1 = check_beta(beta1, "beta1")
    ladder = np.sort(_ladder(beta2s))
    eps = check_nonnegative_float(eps, "eps")
    steps = check_positive_int(steps, "steps")
    if steps < 20:
        raise InvalidParameterError(f"steps = {steps} is too short for the moments to mix: use at least 20")
    quantile = check_positive_float(quantile, "quantile")
    if quantile > 1:
        raise InvalidParameterError(f"quantile = {quantile:g} must be in (0, 1], e.g. 0.99")
    window = check_positive_int(window, "window")
    seed = check_seed(seed)
    rng = np.random.default_rng([seed, batch_size])
    drift = np.full(ladder.size, np.inf)
    update = np.zeros(ladder.size)
    climbing = np.zeros(ladder.size)
    burn = min(steps // 2, int(10 / max(1e-12, 1 - beta1)) + 10)
    for x in sample.values:
        g = _minibatch_means(x, batch_size, steps, rng)
        # float32 chains: the statistics agree with float64 to about 1e-4 relative, in half the time
        d_p, u_p, c_p = _point_statistics(g, x.mean(axis=0), beta1, ladder, eps, quantile, burn, window,
                                          dtype=np.float32)
        drift = np.minimum(drift, d_p)
        update = np.maximum(update, u_p)
        climbing = np.maximum(climbing, c_p)
    return TrainingStatistics(beta1, batch_size, ladder, drift, update, steps, climbing)


@dataclass(frozen=True)
class TrainingBoundary:
    """beta2*(B) at one beta1 for several batch sizes, with what sets it.

    ``critical_beta2_raw[i]`` is the smallest ladder beta2 such that it and every larger
    ladder value are predicted safe at ``batch_sizes[i]`` (0.0 when every ladder value is
    safe: "no danger found on this ladder"; NaN when even the top fails);
    ``critical_beta2[i]`` is the largest raw value at any batch size >= ``batch_sizes[i]``
    (non-increasing in B, see :func:`_monotone_envelope`). ``mechanism[i]`` names the
    failure mode of the ladder value just below it.
    """

    beta1: float
    batch_sizes: tuple[int, ...]
    critical_beta2: np.ndarray
    mechanism: tuple[str | None, ...]
    statistics: tuple[TrainingStatistics, ...]
    max_update: float
    max_climbing: float
    quantile: float
    window: int
    steps: tuple[int, ...]
    critical_beta2_raw: np.ndarray
    coordinates: int
    d: int

    def safe(self, batch_size: int, beta2: float) -> bool:
        """Predicted label of one cell (beta2 at or above beta2*(B))."""
        i = self.batch_sizes.index(batch_size)
        star = self.critical_beta2[i]
        return bool(np.isfinite(star) and beta2 >= star)

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1": self.beta1,
            "batch_sizes": list(self.batch_sizes),
            "critical_beta2": self.critical_beta2,
            "critical_beta2_raw": self.critical_beta2_raw,
            "mechanism": list(self.mechanism),
            "max_update": self.max_update,
            "max_climbing": self.max_climbing,
            "quantile": self.quantile,
            "window": self.window,
            "steps": list(self.steps),
            "coordinates_sampled": self.coordinates,
            "coordinates_total": self.d,
            "statistics": [
                {"batch_size": s.batch_size, "beta2": s.beta2s, "aggregate_drift_ratio": s.drift,
                 "climbing_share": s.climbing, "update_quantile": s.update}
                for s in self.statistics
            ],
        }


def _critical(stats: TrainingStatistics, max_update: float, max_climbing: float) -> tuple[float, str | None]:
    bad = stats.unsafe(max_update, max_climbing)
    why = stats.mechanism(max_update, max_climbing)
    if bad[-1]:
        return float("nan"), why[-1]
    if not bad.any():
        return 0.0, None
    last = int(np.flatnonzero(bad)[-1])
    return float(stats.beta2s[last + 1]), why[last]


def _monotone_envelope(sizes: Sequence[int], raw: np.ndarray, mech: list) -> tuple[np.ndarray, list]:
    """beta2*(B) = the largest raw value at any batch size >= B (NaN above every value).

    A batch of kB examples is the mean of k batches of B, so whatever endangers Adam at
    kB endangers it at B; a raw value that rises with B is the sampling noise of a
    statistic near its threshold, and the conservative side of it is kept.
    """
    order = np.argsort(sizes, kind="stable")
    key = np.where(np.isnan(raw), np.inf, raw)
    out, why = raw.copy(), list(mech)
    best, best_i = -np.inf, None
    for i in order[::-1]:
        if key[i] >= best:
            best, best_i = key[i], i
        out[i] = np.nan if np.isinf(best) else best
        why[i] = mech[best_i]
    return out, why


def _check_training_size(sample: CoordinateSample, sizes: Sequence[int], steps: Sequence[Any], rungs: int) -> None:
    """Refuse, before simulating, steps whose memory or time is beyond adamcheck's limits.

    Per batch size: a float64 (steps, k) array of mini-batch means plus moment chains
    computed in coordinate chunks (memory ~ 4 x 8 steps k bytes); work ~ P steps (N + B k
    + 10 rungs k) element operations for P points, N examples, k coordinates.
    """
    from .._limits import check_work

    P, N, k = sample.values.shape
    counts = [check_positive_int(n, "steps") for n in steps]
    nbytes = max(32.0 * n * k for n in counts)
    ops = sum(float(P) * n * (N + min(B, N) * k + 10 * rungs * k) for B, n in zip(sizes, counts))
    check_work(f"steps = {max(counts):,} at {len(sizes)} batch size(s) over {k:,} coordinates", nbytes=nbytes,
               ops=ops, fix="lower steps or the batch sizes")


def _ladder(beta2s: Any) -> np.ndarray:
    ladder = check_betas_array(DEFAULT_TRAINING_LADDER if beta2s is None else beta2s, "beta2s")
    if ladder.size == 0:
        raise InvalidParameterError("beta2s is empty: give at least one beta2 (or None for the default ladder)")
    return ladder


def _is_number(value: Any) -> bool:
    import numbers

    return isinstance(value, (numbers.Number, np.number)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def _listed(value: Any, name: str) -> list[Any]:
    """A number as a one-element list, a list (or array, tensor) as a list; anything else refused."""
    if _is_number(value):
        return [value]
    if isinstance(value, (str, bytes, dict, set)):
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not a list of whole numbers: "
                                    "give e.g. [1, 8, 64]")
    try:
        return list(value)
    except TypeError:
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not a list of whole numbers: "
                                    "give e.g. [1, 8, 64]") from None


@numpy_quiet
def training_boundary(
    gradients: Any,
    batch_sizes: Sequence[int],
    *,
    beta1: float = 0.9,
    beta2s: Sequence[float] | None = None,
    eps: float = 1e-8,
    steps: int | Sequence[int] = 4000,
    max_update: float = 2.0,
    max_climbing: float = 1.0,
    window: int = 10,
    quantile: float = 0.99,
    coordinates: int = 512,
    seed: int = 0,
    progress: bool = False,
) -> TrainingBoundary:
    """Predicted beta2*(B) for real training at ``beta1``, for every batch size.

    The file is read once (``coordinates`` seeded columns); see the module docstring for
    the two statistics and the constants that are adamcheck's choices.

    Args:
        gradients: per-example gradients (path(s), GradientSource or array (P, N, d)),
            mean-reduced per example, in training units (``eps`` compares with them).
        batch_sizes: the batch sizes B to predict for.
        beta1: Adam's beta1 in [0, 1).
        beta2s: the ladder of beta2 (default :data:`DEFAULT_TRAINING_LADDER`).
        eps: your Adam epsilon (default torch's 1e-8).
        steps: length of each simulated run (the planned run length, if affordable):
            one number, or one per batch size (a budget in epochs gives fewer steps to
            larger batches).
        max_update: largest tolerated window average of m_hat/(sqrt(v_hat)+eps), in
            units of the learning rate (adamcheck's choice, calibrated on the digits MLP).
        max_climbing: largest tolerated climbing share (adamcheck's choice, see above).
        window: the window of that average, in steps (adamcheck's choice).
        quantile: the share of sampled coordinates that must stay below ``max_update``.
        coordinates: how many coordinates to sample.
        seed: seeds the coordinates and the mini-batch draws.
        progress: a progress bar on stderr.

    Raises:
        adamcheck.InvalidParameterError: bad betas, sizes or constants.
        adamcheck.DataError: unreadable or non-finite gradients.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> # sparse, heavy-tailed per-example gradients: most examples give ~0
        >>> x = rng.normal(0.1, 1.0, (1, 400, 4)) * (rng.random((1, 400, 4)) < 0.05)
        >>> tb = training_boundary(x, [1, 64], beta1=0.9, steps=800)
        >>> bool(tb.critical_beta2[0] >= tb.critical_beta2[1])
        True
    """
    from .._progress import Progress

    progress = check_flag(progress, "progress")
    sizes = tuple(check_positive_int(b, "batch_sizes") for b in _listed(batch_sizes, "batch_sizes"))
    if not sizes:
        raise InvalidParameterError("batch_sizes is empty: give at least one batch size, e.g. [1, 8, 64]")
    max_update = check_positive_float(max_update, "max_update")
    max_climbing = check_positive_float(max_climbing, "max_climbing")
    rungs = _ladder(beta2s).size
    per_size = [steps] * len(sizes) if _is_number(steps) else _listed(steps, "steps")
    if len(per_size) != len(sizes):
        raise InvalidParameterError(
            f"steps has {len(per_size)} values for {len(sizes)} batch sizes: give one number or one per batch size"
        )
    sample = gradients if isinstance(gradients, ColumnSample) else sample_coordinates(
        gradients, coordinates, seed=seed, progress=progress
    )
    _check_training_size(sample, sizes, per_size, rungs)
    stats = []
    with Progress(len(sizes), "training boundary", enabled=progress) as bar:
        for B, n_steps in zip(sizes, per_size):
            stats.append(training_statistics(sample, B, beta1=beta1, beta2s=beta2s, eps=eps, steps=n_steps,
                                             quantile=quantile, window=window, seed=seed))
            bar.update()
    raw, mech = zip(*(_critical(s, max_update, max_climbing) for s in stats))
    crit, mech = _monotone_envelope(sizes, np.array(raw), list(mech))
    return TrainingBoundary(
        beta1=float(beta1), batch_sizes=sizes, critical_beta2=crit, mechanism=tuple(mech),
        statistics=tuple(stats), max_update=max_update, max_climbing=max_climbing, quantile=quantile,
        window=int(window), steps=tuple(s.steps for s in stats), critical_beta2_raw=np.array(raw),
        coordinates=int(sample.columns.size), d=sample.d,
    )
