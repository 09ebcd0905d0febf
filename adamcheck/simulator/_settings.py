"""Settings objects of the simulator, validated once at construction (as black's ``Mode``).

:class:`AdamSettings` says which Adam runs (betas, learning rate, eps, weight decay,
the convention and the schedule); :class:`RunPlan` says how long and from where
(steps, seeds, sampling, start, precision, recording). :func:`~adamcheck.simulator.simulate`
and :func:`~adamcheck.simulator.phase_grid` keep their keyword signatures as thin
wrappers that build these two objects; :func:`~adamcheck.simulator.run_simulation` and
:func:`~adamcheck.simulator.run_phase_grid` take them directly, so a notebook or a command
states a configuration once and reuses it.

Numbers that vary per run (``beta1``, ``lr``, ``seeds``...) are a number or a 1-D list;
lists of one value broadcast, the others must share one length (checked when the runs
are laid out, where every list is known).

Example:
    >>> adam = AdamSettings(beta1=0.0, beta2=[0.1, 0.99], lr=0.1, schedule="inv-sqrt")
    >>> plan = RunPlan(steps=10000, seeds=0)
    >>> adam.beta2.tolist(), plan.steps, adam.convention
    ([0.1, 0.99], 10000, 'paper')
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._shown import shown_repr
from .._validate import (
    as_real_array,
    check_betas_array,
    check_finite_array,
    check_nonnegative_int,
    check_positive_int,
)
from ._conventions import check_convention
from ._sampling import check_sampling
from ._schedules import check_schedule

__all__ = ["AdamSettings", "RunPlan", "float_dtype", "phase_seeds", "seed_range"]

ArrayLike = Any


def _per_run(value: ArrayLike, name: str) -> np.ndarray:
    """A number or a 1-D list as a non-empty 1-D array (per-run values broadcast later)."""
    arr = np.atleast_1d(as_real_array(value, name))
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be a number or a 1-D list, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidParameterError(f"{name} is empty: give at least one value")
    return arr


def check_nonnegative_array(arr: np.ndarray, name: str, positive: bool = False) -> np.ndarray:
    """``arr`` (1-D, finite) with every entry >= 0 (> 0 with ``positive``)."""
    arr = check_finite_array(arr, name, ndim=1)
    bad = arr <= 0 if positive else arr < 0
    if bad.any():
        kind = "positive" if positive else "zero or positive"
        raise InvalidParameterError(f"{name} = {arr[bad][0]:g} must be {kind}")
    return arr


def _check_seeds(value: ArrayLike) -> np.ndarray:
    """Seeds as int64, each a whole number in [0, 2**63 - 1]."""
    seed_raw = _per_run(value, "seed")
    if not np.issubdtype(seed_raw.dtype, np.integer) and not (
        np.issubdtype(seed_raw.dtype, np.floating) and np.all(np.mod(seed_raw, 1) == 0)
    ):
        raise InvalidParameterError("seed must be a whole number (or a list of them)")
    if seed_raw.dtype == object or (seed_raw.size and np.issubdtype(seed_raw.dtype, np.floating)
                                    and np.abs(seed_raw).max() > 2.0**63 - 1):
        raise InvalidParameterError("seed must lie in [0, 2**63 - 1]: give smaller seeds")
    if np.issubdtype(seed_raw.dtype, np.unsignedinteger) and seed_raw.size and seed_raw.max() > 2**63 - 1:
        raise InvalidParameterError("seed must lie in [0, 2**63 - 1]: give smaller seeds")
    seeds = seed_raw.astype(np.int64)
    if (seeds < 0).any():
        raise InvalidParameterError(f"seed = {seeds[seeds < 0][0]} must be zero or positive")
    return seeds


def float_dtype(dtype: Any) -> np.dtype:
    """float64 or float32 as a NumPy dtype (InvalidParameterError otherwise)."""
    try:
        dt = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else None
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise InvalidParameterError(f"dtype {shown_repr(dtype) if dt is None else dt} is not supported: use float64 "
                                    "or float32")
    return dt


@dataclass(frozen=True, eq=False)
class AdamSettings:
    """Which Adam: hyper-parameters per run and the update's convention and schedule.

    Attributes:
        beta1, beta2: in [0, 1); a number or one per run (float64 arrays after checking).
        lr: base learning rate eta_0 > 0 (scaled per step by ``schedule``).
        eps: epsilon >= 0 (where it sits depends on ``convention``).
        weight_decay: >= 0; coupled L2 unless ``decoupled`` (AdamW).
        eps_root: optax's eps_root >= 0.
        decoupled: AdamW-style decoupled weight decay.
        convention: ``paper``, ``torch``, ``optax``... (:data:`adamcheck.simulator.CONVENTIONS`).
        schedule: ``constant``, ``inv-sqrt`` or ``inv-sqrt-epoch``.

    Raises:
        InvalidParameterError: an unknown convention or schedule, a value out of range,
            a list that is empty or not 1-D.
    """

    beta1: ArrayLike = 0.9
    beta2: ArrayLike = 0.999
    lr: ArrayLike = 1e-3
    eps: ArrayLike = 1e-8
    weight_decay: ArrayLike = 0.0
    eps_root: ArrayLike = 0.0
    decoupled: bool = False
    convention: str = "paper"
    schedule: str = "constant"

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("convention", check_convention(self.convention))
        put("schedule", check_schedule(self.schedule))
        shaped = {name: _per_run(getattr(self, name), name) for name in self.PER_RUN}
        put("beta1", check_betas_array(shaped["beta1"], "beta1"))
        put("beta2", check_betas_array(shaped["beta2"], "beta2"))
        put("lr", check_nonnegative_array(shaped["lr"].astype(float), "lr", positive=True))
        for name in ("eps", "weight_decay", "eps_root"):
            put(name, check_nonnegative_array(shaped[name].astype(float), name))
        put("decoupled", bool(self.decoupled))

    #: the fields that may hold one value per run, in the order runs are laid out
    PER_RUN = ("beta1", "beta2", "lr", "eps", "weight_decay", "eps_root")


@dataclass(frozen=True, eq=False)
class RunPlan:
    """How the runs go: steps, seeds, sampling, start, precision and recording.

    Attributes:
        steps: optimizer steps per run (>= 1).
        seeds: one seed per run (a whole number in [0, 2**63 - 1], or a list); int64
            array after checking.
        sampling: ``replacement``, ``reshuffle`` or ``cyclic``; None: the problem's own.
        x0: the start: a number, a (d,) point or one point per run (checked against
            the problem when the runs start).
        dtype: ``float64`` or ``float32`` for all state (a NumPy dtype after checking).
        record_every: keep the iterate every this many steps (None: only the end).

    Raises:
        InvalidParameterError: a value out of range.
    """

    steps: int
    seeds: ArrayLike = 0
    sampling: str | None = None
    x0: ArrayLike = 0.0
    dtype: Any = "float64"
    record_every: int | None = None

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("steps", check_positive_int(self.steps, "steps"))
        if self.sampling is not None:
            put("sampling", check_sampling(self.sampling))
        if self.record_every is not None:
            put("record_every", check_positive_int(self.record_every, "record_every"))
        put("dtype", float_dtype(self.dtype))
        put("seeds", _check_seeds(self.seeds))


_NO_SEED: Any = None  # phase_grid's ``seed`` left out (see phase_seeds)


def seed_range(count: int, start: int = 0, before: Callable[[int], None] | None = None) -> np.ndarray:
    """``start, start + 1, ..., start + count - 1`` as int64 (``adamcheck phase --seed --seeds``).

    ``before(count)`` runs once both are checked and before the list is built (the
    size check of the runs: a huge count is refused, never allocated).

    Example:
        >>> seed_range(3, 5).tolist()
        [5, 6, 7]
    """
    count = check_positive_int(count, "seeds")
    start = check_nonnegative_int(start, "seed")
    if start + count - 1 > 2**63 - 1:
        raise InvalidParameterError(f"seed + seeds - 1 = {start + count - 1} is above 2**63 - 1: lower seed")
    if before is not None:
        before(count)
    return np.arange(start, start + count, dtype=np.int64)


def phase_seeds(seeds: int | Sequence[int], seed: int | None = _NO_SEED,
                before: Callable[[int], None] | None = None) -> np.ndarray:
    """The seed list of a phase diagram: ``seeds`` is a count or an explicit list.

    A count ``K`` gives ``seed, seed + 1, ..., seed + K - 1`` (``seed`` defaults to 0).
    ``seed`` is deprecated in the library (a DeprecationWarning when given): pass the
    list itself, e.g. ``seeds=range(5, 9)`` for ``seed=5, seeds=4``. With a list, ``seed``
    was always ignored; it still is, with the warning. The ``adamcheck phase`` command
    keeps its ``--seed`` (the first seed) and ``--seeds`` (a count) and builds the list.
    ``before``: as in :func:`seed_range` (called for a count only).

    Example:
        >>> phase_seeds(3).tolist(), phase_seeds([4, 7]).tolist(), phase_seeds(range(5, 7)).tolist()
        ([0, 1, 2], [4, 7], [5, 6])
    """
    if seed is not _NO_SEED:
        warnings.warn(
            "phase_grid(seed=...) is deprecated: pass the seeds themselves, e.g. seeds=range(seed, seed + count)",
            DeprecationWarning, stacklevel=3,
        )
    if isinstance(seeds, (int, np.integer)):
        return seed_range(seeds, 0 if seed is _NO_SEED else seed, before)
    try:
        listed = list(seeds) if not isinstance(seeds, (str, bytes, dict)) else None
    except TypeError:  # not iterable: a float, None, a 0-d tensor
        listed = None
    if listed is None:
        raise InvalidParameterError(
            f"seeds = {shown_repr(seeds)} is neither a count nor a list of seeds: give e.g. 4 or [0, 1, 2]")
    seed_list = np.asarray([check_nonnegative_int(s, "seed") for s in listed], dtype=np.int64)
    if seed_list.size == 0:
        raise InvalidParameterError("seeds is empty: give a count or at least one seed")
    return seed_list
