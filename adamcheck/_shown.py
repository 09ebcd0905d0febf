"""Show user values in messages without letting them flood the terminal.

A message formats at most :data:`LIMIT` characters of any value a user gave (a path,
an option, a config entry): a billion-laughs YAML alias or a 400-digit number
then costs one short line, not gigabytes of stderr.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIMIT", "shown", "shown_repr"]

#: Characters of a user value a message may show.
LIMIT = 80


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text):,} characters)"


def shown(value: Any, limit: int = LIMIT) -> str:
    """``str(value)`` cut to ``limit`` characters, never formatting a huge container whole.

    Containers are summarised by type and length before ``str`` is called, since
    ``str`` of a deeply aliased YAML list would itself take gigabytes.

    Example:
        >>> shown("x" * 200)[:20], len(shown("x" * 200)) < 120
        ('xxxxxxxxxxxxxxxxxxxx', True)
        >>> shown(list(range(10**6)))
        'a list of 1,000,000 items'
        >>> shown(10**400)
        'a 401-digit number'
    """
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        if len(value) > 8 or any(isinstance(v, (list, tuple, dict, set, frozenset)) for v in value):
            return f"a {type(value).__name__} of {len(value):,} items"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**60:
        return f"a {len(str(abs(value)))}-digit number"
    return _cut(str(value), limit)


def shown_repr(value: Any, limit: int = LIMIT) -> str:
    """Like :func:`shown`, with strings quoted as ``repr`` does.

    Example:
        >>> shown_repr("0.9")
        "'0.9'"
    """
    if isinstance(value, str):
        return _cut(repr(value), limit)
    return shown(value, limit)
