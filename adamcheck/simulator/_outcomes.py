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

Those rules judge the papers' counterexamples (``Problem.outcome_rule = "distance"``).
Problems on data (least squares, logistic regression, and user problems with a
``loss``) are judged as real training is, by :func:`classify_training`, from the full
loss at the start, at the end and at its lowest checkpoint, the full-gradient norms
and blow-up: the same function labels :func:`adamcheck.torch.phase_sweep`'s torch runs,
so a run on data gets the same label from either engine. Every run gets a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InvalidParameterError

__all__ = ["EvidenceTracker", "classify", "classify_with_reasons", "classify_training", "loss_trend_t", "TrainingCriterion", "OUTCOMES"]

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
        has_loss = problem.loss(x0[:1]) is not None
        if getattr(problem, "outcome_rule", "training") == "training" and has_loss:
            self.mode = "training"
        elif minimizer is not None:
            self.mode = "distance"
        else:
            self.mode = "loss" if has_loss else "none"
        runs = x0.shape[0]
        self.D0 = self._measure(x0)
        self.best = np.where(np.isfinite(self.D0), self.D0, np.inf)
        self.g0 = self._grad_norm(x0)
        self.reference = np.nan
        if self.mode == "training":
            ref = problem.reference_loss()
            self.reference = np.nan if ref is None else float(ref)
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
            if self.mode in ("loss", "training"):
                return np.asarray(self.problem.loss(x), dtype=float)
        return np.zeros(x.shape[0])

    def _grad_norm(self, x: np.ndarray) -> np.ndarray:
        if self.mode != "training":
            return np.full(x.shape[0], np.nan)
        with np.errstate(all="ignore"):
            g = self.problem.full_gradient(x)
            if g is None:
                return np.full(x.shape[0], np.nan)
            return np.linalg.norm(np.asarray(g, dtype=float), axis=1)

    def checkpoint(self, t: int, x: np.ndarray, schedule_sum: float) -> None:
        self.S += schedule_sum
        D = self._measure(x)
        self.last = D
        self.best = np.fmin(self.best, np.where(np.isfinite(D), D, np.inf))
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
            "best": self.best,
            "grad_norm_initial": self.g0,
            "grad_norm_final": self._grad_norm(x),
            "reference": np.full(x.shape[0], self.reference),
        }


def classify(
    evidence: dict[str, np.ndarray],
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 0.05,
    drift_t: float = 3.0,
    criterion: "TrainingCriterion | None" = None,
) -> np.ndarray:
    """Outcome per run (array of strings) from the evidence of :class:`EvidenceTracker`.

    (:func:`classify_with_reasons` also says why.)

    Example:
        >>> import numpy as np
        >>> ev = {"measure": np.array("distance"), "initial": np.array([2.0, 2.0, 2.0]),
        ...       "half": np.array([5.0, 0.01, 2.1]), "final": np.array([9.0, 0.001, 2.0]),
        ...       "drift": np.array([1.0, 0.0, 0.0]), "drift_t": np.array([50.0, 0.0, 0.0]),
        ...       "nonfinite": np.zeros(3, bool), "blowup_step": np.zeros(3, int)}
        >>> classify(ev).tolist()
        ['diverged', 'converged', 'undecided']
    """
    return classify_with_reasons(evidence, bounds=bounds, tol=tol, drift_t=drift_t, criterion=criterion)[0]


