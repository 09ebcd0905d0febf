"""Coordinate-sampled per-example gradients of any ``torch.nn.Module``.

A real model has d = 10^8 coordinates; the calibrated lens needs only a few thousand
(the drift ratio is per coordinate, docs/theory.md section 9). This module picks a seeded
subset of coordinates spread over the parameter tensors and computes per-example
gradients there only, with ``torch.func`` (``functional_call`` + ``vmap(grad)``) in
chunks of examples.

Memory: the gather happens inside the vmapped function, so one chunk materialises its
``chunk_size x d`` per-example gradients transiently (autograd needs them) and keeps
only ``chunk_size x coordinates``; the result is ``N x coordinates``. The full
``N x d`` array never exists.

Coordinate choice (:func:`choose_coordinates`): tensor t of size n_t gets
``max(floor_per_tensor, round(coordinates * n_t / d))`` coordinates (largest-remainder
rounding, at most n_t), drawn uniformly without replacement by
``numpy.random.default_rng(seed)`` in ``named_parameters()`` order. The floor makes
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

References:
    torch.func documentation, "Per-sample-gradients" tutorial (functional_call, vmap, grad).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_nonnegative_int, check_positive_float, check_positive_int, check_seed

__all__ = [
    "CoordinateSample",
    "SampledGradients",
    "choose_coordinates",
    "sample_per_example_gradients",
    "save_sampled_gradients",
]


from ..noise._torch import trainable  # noqa: E402,F401 - shared with adamcheck.noise


def import_torch() -> Any:
    from ..noise._torch import _import_torch

    return _import_torch("adamcheck.torch needs")


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


@dataclass(frozen=True)
class SampledGradients:
    """Per-example gradients at sampled coordinates.

    Attributes:
        grads: (N, k) array; row j is ``loss_scale * grad loss_fn(model(x_j), y_j)`` at
            the sampled coordinates (each example differentiated on its own).
        sample: the :class:`CoordinateSample` (column c is coordinate c of it).
        loss_scale: the factor applied to the loss.
        dtype: the model's parameter dtype (as a string).
    """

    grads: np.ndarray
    sample: CoordinateSample
    loss_scale: float
    dtype: str


def sample_per_example_gradients(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    inputs: Any,
    targets: Any,
    *,
    coordinates: int = 4096,
    seed: int = 0,
    chunk_size: int = 64,
    floor_per_tensor: int = 4,
    params: Sequence[str] | None = None,
    sample: CoordinateSample | None = None,
    loss_scale: float = 1.0,
    dtype: Any = np.float32,
) -> SampledGradients:
    """Per-example gradients of ``model`` at a seeded sample of coordinates, shape (N, k).

    Math: row j, column c is ``s * d loss_fn(model(x_j), y_j) / d theta_{t_c}[i_c]`` for
    the coordinates ``(t_c, i_c)`` of :func:`choose_coordinates` (or ``sample``), each
    example differentiated alone (a batch of one), so the rows are the canonical
    ``grad ell_j`` times ``s = loss_scale`` whatever the reduction of ``loss_fn``.

    Args:
        model: a ``torch.nn.Module``. Examples must not interact: use ``model.eval()``
            or disable dropout (vmap refuses random ops) and avoid batch norm.
        loss_fn: ``loss_fn(output, target) -> scalar`` for a batch of one example
            (``output`` is whatever the model returns, e.g. a transformers ``ModelOutput``).
        inputs, targets: tensors with the examples along dimension 0.
        coordinates, seed, floor_per_tensor: the coordinate sample (ignored when
            ``sample`` is given).
        chunk_size: examples per vmapped call; peak memory ~ chunk_size x d floats.
        params: parameter names to sample from (default: all that require grad).
        sample: reuse a :class:`CoordinateSample` (e.g. across checkpoints).
        loss_scale: multiply the loss by this (record a mixed-precision scale).
        dtype: dtype of the returned array.

    Returns:
        :class:`SampledGradients`.

    Raises:
        InvalidParameterError: unknown parameter names, a ``sample`` for other tensors,
            a loss that is not a scalar.
        DataError: different numbers of inputs and targets, no examples.

    Example:
        >>> import torch
        >>> torch.manual_seed(0) and None
        >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> x, y = torch.randn(6, 3), torch.randn(6, 1)
        >>> out = sample_per_example_gradients(model, torch.nn.functional.mse_loss, x, y,
        ...                                    coordinates=5, floor_per_tensor=1)
        >>> out.grads.shape, out.sample.names
        ((6, 6), ('0.weight', '0.bias', '2.weight', '2.bias'))

    References:
        torch.func "Per-sample-gradients" tutorial; docs/theory.md section 9 (why per coordinate).
    """
    torch = import_torch()
    from torch.func import functional_call, grad, vmap

    chunk_size = check_positive_int(chunk_size, "chunk_size")
    loss_scale = check_positive_float(loss_scale, "loss_scale")
    chosen = trainable(model, params)
    if sample is None:
        sample = choose_coordinates([(k, v.numel()) for k, v in chosen], coordinates, seed=seed,
                                    floor_per_tensor=floor_per_tensor)
    elif tuple(k for k, _ in chosen) != sample.names or tuple(v.numel() for _, v in chosen) != sample.sizes:
        raise InvalidParameterError(
            "the coordinate sample was drawn for other parameters: draw it from this model "
            "(or pass params= with the sample's names)"
        )
    if len(inputs) != len(targets):
        raise DataError(f"{len(inputs)} inputs but {len(targets)} targets: give one target per input")
    if len(inputs) == 0:
        raise DataError("no examples given: pass at least one input and target")
    names = list(sample.names)
    live = {k: v.detach() for k, v in chosen}
    named_all = dict(model.named_parameters())
    fixed = {k: v.detach() for k, v in named_all.items() if k not in live}
    fixed.update({k: v.detach() for k, v in model.named_buffers()})
    device = next(iter(live.values())).device
    idx = {n: torch.as_tensor(i, device=device) for n, i in zip(names, sample.per_tensor())}
    used = [n for n in names if idx[n].numel()]

    def loss_one(p: dict[str, Any], x: Any, y: Any) -> Any:
        out = functional_call(model, {**fixed, **p}, (x.unsqueeze(0),))
        loss = loss_fn(out, y.unsqueeze(0))
        if loss.dim() != 0:
            raise InvalidParameterError("loss_fn must return a scalar for one example")
        return loss * loss_scale

    grad_one = grad(loss_one)

    def sampled(p: dict[str, Any], x: Any, y: Any) -> Any:
        # gather inside vmap: the chunk's full per-example gradients are dropped at once
        g = grad_one(p, x, y)
        return torch.cat([g[n].reshape(-1).index_select(0, idx[n]) for n in used])

    batched = vmap(sampled, in_dims=(None, 0, 0))
    out = np.empty((len(inputs), sample.size), dtype=dtype)
    for a in range(0, len(inputs), chunk_size):
        block = batched(live, inputs[a : a + chunk_size], targets[a : a + chunk_size])
        out[a : a + block.shape[0]] = block.detach().cpu().numpy()
    dtype_name = str(next(iter(live.values())).dtype).replace("torch.", "")
    return SampledGradients(grads=out, sample=sample, loss_scale=loss_scale, dtype=dtype_name)


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
    from ..noise._npz import write_npz
    from ..noise._scale import GradientScale

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
    from ..noise._meta import META_KEYS, GradientFileMeta

    try:  # the readers' validator: never write a file they refuse
        GradientFileMeta.from_mapping({k: arrays[k] for k in META_KEYS if k in arrays}, str(path))
    except DataError as exc:
        raise InvalidParameterError(str(exc)) from None
    return write_npz(path, arrays)
