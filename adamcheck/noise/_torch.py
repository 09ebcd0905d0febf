"""Per-example gradients of a torch model: the file writer here, the torch part in the torch wing.

:func:`save_per_example_gradients` writes (N, d) or (P, N, d) gradients in the format
``adamcheck estimate`` reads (NumPy only). :func:`per_example_gradients` (torch.func's
``vmap(grad)``) lives in :mod:`adamcheck.torch._grads`, one code path with the
coordinate-sampled gradients of :mod:`adamcheck.torch._sample`; it stays importable from
here and from :mod:`adamcheck.noise`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from ..torch._grads import per_example_gradients  # noqa: F401 - the torch wing's, importable from here
from ..torch._params import trainable  # noqa: F401 - the torch wing's, importable from here
from ._npz import write_npz
from ._scale import GradientScale

__all__ = ["per_example_gradients", "save_per_example_gradients", "trainable"]


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

    Example:
        >>> import tempfile, pathlib
        >>> p = save_per_example_gradients(pathlib.Path(tempfile.mkdtemp()) / "g.npz", np.ones((4, 2)),
        ...                                loss_scale=8.0)
        >>> from adamcheck.noise import open_gradients
        >>> with open_gradients(p) as src:
        ...     src.shape, src.metadata["loss_scale"]
        ((1, 4, 2), 8.0)
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
    return write_npz(path, {
        "grads": np.ascontiguousarray(arr), "reduction": np.asarray(scale.reduction),
        "loss_scale": np.asarray(scale.loss_scale), "mean_over": np.asarray(scale.mean_over), **extra,
    })
