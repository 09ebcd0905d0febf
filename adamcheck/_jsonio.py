"""Turn results into JSON that scripts can rely on.

``to_jsonable`` maps NumPy scalars and arrays to Python numbers and lists,
non-finite floats to ``null`` (JSON has no NaN), ``fractions.Fraction`` and SymPy
rationals to exact strings such as ``"171/8"``, dataclasses to dicts and paths to
strings. ``dumps`` is the one place the CLI formats JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import sys
from fractions import Fraction
from pathlib import PurePath
from typing import Any

__all__ = ["to_jsonable", "dumps"]


def to_jsonable(obj: Any) -> Any:
    """Return a structure of dict/list/str/int/float/bool/None equal in content to ``obj``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    # NumPy objects exist only if numpy was imported; never import it here.
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            value = float(obj)
            return value if math.isfinite(value) else None
        if isinstance(obj, np.ndarray):
            return to_jsonable(obj.tolist())
    if isinstance(obj, Fraction):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    # SymPy numbers without importing SymPy: rationals and integers print exactly.
    module = type(obj).__module__
    if module.startswith("sympy"):
        if getattr(obj, "is_Rational", False):
            return str(obj)
        if getattr(obj, "is_Float", False):
            return float(obj)
        return str(obj)
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Serialise ``obj`` with :func:`to_jsonable`; never emits NaN or Infinity."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
