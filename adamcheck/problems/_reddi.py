"""Reddi, Kale & Kumar (ICLR 2018) counterexamples, projected onto [-1, 1] (docs/theory.md section 5).

* Online (Theorem 1): f_t(x) = C x if t mod period = 1, else -x. With period 3,
  C > 2, beta1 = 0 and beta2 = 1/(1 + C^2), Adam ends at x = +1 while the optimum of
  the average regret is x = -1. Modelled as ``period`` components visited in cyclic
  order (component 0 has slope C, the others slope -1).
* Stochastic (Theorem 3): f_t(x) = C x with probability p = (1+delta)/(C+1), else -x,
  so F(x) = E f_t(x) = delta x with minimiser -1 on [-1, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from .._limits import check_work
from .._validate import check_finite_float, check_positive_float, check_positive_int
from ..theory import reddi_stochastic_probability
from ._base import Problem

__all__ = ["ReddiOnline", "ReddiStochastic"]


class _LinearOnInterval(Problem):
    dim = 1
    outcome_rule = "distance"  # the papers judge these by the distance to x*
    bounds = (-1.0, 1.0)

    def __init__(self, slopes: np.ndarray, weights: np.ndarray):
        self.slopes = np.asarray(slopes, dtype=float)
        self.mean_slope = float(np.dot(weights, self.slopes))
        self.n_components = self.slopes.size

    def gradient(self, x: np.ndarray, comp: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.slopes[comp][:, None], x.shape).astype(x.dtype)

    def gradient_into(self, x: np.ndarray, comp, out: np.ndarray) -> None:
        if np.ndim(comp) == 0:
            out.fill(self.slopes[comp])
        else:
            out[...] = self.slopes[comp][:, None]

    def loss(self, x: np.ndarray) -> np.ndarray:
        return self.mean_slope * x[:, 0]

    def minimizer(self) -> np.ndarray:
        return np.array([-1.0 if self.mean_slope > 0 else 1.0])

    def constant_gradients(self) -> np.ndarray:
        return self.slopes[:, None].copy()

    def constant_region_margin(self, x: np.ndarray) -> np.ndarray:
        return np.full(x.shape[0], np.inf)


class ReddiOnline(_LinearOnInterval):
    """f_t(x) = C x if t mod period = 1 else -x on [-1, 1] (Reddi et al. 2018, Thm 1).

    Example:
        >>> p = ReddiOnline(C=3, period=3)
        >>> p.slopes.tolist(), p.minimizer().tolist()
        ([3.0, -1.0, -1.0], [-1.0])
    """

    name = "reddi-online"
    samplings = ("cyclic",)
    default_sampling = "cyclic"

    def __init__(self, C: float, period: int = 3):
        self.C = check_positive_float(C, "C")
        self.period = check_positive_int(period, "period")
        if self.period < 2:
            raise InvalidParameterError("period must be at least 2 (one C x step, then -x steps)")
        check_work(f"period = {self.period:,}", nbytes=16.0 * self.period, fix="lower period")
        slopes = np.full(self.period, -1.0)
        slopes[0] = self.C
        super().__init__(slopes, np.full(self.period, 1.0 / self.period))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": 1, "n_components": self.period, "C": self.C, "period": self.period}


class ReddiStochastic(_LinearOnInterval):
    """f_t(x) = C x w.p. p = (1+delta)/(C+1), else -x, on [-1, 1] (Reddi et al. 2018, Thm 3).

    Example:
        >>> p = ReddiStochastic(C=10, delta=0.1)
        >>> round(p.mean_slope, 12)  # F(x) = delta x
        0.1
    """

    name = "reddi-stochastic"
    samplings = ("replacement",)
    default_sampling = "replacement"

    def __init__(self, C: float, delta: float):
        self.C = check_positive_float(C, "C")
        self.delta = check_finite_float(delta, "delta")
        if self.delta == 0.0:
            raise InvalidParameterError(
                "delta = 0 makes F(x) = delta x zero (every x minimises it): choose delta in (0, C), such as 0.1"
            )
        p = float(reddi_stochastic_probability(self.C, self.delta))
        if not 0.0 < p < 1.0:
            raise InvalidParameterError(
                f"(1+delta)/(C+1) = {p:g} must lie in (0, 1): choose delta in (-1, C)"
            )
        self.p = p
        self.component_weights = np.array([p, 1.0 - p])
        super().__init__(np.array([self.C, -1.0]), self.component_weights)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dim": 1, "n_components": 2, "C": self.C, "delta": self.delta, "p": self.p}
