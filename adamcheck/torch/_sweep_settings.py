"""The settings of :func:`~adamcheck.torch.phase_sweep` as one frozen object, validated once.

:class:`SweepSettings` holds every option of a sweep that is not the model, the loss or
the data: the grid's axes (batch sizes, lr, beta1, beta2, seeds), the budget, Adam's
other numbers, the mini-batch order, where and in which precision to train, what to
record and how to judge. It is built (and checked) once, in the style of black's
``Mode``; :func:`~adamcheck.torch.phase_sweep` keeps its keyword signature as a thin
wrapper that builds one, and :func:`~adamcheck.torch.run_sweep` takes it directly.

Why not :class:`adamcheck.simulator.AdamSettings` and ``RunPlan``: those hold one value
*per run* (lists broadcast run by run), while a sweep's numbers are the *axes* of a
product grid (every batch size x lr x beta2 x beta1 x seed), and the sweep's update is
always ``torch.optim.Adam``'s (no convention to choose). The names and checks are the
simulator's where the meaning is the same (``schedule``, ``sampling``, the seed list).

Example:
    >>> import torch
    >>> s = SweepSettings(batch_sizes=[8, 32], beta1=0.9, beta2=[0.9, 0.999], lr=1e-3, steps=100,
    ...                   dtype=torch.float64)
    >>> s.batch_sizes.tolist(), s.beta2.tolist(), s.budget, s.seeds.tolist(), s.device.type
    ([8, 32], [0.9, 0.999], 'steps', [0], 'cpu')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._shown import shown_repr
from .._validate import as_real_array, check_betas_array, check_finite_float, check_positive_int
from ..simulator._outcomes import TrainingCriterion
from ..simulator._sampling import check_sampling
from ..simulator._schedules import check_schedule
from ..simulator._settings import phase_seeds

__all__ = ["SweepSettings", "check_modes"]


def check_modes(sampling: str, batching: str) -> None:
    """Refuse an unknown batching or sampling, and the one pair that does not exist."""
    if not isinstance(batching, str) or batching not in ("rows", "fixed"):
        raise InvalidParameterError(f"unknown batching {shown_repr(batching)}: choose rows or fixed")
    check_sampling(sampling)
    if batching == "rows" and sampling == "replacement":
        raise InvalidParameterError(
            "sampling 'replacement' draws whole fixed batches: use batching='fixed' with it, "
            "or sampling 'reshuffle' or 'cyclic'"
        )


def _torch() -> Any:
    try:
        import torch  # optional: torch
    except ImportError:  # pragma: no cover - the package needs torch
        raise InvalidParameterError("phase_sweep needs torch: pip install 'adamcheck[torch]'") from None
    return torch


def _dtype(dtype: Any, torch: Any) -> Any:
    dtype = torch.float32 if dtype is None else dtype
    if not any(dtype is d for d in (torch.float32, torch.float64)):  # torch dtypes are singletons
        raise InvalidParameterError(f"dtype {shown_repr(dtype)} is not supported: use torch.float32 or torch.float64")
    return dtype


def _device(device: Any, torch: Any) -> Any:
    """``device`` as a torch.device, refusing what torch cannot name or this machine lacks."""
    if not isinstance(device, (str, int, torch.device)) or isinstance(device, bool):
        raise InvalidParameterError(f"device = {shown_repr(device)} is not a device: give 'cpu', 'cuda' or 'cuda:0'")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InvalidParameterError(f"device = {shown_repr(device)} is not a device torch knows "
                                    f"({shown_repr(str(exc), 120)}): give 'cpu', 'cuda' or 'cuda:0'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device = {shown_repr(device)}: CUDA is not available here; use 'cpu'")
    return dev


def _seed_list(seeds: Any) -> np.ndarray:
    """The simulator's seeds (a count or a list), which a sweep also needs distinct: two runs of
    one seed would be one run stacked twice."""
    if isinstance(seeds, bool):  # not a count: phase_seeds would read True as 1
        raise InvalidParameterError(
            f"seeds = {shown_repr(seeds)} is neither a count nor a list of seeds: give e.g. 4 or [0, 1, 2]")
    out = phase_seeds(seeds)
    if np.unique(out).size != out.size:
        raise InvalidParameterError("seeds repeats a value: give distinct seeds")
    return out


def _axis(values: Any, name: str, positive_float: bool = False) -> np.ndarray:
    arr = np.atleast_1d(as_real_array(values, name, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"{name} must be a number or a non-empty 1-D list")
    if positive_float and not (np.isfinite(arr).all() and (arr > 0).all()):
        raise InvalidParameterError(f"{name} must hold positive finite numbers, got {arr.tolist()}")
    return arr


def _batch_sizes(batch_sizes: Any) -> np.ndarray:
    bsizes = np.atleast_1d(as_real_array(batch_sizes, "batch_sizes"))
    if bsizes.ndim != 1 or bsizes.size == 0:
        raise InvalidParameterError("batch_sizes must be a positive integer or a non-empty list of them")
    bsizes = np.array([check_positive_int(b, "batch size") for b in bsizes.tolist()], dtype=np.int64)
    if np.unique(bsizes).size != bsizes.size:
        raise InvalidParameterError("batch_sizes repeats a value: give distinct batch sizes")
    return bsizes


@dataclass(frozen=True, eq=False)
class SweepSettings:
    """Every option of :func:`~adamcheck.torch.phase_sweep` but the model, loss and data.

    The meaning of each field is that of the ``phase_sweep`` argument of the same name.
    After checking: ``batch_sizes`` an int64 array of distinct sizes; ``beta1``, ``beta2``,
    ``lr`` float64 axes; ``seeds`` an int64 array of distinct seeds; exactly one of
    ``steps`` and ``epochs`` an int; ``dtype`` ``torch.float32`` or ``torch.float64``;
    ``device`` a ``torch.device``; ``criterion`` a :class:`~adamcheck.simulator.TrainingCriterion`.

    Raises:
        InvalidParameterError: a bad axis, budget, dtype, device or mode.
    """

    batch_sizes: Any
    beta1: Any
    beta2: Any
    lr: Any
    seeds: int | Sequence[int] = 1
    steps: int | None = None
    epochs: int | None = None
    weight_decay: float = 0.0
    decoupled: bool = False
    eps: float = 1e-8
    schedule: str = "constant"
    sampling: str = "reshuffle"
    batching: str = "rows"
    drop_last: bool = False
    dtype: Any = None
    device: Any = "cpu"
    record_every: int | None = None
    grad_norms: bool = True
    reference_loss: float | None = None
    criterion: TrainingCriterion | None = None
    chunk_size: int | None = None
    memory_limit: int = 1 << 30
    keep_params: bool = False
    progress: bool = True
    title: str | None = None
    trainable: Sequence[str] | None = None

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        torch = _torch()
        put("dtype", _dtype(self.dtype, torch))
        put("device", _device(self.device, torch))
        check_modes(self.sampling, self.batching)
        put("schedule", check_schedule(self.schedule))
        self._check_budget(put)
        put("batch_sizes", _batch_sizes(self.batch_sizes))
        put("beta1", check_betas_array(self.beta1, "beta1"))
        put("beta2", check_betas_array(self.beta2, "beta2"))
        put("lr", _axis(self.lr, "lr", positive_float=True))
        put("seeds", _seed_list(self.seeds))
        wd = check_finite_float(self.weight_decay, "weight_decay")
        if not wd >= 0:
            raise InvalidParameterError(f"weight_decay = {self.weight_decay} must be zero or positive")
        put("weight_decay", wd)
        eps = check_finite_float(self.eps, "eps")
        if not eps >= 0:
            raise InvalidParameterError(f"eps = {eps} must be zero or positive, such as 1e-8")
        put("eps", eps)
        for name in ("record_every", "chunk_size"):
            if getattr(self, name) is not None:
                put(name, check_positive_int(getattr(self, name), name))
        put("memory_limit", check_positive_int(self.memory_limit, "memory_limit"))
        if self.criterion is not None and not isinstance(self.criterion, TrainingCriterion):
            raise InvalidParameterError(f"criterion must be an adamcheck.simulator.TrainingCriterion, got "
                                        f"{type(self.criterion).__name__}")
        put("criterion", self.criterion or TrainingCriterion())
        if self.reference_loss is not None:
            put("reference_loss", check_finite_float(self.reference_loss, "reference_loss"))
        for name in ("decoupled", "drop_last", "grad_norms", "keep_params"):
            put(name, bool(getattr(self, name)))

    def _check_budget(self, put: Any) -> None:
        if (self.steps is None) == (self.epochs is None):
            raise InvalidParameterError("give exactly one budget: steps= (same steps at every batch size) or epochs=")
        if self.steps is not None:
            put("steps", check_positive_int(self.steps, "steps"))
        else:
            put("epochs", check_positive_int(self.epochs, "epochs"))

    @property
    def budget(self) -> str:
        """``"steps"`` (the same steps at every batch size) or ``"epochs"``."""
        return "steps" if self.steps is not None else "epochs"
