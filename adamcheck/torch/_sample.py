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

Coordinate choice (:func:`choose_coordinates`) and the file (:func:`save_sampled_gradients`)
are framework-free (:mod:`adamcheck.noise._sampled`, shared with :mod:`adamcheck.optax`),
imported here under their public names.

References:
    torch.func documentation, "Per-sample-gradients" tutorial (functional_call, vmap, grad).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_positive_float, check_positive_int

__all__ = [
    "CoordinateSample",
    "SampledGradients",
    "choose_coordinates",
    "sample_per_example_gradients",
    "save_sampled_gradients",
]


from ._params import _import_torch  # noqa: E402
from ._params import trainable  # noqa: E402,F401 - shared with adamcheck.torch._grads
# framework-free, shared with adamcheck.optax (same coordinates for the same seed, same file)
from ..noise._sampled import CoordinateSample, choose_coordinates, save_sampled_gradients  # noqa: E402


def import_torch() -> Any:
    return _import_torch("adamcheck.torch needs")


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
    from torch.func import functional_call, grad, vmap  # optional: torch

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
