"""Outcome of a run: ``diverged``, ``converged`` or ``undecided``, with the evidence.

Under eta_k = eta_0/sqrt(k) a divergent run drifts slowly (x grows like sqrt(k)), so
a fixed bound on |x| would call it converged or undecided for a long time. The
engine instead measures, at ~32 or more checkpoints, the distance D to the
minimiser (the loss when no minimiser is known) and fits, over the second half of
the run, D against the elapsed step-size time S(t) = sum_{k<=t} s_k (s_k the schedule
factor). In that time a drifting run moves at a constant mean speed, so the slope
("drift") and its t-statistic tell a steady walk away from the minimiser from noise.

Rules (tolerances are parameters of :func:`classify`):

* diverged  - the state overflowed or became NaN/inf (frozen at that step); or the
  fitted drift is significantly positive (t > ``drift_t``), D grew over the second
  half and D ends farther than it started (by ``tol``); on a bounded feasible set,
  ending at least half the diameter away without improving over the second half
  (Reddi et al.'s "converges to the wrong end") also counts;
* converged - D ends within ``tol * max(1, D_0)`` of the minimiser;
* undecided - anything else (including every run whose problem has no minimiser
  and no divergence signal).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["EvidenceTracker", "classify", "OUTCOMES"]

#: |x| beyond this counts as blown up (diverged); the run is frozen so that no
#: overflow warnings or NaN arithmetic follow (1e30 in float32).
BLOWUP = 1e150


def blowup_limit(dtype: np.dtype) -> float:
    """The |x| above which a run of this dtype counts as diverged (the engine freezes it there)."""
    return BLOWUP if np.dtype(dtype).itemsize >= 8 else 1e30


OUTCOMES = ("diverged", "converged", "undecided")


class EvidenceTracker:
    """Accumulates, in O(runs) memory, what :func:`classify` needs."""

    def __init__(self, x0: np.ndarray, minimizer: np.ndarray | None, problem: Any, steps: int, bounds):
        self.problem = problem
        self.minimizer = minimizer
        self.steps = steps
        self.bounds = bounds
        self.mode = "distance" if minimizer is not None else ("loss" if problem.loss(x0[:1]) is not None else "none")
        runs = x0.shape[0]
        self.D0 = self._measure(x0)
        self.S = 0.0
        self.half = None
        self.last = self.D0
        z = lambda: np.zeros(runs)  # noqa: E731
        self.n = 0
        self.sS = 0.0
        self.sSS = 0.0
        self.sD, self.sSD, self.sDD = z(), z(), z()

    def _measure(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            if self.mode == "distance":
                return np.linalg.norm(x - self.minimizer, axis=1)
            if self.mode == "loss":
                return np.asarray(self.problem.loss(x), dtype=float)
        return np.zeros(x.shape[0])

    def checkpoint(self, t: int, x: np.ndarray, schedule_sum: float) -> None:
        self.S += schedule_sum
        D = self._measure(x)
        self.last = D
        if 2 * t >= self.steps:
            if self.half is None:
                self.half = D
            D = np.where(np.isfinite(D), D, 0.0)
            self.n += 1
            self.sS += self.S
            self.sSS += self.S * self.S
            self.sD += D
            self.sSD += self.S * D
            self.sDD += D * D

    def finish(self, x: np.ndarray, blowup: np.ndarray) -> dict[str, np.ndarray]:
        n = self.n
        with np.errstate(all="ignore"):
            sxx = self.sSS - self.sS**2 / n if n else 0.0
            if n >= 3 and sxx > 0:
                slope = (self.sSD - self.sS * self.sD / n) / sxx
                syy = self.sDD - self.sD**2 / n
                resid = np.maximum(syy - slope**2 * sxx, 0.0) / (n - 2)
                se = np.sqrt(resid / sxx)
                drift_t = np.where(se > 1e-300, slope / np.where(se > 1e-300, se, 1.0), np.sign(slope) * np.inf)
            else:
                slope = np.full(x.shape[0], np.nan)
                drift_t = np.full(x.shape[0], np.nan)
        with np.errstate(invalid="ignore", over="ignore"):
            big = (np.abs(x) > x.dtype.type(blowup_limit(x.dtype))).any(axis=1)
        nonfinite = (~np.isfinite(x).all(axis=1)) | (blowup > 0) | big
        return {
            "measure": np.array(self.mode),
            "initial": self.D0,
            "half": self.half if self.half is not None else self.last,
            "final": self.last,
            "drift": slope,
            "drift_t": drift_t,
            "nonfinite": nonfinite,
            "blowup_step": blowup,
        }


def classify(
    evidence: dict[str, np.ndarray],
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 0.05,
    drift_t: float = 3.0,
) -> np.ndarray:
    """Outcome per run (array of strings) from the evidence of :class:`EvidenceTracker`.

    Example:
        >>> import numpy as np
        >>> ev = {"measure": np.array("distance"), "initial": np.array([2.0, 2.0, 2.0]),
        ...       "half": np.array([5.0, 0.01, 2.1]), "final": np.array([9.0, 0.001, 2.0]),
        ...       "drift": np.array([1.0, 0.0, 0.0]), "drift_t": np.array([50.0, 0.0, 0.0]),
        ...       "nonfinite": np.zeros(3, bool), "blowup_step": np.zeros(3, int)}
        >>> classify(ev).tolist()
        ['diverged', 'converged', 'undecided']
    """
    mode = str(evidence["measure"])
    D0, Dh, Df = evidence["initial"], evidence["half"], evidence["final"]
    runs = D0.shape[0]
    out = np.full(runs, "undecided", dtype=object)
    scale = tol * np.maximum(1.0, np.abs(D0))
    with np.errstate(invalid="ignore"):
        if mode == "distance":
            converged = Df <= scale
            walking = (evidence["drift_t"] > drift_t) & (Df > Dh) & (Df > D0 + scale)
            if bounds is not None:
                diameter = bounds[1] - bounds[0]
                walking |= (Df >= 0.5 * diameter) & (Df >= Dh - scale)
            out[converged] = "converged"
            out[walking & ~converged] = "diverged"
        elif mode == "loss":
            walking = (evidence["drift_t"] > drift_t) & (Df > Dh) & (Df > D0 + scale)
            out[walking] = "diverged"
    out[evidence["nonfinite"]] = "diverged"
    return out.astype(str)
