"""Per-example gradients of a torch model at every coordinate (extra ``adamcheck[torch]``).

``vmap(grad(loss of one example))`` gives every example's gradient in one batched call,
without per-example loops, for :func:`adamcheck.noise.save_per_example_gradients` to write
in the format ``adamcheck estimate`` reads. It is the coordinate-sampled path of
:mod:`._sample` with every coordinate sampled. torch is imported inside the functions,
never at ``import adamcheck``.

Each example is differentiated on its own (a batch of one), so the rows are the
canonical ``grad ell_j`` times the loss scale you apply, whatever the reduction of
``loss_fn`` (mean and sum agree on one example): ``mean_over = 1``.

References:
    torch.func documentation, "Per-sample-gradients" tutorial (functional_call, vmap, grad).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..noise._sampled import CoordinateSample
from ._params import trainable
from ._sample import sample_per_example_gradients

__all__ = ["per_example_gradients"]


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

    The coordinate-sampled gradients of :func:`~adamcheck.torch.sample_per_example_gradients`
    at every coordinate (one ``vmap(grad)`` code path for both).

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
    chosen = trainable(model, params)
    names = [k for k, _ in chosen]
    sizes = [int(p.numel()) for _, p in chosen]
    every = CoordinateSample(
        names=tuple(names), sizes=tuple(sizes),
        param=np.repeat(np.arange(len(sizes), dtype=np.int64), sizes),
        index=np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]), seed=0)
    out = sample_per_example_gradients(model, loss_fn, inputs, targets, chunk_size=chunk_size, params=names,
                                       sample=every, loss_scale=loss_scale, dtype=dtype)
    return out.grads, names, sizes
