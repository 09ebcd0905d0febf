"""Learning-rate schedules: the factor s_k multiplying each run's base rate eta_0.

* ``constant``        - s_k = 1;
* ``inv-sqrt``        - s_k = 1/sqrt(k), k = 1, 2, ... the step (Zhang et al. 2026);
* ``inv-sqrt-epoch``  - s_k = 1/sqrt(e), e = ceil(k/n) the epoch (Shi et al. 2021,
  Zhang et al. 2022, where n steps make an epoch).
"""

from __future__ import annotations

import numpy as np

from .._errors import InvalidParameterError
from .._shown import shown_repr

__all__ = ["SCHEDULES", "check_schedule", "schedule_factors"]

SCHEDULES = ("constant", "inv-sqrt", "inv-sqrt-epoch")


def check_schedule(name: str) -> str:
    if not isinstance(name, str) or name not in SCHEDULES:
        raise InvalidParameterError(
            f"unknown schedule {shown_repr(name)}: choose one of {', '.join(SCHEDULES)}"
        )
    return name


def schedule_factors(schedule: str, start: int, count: int, steps_per_epoch: int = 1) -> np.ndarray:
    """Factors s_k for steps k = start, ..., start + count - 1 (1-based).

    Example:
        >>> schedule_factors("inv-sqrt", 1, 4).tolist()
        [1.0, 0.7071067811865475, 0.5773502691896258, 0.5]
    """
    check_schedule(schedule)
    k = np.arange(start, start + count, dtype=np.float64)
    if schedule == "constant":
        return np.ones(count)
    if schedule == "inv-sqrt":
        return 1.0 / np.sqrt(k)
    epoch = np.ceil(k / max(int(steps_per_epoch), 1))
    return 1.0 / np.sqrt(epoch)
