"""What the Hugging Face and Lightning callbacks share: their GradientMonitor options,
checked when the callback is made (so a bad option fails then, not at train start)."""

from __future__ import annotations

from typing import Any, Mapping

from .._errors import InvalidParameterError

__all__ = ["WIRING", "check_monitor_options"]

#: options a callback fills from the trainer (or passes to the monitor as is), not settings
WIRING = frozenset({"names", "accumulation_steps", "planned_steps", "seq_len", "settings"})


def check_monitor_options(options: Mapping[str, Any], settings_hint: str) -> dict[str, Any]:
    """``options`` as a dict once :class:`~adamcheck.monitor.MonitorSettings` accepts them.

    ``settings_hint`` names the argument in the error for a ``settings`` that is not a
    MonitorSettings (``"lightning_callback(settings=...)"``).

    Raises:
        InvalidParameterError: an unknown option, a bad value, or ``settings`` not a MonitorSettings.

    Example:
        >>> check_monitor_options({"coordinates": 256, "planned_steps": 10}, "x")
        {'coordinates': 256, 'planned_steps': 10}
    """
    # deferred: the monitor loads NumPy, and adamcheck.configs re-exports the HF callback
    # (check's fast path must not load NumPy)
    from ..monitor import MonitorSettings  # lazy: keeps numpy off `import adamcheck.configs`

    options = dict(options)
    base = options.get("settings") or MonitorSettings()
    if not isinstance(base, MonitorSettings):
        raise InvalidParameterError(f"{settings_hint} must be an adamcheck.monitor.MonitorSettings")
    base.replace(**{k: v for k, v in options.items() if k not in WIRING})  # an unknown option raises here
    return options
