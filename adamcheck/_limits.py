"""One place that bounds work sized by the user, before any of it is done.

Every entry point that lets a user pick a size (grid cells x seeds x steps, law
atoms, bootstrap replicates, random partitions, axis lengths) asks :func:`check_work`
with the memory and the element-operations the request implies, *before* allocating
or computing anything. A request above a limit is refused with
:class:`~adamcheck._errors.InvalidParameterError`, naming the parameter, the figure
it implies and the limit, so a typo such as ``--steps 1000000000000`` fails in
milliseconds instead of after gigabytes.

The limits are adamcheck's choices, not constants from any paper: ``MAX_BYTES``
(8 GiB) is what one call may plan to hold in memory, ``MAX_OPS`` (2e12 element
operations, about half an hour at ~1e9 per second) what it may plan to compute. Users
with larger machines raise them with the environment variables
``ADAMCHECK_MAX_MEMORY_GB`` and ``ADAMCHECK_MAX_OPS``.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ._errors import InvalidParameterError

__all__ = ["MAX_BYTES", "MAX_OPS", "MAX_COUNT", "MAX_SEQ_LEN", "MAX_BATCH_SIZES", "max_bytes", "max_ops", "check_work", "check_count",
           "human_bytes"]

#: Memory one call may plan to use (bytes); ADAMCHECK_MAX_MEMORY_GB overrides it.
MAX_BYTES = 8 * 2**30
#: Element operations one call may plan to do; ADAMCHECK_MAX_OPS overrides it.
MAX_OPS = 2e12
#: Any single user-given count (axis points, seeds, atoms, replicates, partitions).
MAX_COUNT = 10**8
#: The longest sequence (tokens per sample) accepted: above the longest context any model
#: trains with (about 10^6 - 10^7 tokens as of 2025), so a larger value is taken for a typo
#: (``--seq-len 99999999999999`` would count 8e14 tokens per step at batch 8). adamcheck's
#: choice, not a constant from any paper.
MAX_SEQ_LEN = 10**7
#: Batch sizes in one boundary request: each is a full simulated run set (about 0.1-1 s),
#: and a curve over batch size needs a few dozen points at most (adamcheck's choice).
MAX_BATCH_SIZES = 100


def _env_float(name: str, default: float, scale: float = 1.0) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text) * scale
    except ValueError:
        raise InvalidParameterError(
            f"environment variable {name} = {text[:80]!r} is not a number: unset it or give a number"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"environment variable {name} = {text[:80]!r} must be a positive number")
    return value


def max_bytes() -> float:
    """The memory limit in bytes (``ADAMCHECK_MAX_MEMORY_GB`` in GiB, else :data:`MAX_BYTES`)."""
    return _env_float("ADAMCHECK_MAX_MEMORY_GB", MAX_BYTES, 2**30)


def max_ops() -> float:
    """The work limit in element operations (``ADAMCHECK_MAX_OPS``, else :data:`MAX_OPS`)."""
    return _env_float("ADAMCHECK_MAX_OPS", MAX_OPS)


def human_bytes(n: float) -> str:
    """``n`` bytes for people: ``human_bytes(3 * 2**30) == '3 GiB'``.

    Example:
        >>> human_bytes(1536), human_bytes(3 * 2**30)
        ('1.5 KiB', '3 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_count(value: Any, name: str, maximum: int = MAX_COUNT) -> int:
    """``value`` as an int in [0, maximum]; larger counts are refused with the limit.

    Example:
        >>> check_count(64, "atoms")
        64
        >>> check_count(10**12, "atoms")
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: atoms = 1000000000000 is above adamcheck's limit of 100,000,000: give a smaller atoms
    """
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

            if isinstance(value, np.integer):
                value = int(value)
        except ImportError:  # pragma: no cover
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(f"{name} = {str(value)[:80]} is not a whole number: give an integer")
    if value > maximum:
        shown = str(value) if value < 10**80 else f"a {len(str(value))}-digit number"
        raise InvalidParameterError(
            f"{name} = {shown} is above adamcheck's limit of {maximum:,}: give a smaller {name}"
        )
    return value


def check_work(what: str, *, nbytes: float = 0.0, ops: float = 0.0, fix: str) -> None:
    """Refuse a request whose planned memory or work is above the limits.

    Args:
        what: the request in the user's terms, e.g. ``"--steps 1000000 over 4096 runs"``.
        nbytes: the memory it implies (bytes).
        ops: the element operations it implies (e.g. steps x runs x coordinates).
        fix: how to make it smaller, in parameter names (``"lower steps or seeds"``).

    Raises:
        InvalidParameterError: when ``nbytes > max_bytes()`` or ``ops > max_ops()``.

    Example:
        >>> check_work("1 run", nbytes=1e3, ops=1e6, fix="lower steps")
        >>> check_work("steps = 10**15", ops=1e15, fix="lower steps")
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: steps = 10**15 needs about 1e+15 element operations, above adamcheck's limit of 2e+12 (set ADAMCHECK_MAX_OPS to raise it): lower steps
    """
    mem_limit, ops_limit = max_bytes(), max_ops()
    if not (nbytes <= mem_limit):  # also refuses NaN
        raise InvalidParameterError(
            f"{what} needs about {human_bytes(nbytes)} of memory, above adamcheck's limit of "
            f"{human_bytes(mem_limit)} (set ADAMCHECK_MAX_MEMORY_GB to raise it): {fix}"
        )
    if not (ops <= ops_limit):
        raise InvalidParameterError(
            f"{what} needs about {ops:.3g} element operations, above adamcheck's limit of "
            f"{ops_limit:.3g} (set ADAMCHECK_MAX_OPS to raise it): {fix}"
        )