def classify_with_reasons(
    evidence: dict[str, np.ndarray],
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 0.05,
    drift_t: float = 3.0,
    criterion: "TrainingCriterion | None" = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(outcome, reason) per run: the rules of the module docstring; runs of a
    ``"training"`` measure go to :func:`classify_training` with ``criterion``."""
    mode = str(evidence["measure"])
    D0, Dh, Df = evidence["initial"], evidence["half"], evidence["final"]
    runs = D0.shape[0]
    if mode == "training":
        crit = criterion or TrainingCriterion()
        best = evidence.get("best", np.minimum(D0, Df))
        return crit.apply(
            D0, Df, best, ~np.asarray(evidence["nonfinite"], dtype=bool),
            grad_norm=evidence.get("grad_norm_final"), initial_grad_norm=evidence.get("grad_norm_initial"),
            reference_loss=evidence.get("reference"), trend_t=evidence.get("drift_t"),
        )
    out = np.full(runs, "undecided", dtype=object)
    t = evidence["drift_t"]
    what = "distance to the minimiser" if mode == "distance" else "loss"
    why = np.array([
        f"{what} neither came within tol of the minimiser nor grew steadily (drift t = {_fmt(t[i])})"
        if mode == "distance" else
        (f"the loss did not grow steadily (drift t = {_fmt(t[i])}) and no minimiser is known to judge convergence"
         if mode == "loss" else "the problem has no loss and no minimiser to judge the run by")
        for i in range(runs)
    ], dtype=object)
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
            for i in np.flatnonzero(converged):
                why[i] = f"ended {_fmt(Df[i])} from the minimiser, within tol x max(1, initial distance)"
        elif mode == "loss":
            walking = (evidence["drift_t"] > drift_t) & (Df > Dh) & (Df > D0 + scale)
            out[walking] = "diverged"
        if mode in ("distance", "loss"):
            for i in np.flatnonzero(out == "diverged"):
                why[i] = (f"{what} grew steadily from {_fmt(D0[i])} to {_fmt(Df[i])} "
                          f"(drift t = {_fmt(t[i])}) or stuck at the far end of the feasible set")
    nonfinite = np.asarray(evidence["nonfinite"], dtype=bool)
    out[nonfinite] = "diverged"
    why[nonfinite] = "the state overflowed or became non-finite"
    return out.astype(str), why.astype(str)


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
    trend_t: Any = None,
    rise_factor: float = 1.0,
    min_decrease: float = 0.5,
    min_relative_decrease: float = 1e-3,
    stationary: float = 1e-3,
    trend_threshold: float = 3.0,
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
      of the validation suite, benchmarks/validity);
    * **converged** when it closed at least ``min_decrease`` of the gap to the
      reference, L0 - Lf >= ``min_decrease`` (L0 - L*), and that decrease is more
      than rounding, L0 - Lf > ``min_relative_decrease`` |L0|; or, when gradient norms
      are given, when Lf < L0 and the final full-gradient norm is at most
      ``stationary`` times the initial one (a stationary point, the criterion of the
      convergence theorems);
    * then, when ``trend_t`` is given (the t-statistic of the slope of the loss
      against elapsed step-size time over the second half of the run,
      :func:`loss_trend_t`): **diverged** when trend_t > ``trend_threshold`` (the loss
      is climbing back from its best, steadily: the run is leaving, though it has not
      yet passed its start), **converged** when trend_t < -``trend_threshold`` (below
      its start and still falling steadily);
    * **undecided** otherwise, with the reason (the loss fell, but neither far enough
      towards the reference nor with a steady trend to tell a slow run from a
      stalled one).

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
        trend_t: optional per-run trend t-statistics (see above).
        trend_threshold: |t| beyond which a trend counts as steady (3, as the
            distance rule's ``drift_t``).

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
        The criterion of the validation suite (benchmarks/validity) (a run fails when its loss or
        parameters become non-finite or its final train loss is not below the
        initial loss); Zhang et al. 2026 (arXiv:2603.02092) measure convergence by
        min_k |grad f(x_k)|, which the ``stationary`` rule follows.
    """
    criterion = TrainingCriterion(rise_factor=rise_factor, min_decrease=min_decrease,
                                  min_relative_decrease=min_relative_decrease, stationary=stationary,
                                  trend_threshold=trend_threshold)
    return criterion.apply(initial_loss, final_loss, best_loss, finite, grad_norm=grad_norm,
                           initial_grad_norm=initial_grad_norm, reference_loss=reference_loss, trend_t=trend_t)


def _runs(initial_loss: Any, final_loss: Any, best_loss: Any, finite: Any, reference_loss: Any, grad_norm: Any,
          initial_grad_norm: Any, trend_t: Any) -> list[np.ndarray]:
    """The per-run arrays broadcast to one shape (absent optional ones as NaN)."""
    try:
        return np.broadcast_arrays(
            np.asarray(initial_loss, dtype=float),
            np.asarray(final_loss, dtype=float),
            np.asarray(best_loss, dtype=float),
            np.asarray(finite, dtype=bool),
            np.asarray(np.nan if reference_loss is None else reference_loss, dtype=float),
            np.asarray(np.nan if grad_norm is None else grad_norm, dtype=float),
            np.asarray(np.nan if initial_grad_norm is None else initial_grad_norm, dtype=float),
            np.asarray(np.nan if trend_t is None else trend_t, dtype=float),
        )
    except ValueError:
        raise InvalidParameterError(
            "initial_loss, final_loss, best_loss, finite (and the optional norms and "
            "reference_loss) must have broadcastable shapes: give one value per run"
        ) from None


def _judge(L0, Lf, Lb, ok, ref, g, g0, tr, c: "TrainingCriterion") -> tuple[str, str]:
    """One run's label and reason under the thresholds of ``c`` (rules of :func:`classify_training`)."""
    rise_factor, min_decrease, min_rel = c.rise_factor, c.min_decrease, c.min_relative_decrease
    stationary, trend_threshold = c.stationary, c.trend_threshold
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
    if np.isfinite(tr) and tr > trend_threshold:
        return "diverged", (
            f"loss climbs steadily over the second half (trend t = {_fmt(tr)}) from its best "
            f"{_fmt(Lb)} to {_fmt(Lf)}, towards the initial {_fmt(L0)}"
        )
    if np.isfinite(tr) and tr < -trend_threshold and Lf < L0:
        return "converged", (
            f"loss {_fmt(Lf)} is below the initial {_fmt(L0)} and still falling steadily "
            f"(trend t = {_fmt(tr)})"
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
    trend_threshold: float = 3.0

    def __post_init__(self) -> None:
        rise_factor, min_decrease = self.rise_factor, self.min_decrease
        if not (np.isfinite(rise_factor) and rise_factor >= 1.0):
            raise InvalidParameterError(f"rise_factor = {rise_factor} must be a number >= 1, such as 1.0")
        if not (0.0 < min_decrease <= 1.0):
            raise InvalidParameterError(f"min_decrease = {min_decrease} must lie in (0, 1], such as 0.5")
        if not (self.min_relative_decrease >= 0.0):
            raise InvalidParameterError(
                f"min_relative_decrease = {self.min_relative_decrease} must be zero or positive, such as 1e-3"
            )
        if not (self.stationary >= 0.0):
            raise InvalidParameterError(f"stationary = {self.stationary} must be zero or positive, such as 1e-3")

    def apply(self, initial_loss: Any, final_loss: Any, best_loss: Any, finite: Any, *,
              grad_norm: Any = None, initial_grad_norm: Any = None,
              reference_loss: Any = None, trend_t: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`classify_training` with these thresholds: (outcome, reason) per run."""
        arrays = _runs(initial_loss, final_loss, best_loss, finite, reference_loss, grad_norm, initial_grad_norm,
                       trend_t)
        L0, Lf, Lb, ok, ref, g, g0, tr = (a.ravel() for a in arrays)
        shape = arrays[0].shape
        out = np.empty(L0.size, dtype=object)
        why = np.empty(L0.size, dtype=object)
        for i in range(L0.size):
            out[i], why[i] = _judge(L0[i], Lf[i], Lb[i], ok[i], ref[i], g[i], g0[i], tr[i], self)
        return out.astype(str).reshape(shape), why.astype(str).reshape(shape)


def loss_trend_t(steps: np.ndarray, losses: np.ndarray, factors: np.ndarray, total_steps: int) -> np.ndarray:
    """t-statistic of the slope of the loss against elapsed step-size time, second half.

    The regression :class:`EvidenceTracker` accumulates, from recorded losses: for the
    record points t >= total_steps / 2 (t > 0), fit losses ~ a + b S(t) with
    S(t) = sum_{k<=t} s_k (``factors`` = s_1, s_2, ... the schedule) and return
    b / se(b) per run (NaN with fewer than 3 points; +-inf for an exact line).
    Non-finite losses count as 0, as there.

    Args:
        steps: (T,) record steps (0 = the start).
        losses: (..., T) losses at those steps.
        factors: (total_steps,) schedule factors s_k.

    Example:
        >>> s = np.arange(0, 11); f = np.ones(10)
        >>> rng = np.random.default_rng(0)
        >>> up = 1 + 0.1 * s + 0.01 * rng.standard_normal(11)
        >>> bool(loss_trend_t(s, up, f, 10) > 3)
        True
    """
    steps = np.asarray(steps)
    cum = np.concatenate([[0.0], np.cumsum(np.asarray(factors, dtype=float))])
    keep = (2 * steps >= total_steps) & (steps > 0)
    S = cum[steps[keep]]
    D = np.asarray(losses, dtype=float)[..., keep]
    D = np.where(np.isfinite(D), D, 0.0)
    n = S.size
    if n < 3:
        return np.full(D.shape[:-1], np.nan)
    with np.errstate(all="ignore"):
        Sm = S - S.mean()
        sxx = float(Sm @ Sm)
        if sxx <= 0:
            return np.full(D.shape[:-1], np.nan)
        Dm = D - D.mean(axis=-1, keepdims=True)
        slope = (Dm @ Sm) / sxx
        resid = np.maximum((Dm * Dm).sum(-1) - slope**2 * sxx, 0.0) / (n - 2)
        se = np.sqrt(resid / sxx)
        return np.where(se > 1e-300, slope / np.where(se > 1e-300, se, 1.0), np.sign(slope) * np.inf)
