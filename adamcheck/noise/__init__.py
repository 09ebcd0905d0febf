"""Noise constants from per-example gradients: the checker's eyes.

From per-example gradients sampled from a model, estimate what decides whether Adam
converges at a batch size (docs/theory.md sections 2, 8, 9): the full gradient, the
per-example variance, the mini-batch second moment, the (D0, D1) frontier for the
mini-batch partition, the gradient noise scale B_simple (exact and two-batch), and
per-coordinate laws of the mini-batch gradient for the critical-boundary code, with
bootstrap intervals. One streaming pass with mergeable state (chunks, files, threads
and processes combine by addition), O(d) memory plus one chunk.

Entry points: :func:`estimate` (everything, as ``adamcheck estimate``),
:func:`minibatch_laws` (the hand-off to the drift ratio), and the building blocks
:func:`open_gradients` (every command's loader of gradient files, with their validated
metadata :class:`GradientFileMeta`), :func:`accumulate`, :func:`noise_constants`,
:func:`partition_constants`, :func:`two_batch_estimate`, :func:`d_frontier`.
torch helpers (extra ``adamcheck[torch]``, imported lazily):
:func:`per_example_gradients`, :func:`save_per_example_gradients`,
:func:`all_reduce_accumulator`.
"""

from __future__ import annotations


from .._lazy import lazy_exports
from ._accumulate import AccumulatorConfig, NoiseAccumulator, accumulate, make_config
from ._constants import NoiseConstants, minibatch_factor, noise_constants
from ._estimate import EstimateSettings, NoiseEstimate, estimate, load_laws, minibatch_laws, run_estimate, save_laws
from ._frontier import d_frontier
from ._sampling import (
    MiniBatchSample,
    PartitionConstants,
    TwoBatchEstimate,
    partition_constants,
    sample_minibatches,
    two_batch_estimate,
)
from ._scale import GradientScale
from ._meta import GradientFileMeta
from ._signal import read_signal
from ._source import GradientSource, open_gradients, opened_gradients

__all__ = [
    "AccumulatorConfig",
    "GradientFileMeta",
    "GradientScale",
    "GradientSource",
    "MiniBatchSample",
    "NoiseAccumulator",
    "NoiseConstants",
    "EstimateSettings",
    "NoiseEstimate",
    "PartitionConstants",
    "TwoBatchEstimate",
    "accumulate",
    "accumulate_distributed",
    "all_reduce_accumulator",
    "d_frontier",
    "estimate",
    "run_estimate",
    "load_laws",
    "make_config",
    "minibatch_factor",
    "minibatch_laws",
    "noise_constants",
    "open_gradients",
    "opened_gradients",
    "partition_constants",
    "per_example_gradients",
    "read_signal",
    "sample_minibatches",
    "save_laws",
    "save_per_example_gradients",
    "shard_bounds",
    "two_batch_estimate",
]

# torch-backed helpers load torch only when first used.
_TORCH = {
    "per_example_gradients": "._torch",
    "save_per_example_gradients": "._torch",
    "all_reduce_accumulator": "._distributed",
    "accumulate_distributed": "._distributed",
    "shard_bounds": "._distributed",
}


__getattr__, __dir__ = lazy_exports(__name__, _TORCH, globals())
