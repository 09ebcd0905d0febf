"""Per-example gradients of a torch model with ``torch.func`` (extra ``adamcheck[torch]``).

``vmap(grad(loss of one example))`` gives every example's gradient in one batched call,
without per-example loops, and writes them in the format ``adamcheck estimate`` reads.
torch is imported inside the functions, never at ``import adamcheck``.

Each example is differentiated on its own (a batch of one), so the rows are the
canonical ``grad ell_j`` times the loss scale you apply, whatever the reduction of
``loss_fn`` (mean and sum agree on one example): ``mean_over = 1``.

References:
    torch.func documentation, "Per-sample-gradients" tutorial (functional_call, vmap, grad).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import check_positive_float, check_positive_int
from ._scale import GradientScale

__all__ = ["per_example_gradients", "save_per_example_gradients"]


def _import_torch(what: str = "per-example gradients from a model need") -> Any:
    """torch, or our error saying what needs it and how to install it."""
    try:
        import torch
    except ImportError:  # pragma: no cover - exercised only without torch
        raise InvalidParameterError(f"{what} torch: pip install 'adamcheck[torch]'") from None
    return torch


def trainable(model: Any, params: Sequence[str] | None) -> list[tuple[str, Any]]:
    """(name, parameter) pairs to differentiate: ``params`` by name, or every trainable one."""
    named = dict(model.named_parameters())
    if params is None:
        names = [k for k, v in named.items() if v.requires_grad]
    else:
        names = list(params)
        unknown = [k for k in names if k not in named]
        if unknown:
            raise InvalidParameterError(f"model has no parameter(s) {unknown}: choose from {list(named)}")
    if not names:
        raise InvalidParameterError("no parameters to differentiate: pass params=[...] names")
    return [(k, named[k]) for k in names]


def per_example_gradients(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    inputs: Any,
    targets: Any,
    *,
    params: Sequence[str] | None = None,
    loss_scale: float = 1.0,
    chunk_size: int = 256,
    dtype: Any = np.float32,
) -> tuple[np.ndarray, list[str], list[int]]:
    """Per-example gradients ``s * grad_theta loss_fn(model(x_j), y_j)`` as an (N, d) array.

    Args:
        model: a ``torch.nn.Module`` (put it in ``eval()`` mode if it has batch norm:
            per-example gradients need examples that do not interact).
        loss_fn: ``loss_fn(output, target) -> scalar`` for a batch of one example.
        inputs, targets: tensors with the examples along dimension 0.
        params: names (from ``model.named_parameters()``) to differentiate; default all
            parameters that require grad. The others are held fixed.
        loss_scale: multiply the loss by this (to mimic a scaled loss; record it).
        chunk_size: examples per ``vmap`` call (memory).
        dtype: dtype of the returned array.

    Returns:
        ``(grads, names, sizes)``: the (N, d) array whose columns are the chosen
        parameters flattened in ``names`` order, and each parameter's size.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(3, 1)
        >>> x, y = torch.randn(5, 3), torch.randn(5, 1)
        >>> g, names, sizes = per_example_gradients(model, torch.nn.functional.mse_loss, x, y)
        >>> g.shape, names, sizes
        ((5, 4), ['weight', 'bias'], [3, 1])
    """
    torch = _import_torch()
    from torch.func import functional_call, grad, vmap

    check_positive_int(chunk_size, "chunk size")
    loss_scale = check_positive_float(loss_scale, "loss scale")
    named = dict(model.named_parameters())
    chosen = {k: p.detach() for k, p in trainable(model, params)}
    names = list(chosen)
    fixed = {k: v.detach() for k, v in named.items() if k not in chosen}
    fixed.update({k: v.detach() for k, v in model.named_buffers()})
    if len(inputs) != len(targets):
        raise DataError(f"{len(inputs)} inputs but {len(targets)} targets: give one target per input")

    def loss_one(p: dict[str, Any], x: Any, y: Any) -> Any:
        out = functional_call(model, {**fixed, **p}, (x.unsqueeze(0),))
        loss = loss_fn(out, y.unsqueeze(0))
        if loss.dim() != 0:
            raise InvalidParameterError("loss_fn must return a scalar for one example")
        return loss * loss_scale

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    blocks = []
    for a in range(0, len(inputs), chunk_size):
        g = per_example(chosen, inputs[a : a + chunk_size], targets[a : a + chunk_size])
        flat = torch.cat([g[k].reshape(g[k].shape[0], -1) for k in names], dim=1)
        blocks.append(flat.detach().cpu().numpy().astype(dtype, copy=False))
    sizes = [int(chosen[k].numel()) for k in names]
    return np.concatenate(blocks, axis=0), names, sizes


def save_per_example_gradients(
    path: str | os.PathLike,
    grads: Any,
    *,
    reduction: str = "mean",
    loss_scale: float = 1.0,
    mean_over: int = 1,
    names: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
) -> Path:
    """Write (N, d) or (P, N, d) gradients as an uncompressed ``.npz`` that ``adamcheck
    estimate`` reads, with how they were made (key ``grads``; ``reduction``,
    ``loss_scale``, ``mean_over``; optional ``param_names``/``param_sizes``).

    Uncompressed on purpose: the estimator then reads it in chunks in place.
    """
    scale = GradientScale(reduction, loss_scale, mean_over)
    arr = np.asarray(grads)
    if arr.ndim not in (2, 3) or arr.dtype.kind != "f":
        raise DataError(f"gradients must be a float array of shape (N, d) or (P, N, d), got {arr.shape} {arr.dtype}")
    path = Path(path)
    if path.suffix != ".npz":
        raise InvalidParameterError(f"{str(path)!r} must end in .npz")
    extra: dict[str, Any] = {}
    if names is not None:
        extra["param_names"] = np.asarray(list(names), dtype=str)
    if sizes is not None:
        extra["param_sizes"] = np.asarray(list(sizes), dtype=np.int64)
    from ._npz import write_npz

    return write_npz(path, {
        "grads": np.ascontiguousarray(arr), "reduction": np.asarray(scale.reduction),
        "loss_scale": np.asarray(scale.loss_scale), "mean_over": np.asarray(scale.mean_over), **extra,
    })
