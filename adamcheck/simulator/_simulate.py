"""``simulate``: run Adam on a problem for many hyper-parameter settings at once."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from .._limits import check_work
from .._validate import (
    check_finite_array,
    check_nonnegative_float,
    check_nonnegative_int,
)
from ..problems._base import Problem
from ._engine import EngineConfig, run_engine
from ._kernels import RunParams
from ._outcomes import TrainingCriterion, classify_with_reasons
from ._parallel import available_workers, run_parallel
from ._sampling import check_sampling
from ._settings import AdamSettings, RunPlan

__all__ = ["simulate", "run_simulation", "SimulationResult"]

ArrayLike = Any


@dataclass
class SimulationResult:
    """What :func:`simulate` returns: one row per run.

    Attributes:
        final: final points, (runs, d).
        outcome: ``diverged`` / ``converged`` / ``undecided`` per run.
        evidence: per-run arrays - ``initial``, ``half``, ``final`` values of the
            measure (distance to the minimiser, or the loss), ``drift`` (slope of the
            measure against elapsed step-size time over the second half) and its
            t-statistic ``drift_t``, ``nonfinite``, ``blowup_step``.
        m, v: final moments (runs, d).
        trajectory: (records, runs, d) when ``record_every`` was given, at steps
            ``record_steps`` (0 is the start).
        hyper: per-run beta1, beta2, lr, eps, weight_decay, eps_root, seed.
        shared_run_steps: run-steps the shared-moment fast path advanced.
        reason: why each run got its outcome (one sentence per run).

    On data and user problems (``evidence["measure"] == "training"``) the evidence also
    holds ``best`` (lowest loss at a checkpoint), ``grad_norm_initial``,
    ``grad_norm_final`` (full gradient) and ``reference`` (the optimum or a lower bound
    of the loss), the inputs of :func:`adamcheck.simulator.classify_training`.
    """

    problem: dict[str, Any]
    convention: str
    sampling: str
    schedule: str
    steps: int
    dtype: str
    hyper: dict[str, np.ndarray]
    final: np.ndarray
    m: np.ndarray
    v: np.ndarray
    outcome: np.ndarray
    evidence: dict[str, np.ndarray]
    trajectory: np.ndarray | None = None
    record_steps: np.ndarray | None = None
    shared_run_steps: int = 0
    decoupled: bool = False
    reason: np.ndarray | None = None

    @property
    def runs(self) -> int:
        return int(self.final.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; per-run lists collapse to scalars for a single run."""
        single = self.runs == 1

        def per_run(a: np.ndarray) -> Any:
            return a[0] if single else a

        evidence = {
            k: per_run(np.asarray(v)) for k, v in self.evidence.items() if k != "measure"
        }
        evidence["measure"] = str(self.evidence["measure"])
        out: dict[str, Any] = {
            "problem": self.problem,
            "convention": self.convention,
            "sampling": self.sampling,
            "schedule": self.schedule,
            "steps": self.steps,
            "dtype": self.dtype,
            "decoupled_weight_decay": self.decoupled,
            "runs": self.runs,
            **{k: per_run(v) for k, v in self.hyper.items()},
            "final": per_run(self.final),
            "outcome": per_run(self.outcome),
            "reason": None if self.reason is None else per_run(self.reason),
            "evidence": evidence,
        }
        if self.trajectory is not None:
            out["record_steps"] = self.record_steps
            traj = self.trajectory[:, 0, :] if single else self.trajectory.transpose(1, 0, 2)
            out["trajectory"] = traj
        return out


def _lay_out_runs(adam: AdamSettings, plan: RunPlan) -> tuple[int, dict[str, np.ndarray]]:
    """The per-run values broadcast to one common number of runs (lists of one value broadcast)."""
    arrays = {name: getattr(adam, name) for name in AdamSettings.PER_RUN}
    arrays["seed"] = plan.seeds
    runs = 1
    for name, arr in arrays.items():
        if arr.size != 1:
            if runs != 1 and arr.size != runs:
                raise InvalidParameterError(
                    f"{name} has {arr.size} values but another setting has {runs}: "
                    "give lists of equal length (or single values)"
                )
            runs = arr.size
    return runs, {k: np.broadcast_to(v, (runs,)).copy() for k, v in arrays.items()}


def _start(problem: Problem, x0: ArrayLike, runs: int) -> np.ndarray:
    """x0 as one start point per run, (runs, d), clipped to the problem's bounds."""
    d = problem.dim
    x0_arr = check_finite_array(x0, "x0", ndim=(0, 1, 2))
    if x0_arr.ndim == 0:
        x0_arr = np.full((runs, d), float(x0_arr))
    elif x0_arr.ndim == 1:
        if x0_arr.shape[0] != d:
            raise InvalidParameterError(f"x0 has {x0_arr.shape[0]} entries but the problem has d = {d}")
        x0_arr = np.broadcast_to(x0_arr, (runs, d)).copy()
    elif x0_arr.shape != (runs, d):
        raise InvalidParameterError(f"x0 has shape {x0_arr.shape}, expected ({runs}, {d})")
    if problem.bounds is not None:
        x0_arr = np.clip(x0_arr, *problem.bounds)
    return x0_arr


