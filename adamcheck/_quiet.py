"""NumPy's floating-point warnings stop at the library boundary.

Public entry points that do numerical work are wrapped in :func:`numpy_quiet`: inside,
``numpy.errstate(all="ignore")`` and a warnings filter for ``RuntimeWarning`` keep
"overflow encountered", "Mean of empty slice" and the like from reaching the user raw.
The entry points check their results (NaN, inf, too few examples) and raise an
:class:`~adamcheck._errors.AdamCheckError` in their own words instead.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, TypeVar

__all__ = ["numpy_quiet"]

F = TypeVar("F", bound=Callable[..., Any])


def numpy_quiet(func: F) -> F:
    """Run ``func`` with NumPy floating-point warnings silenced (see the module docstring).

    Example:
        >>> import numpy as np
        >>> float(numpy_quiet(lambda: np.mean(np.array([])))())
        nan
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
