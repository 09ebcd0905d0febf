"""Small input checks shared by every module.

Each check returns the validated (and normalised) value or raises an
:class:`~adamcheck._errors.AdamCheckError` subclass whose message says what is
wrong and how to fix it. Keep checks here so every entry point rejects the same
inputs with the same words.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

from ._errors import AdamCheckError, DataError, InvalidParameterError
from ._limits import MAX_SEQ_LEN, check_count
from ._shown import shown_repr

# numpy is imported inside the checks that build arrays: the fast commands
# (check, recommend) validate plain numbers and must not pay for importing it.

__all__ = [
    "check_beta",
    "check_betas_array",
    "check_positive_int",
    "check_seq_len",
    "check_nonnegative_int",
    "check_positive_float",
    "check_nonnegative_float",
    "check_finite_float",
    "check_probability",
    "check_finite_array",
    "nonfinite_gradients",
    "zero_gradients",
    "check_seed",
    "as_real_array",
    "check_flag",
    "from_tensor",
    "parse_linspace",
]

#: The largest whole number any adamcheck size, count or seed may be (NumPy's int64, as the CLI).
INT64_MAX = 2**63 - 1


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _numpy() -> Any:
    return sys.modules.get("numpy")


def from_tensor(value: Any, name: str = "value", error: type[AdamCheckError] = InvalidParameterError) -> Any:
    """A torch tensor (any device, with or without ``requires_grad``, bfloat16 too) as a NumPy
    array; any other value unchanged. torch is never imported here: a tensor is recognised by
    its type's module, so users who pass one already have torch loaded."""
    module = getattr(type(value), "__module__", "") or ""
    if not (module == "torch" or module.startswith("torch.")) or not hasattr(value, "detach"):
        return value
    try:
        t = value.detach()
        if hasattr(t, "cpu"):
            t = t.cpu()
        if str(getattr(t, "dtype", "")) == "torch.bfloat16":  # NumPy has no bfloat16
            t = t.float()
        return t.numpy()
    except (RuntimeError, TypeError, AttributeError, ValueError) as exc:
        raise error(f"{name}: cannot read this torch tensor as numbers ({shown_repr(str(exc), 120)}): "
                    "pass tensor.detach().cpu().numpy()") from None


def as_real_array(value: Any, name: str, *, dtype: Any = None,
                  error: type[AdamCheckError] = InvalidParameterError, hint: str = "") -> Any:
    """``value`` as a NumPy array of real numbers (booleans, integers or floats), refusing
    text, complex numbers (a cast would drop the imaginary part), objects, numbers too large
    for float64 and ragged lists with ``error``; torch tensors are read via NumPy.

    Example:
        >>> as_real_array([1, 2], "lr").tolist()
        [1, 2]
        >>> as_real_array("0:1:3", "beta1")
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: beta1 = '0:1:3' is text: give a number or a list of numbers
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    value = from_tensor(value, name, error)
    if isinstance(value, (str, bytes)):
        raise error(f"{name} = {shown_repr(value)} is text: give a number or a list of numbers{hint}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError, RuntimeError):
        raise error(f"{name} = {shown_repr(value)} is not a number or a rectangular list of numbers{hint}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        what = {"c": "complex numbers", "U": "text", "S": "text", "O": "entries that are not numbers (or too "
                "large for float64)"}.get(kind, f"dtype {arr.dtype}")
        raise error(f"{name} = {shown_repr(value)} holds {what}: give real numbers{hint}")
    if dtype is not None:
        arr = arr.astype(dtype)
    return arr


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a bool; an array or tensor (no single truth value) is refused.

    Example:
        >>> check_flag(1, "progress"), check_flag(False, "progress")
        (True, False)
    """
    try:
        return bool(value)
    except (ValueError, RuntimeError, TypeError):
        raise InvalidParameterError(f"{name} = {type(value).__name__} must be True or False") from None


