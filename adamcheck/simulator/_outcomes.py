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

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EvidenceTracker", "classify", "classify_training", "TrainingCriterion", "OUTCOMES"]

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
        from ._engine import blowup_limit

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


# --- real-data runs: judged by the loss, not by a distance ---------------------------

#: Reasons are short sentences; the numbers are formatted with this many digits.
_DIGITS = 4


def _fmt(x: float) -> str:
    return f"{float(x):.{_DIGITS}g}"


def classify_training(
    initial_loss: Any,
    final_loss: Any,
    best_loss: Any,
    finite: Any,
    *,
    grad_norm: Any = None,
    initial_grad_norm: Any = None,
    reference_loss: Any = None,
    rise_factor: float = 1.0,
    min_decrease: float = 0.5,
    min_relative_decrease: float = 1e-3,
    stationary: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Label training runs from their loss: ``diverged``, ``converged`` or ``undecided``.

    This one function judges every run on real data: the NumPy simulator's least
    squares, logistic regression and user problems, and the torch models of
    :func:`adamcheck.torch.phase_sweep`, so the two agree by construction on the same
    run. Write L0, Lf, Lb for the initial, final and best (lowest seen) full training
    loss of a run, and L* = min(Lb, ``reference_loss``) (the optimum, or a lower bound
    of the loss such as 0 for cross-entropy; Lb alone when no reference is given).

    * **diverged** when the run is not ``finite`` (its parameters or loss overflowed or
      became NaN), or when it ended higher than it started:
      Lf - L0 > (``rise_factor`` - 1) |L0| and Lf > L0 (with the default factor 1,
      "the final train loss is not below the initial loss", the failure criterion
      of the validation suite of issue 10);
    * **converged** when it closed at least ``min_decrease`` of the gap to the
      reference, L0 - Lf >= ``min_decrease`` (L0 - L*), and that decrease is more
      than rounding, L0 - Lf > ``min_relative_decrease`` |L0|; or, when gradient norms
      are given, when Lf < L0 and the final full-gradient norm is at most
      ``stationary`` times the initial one (a stationary point, the criterion of the
      convergence theorems);
    * **undecided** otherwise, with the reason (the loss fell, but not far enough
      towards the reference to tell a slow run from a stalled one).

    The thresholds are adamcheck's choices, not constants from a paper; they are
    parameters so that a study can state and vary them. Ties are impossible: the
    rules are applied in the order above.

    Args:
        initial_loss, final_loss, best_loss: per-run losses, any common shape.
        finite: per-run booleans, False where parameters or loss blew up.
        grad_norm, initial_grad_norm: optional per-run full-gradient norms at the
            end and at the start.
        reference_loss: optional scalar or per-run optimum (or lower bound) of the loss.
        rise_factor: >= 1; how far above the initial loss the final loss may end
            before the run counts as diverged.
        min_decrease: in (0, 1]; fraction of the way to the reference a run must go.
        min_relative_decrease: decreases below this fraction of |L0| are rounding.
        stationary: gradient-norm ratio that counts as a stationary point.

    Returns:
        (outcome, reason): two string arrays of the common shape.

    Raises:
        InvalidParameterError: a threshold out of range or shapes that do not broadcast.

    Example:
        >>> out, why = classify_training([0.69, 0.69, 0.69, 0.69], [20.0, 0.02, 0.5, float("nan")],
        ...                              [0.6, 0.02, 0.1, 0.5], [True, True, True, False],
        ...                              reference_loss=0.0)
        >>> out.tolist()
        ['diverged', 'converged', 'undecided', 'diverged']
        >>> str(why[0])
        'final loss 20 is above the initial loss 0.69'

    References:
        The criterion of issue 10's validation suite (a run fails when its loss or
        parameters become non-finite or its final train loss is not below the
        initial loss); Zhang et al. 2026 (arXiv:2603.02092) measure convergence by
        min_k |grad f(x_k)|, which the ``stationary`` rule follows.
    """
    from .._errors import InvalidParameterError

    if not (np.isfinite(rise_factor) and rise_factor >= 1.0):
        raise InvalidParameterError(f"rise_factor = {rise_factor} must be a number >= 1, such as 1.0")
    if not (0.0 < min_decrease <= 1.0):
        raise InvalidParameterError(f"min_decrease = {min_decrease} must lie in (0, 1], such as 0.5")
    if not (min_relative_decrease >= 0.0):
        raise InvalidParameterError(
            f"min_relative_decrease = {min_relative_decrease} must be zero or positive, such as 1e-3"
        )
    if not (stationary >= 0.0):
        raise InvalidParameterError(f"stationary = {stationary} must be zero or positive, such as 1e-3")
    try:
        arrays = np.broadcast_arrays(
            np.asarray(initial_loss, dtype=float),
            np.asarray(final_loss, dtype=float),
            np.asarray(best_loss, dtype=float),
            np.asarray(finite, dtype=bool),
            np.asarray(np.nan if reference_loss is None else reference_loss, dtype=float),
            np.asarray(np.nan if grad_norm is None else grad_norm, dtype=float),
            np.asarray(np.nan if initial_grad_norm is None else initial_grad_norm, dtype=float),
        )
    except ValueError:
        raise InvalidParameterError(
            "initial_loss, final_loss, best_loss, finite (and the optional norms and "
            "reference_loss) must have broadcastable shapes: give one value per run"
        ) from None
    L0, Lf, Lb, ok, ref, g, g0 = (a.ravel() for a in arrays)
    shape = arrays[0].shape
    out = np.empty(L0.size, dtype=object)
    why = np.empty(L0.size, dtype=object)
    for i in range(L0.size):
        out[i], why[i] = _judge(L0[i], Lf[i], Lb[i], ok[i], ref[i], g[i], g0[i], rise_factor,
                                min_decrease, min_relative_decrease, stationary)
    return out.astype(str).reshape(shape), why.astype(str).reshape(shape)


def _judge(L0, Lf, Lb, ok, ref, g, g0, rise_factor, min_decrease, min_rel, stationary) -> tuple[str, str]:
    if not ok or not (np.isfinite(L0) and np.isfinite(Lf)):
        return "diverged", "the loss or the parameters became non-finite (or passed the blow-up limit)"
    if Lf > L0 and Lf - L0 > (rise_factor - 1.0) * abs(L0):
        above = "above the initial loss" if rise_factor == 1.0 else f"above {rise_factor:g} x the initial loss"
        return "diverged", f"final loss {_fmt(Lf)} is {above} {_fmt(L0)}"
    Lb = min(Lb, Lf) if np.isfinite(Lb) else Lf
    has_ref = np.isfinite(ref)
    Lstar = min(Lb, ref) if has_ref else Lb
    drop = L0 - Lf
    gap = L0 - Lstar
    target = "reference" if has_ref and ref < Lb else "best"
    if drop > min_rel * abs(L0) and gap > 0 and drop >= min_decrease * gap:
        return "converged", (
            f"final loss {_fmt(Lf)} closed {100 * drop / gap:.0f}% of the gap from the initial "
            f"{_fmt(L0)} to the {target} loss {_fmt(Lstar)}"
        )
    if np.isfinite(g) and np.isfinite(g0) and g0 > 0 and Lf < L0 and g <= stationary * g0:
        return "converged", (
            f"gradient norm fell to {_fmt(g / g0)} x its initial value with the loss below its start"
        )
    if drop <= min_rel * abs(L0):
        return "undecided", (
            f"final loss {_fmt(Lf)} is within {min_rel:g} x |initial| of the initial loss {_fmt(L0)}: "
            "the run neither rose nor fell"
        )
    return "undecided", (
        f"final loss {_fmt(Lf)} fell from {_fmt(L0)} but closed only {100 * drop / gap:.0f}% of the gap "
        f"to the {target} loss {_fmt(Lstar)} (needs {100 * min_decrease:.0f}%): train longer to tell"
    )


@dataclass(frozen=True)
class TrainingCriterion:
    """The thresholds of :func:`classify_training`, bundled so that the NumPy simulator
    and :func:`adamcheck.torch.phase_sweep` are handed one object (defaults as there).

    Example:
        >>> out, _ = TrainingCriterion(rise_factor=2.0).apply(1.0, 1.5, 0.9, True)
        >>> str(out)
        'undecided'
    """

    rise_factor: float = 1.0
    min_decrease: float = 0.5
    min_relative_decrease: float = 1e-3
    stationary: float = 1e-3

    def apply(self, initial_loss: Any, final_loss: Any, best_loss: Any, finite: Any, *,
              grad_norm: Any = None, initial_grad_norm: Any = None,
              reference_loss: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`classify_training` with these thresholds."""
        return classify_training(
            initial_loss, final_loss, best_loss, finite, grad_norm=grad_norm,
            initial_grad_norm=initial_grad_norm, reference_loss=reference_loss,
            rise_factor=self.rise_factor, min_decrease=self.min_decrease,
            min_relative_decrease=self.min_relative_decrease, stationary=self.stationary,
        )
