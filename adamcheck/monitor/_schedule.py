"""When the monitor analyses: early once, then as often as a budget of the measured step time allows.

The first analysis comes early, so that a short run is analysed at all: at 10% of the
planned steps when they are known, but no later than ``early_steps`` (200) and no earlier
than ``min_gap // 4`` (50) steps; at ``early_steps`` when they are not known. With a fixed
``every`` the analyses come at its multiples, the first at ``every`` (or at
``first_analysis`` when that is given too).

Later analyses are spaced by cost (:func:`next_analysis_step`): after an analysis at step
t, the next comes at the first step t + n (n >= ``min_gap``) at which the monitor's whole
measured cost, its per-step records and its analyses, would still be within ``budget``
of the training time:

    spent + n h + C <= budget (T + n s),   so   n >= (spent + C - budget T) / (budget s - h),

with T the training time so far and s the median training step time (wall clock, the
monitor's own time left out; a step counts at most three times the median step, so an
evaluation pause or a checkpoint is not taken for training), h the monitor's mean time per step for its
records, C the last analysis's time and ``spent`` everything the monitor has spent so far. Where the records alone exceed the budget
(budget s <= h: a model whose step takes ~0.1 ms) no later analysis is planned. With a
fixed ``every`` the analyses come at its multiples instead. The constants (200, 50, 2%)
are adamcheck's choices, parameters of :class:`~adamcheck.monitor.MonitorSettings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._settings import MonitorSettings

__all__ = ["Costs", "first_analysis_step", "next_analysis_step"]


@dataclass(frozen=True)
class Costs:
    """The monitor's measured costs so far, in seconds of wall-clock time.

    Attributes:
        step_seconds: the median training step time, the monitor's own time left out
            (None: not measured yet).
        record_seconds: the monitor's mean time per step for its per-step records.
        analysis_seconds: the last analysis's time.
        spent_seconds: everything the monitor has spent so far (records and analyses).
        train_seconds: the training time so far, the monitor's own left out (None: take
            ``step_seconds`` times the steps).
    """

    step_seconds: float | None = None
    record_seconds: float = 0.0
    analysis_seconds: float = 0.0
    spent_seconds: float = 0.0
    train_seconds: float | None = None

    @property
    def share(self) -> float | None:
        """What the monitor has spent as a share of the training time (None: not measured)."""
        return self.spent_seconds / self.train_seconds if self.train_seconds else None

    @property
    def record_share(self) -> float | None:
        """The per-step records' cost as a share of the training step (None: not measured)."""
        s = self.step_seconds
        return self.record_seconds / s if s else None


def first_analysis_step(settings: MonitorSettings, planned_steps: int | None = None) -> int:
    """The step of the first analysis (module docstring).

    Example:
        >>> s = MonitorSettings()
        >>> first_analysis_step(s), first_analysis_step(s, 300), first_analysis_step(s, 1200), first_analysis_step(s, 10**6)
        (200, 50, 120, 200)
        >>> first_analysis_step(MonitorSettings(first_analysis=1000), 300), first_analysis_step(MonitorSettings(every=500))
        (1000, 500)
    """
    if settings.first_analysis is not None:
        return settings.first_analysis
    if settings.every is not None:
        return settings.every
    if planned_steps is None:
        return settings.early_steps
    return max(1, min(settings.early_steps, max(settings.min_gap // 4, round(0.1 * planned_steps))))


def next_analysis_step(step: int, settings: MonitorSettings, costs: Costs) -> int | None:
    """The step of the next analysis after one at ``step`` (None: the budget allows none).

    Example:
        >>> s = MonitorSettings()   # budget 2%, min_gap 200
        >>> # 12 ms steps, 0.1 ms of records per step, a 0.5 s analysis just spent at step 200:
        >>> # n = (0.52 + 0.5 - 0.02 * 200 * 0.012) / (0.02 * 0.012 - 1e-4) = 6942.9
        >>> next_analysis_step(200, s, Costs(0.012, 1e-4, 0.5, 0.5 + 200 * 1e-4))
        7143
        >>> next_analysis_step(200, s, Costs(1e-4, 5e-5, 0.3, 0.31)) is None   # records alone: 50% of the step
        True
        >>> next_analysis_step(1000, MonitorSettings(every=1000), Costs())
        2000
    """
    if settings.every is not None:
        return (step // settings.every + 1) * settings.every
    s = costs.step_seconds
    if s is None or s <= 0:
        return step + settings.min_gap
    rate = settings.budget * s - costs.record_seconds
    if rate <= 0:
        return None
    trained = step * s if costs.train_seconds is None else costs.train_seconds
    need = (costs.spent_seconds + costs.analysis_seconds - settings.budget * trained) / rate
    return step + max(settings.min_gap, math.ceil(need))
