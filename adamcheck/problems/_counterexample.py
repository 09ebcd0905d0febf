"""The counterexample of Zhang et al. (2026, eq. 2.5), docs/theory.md section 4.

For x >= -1 the component losses are linear with slopes ``1 + (n-1)a`` (f_0) and
``-a`` (f_1..f_{n-1}); below -1 each is a parabola through x = -2 that joins C^1::

    f_0(x) = (1+(n-1)a) x                                  x >= -1
           = (1+(n-1)a)/2 (x+2)^2 - (3+3(n-1)a)/2          x <  -1
    f_i(x) = -a x                                          x >= -1
           = -a/2 (x+2)^2 + 3a/2                           x <  -1

so every component gradient factors as ``slope_i * min(x + 2, 1)``, the full loss is
ell(x) = x/n above -1 and ((x+2)^2 - 3)/(2n) below, with minimiser x* = -2.

:func:`adamcheck.theory.counterexample_slopes` is the single definition of the slopes
(re-exported here): the simulator, the two-point law and the symbolic module all call it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validate import check_positive_float
from ..theory import KINK, check_counterexample_n, counterexample_minimiser, counterexample_slopes
from ._base import Problem

__all__ = ["counterexample_slopes", "Counterexample"]


class Counterexample(Problem):
    """Zhang et al. 2026 eq. (2.5) with parameters n >= 2 and a > 0 (docs/theory.md section 4).

    Example:
        >>> import numpy as np
        >>> p = Counterexample(n=3, a=0.25)
        >>> p.gradient(np.array([[0.0], [-2.5]]), np.array([0, 1])).ravel().tolist()
        [1.5, 0.125]
        >>> p.loss(np.array([[0.0], [-2.0]])).tolist()  # x/n above -1, -3/(2n) at x* = -2
        [0.0, -0.5]
    """

    name = "counterexample"
    dim = 1
    outcome_rule = "distance"  # the papers judge these by the distance to x*
    default_sampling = "replacement"

    def __init__(self, n: int, a: float):
        self.n = check_counterexample_n(n)
        self.a = check_positive_float(a, "a")
        self.n_components = self.n
        big, small = counterexample_slopes(self.n, self.a)
        self.slopes = np.full(self.n, float(small))
        self.slopes[0] = float(big)

    def gradient(self, x: np.ndarray, comp: np.ndarray) -> np.ndarray:
        return self.slopes[comp][:, None] * np.minimum(x + 2.0, 1.0)

    def gradient_into(self, x: np.ndarray, comp, out: np.ndarray) -> None:
        np.add(x, 2.0, out=out)
        np.minimum(out, 1.0, out=out)
        if np.ndim(comp) == 0:
            out *= out.dtype.type(self.slopes[comp])
        else:
            out *= self.slopes.astype(out.dtype)[comp][:, None]

    def loss(self, x: np.ndarray) -> np.ndarray:
        x = x[:, 0]
        with np.errstate(over="ignore", invalid="ignore"):
            quad = ((x + 2.0) ** 2 - 3.0) / (2.0 * self.n)
        return np.where(x >= -1.0, x / self.n, quad)

    def minimizer(self) -> np.ndarray:
        return np.array([float(counterexample_minimiser())])

    def constant_gradients(self) -> np.ndarray:
        return self.slopes[:, None].copy()

    def constant_region_margin(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0] - KINK  # the linear piece is x >= KINK = -1

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": 1, "n_components": self.n, "n": self.n, "a": self.a}
