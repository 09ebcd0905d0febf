"""Mergeable sufficient statistics of per-example gradients: one pass, O(d) memory.

Everything the noise constants need from the full data set is a sum over examples,
so chunk results combine by addition, associatively: over a file in chunks, over
several files, across threads or processes (``torch.distributed`` all-reduce of
:meth:`NoiseAccumulator.to_vector`) the merged state is the state of one pass.

State, per sampled point p (the examples are split into G groups, see below):

* ``count[p, g]``   number of examples in group g,
* ``gsum[p, g]``    sum of their gradients (d-vector),
* ``gsq[p, g]``     sum of their squared norms ||grad ell_j||^2,
* ``csq[p]``        per-coordinate sums of squares (d-vector, optional).

Groups carry the bootstrap over examples (:mod:`._constants`): consecutive examples are
cut into resampling units of ``unit`` examples (unit j // unit), and each unit goes to
group ``hash(unit, seed) mod G``. The assignment depends only on the example's global
index and the seed, never on how the data were chunked, so merged states agree.
Units of more than one example are what make the pass fast (block sums need no gather);
with the file in random order they change nothing, and if the file's order correlates
with the gradients (sorted by class) they widen the intervals, never narrow them.
``unit = 1`` gives the plain bootstrap over examples.

Memory: G x d float64 per point (G <= 64, fewer for very large d) plus one chunk.

Example:
    >>> import numpy as np
    >>> x = np.arange(12.0).reshape(4, 3)
    >>> cfg = AccumulatorConfig(points=1, dim=3, groups=2, unit=1, seed=0)
    >>> a, b = NoiseAccumulator(cfg), NoiseAccumulator(cfg)
    >>> a.update(0, 0, x[:1]); b.update(0, 1, x[1:])
    >>> whole = NoiseAccumulator(cfg); whole.update(0, 0, x)
    >>> bool(np.allclose((a + b).gsum, whole.gsum))
    True
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_positive_int, check_seed, nonfinite_gradients, zero_gradients

__all__ = ["AccumulatorConfig", "NoiseAccumulator", "accumulate", "make_config", "group_of"]

#: Bytes of group sums per point we allow before using fewer groups (very large d).
_GROUP_BUDGET = 1 << 26
_MIX = np.uint64(0x9E3779B97F4A7C15)


def group_of(unit_index: np.ndarray, seed: int, groups: int) -> np.ndarray:
    """Group of each resampling unit: SplitMix64(unit + seed * golden) mod groups.

    A fixed integer hash (not a generator stream), so the group of an example does not
    depend on chunking, threads or processes.

    >>> group_of(np.arange(5), seed=0, groups=4).tolist()
    [3, 1, 2, 1, 2]
    """
    with np.errstate(over="ignore"):
        z = np.asarray(unit_index, dtype=np.uint64) + np.uint64(seed) * _MIX + _MIX
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z % np.uint64(groups)).astype(np.intp)


@dataclass(frozen=True)
class AccumulatorConfig:
    """Shape and grouping of an accumulator; states merge only under equal configs.

    Attributes:
        points: P, sampled points.
        dim: d, coordinates.
        groups: G, bootstrap groups.
        unit: examples per resampling unit (consecutive examples).
        seed: seed of the unit-to-group hash.
        identity: if True the group of a unit is the unit itself (used when there are
            no more units than groups: the bootstrap is then exactly over units).
        coordinate_moments: keep per-coordinate sums of squares.
    """

    points: int
    dim: int
    groups: int
    unit: int
    seed: int
    identity: bool = False
    coordinate_moments: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_config(
    examples: int,
    dim: int,
    points: int = 1,
    *,
    groups: int = 64,
    unit: int | None = None,
    seed: int = 0,
    coordinate_moments: bool = True,
) -> AccumulatorConfig:
    """Choose the grouping for N examples: the default unit keeps >= 64 units per group.

    ``unit = clip(N // (64 G), 1, 16)``: 1 (plain bootstrap over examples) for small
    data sets, up to 16 consecutive examples for large ones, where it makes the pass
    several times faster. G shrinks below ``groups`` when G x d x 8 bytes would pass
    64 MiB per point. With N/unit <= G every unit is its own group.
    """
    examples = check_positive_int(examples, "number of examples")
    dim = check_positive_int(dim, "dimension")
    points = check_positive_int(points, "number of points")
    groups = check_positive_int(groups, "groups")
    seed = check_seed(seed)
    groups = max(2, min(groups, _GROUP_BUDGET // (8 * dim)))
    if unit is None:
        unit = int(np.clip(examples // (64 * groups), 1, 16))
    unit = check_positive_int(unit, "unit")
    units = -(-examples // unit)
    identity = units <= groups
    if identity:
        groups = units
    return AccumulatorConfig(points, dim, groups, unit, seed, identity, coordinate_moments)


class NoiseAccumulator:
    """Sums over examples, kept per point and per bootstrap group (see module doc)."""

    def __init__(self, config: AccumulatorConfig) -> None:
        self.config = config
        P, G, d = config.points, config.groups, config.dim
        self.count = np.zeros((P, G), dtype=np.float64)
        self.gsum = np.zeros((P, G, d), dtype=np.float64)
        self.gsq = np.zeros((P, G), dtype=np.float64)
        self.csq = np.zeros((P, d), dtype=np.float64) if config.coordinate_moments else None

    # -- update -----------------------------------------------------------------------
    def _groups(self, units: np.ndarray) -> np.ndarray:
        cfg = self.config
        if cfg.identity:
            return units.astype(np.intp)
        return group_of(units, cfg.seed, cfg.groups)

    def update(self, p: int, start: int, rows: np.ndarray) -> None:
        """Add examples ``start .. start+len(rows)-1`` (global indices) of point ``p``.

        ``rows`` is (r, d), float32 or float64. Whole units go through two passes over
        the chunk: block sums, and per-unit per-coordinate sums of squares
        (``einsum('bij,bij->bj')``, which gives both the squared norms and the
        per-coordinate moments); rows of units cut by the chunk edge go one by one.
        Float32 rows are summed in float32 over one unit (<= 16 rows), then in float64.
        """
        r = rows.shape[0]
        if r == 0:
            return
        if rows.ndim != 2 or rows.shape[1] != self.config.dim:
            raise DataError(f"chunk has shape {rows.shape}, expected (rows, {self.config.dim})")
        b = self.config.unit
        G = self.config.groups
        a0 = min((-start) % b, r)
        nb = (r - a0) // b
        a1 = a0 + nb * b
        if nb > 0:
            blocks = rows[a0:a1].reshape(nb, b, -1)
            groups = self._groups(np.arange(nb, dtype=np.int64) + (start + a0) // b)
            sq = np.einsum("bij,bij->bj", blocks, blocks).astype(np.float64, copy=False)
            if self.csq is not None:
                self.csq[p] += sq.sum(axis=0)
            self.gsq[p] += np.bincount(groups, weights=sq.sum(axis=1), minlength=G)
            self.count[p] += b * np.bincount(groups, minlength=G)
            sums = blocks[:, 0] if b == 1 else blocks.sum(axis=1)
            _scatter_add(self.gsum[p], groups, sums)
        for lo, hi in ((0, a0), (a1, r)):
            if hi > lo:
                self._add_rows(p, start + lo, rows[lo:hi])

    def _add_rows(self, p: int, start: int, rows: np.ndarray) -> None:
        groups = self._groups(np.arange(start, start + rows.shape[0], dtype=np.int64) // self.config.unit)
        G = self.config.groups
        norms = np.einsum("ij,ij->i", rows, rows).astype(np.float64, copy=False)
        self.count[p] += np.bincount(groups, minlength=G)
        self.gsq[p] += np.bincount(groups, weights=norms, minlength=G)
        if self.csq is not None:
            self.csq[p] += np.einsum("ij,ij->j", rows, rows)
        _scatter_add(self.gsum[p], groups, rows)

    # -- merging ----------------------------------------------------------------------------
    def merge(self, other: "NoiseAccumulator") -> "NoiseAccumulator":
        """A new accumulator holding the sums of both (configs must match)."""
        if other.config != self.config:
            raise InvalidParameterError(
                "cannot merge accumulators built with different settings "
                f"({self.config} vs {other.config}): use one AccumulatorConfig everywhere"
            )
        out = NoiseAccumulator(self.config)
        out.count = self.count + other.count
        out.gsum = self.gsum + other.gsum
        out.gsq = self.gsq + other.gsq
        if self.csq is not None:
            out.csq = self.csq + other.csq
        return out

    __add__ = merge

    def to_vector(self) -> np.ndarray:
        """The whole state as one float64 vector (for all-reduce); counts stay exact < 2**53."""
        parts = [self.count.ravel(), self.gsq.ravel(), self.gsum.ravel()]
        if self.csq is not None:
            parts.append(self.csq.ravel())
        return np.concatenate(parts)

    @classmethod
    def from_vector(cls, config: AccumulatorConfig, vector: Any) -> "NoiseAccumulator":
        acc = cls(config)
        vec = np.asarray(vector, dtype=np.float64).ravel()
        sizes = [acc.count.size, acc.gsq.size, acc.gsum.size] + ([acc.csq.size] if acc.csq is not None else [])
        if vec.size != sum(sizes):
            raise DataError(f"accumulator vector has {vec.size} entries, expected {sum(sizes)}")
        pieces = np.split(vec, np.cumsum(sizes)[:-1])
        acc.count = pieces[0].reshape(acc.count.shape).copy()
        acc.gsq = pieces[1].reshape(acc.gsq.shape).copy()
        acc.gsum = pieces[2].reshape(acc.gsum.shape).copy()
        if acc.csq is not None:
            acc.csq = pieces[3].reshape(acc.csq.shape).copy()
        return acc

    # -- totals -------------------------------------------------------------------------
    def examples(self, p: int = 0) -> int:
        return int(round(self.count[p].sum()))

    def total_sum(self, p: int) -> np.ndarray:
        return self.gsum[p].sum(axis=0)

    def total_sq(self, p: int) -> float:
        return float(self.gsq[p].sum())

    def is_finite(self) -> bool:
        ok = np.isfinite(self.gsq).all() and np.isfinite(self.gsum).all()
        if self.csq is not None:
            ok = ok and np.isfinite(self.csq).all()
        return bool(ok)


def _scatter_add(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """target[index[k]] += values[k] (repeated indices add up), in float64.

    A Python loop for few rows (each add is one vectorised d-long add, far cheaper
    than ``np.add.at``); sorted segment sums when there are many short rows.
    """
    n = values.shape[0]
    if n <= 256:
        for k, g in enumerate(index.tolist()):
            target[g] += values[k]
        return
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_index[1:] != sorted_index[:-1]]))
    sums = np.add.reduceat(values[order].astype(np.float64, copy=False), starts, axis=0)
    target[sorted_index[starts]] += sums


# --------------------------------------------------------------------------------------
def accumulate(
    source: Any,
    config: AccumulatorConfig,
    *,
    start: int = 0,
    stop: int | None = None,
    workers: int | None = None,
    chunk_bytes: int = 4 << 20,
    on_chunk: Callable[[int], None] | None = None,
    on_block: Callable[[int, int, np.ndarray], None] | None = None,
) -> NoiseAccumulator:
    """One pass over examples ``start..stop-1`` of every point of ``source``.

    Args:
        source: a :class:`~adamcheck.noise.GradientSource`.
        config: from :func:`make_config` (the same one in every shard to be merged).
        start, stop: the shard of examples (global indices) this call covers.
        workers: threads (default 1); each takes a contiguous part of the shard with
            its own accumulator, merged in a fixed order at the end. 2 helps on an idle
            multi-core machine and hurts on a busy one (measured: benchmarks/README.md);
            the result differs from 1 thread only in float summation order.
        chunk_bytes: size of one read (the memory beyond the O(G d) state); 4 MiB keeps
            a chunk in cache for the passes over it.
        on_chunk: called with the number of examples after each chunk (progress).
        on_block: called with ``(point, first example, block)`` for each chunk read, one
            call at a time, so another reader of the same pass (the coordinate sample's
            non-zero columns) needs no pass of its own.

    Raises:
        DataError: a gradient entry is NaN or infinite (with its position), or a pass over
            the whole file found every entry exactly zero.
    """
    stop = source.examples if stop is None else stop
    if not 0 <= start <= stop <= source.examples:
        raise InvalidParameterError(f"shard {start}..{stop} is outside 0..{source.examples}")
    b = config.unit
    itemsize = max(s.dtype.itemsize for s in source.segments)
    rows = max(b, (chunk_bytes // max(1, config.dim * itemsize)) // b * b)
    workers = 1 if workers is None else max(1, int(workers))
    span = stop - start
    if span < 4 * rows or workers == 1:
        workers = 1
    # cut points aligned to units, so each unit is summed by one worker
    cuts = [start] + [start + (span * k // workers) // b * b for k in range(1, workers)] + [stop]
    cuts = sorted(set(max(start, min(stop, c)) for c in cuts))
    lock = threading.Lock()

    def run(lo: int, hi: int) -> NoiseAccumulator:
        acc = NoiseAccumulator(config)
        for p in range(source.points):
            for j, block in source.iter_chunks(p, lo, hi, rows):
                acc.update(p, j, block)
                if on_chunk is not None or on_block is not None:
                    with lock:
                        if on_block is not None:
                            on_block(p, j, block)
                        if on_chunk is not None:
                            on_chunk(block.shape[0])
        return acc

    shards = list(zip(cuts[:-1], cuts[1:]))
    if len(shards) == 1:
        results = [run(*shards[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(shards)) as pool:
            results = list(pool.map(lambda ab: run(*ab), shards))
    total = results[0]
    for extra in results[1:]:
        total = total.merge(extra)
    if not total.is_finite():
        _raise_nonfinite(source, start, stop, rows)
    if start == 0 and stop == source.examples and stop > 0 and not total.gsq.any():
        raise zero_gradients()  # a whole file of zeros; one shard of zeros can be real
    return total


def _raise_nonfinite(source: Any, start: int, stop: int, rows: int) -> None:
    for p in range(source.points):
        for j, block in source.iter_chunks(p, start, stop, rows):
            bad = ~np.isfinite(block)
            if bad.any():
                i, k = (int(v) for v in np.argwhere(bad)[0])
                raise nonfinite_gradients(p, j + i, k)
    raise DataError(
        "gradient norms overflow float64: rescale the gradients (e.g. undo the loss scale) first"
    )