def check_finite_float(value: Any, name: str) -> float:
    """Return ``value`` as a finite float or raise :class:`InvalidParameterError`."""
    value = from_tensor(value, name)
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if not _is_real(value):
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not a number: give a real number")
    try:
        value = float(value)
    except OverflowError:  # an int such as 10**400
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is too large for a float: give a finite "
                                    "number") from None
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name} = {value} is not finite: give a finite number")
    return value


def check_beta(value: Any, name: str = "beta") -> float:
    """Return a beta in [0, 1), the range torch.optim.Adam accepts."""
    value = check_finite_float(value, name)
    if not 0.0 <= value < 1.0:
        raise InvalidParameterError(
            f"{name} = {value:g} is outside [0, 1): use a value in [0, 1), such as 0.9 or 0.999"
        )
    return value


def check_betas_array(values: Any, name: str = "beta") -> Any:
    """Return a float64 array of betas, every entry in [0, 1)."""
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    arr = as_real_array(values, name, dtype=float,
                        hint=" (a range: numpy.linspace(START, STOP, COUNT))" if isinstance(values, str) else "")
    if arr.ndim > 1:
        raise InvalidParameterError(f"{name} must be a number or a 1-D list of numbers")
    arr = np.atleast_1d(arr)
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr >= 1.0)
    if bad.any():
        first = arr[bad][0]
        raise InvalidParameterError(
            f"{name} = {first:g} is outside [0, 1): use values in [0, 1), such as 0.9 or 0.999"
        )
    return arr


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int >= 1."""
    value = _as_int(value, name)
    if value < 1:
        raise InvalidParameterError(f"{name} = {value} must be a positive integer (1 or more)")
    return value


def check_seq_len(value: Any, name: str = "sequence length") -> int:
    """Return ``value`` (tokens per sequence) as an int in [1, :data:`~adamcheck._limits.MAX_SEQ_LEN`].

    Raises:
        InvalidParameterError: not a positive whole number, or above the limit (a typo).

    Example:
        >>> check_seq_len(4096)
        4096
        >>> check_seq_len(99999999999999, "--seq-len")
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: --seq-len = 99999999999999 tokens is above adamcheck's limit of 10,000,000 (longer than any model trains with: a typo?): give the tokens per sequence
    """
    value = check_positive_int(value, name)
    if value > MAX_SEQ_LEN:
        raise InvalidParameterError(
            f"{name} = {value} tokens is above adamcheck's limit of {MAX_SEQ_LEN:,} (longer than any model "
            "trains with: a typo?): give the tokens per sequence")
    return value


def check_nonnegative_int(value: Any, name: str) -> int:
    """Return ``value`` as an int >= 0."""
    value = _as_int(value, name)
    if value < 0:
        raise InvalidParameterError(f"{name} = {value} must be a non-negative integer")
    return value


def _as_int(value: Any, name: str) -> int:
    value = from_tensor(value, name)
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf":
        value = value.item()
    if np is not None and isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameterError(f"{name} = {shown_repr(value)} is not an integer: give a whole number")
    if abs(value) > INT64_MAX:  # sizes, counts and seeds end in NumPy's int64 (the CLI's bound too)
        shown = str(value) if abs(value) < 10**80 else f"a {len(str(abs(value)))}-digit number"
        raise InvalidParameterError(f"{name} = {shown} is out of range: give a whole number of at most "
                                    "2**63 - 1")
    return value


def check_positive_float(value: Any, name: str) -> float:
    """Return ``value`` as a finite float > 0."""
    value = check_finite_float(value, name)
    if value <= 0.0:
        raise InvalidParameterError(f"{name} = {value:g} must be positive")
    return value


def check_nonnegative_float(value: Any, name: str) -> float:
    """Return ``value`` as a finite float >= 0."""
    value = check_finite_float(value, name)
    if value < 0.0:
        raise InvalidParameterError(f"{name} = {value:g} must be zero or positive")
    return value


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    value = check_finite_float(value, name)
    if not 0.0 <= value <= 1.0:
        raise InvalidParameterError(f"{name} = {value:g} must lie in [0, 1]")
    return value


def check_seed(value: Any, name: str = "seed") -> int:
    """Return a seed usable by ``numpy.random.default_rng`` (an int >= 0)."""
    return check_nonnegative_int(value, name)


def check_finite_array(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: Any = "float64",
    allow_empty: bool = False,
) -> Any:
    """Return ``value`` as a finite numeric array of the given rank.

    Raises :class:`DataError` for text, complex or object arrays, ragged lists, wrong
    rank, empty arrays or any NaN/inf entry (reporting where the first one is).
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    arr = as_real_array(value, name, error=DataError)  # complex would lose its imaginary part in the cast
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(k) for k in allowed)
            raise DataError(f"{name} has shape {arr.shape} (rank {arr.ndim}): expected rank {want}")
    if arr.size == 0 and not allow_empty:
        raise DataError(f"{name} is empty (shape {arr.shape}): give at least one entry")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if arr.size and np.issubdtype(arr.dtype, np.floating):
        finite = np.isfinite(arr)
        if not finite.all():
            where = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise DataError(
                f"{name} contains NaN or inf (first at index {where}): clean or drop those entries"
            )
    return arr


