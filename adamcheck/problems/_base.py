"""The problem protocol the simulator runs.

A problem is a finite-sum objective ell(x) = (1/n) sum_i ell_i(x) over n components
(mini-batches), x in R^d. The simulator advances many runs at once, so every method
takes a batch of points ``x`` shaped (runs, d) and a component index per run.

To plug in your own problem, subclass :class:`Problem` and implement
``gradient``; add ``loss`` and ``minimizer`` for richer outcome evidence.

Example:
    >>> import numpy as np
    >>> class Quadratic(Problem):
    ...     '''ell_i(x) = (x - c_i)^2 / 2 with c = (-1, 3): minimiser x* = 1.'''
    ...     name, dim, n_components = "quadratic", 1, 2
    ...     centres = np.array([-1.0, 3.0])
    ...     def gradient(self, x, comp):
    ...         return x - self.centres[comp][:, None]
    ...     def minimizer(self):
    ...         return np.array([1.0])
    >>> Quadratic().gradient(np.zeros((2, 1)), np.array([0, 1])).ravel().tolist()
    [1.0, -3.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Problem"]


class Problem:
    """Base class of simulator problems (subclass and override).

    Attributes:
        name: short identifier shown in results.
        dim: dimension d of x.
        n_components: number n of component losses (mini-batches).
        component_weights: sampling probabilities of the components under
            ``replacement`` sampling, or None for uniform (the papers' setting).
        bounds: (low, high) box onto which iterates are projected after every
            step, or None (unconstrained).
        samplings: the sampling schemes that make sense for this problem
            (None: all of them).
        outcome_rule: how the simulator judges a run. ``"training"`` (the default,
            for data and user problems): from the loss, as in real training
            (:func:`adamcheck.simulator.classify_training`), falling back to
            ``"distance"`` when ``loss`` returns None; ``"distance"``: from the distance
            to the known minimiser (the papers' counterexamples).
        loss_floor: a lower bound of the loss (0 for least squares and logistic
            regression), the reference when no minimiser is known; None if unknown.
    """

    name: str = "problem"
    dim: int = 1
    n_components: int = 1
    component_weights: np.ndarray | None = None
    bounds: tuple[float, float] | None = None
    samplings: tuple[str, ...] | None = None
    default_sampling: str = "replacement"
    outcome_rule: str = "training"
    loss_floor: float | None = None

    def gradient(self, x: np.ndarray, comp: np.ndarray) -> np.ndarray:
        """Gradient of ell_{comp[r]} at x[r] for every run r: (runs, d) -> (runs, d)."""
        raise NotImplementedError

    def gradient_into(self, x: np.ndarray, comp: int | np.ndarray, out: np.ndarray) -> None:
        """Write the gradients at the rows of ``x`` into ``out``: of component ``comp``
        for every row when it is an int, of ``comp[r]`` for row r when it is an array.
        The engine calls this in its hot loop; override it to avoid temporaries."""
        if np.ndim(comp) == 0:
            comp = np.full(x.shape[0], int(comp))
        out[...] = self.gradient(x, comp)

    def loss(self, x: np.ndarray) -> np.ndarray | None:
        """The full objective ell(x) per run, shape (runs,), or None if unavailable."""
        return None

    def minimizer(self) -> np.ndarray | None:
        """A minimiser x* (d,) of ell, or None when unknown or nonexistent."""
        return None

    def full_gradient(self, x: np.ndarray) -> np.ndarray | None:
        """Gradient of the full objective ell at every row of x, (runs, d), or None."""
        return None

    def reference_loss(self) -> float | None:
        """The optimum of ell (its value at :meth:`minimizer`), else :attr:`loss_floor`."""
        xstar = self.minimizer()
        if xstar is not None:
            value = self.loss(np.asarray(xstar, dtype=float)[None, :])
            if value is not None and np.isfinite(value[0]):
                return float(value[0])
        return self.loss_floor

    # -- optional fast path: regions where every component gradient is constant --------
    def constant_gradients(self) -> np.ndarray | None:
        """If some region R has grad ell_i(x) = c_i for all x in R, return c (n, d).

        The simulator then shares Adam's moments between runs that sit in R with the
        same seed and betas (their (m, v) evolve independently of x, docs/theory.md section
        4), which makes divergent runs nearly free. Return None to opt out.
        """
        return None

    def constant_region_margin(self, x: np.ndarray) -> np.ndarray:
        """For each run, a margin delta >= 0 such that every x' with
        max_j |x'_j - x_j| <= delta lies in R; a negative value when x is not in R."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Parameters identifying the problem (for results and JSON)."""
        return {"name": self.name, "dim": self.dim, "n_components": self.n_components}