def check_simulation_size(runs: int, d: int, steps: int, record_every: int | None, itemsize: int = 8) -> None:
    """Refuse, before any work, a simulation whose memory or time is beyond the limits.

    Memory: about 16 (runs, d) state arrays, the recorded trajectory
    (steps/record_every + 1) x runs x d, and the block schedule (steps/512 + steps/record_every
    entries). Work: steps x runs x d element updates, plus a per-step floor of 64 for the
    Python-level bookkeeping of each step (see :mod:`adamcheck._limits`).
    """
    records = steps // record_every + 1 if record_every else 0
    ends = steps // 512 + records + 64
    nbytes = 16.0 * runs * d * itemsize + float(records) * runs * d * itemsize + 80.0 * ends
    ops = float(steps) * (float(runs) * d + 64)
    what = f"steps = {steps:,} over {runs:,} run(s) of d = {d:,}"
    if record_every:
        what += f" recording every {record_every:,}"
    check_work(what, nbytes=nbytes, ops=ops,
               fix="lower steps, the number of runs (seeds, grid points) or raise record_every")


def _minimizers(problem: Problem, wd: np.ndarray, decoupled: bool, runs: int, d: int, dtype) -> np.ndarray | None:
    if np.all(wd == 0):
        xstar = problem.minimizer()
        return None if xstar is None else np.broadcast_to(np.asarray(xstar, dtype=dtype), (runs, d))
    if decoupled or "l2" not in inspect.signature(problem.minimizer).parameters:
        return None  # the decayed iteration has no simple objective to compare with
    out = np.empty((runs, d), dtype=dtype)
    for value in np.unique(wd):
        xstar = problem.minimizer(l2=float(value))
        if xstar is None:
            return None
        out[wd == value] = xstar
    return out


def simulate(
    problem: Problem,
    *,
    steps: int,
    beta1: ArrayLike = 0.9,
    beta2: ArrayLike = 0.999,
    lr: ArrayLike = 1e-3,
    eps: ArrayLike = 1e-8,
    weight_decay: ArrayLike = 0.0,
    decoupled: bool = False,
    eps_root: ArrayLike = 0.0,
    seed: ArrayLike = 0,
    x0: ArrayLike = 0.0,
    convention: str = "paper",
    sampling: str | None = None,
    schedule: str = "constant",
    dtype: str | np.dtype = "float64",
    record_every: int | None = None,
    shared: bool = True,
    workers: int = 1,
    progress: bool = False,
    tol: float = 0.05,
    criterion: TrainingCriterion | None = None,
) -> SimulationResult:
    """Run Adam on ``problem`` for every hyper-parameter setting at once.

    Scalars and 1-D lists broadcast to a common number of runs; run r uses
    ``beta1[r], beta2[r], lr[r], eps[r], weight_decay[r], eps_root[r], seed[r]`` and
    starts from ``x0`` (a number, a (d,) point, or one point per run). Per step k
    (1-based) it samples a component tau_k of the run's seed stream and applies the
    ``convention``'s update (see :func:`adamcheck.simulator.adam_step`) with learning
    rate ``lr * s_k`` (``schedule``), e.g. for ``paper``::

        m_k = b1 m_{k-1} + (1-b1) g_k,  v_k = b2 v_{k-1} + (1-b2) g_k^2,
        x_{k+1} = x_k - lr/sqrt(k) * m_k / (sqrt(v_k) + eps),   g_k = grad ell_{tau_k}(x_k).

    Args:
        problem: an :class:`adamcheck.problems.Problem`.
        steps: number of steps (>= 1).
        decoupled: AdamW-style weight decay instead of coupled L2.
        sampling: ``replacement``, ``reshuffle`` or ``cyclic`` (default: the problem's).
        schedule: ``constant``, ``inv-sqrt`` or ``inv-sqrt-epoch``.
        dtype: ``float64`` (default) or ``float32`` for all state.
        record_every: keep the iterate every this many steps (memory grows with steps
            only then).
        shared: allow the shared-moment fast path (results agree to rounding).
        workers: processes to split the runs over (runs are independent); 0 means
            every available core. Results are the same for any number of workers.
        progress: draw a progress bar on stderr.
        tol: the outcome tolerance of the distance rule (see :func:`adamcheck.simulator.classify`).
        criterion: thresholds of the training rule that judges data and user problems
            (:class:`adamcheck.simulator.TrainingCriterion`; default as there).

    Returns:
        A :class:`SimulationResult`.

    Example:
        >>> from adamcheck.problems import Counterexample
        >>> res = simulate(Counterexample(n=10, a=1/81), steps=10000, beta1=0.0,
        ...                beta2=[0.1, 0.99], lr=0.1, schedule="inv-sqrt", seed=0)
        >>> res.outcome.tolist()
        ['diverged', 'converged']

    References:
        Zhang et al. 2026 (arXiv:2603.02092), Algorithm 1 and Theorem 2.3.
    """
    adam = AdamSettings(beta1=beta1, beta2=beta2, lr=lr, eps=eps, weight_decay=weight_decay, eps_root=eps_root,
                        decoupled=decoupled, convention=convention, schedule=schedule)
    plan = RunPlan(steps=steps, seeds=seed, sampling=sampling, x0=x0, dtype=dtype, record_every=record_every)
    return run_simulation(problem, adam, plan, shared=shared, workers=workers, progress=progress, tol=tol,
                          criterion=criterion)


