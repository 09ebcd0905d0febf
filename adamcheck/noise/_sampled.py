"""Sampled coordinates and the file of sampled gradients, without any framework.

The monitors (:class:`adamcheck.torch.GradientMonitor`, :func:`adamcheck.optax.monitor`) and
:func:`adamcheck.torch.sample_per_example_gradients` share these, so that every framework
samples the same coordinates for the same seed and writes the same file.

Coordinate choice (:func:`choose_coordinates`): tensor t of size n_t gets
``max(floor_per_tensor, round(coordinates * n_t / d))`` coordinates (largest-remainder
rounding, at most n_t), drawn uniformly without replacement by
``numpy.random.default_rng(seed)`` in the order the tensors are given. The floor makes
small tensors (LayerNorm gains, biases) visible; it is adamcheck's choice, a parameter.

File (:func:`save_sampled_gradients`): the ``.npz`` that ``adamcheck estimate``,
``recommend --gradients`` and ``boundary --gradients`` read: ``grads`` (P, N, k) and the
scale keys ``reduction``, ``loss_scale``, ``mean_over``, plus provenance the readers
ignore: ``coord_param`` (k,) index into ``param_names``, ``coord_index`` (k,) flat
index inside that tensor, ``param_names``, ``param_sizes``, ``batch_size``, ``step``
(P,), ``dtype``, ``seed``, ``row_batch_size`` (1: rows are single examples). The
metadata keys and their meaning are those of :mod:`adamcheck.noise._meta` (the table
there); every key written is validated by the same
:class:`~adamcheck.noise._meta.GradientFileMeta` that the readers use, so a file this
writes is never refused by ``estimate``, ``recommend``, ``check`` or ``boundary``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_nonnegative_int, check_positive_int, check_seed
from ._meta import META_KEYS, GradientFileMeta
from ._npz import write_npz
from ._scale import GradientScale

__all__ = ["CoordinateSample", "choose_coordinates", "save_sampled_gradients"]


@dataclass(frozen=True)
class CoordinateSample:
    """Which coordinates are sampled: for column c, tensor ``names[param[c]]`` at flat ``index[c]``.

    Attributes:
        names: parameter names (``named_parameters()`` order).
        sizes: their numbers of elements.
        param: (k,) int64, the tensor of each sampled coordinate (index into ``names``).
        index: (k,) int64, the flat index inside that tensor; sorted within a tensor.
        seed: the seed that drew them.
    """

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    param: np.ndarray
    index: np.ndarray
    seed: int

    @property
    def size(self) -> int:
        """k, the number of sampled coordinates."""
        return int(self.index.size)

    def per_tensor(self) -> list[np.ndarray]:
        """Flat indices of each tensor (in ``names`` order), possibly empty."""
        return [self.index[self.param == t] for t in range(len(self.names))]


def choose_coordinates(
    named_sizes: Sequence[tuple[str, int]],
    coordinates: int = 4096,
    *,
    seed: int = 0,
    floor_per_tensor: int = 4,
) -> CoordinateSample:
    """Seeded coordinates spread over tensors in proportion to their size, with a floor.

    Math: with d = sum n_t, tensor t gets ``k_t = min(n_t, max(f, q_t))`` where q_t is
    ``coordinates * n_t / d`` rounded by largest remainders (so sum q_t = coordinates
    when no floor binds; floors can add up to ``f`` per tensor). Uniform without
    replacement within a tensor.

    Args:
        named_sizes: ``(name, numel)`` pairs.
        coordinates: target total k (all coordinates when d <= coordinates).
        seed: seed of ``numpy.random.default_rng``.
        floor_per_tensor: f, the least per tensor (adamcheck's choice, not a paper's).

    Raises:
        InvalidParameterError: no tensors, a non-positive size or bad counts.

    Example:
        >>> s = choose_coordinates([("w", 1000), ("b", 10)], coordinates=100, floor_per_tensor=4)
        >>> [len(i) for i in s.per_tensor()], s.size
        ([99, 4], 103)
    """
    coordinates = check_positive_int(coordinates, "coordinates")
    floor = check_nonnegative_int(floor_per_tensor, "floor_per_tensor")
    seed = check_seed(seed)
    names = [str(n) for n, _ in named_sizes]
    sizes = np.array([int(s) for _, s in named_sizes], dtype=np.int64)
    if not names:
        raise InvalidParameterError("no parameters to sample: give a model with trainable parameters")
    if (sizes <= 0).any():
        raise InvalidParameterError("every parameter tensor must have at least one element")
    total = int(sizes.sum())
    if coordinates >= total:
        counts = sizes.copy()
    else:
        quota = coordinates * sizes / total
        counts = np.floor(quota).astype(np.int64)
        short = coordinates - int(counts.sum())
        if short > 0:  # largest remainders, ties by tensor order (stable sort)
            order = np.argsort(-(quota - counts), kind="stable")[:short]
            counts[order] += 1
        counts = np.minimum(sizes, np.maximum(counts, floor))
    rng = np.random.default_rng(seed)
    params, index = [], []
    for t, (n, k) in enumerate(zip(sizes.tolist(), counts.tolist())):
        if k == 0:
            continue
        pick = np.arange(n, dtype=np.int64) if k == n else np.sort(rng.choice(n, size=k, replace=False))
        params.append(np.full(k, t, dtype=np.int64))
        index.append(pick.astype(np.int64))
    return CoordinateSample(
        names=tuple(names), sizes=tuple(int(s) for s in sizes), param=np.concatenate(params),
        index=np.concatenate(index), seed=seed,
    )


def save_sampled_gradients(
    path: str | os.PathLike,
    grads: Any,
    sample: CoordinateSample,
    *,
    batch_size: int | None = None,
    step: Any = None,
    reduction: str = "mean",
    loss_scale: float = 1.0,
    dtype: str = "float32",
    row_batch_size: int = 1,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write (N, k) or (P, N, k) sampled gradients as the ``.npz`` the CLI reads.

    Keys: see the module docstring. ``row_batch_size`` R > 1 says each row is a
    mini-batch gradient of R examples (what :class:`GradientMonitor` records); every
    command then builds a batch of B examples from B / R rows. ``extra`` adds keys, such
    as the run's settings of :mod:`adamcheck.noise._meta` (``beta1``, ``eps``, ``lr``,
    ``planned_steps``, ``writer``...), which the readers take as defaults.

    Raises:
        DataError: gradients that are not a float (N, k) / (P, N, k) array matching the sample.
        InvalidParameterError: a path not ending in ``.npz``, bad scale values, an ``extra``
            metadata value that the readers would refuse (naming the key).

    Example:
        >>> import tempfile, pathlib
        >>> from adamcheck.noise import open_gradients
        >>> s = choose_coordinates([("w", 3)], coordinates=3)
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "run.npz"
        >>> _ = save_sampled_gradients(f, np.ones((8, 3), np.float32), s, batch_size=4, row_batch_size=4,
        ...                            extra={"beta1": 0.9})
        >>> with open_gradients(f) as src:
        ...     src.meta.row_batch_size, src.meta.beta1, src.batch_rows(8)
        (4, 0.9, 2)
    """
    scale = GradientScale(reduction, loss_scale, 1)
    arr = np.asarray(grads)
    if arr.ndim not in (2, 3) or arr.dtype.kind != "f":
        raise DataError(f"gradients must be a float array of shape (N, k) or (P, N, k), got {arr.shape} {arr.dtype}")
    if arr.shape[-1] != sample.size:
        raise DataError(f"gradients have {arr.shape[-1]} columns but the sample has {sample.size} coordinates")
    if arr.ndim == 2:
        arr = arr[None]
    path = Path(path)
    if path.suffix != ".npz":
        raise InvalidParameterError(f"{str(path)!r} must end in .npz")
    steps = np.full(arr.shape[0], -1, dtype=np.int64) if step is None else np.asarray(step, dtype=np.int64).reshape(-1)
    if steps.size != arr.shape[0]:
        raise DataError(f"{steps.size} steps for {arr.shape[0]} points: give one step per point")
    arrays: dict[str, Any] = {
        "grads": np.ascontiguousarray(arr),
        "reduction": np.asarray(scale.reduction),
        "loss_scale": np.asarray(scale.loss_scale),
        "mean_over": np.asarray(1),
        "row_batch_size": np.asarray(check_positive_int(row_batch_size, "row_batch_size")),
        "coord_param": sample.param,
        "coord_index": sample.index,
        "param_names": np.asarray(list(sample.names), dtype=str),
        "param_sizes": np.asarray(sample.sizes, dtype=np.int64),
        "batch_size": np.asarray(-1 if batch_size is None else check_positive_int(batch_size, "batch_size")),
        "step": steps,
        "dtype": np.asarray(str(dtype)),
        "seed": np.asarray(sample.seed),
    }
    for k, v in (extra or {}).items():
        arrays[k] = np.asarray(v)
    try:  # the readers' validator: never write a file they refuse
        GradientFileMeta.from_mapping({k: arrays[k] for k in META_KEYS if k in arrays}, str(path))
    except DataError as exc:
        raise InvalidParameterError(str(exc)) from None
    return write_npz(path, arrays)
