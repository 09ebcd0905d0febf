"""The settings of the training boundary as one frozen object, validated once.

:class:`TrainingSettings` holds every number of :func:`~adamcheck.drift.training_boundary`
and :func:`~adamcheck.drift.training_statistics` but the gradients and the batch sizes:
Adam's (beta1, the beta2 ladder, eps), the length of the simulated runs, the
thresholds of the two statistics and of their standard errors (adamcheck's choices, see
:mod:`adamcheck.drift._training`), and the sampling. It is checked when built, in the
style of black's ``Mode`` (and :class:`adamcheck.simulator.AdamSettings`), so a bad value
fails before a gradient file is read; the keyword functions stay as thin wrappers and
:func:`~adamcheck.drift.run_training_boundary` takes the object.

Example:
    >>> s = TrainingSettings(beta1=0.0, beta2s=[0.5, 0.999], steps=500)
    >>> s.beta2s.tolist(), s.steps, s.steps_for([1, 64])
    ([0.5, 0.999], 500, [500, 500])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._shown import shown_repr
from .._validate import (
    check_beta,
    check_betas_array,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)

__all__ = ["DEFAULT_TRAINING_LADDER", "TrainingSettings"]

#: beta2 values tried by default: the ladder of the validation suite, plus 0.6.
DEFAULT_TRAINING_LADDER = (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)


def _ladder(beta2s: Any) -> np.ndarray:
    ladder = check_betas_array(DEFAULT_TRAINING_LADDER if beta2s is None else beta2s, "beta2s")
    if ladder.size == 0:
        raise InvalidParameterError("beta2s is empty: give at least one beta2 (or None for the default ladder)")
    return ladder


def _is_number(value: Any) -> bool:
    return isinstance(value, (numbers.Number, np.number)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def _listed(value: Any, name: str) -> list[Any]:
    """A number as a one-element list, a list (or array, tensor) as a list; anything else refused."""
    if _is_number(value):
        return [value]
    if isinstance(value, (str, bytes, dict, set)):
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not a list of whole numbers: "
                                    "give e.g. [1, 8, 64]")
    try:
        return list(value)
    except TypeError:
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not a list of whole numbers: "
                                    "give e.g. [1, 8, 64]") from None


def check_chain_steps(steps: Any) -> int:
    """The length of one simulated run: a whole number of at least 20 steps."""
    steps = check_positive_int(steps, "steps")
    if steps < 20:
        raise InvalidParameterError(f"steps = {steps} is too short for the moments to mix: use at least 20")
    return steps


@dataclass(frozen=True, eq=False)
class TrainingSettings:
    """Every setting of the training boundary but the gradients and the batch sizes.

    Attributes (the arguments of :func:`~adamcheck.drift.training_boundary` of the same name):
        beta1: Adam's beta1 in [0, 1).
        beta2s: the ladder of beta2 (None: :data:`DEFAULT_TRAINING_LADDER`); a float64
            array after checking, in the order given.
        eps: your Adam epsilon, in the units of the gradients (>= 0).
        steps: length of each simulated run (>= 20), one number or one per batch size
            (an int or a tuple of ints after checking).
        max_update, max_climbing, window, quantile: the two statistics' thresholds.
        coordinates: how many coordinates to sample (checked by the sampler, which a
            :class:`ColumnSample` already sampled skips).
        seed: seeds the coordinates and the mini-batch draws.
        negligible_climbing, z, batches: what a resolved point is and the jackknife batches.
        growth_fails: let update growth decide failures.

    Raises:
        InvalidParameterError: a value out of range.
    """

    beta1: float = 0.9
    beta2s: Sequence[float] | None = None
    eps: float = 1e-8
    steps: int | Sequence[int] = 4000
    max_update: float = 2.0
    max_climbing: float = 1.0
    window: int = 10
    quantile: float = 0.99
    coordinates: int = 512
    seed: int = 0
    negligible_climbing: float = 0.05
    z: float = 2.0
    batches: int = 8
    growth_fails: bool = False

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("beta1", check_beta(self.beta1, "beta1"))
        put("beta2s", _ladder(self.beta2s))
        put("eps", check_nonnegative_float(self.eps, "eps"))
        if _is_number(self.steps):
            put("steps", check_chain_steps(self.steps))
        else:
            put("steps", tuple(check_chain_steps(n) for n in _listed(self.steps, "steps")))
        quantile = check_positive_float(self.quantile, "quantile")
        if quantile > 1:
            raise InvalidParameterError(f"quantile = {quantile:g} must be in (0, 1], e.g. 0.99")
        put("quantile", quantile)
        for name in ("max_update", "max_climbing", "negligible_climbing", "z"):
            put(name, check_positive_float(getattr(self, name), name))
        put("window", check_positive_int(self.window, "window"))
        put("batches", check_positive_int(self.batches, "batches"))
        put("seed", check_seed(self.seed))
        put("growth_fails", bool(self.growth_fails))

    def steps_for(self, batch_sizes: Sequence[int]) -> list[int]:
        """The run length at each batch size (``steps`` repeated, or checked to be one per size)."""
        if isinstance(self.steps, int):
            return [self.steps] * len(batch_sizes)
        if len(self.steps) != len(batch_sizes):
            raise InvalidParameterError(
                f"steps has {len(self.steps)} values for {len(batch_sizes)} batch sizes: give one number or one "
                "per batch size"
            )
        return list(self.steps)