def nonfinite_gradients(point: int, example: int, coordinate: int) -> DataError:
    """The one error for a NaN or inf in a gradient file, whichever command (estimate,
    boundary, recommend, check) read it first: the first bad entry's point, row (example)
    and coordinate, and the fix.

    Example:
        >>> str(nonfinite_gradients(0, 3, 2))
        'gradients contain NaN or inf (point 0, example 3, coordinate 2): drop or recompute those examples'
    """
    return DataError(f"gradients contain NaN or inf (point {int(point)}, example {int(example)}, "
                     f"coordinate {int(coordinate)}): drop or recompute those examples")


def zero_gradients() -> DataError:
    """The one error for a gradient file whose every entry is exactly zero.

    No lens can measure anything from it: real per-example gradients are never all exactly
    zero, so such a file almost always comes from reading ``.grad`` after
    ``optimizer.zero_grad()`` or before ``backward()``. Left unchecked, the training
    boundary would read it as "trains at every beta2" (nothing moves), a confident answer
    about a model the file does not describe.

    Example:
        >>> str(zero_gradients()).split(":")[0]
        'every gradient in the file is exactly zero'
    """
    return DataError("every gradient in the file is exactly zero: there is nothing to measure; were they "
                     "read after optimizer.zero_grad() or before loss.backward()? recompute them")


#: Points on one axis of a START:STOP:COUNT range (a phase grid of 100,000 x 100,000
#: cells is already far beyond any time limit; see adamcheck._limits).
MAX_AXIS = 100_000


def parse_linspace(spec: str, name: str) -> Any:
    """Parse ``"start:stop:num"`` (inclusive, like ``numpy.linspace``) or a comma list.

    ``"0:0.99:64"`` gives 64 evenly spaced values from 0 to 0.99; ``"0.9,0.99"``
    gives the listed values; ``"0.9"`` a single value.
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    text = str(spec).strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3 or len(parts[2].strip()) > 30:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if num < 1 or not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError
        else:
            values = [float(p) for p in text.split(",") if p.strip()]
            if not values or not all(math.isfinite(v) for v in values):
                raise ValueError
    except InvalidParameterError:
        raise
    except ValueError:
        raise InvalidParameterError(
            f"{name} = {shown_repr(spec)} is not a range: write START:STOP:COUNT (e.g. 0:0.99:64) "
            "or a comma list of finite numbers (e.g. 0.9,0.99)"
        ) from None
    if ":" in text:
        return np.linspace(start, stop, check_count(num, f"{name} COUNT", MAX_AXIS))
    check_count(len(values), f"{name} values", MAX_AXIS)
    return np.asarray(values, dtype=float)
