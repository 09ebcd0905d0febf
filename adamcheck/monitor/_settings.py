"""The monitor's settings as one frozen object, and the facts of the run it watches.

:class:`MonitorSettings` holds every knob of the monitor (what to sample, when to analyse,
the rules' margins); :class:`RunInfo` the run's own numbers (batch size, betas, eps,
learning rate, planned steps). Both are validated once, at construction, so a bad value
is an :class:`~adamcheck.InvalidParameterError` before the first step and never an error
inside ``optimizer.step()``.

Every constant here that a paper does not fix is adamcheck's choice and says so.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .._errors import InvalidParameterError
from .._laws import GradientLaw
from .._shown import shown_repr
from .._validate import (
    check_beta,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from ..drift import drift_ratio, drift_ratio_grid

__all__ = ["DRIFT_OPTIONS", "MonitorSettings", "RunInfo"]

#: Drift budget of an analysis: bounded so that one analysis takes seconds even for the
#: heavy-tailed laws of a diverging run (the default 2M Monte Carlo steps took ~50 s there).
DRIFT_OPTIONS: Mapping[str, Any] = {"target_se": 0.02, "max_steps": 50_000}


def _drift_keys() -> frozenset[str]:
    params = inspect.signature(drift_ratio_grid).parameters
    return frozenset(k for k, p in params.items() if p.kind is p.KEYWORD_ONLY) - {"eps", "seed", "progress"}


def _check_drift_options(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if not isinstance(options, Mapping):
        raise InvalidParameterError(f"drift_options = {shown_repr(options)} is not a dict: give a dict of "
                                    "adamcheck.drift.drift_ratio options, e.g. {'target_se': 0.02}")
    known = _drift_keys()
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise InvalidParameterError(f"drift_options has unknown option(s) {', '.join(map(repr, unknown))}: "
                                    f"use options of adamcheck.drift.drift_ratio ({', '.join(sorted(known))})")
    # the values are checked by the drift ratio itself, on a two-atom law at beta2 = 0
    # (its closed form: no simulation), so a bad value fails here and not at an analysis
    drift_ratio(GradientLaw.two_point(3, 0.25), 0.0, 0.0, **dict(options))
    return tuple(sorted(options.items()))


@dataclass(frozen=True)
class MonitorSettings:
    """Every setting of :class:`~adamcheck.torch.GradientMonitor`, validated at construction.

    Sampling:
        coordinates: how many coordinates to sample (default 4,096); seed: their seed;
            floor_per_tensor: the fewest per parameter tensor
            (:func:`adamcheck.torch.choose_coordinates`).

    When to analyse (adamcheck's choices; :mod:`adamcheck.monitor._schedule`):
        first_analysis: the step of the first analysis (default: 10% of the planned steps,
            at least ``min_gap // 4`` and at most ``early_steps``; ``early_steps`` when the
            planned steps are unknown; ``every`` when that is given).
        early_steps: the latest default first analysis (200 steps).
        every: analyse at every multiple of this many steps (fixed spacing); None (default):
            space later analyses so that the monitor's measured cost, its per-step records
            plus its analyses, stays within ``budget`` of the measured training time.
        budget: that share (default 0.02: 2%).
        min_gap: the fewest steps between two analyses under the budget (default 200).
        window: the most steps in one analysis (default 1,000); an analysis reads the steps
            since the previous one, up to ``window``.
        history: gradients kept for :meth:`~adamcheck.torch.GradientMonitor.save` (default
            ``window``; at least ``window``).

    What an analysis computes:
        multiples: batch multiples k for beta2*(kB) (means of k consecutive steps).
        law_coordinates: coordinates in the drift law at the run's betas (the most resolved).
        drift_options: options of :func:`adamcheck.drift.drift_ratio` (default
            :data:`DRIFT_OPTIONS`, a bounded Monte Carlo budget); unknown names are refused.
        predictor_steps, predictor_coordinates: length of the simulated runs of the beta2*
            predictor and how many sampled coordinates it uses.

    The rules (adamcheck's choices, not a paper's constants):
        spike_factor, spike_window: a step whose update norm exceeds ``spike_factor`` times the
            median of the previous ``spike_window`` steps is a jump (default 4 and 50).
        start_losses: how many first observed losses make "the loss at the start" that the
            walk-off rule compares with (default 1: at a random initialisation every example's
            loss is near its uninformed value, ln 2 for logistic regression, ln V for a V-way
            softmax, so the first loss is the start, and a run can blow up after one step:
            logistic digits at lr 10 had loss 0.70 at step 1, 23 at step 2 and a mean of 33
            over the first 20; raise it for a pretrained model whose first batches vary).
        trained_steps: the fewest steps without walking off before the monitor's file says
            the run's beta2 trained (default 1,000).

    Output:
        warn: also raise Python warnings (the ``adamcheck`` logger is always used).
        micro_batches: record micro-batch gradients under gradient accumulation (the
            two-batch noise scale); pass False with ``zero_grad(set_to_none=False)``.

    Raises:
        InvalidParameterError: a value out of range, or an unknown drift option.

    Example:
        >>> s = MonitorSettings(coordinates=512, budget=0.01)
        >>> s.coordinates, s.budget, s.window, s.history
        (512, 0.01, 1000, 1000)
        >>> MonitorSettings(drift_options={"nope": 1})
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: drift_options has unknown option(s) 'nope': ...
    """

    coordinates: int = 4096
    seed: int = 0
    floor_per_tensor: int = 4
    first_analysis: int | None = None
    early_steps: int = 200
    every: int | None = None
    budget: float = 0.02
    min_gap: int = 200
    window: int = 1000
    history: int | None = None
    multiples: tuple[int, ...] = (1, 4)
    law_coordinates: int = 32
    drift_options: Any = field(default_factory=lambda: DRIFT_OPTIONS)
    predictor_steps: int = 1000
    predictor_coordinates: int = 512
    spike_factor: float = 4.0
    spike_window: int = 50
    start_losses: int = 1
    trained_steps: int = 1000
    warn: bool = True
    micro_batches: bool = True

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        for name in ("coordinates", "early_steps", "min_gap", "window", "law_coordinates", "predictor_steps",
                     "predictor_coordinates", "spike_window", "start_losses", "trained_steps"):
            put(name, check_positive_int(getattr(self, name), name))
        put("floor_per_tensor", check_nonnegative_int(self.floor_per_tensor, "floor_per_tensor"))
        put("seed", check_seed(self.seed))
        for name in ("first_analysis", "every"):
            if getattr(self, name) is not None:
                put(name, check_positive_int(getattr(self, name), name))
        budget = check_positive_float(self.budget, "budget")
        if budget >= 1:
            raise InvalidParameterError(f"budget = {budget:g} is a share of the training time: give a value "
                                        "below 1, such as 0.02 (2%)")
        put("budget", budget)
        history = self.window if self.history is None else check_positive_int(self.history, "history")
        put("history", max(self.window, history))
        if isinstance(self.multiples, (str, bytes)) or not hasattr(self.multiples, "__iter__"):
            raise InvalidParameterError(f"multiples = {shown_repr(self.multiples)} is not a list of batch "
                                        "multiples: give positive integers, e.g. (1, 4)")
        multiples = tuple(check_positive_int(k, "multiples") for k in self.multiples)
        if not multiples:
            raise InvalidParameterError("multiples is empty: give at least one batch multiple, e.g. (1, 4)")
        put("multiples", multiples)
        spike = check_positive_float(self.spike_factor, "spike_factor")
        if spike <= 1:
            raise InvalidParameterError(f"spike_factor = {spike:g} flags every step whose update norm reaches "
                                        "its running median: give a factor above 1 (default 4)")
        put("spike_factor", spike)
        put("drift_options", _check_drift_options(self.drift_options))
        for name in ("warn", "micro_batches"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(f"{name} = {shown_repr(getattr(self, name))} must be True or False")

    @property
    def drift(self) -> dict[str, Any]:
        """The drift ratio's options as a dict."""
        return dict(self.drift_options)

    def replace(self, **changes: Any) -> "MonitorSettings":
        """A copy with ``changes`` (validated again).

        Raises:
            InvalidParameterError: an unknown setting or a bad value.
        """
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InvalidParameterError(f"unknown monitor setting(s) {', '.join(map(repr, unknown))}: "
                                        f"choose from {', '.join(sorted(names))}")
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["drift_options"] = dict(self.drift_options)
        values.update(changes)
        return MonitorSettings(**values)


@dataclass(frozen=True)
class RunInfo:
    """The run the monitor watches: what its file and its messages state.

    Attributes:
        batch_size: B, examples per optimizer step (global: micro batch x accumulation x ranks).
        beta1, beta2, eps: Adam's (the first param group's).
        lr, weight_decay: the first param group's (None when not a plain number).
        planned_steps: the optimizer steps the run plans (None: unknown).
        world_size: data-parallel ranks.
        seq_len: tokens per sample (language models; None: unknown).
        optimizer: the optimizer's class name.

    Raises:
        InvalidParameterError: a value out of range.
    """

    batch_size: int
    beta1: float
    beta2: float
    eps: float = 1e-8
    lr: float | None = None
    weight_decay: float | None = None
    planned_steps: int | None = None
    world_size: int = 1
    seq_len: int | None = None
    optimizer: str = ""

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("batch_size", check_positive_int(self.batch_size, "batch_size"))
        put("beta1", check_beta(self.beta1, "beta1"))
        put("beta2", check_beta(self.beta2, "beta2"))
        put("eps", check_nonnegative_float(self.eps, "eps"))
        put("world_size", check_positive_int(self.world_size, "world_size"))
        for name in ("planned_steps", "seq_len"):
            if getattr(self, name) is not None:
                put(name, check_positive_int(getattr(self, name), name))
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                put(name, None)  # a tensor or scheduled value: not stated

    @property
    def paper_condition(self) -> bool:
        """beta1 < sqrt(beta2) (Zhang et al. 2026, Theorem 2.2)."""
        return self.beta1 < math.sqrt(self.beta2)
