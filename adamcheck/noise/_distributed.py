"""Accumulators across processes with ``torch.distributed`` (extra ``adamcheck[torch]``).

The accumulator state is a vector of sums (:meth:`NoiseAccumulator.to_vector`), so one
``all_reduce(SUM)`` merges every process's shard into the state of a single pass. Shards
are cut at multiples of the resampling unit so that no unit is split (the bootstrap
groups, which depend only on global example indices, are then the same as in one pass).

Example (in each of ``world_size`` processes after ``init_process_group``)::

    src = open_gradients("grads.npy")
    cfg = make_config(src.examples, src.dim, src.points, seed=0)
    acc = accumulate_distributed(src, cfg)        # identical on every rank
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._accumulate import AccumulatorConfig, NoiseAccumulator, accumulate

__all__ = ["all_reduce_accumulator", "accumulate_distributed", "shard_bounds"]


def shard_bounds(examples: int, rank: int, world_size: int, unit: int = 1) -> tuple[int, int]:
    """Examples ``[lo, hi)`` of ``rank`` out of ``world_size``, cut at multiples of ``unit``.

    >>> [shard_bounds(10, r, 3, unit=2) for r in range(3)]
    [(0, 2), (2, 6), (6, 10)]
    """
    cut = lambda k: min(examples, (examples * k // world_size) // unit * unit)  # noqa: E731
    lo = cut(rank)
    hi = examples if rank == world_size - 1 else cut(rank + 1)
    return lo, hi


def all_reduce_accumulator(acc: NoiseAccumulator, group: Any = None) -> NoiseAccumulator:
    """Sum ``acc`` over all processes of ``group`` (default: the world); returns the merged state."""
    import torch  # optional: torch
    import torch.distributed as dist  # optional: torch

    vec = torch.from_numpy(np.ascontiguousarray(acc.to_vector()))
    dist.all_reduce(vec, op=dist.ReduceOp.SUM, group=group)
    return NoiseAccumulator.from_vector(acc.config, vec.numpy())


def accumulate_distributed(source: Any, config: AccumulatorConfig, group: Any = None, **kwargs: Any) -> NoiseAccumulator:
    """Each rank accumulates its shard of the examples, then all ranks all-reduce."""
    import torch.distributed as dist  # optional: torch

    rank, world = dist.get_rank(group), dist.get_world_size(group)
    lo, hi = shard_bounds(source.examples, rank, world, config.unit)
    local = accumulate(source, config, start=lo, stop=hi, **kwargs)
    return all_reduce_accumulator(local, group)