def run_simulation(
    problem: Problem,
    adam: AdamSettings,
    plan: RunPlan,
    *,
    shared: bool = True,
    workers: int = 1,
    progress: bool = False,
    tol: float = 0.05,
    criterion: TrainingCriterion | None = None,
) -> SimulationResult:
    """:func:`simulate` with its settings as objects: which Adam, and the plan of the runs.

    ``adam`` and ``plan`` are checked when built; here they meet the problem (its
    sampling and dimension) and the runs are laid out. The other arguments are those of
    :func:`simulate`.

    Example:
        >>> from adamcheck.problems import Counterexample
        >>> adam = AdamSettings(beta1=0.0, beta2=[0.1, 0.99], lr=0.1, schedule="inv-sqrt")
        >>> run_simulation(Counterexample(n=10, a=1/81), adam, RunPlan(steps=10000)).outcome.tolist()
        ['diverged', 'converged']

    References:
        Zhang et al. 2026 (arXiv:2603.02092), Algorithm 1 and Theorem 2.3.
    """
    if not isinstance(problem, Problem):
        raise InvalidParameterError(
            f"problem must be an adamcheck.problems.Problem, got {type(problem).__name__}"
        )
    if not isinstance(adam, AdamSettings) or not isinstance(plan, RunPlan):
        raise InvalidParameterError("give an adamcheck.simulator.AdamSettings and a RunPlan (or call simulate)")
    tol = check_nonnegative_float(tol, "tol")
    if criterion is not None and not isinstance(criterion, TrainingCriterion):
        raise InvalidParameterError(f"criterion must be an adamcheck.simulator.TrainingCriterion, got "
                                    f"{type(criterion).__name__}")
    sampling = check_sampling(problem.default_sampling if plan.sampling is None else plan.sampling)
    if problem.samplings is not None and sampling not in problem.samplings:
        raise InvalidParameterError(
            f"problem {problem.name!r} is defined with sampling {', '.join(problem.samplings)}, "
            f"not {sampling!r}: drop sampling (CLI --sampling) or use {problem.samplings[0]}"
        )
    steps, dt, decoupled = plan.steps, plan.dtype, adam.decoupled
    runs, h = _lay_out_runs(adam, plan)
    d = problem.dim
    check_simulation_size(runs, d, steps, plan.record_every, dt.itemsize)
    x0_arr = _start(problem, plan.x0, runs)

    col = lambda a: a.astype(dt)[:, None]  # noqa: E731
    params = RunParams(col(h["beta1"]), col(h["beta2"]), col(h["lr"]), col(h["eps"]), col(h["weight_decay"]),
                       col(h["eps_root"]))
    cfg = EngineConfig(
        problem=problem,
        convention=adam.convention,
        sampling=sampling,
        schedule=adam.schedule,
        steps=steps,
        params=params,
        seeds=h["seed"],
        x0=x0_arr.astype(dt),
        decoupled=decoupled,
        dtype=dt,
        record_every=plan.record_every,
        shared=bool(shared),
        progress=progress,
        minimizer=_minimizers(problem, h["weight_decay"], decoupled, runs, d, dt),
    )
    workers = check_nonnegative_int(workers, "workers") or available_workers()
    # Forking pays only for sizeable jobs (~50 ms per worker to start).
    if workers > 1 and runs * steps >= 5_000_000:
        out = run_parallel(cfg, workers)
    else:
        out = run_engine(cfg)
    outcome, reason = classify_with_reasons(out.evidence, bounds=problem.bounds, tol=tol, criterion=criterion)
    return SimulationResult(
        problem=problem.describe(),
        convention=adam.convention,
        sampling=sampling,
        schedule=adam.schedule,
        steps=steps,
        dtype=str(dt),
        hyper={"beta1": h["beta1"], "beta2": h["beta2"], "lr": h["lr"], "eps": h["eps"],
               "weight_decay": h["weight_decay"], "eps_root": h["eps_root"], "seed": h["seed"]},
        final=out.x,
        m=out.m,
        v=out.v,
        outcome=outcome,
        evidence=out.evidence,
        trajectory=out.trajectory,
        record_steps=out.record_steps,
        shared_run_steps=out.shared_steps,
        decoupled=decoupled,
        reason=reason,
    )
