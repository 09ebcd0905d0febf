"""The settings of :func:`~adamcheck.torch.probe` as one frozen object, validated once.

:class:`ProbeSettings` holds every option of a probe that is not the model, the loss or the
data: the user's batch size, learning rate, schedule and beta1, the beta2 ladder, the
horizon, the seeds, which parameters to probe, and the options passed through to the sweep
that trains the copies. It is built (and checked) once, in the style of black's ``Mode``
and of :class:`~adamcheck.torch.SweepSettings`; :func:`~adamcheck.torch.probe` keeps its
keyword signature as a thin wrapper that builds one, and :func:`~adamcheck.torch.run_probe`
takes it directly.

A probe is one column of a sweep (one batch size, lr and beta1; the ladder as the beta2
axis), so the settings build that sweep's :class:`SweepSettings` when they are checked:
``settings.sweep`` is what :func:`~adamcheck.torch.run_sweep` receives.

Example (the sweep's settings need torch):
    >>> import torch
    >>> s = ProbeSettings(batch_size=8, lr=0.05, steps=200, beta2s=[0.999, 0.5])
    >>> s.beta2s, s.sweep.record_every, s.sweep.beta2.tolist(), s.sweep.progress
    ((0.5, 0.999), 10, [0.5, 0.999], False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .._validate import check_beta, check_betas_array, check_positive_float, check_positive_int
from ..simulator import TrainingCriterion
from ._sweep_settings import SweepSettings

__all__ = ["ProbeSettings", "DEFAULT_PROBE_LADDER"]

#: beta2 values a probe tries by default (the validation suite's ladder).
DEFAULT_PROBE_LADDER = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)


@dataclass(frozen=True, eq=False)
class ProbeSettings:
    """Every option of :func:`~adamcheck.torch.probe` but the model, loss and data.

    The meaning of each field is that of the ``probe`` argument of the same name. After
    checking: ``batch_size`` and ``steps`` ints; ``lr`` a positive float; ``beta1`` a float in
    [0, 1); ``beta2s`` the ladder as an increasing tuple of floats (default
    :data:`DEFAULT_PROBE_LADDER`); ``record_every`` as given (None: the sweep records every
    ``max(1, steps // 20)`` steps, so ``dataclasses.replace(s, steps=...)`` moves it too);
    ``criterion`` a :class:`~adamcheck.simulator.TrainingCriterion`; ``sweep`` the
    :class:`SweepSettings` of the runs (which checks seeds, schedule, weight decay, eps,
    dtype, device and memory limit, with the sweep's messages).

    Raises:
        InvalidParameterError: a bad batch size, horizon, lr, beta, ladder or sweep option.
    """

    batch_size: int
    lr: float
    steps: int
    beta1: float = 0.9
    beta2s: Sequence[float] | None = None
    seeds: int | Sequence[int] = 1
    params: Sequence[str] | None = None
    schedule: str = "constant"
    weight_decay: float = 0.0
    decoupled: bool = False
    eps: float = 1e-8
    reference_loss: float | None = None
    criterion: Any = None
    dtype: Any = None
    device: Any = "cpu"
    memory_limit: int = 1 << 30
    record_every: int | None = None
    progress: bool = False
    trust_beyond_bound: bool = False
    sweep: SweepSettings = field(init=False, repr=False)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("batch_size", check_positive_int(self.batch_size, "batch_size"))
        put("steps", check_positive_int(self.steps, "steps"))
        put("lr", check_positive_float(self.lr, "lr"))
        put("beta1", float(check_beta(self.beta1, "beta1")))
        ladder = DEFAULT_PROBE_LADDER if self.beta2s is None else self.beta2s
        put("beta2s", tuple(float(b) for b in np.sort(check_betas_array(ladder, "beta2s"))))
        put("criterion", self.criterion or TrainingCriterion())
        put("trust_beyond_bound", bool(self.trust_beyond_bound))
        if self.params is not None:
            put("params", (self.params,) if isinstance(self.params, str) else tuple(self.params))
        put("sweep", SweepSettings(
            batch_sizes=[self.batch_size], beta1=[self.beta1], beta2=list(self.beta2s), lr=[self.lr],
            seeds=self.seeds, steps=self.steps, weight_decay=self.weight_decay, decoupled=self.decoupled,
            eps=self.eps, schedule=self.schedule, reference_loss=self.reference_loss, criterion=self.criterion,
            dtype=self.dtype, device=self.device, memory_limit=self.memory_limit, progress=self.progress,
            trainable=self.params,
            record_every=self.record_every or max(1, self.steps // 20),  # 10 records in the second half
        ))
        put("weight_decay", float(self.sweep.weight_decay))
