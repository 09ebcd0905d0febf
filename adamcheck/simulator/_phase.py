"""Phase diagrams: outcomes of Adam over a (beta1, beta2) grid and several seeds.

Every cell of the grid is run once per seed (seeds are shared across cells: common
random numbers), all in one vectorised simulation. A cell's label is the outcome
most of its seeds reached (ties: ``undecided``); the fractions are kept as well.
The plot follows Zhang et al. 2026, Figure 2.4(a): red where Adam diverges, blue where
it converges, with the curve beta1 = sqrt(beta2) of the convergence theorem.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .. import _plotting  # as a module: callers (and tests) may swap save_figure
from .._validate import check_betas_array, check_positive_int
from ..problems._base import Problem
from ._settings import _NO_SEED, AdamSettings, RunPlan, phase_seeds
from ._simulate import check_simulation_size, run_simulation

__all__ = ["PhaseGrid", "RunRecords", "phase_grid", "run_phase_grid", "majority_outcome"]


@dataclass
class RunRecords:
    """What was measured on every run of a real-data sweep (one entry per run).

    Arrays are shaped like :attr:`PhaseGrid.per_seed`: (seeds, [batch sizes, lrs,]
    len(beta2), len(beta1)).

    Attributes:
        initial_loss, final_loss, best_loss: full training loss at the start, at the
            end and the lowest seen at a record point (the trace).
        finite: False where the parameters or the loss overflowed or became NaN.
        nonfinite_step: first record step at which that was seen, -1 if never.
        grad_norm_initial, grad_norm_final: full-gradient norms (NaN if not measured).
        eval_metric: the ``eval_fn`` value on the evaluation data at the end, or None.
        reason: why the run got its label (:func:`adamcheck.simulator.classify_training`).
        loss_trend_t: t-statistic of the loss trend over the second half of the run.
        loss_trace: per batch size, the full training loss at ``trace_steps`` of that
            batch size, shape (seeds, lrs, len(beta2), len(beta1), records).
        trace_steps: per batch size, the steps (0 = the start) of the trace.
        final_params: when kept, each parameter's final values, shaped
            ``per_seed.shape + parameter shape``.
    """

    initial_loss: np.ndarray
    final_loss: np.ndarray
    best_loss: np.ndarray
    finite: np.ndarray
    nonfinite_step: np.ndarray
    grad_norm_initial: np.ndarray
    grad_norm_final: np.ndarray
    reason: np.ndarray
    eval_metric: np.ndarray | None = None
    loss_trend_t: np.ndarray | None = None
    loss_trace: tuple[np.ndarray, ...] = ()
    trace_steps: tuple[np.ndarray, ...] = ()
    final_params: dict[str, np.ndarray] | None = None

    def to_dict(self, traces: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "initial_loss": self.initial_loss,
            "final_loss": self.final_loss,
            "best_loss": self.best_loss,
            "finite": self.finite,
            "nonfinite_step": self.nonfinite_step,
            "grad_norm_initial": self.grad_norm_initial,
            "grad_norm_final": self.grad_norm_final,
            "eval_metric": self.eval_metric,
            "loss_trend_t": self.loss_trend_t,
            "reason": self.reason,
        }
        if traces:
            out["loss_trace"] = list(self.loss_trace)
            out["trace_steps"] = list(self.trace_steps)
        return out


def majority_outcome(per_seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label, diverged fraction, converged fraction) over the first (seed) axis.

    A cell's label is the outcome most of its seeds reached; ties are ``undecided``.

    Example:
        >>> lab, d, c = majority_outcome(np.array([["diverged"], ["diverged"], ["converged"]]))
        >>> lab.tolist(), d.tolist()
        (['diverged'], [0.6666666666666666])
    """
    diverged = (per_seed == "diverged").mean(axis=0)
    converged = (per_seed == "converged").mean(axis=0)
    undecided = 1.0 - diverged - converged
    label = np.full(diverged.shape, "undecided", dtype=object)
    label[(diverged > converged) & (diverged > undecided)] = "diverged"
    label[(converged > diverged) & (converged > undecided)] = "converged"
    return label.astype(str), diverged, converged


def _cell_edges(centres: np.ndarray, *, log: bool) -> np.ndarray:
    """Edges of cells centred on sorted ``centres`` (midpoints; geometric ones on a log axis).

    The outer edges extend half a cell; on a log axis that is half a cell in log
    space, so no edge falls at or below zero (which a log axis cannot show).
    """
    c = np.log(centres) if log else np.asarray(centres, dtype=float)
    if c.size == 1:
        half = 0.5 if log else max(0.005, 0.05 * abs(float(c[0])))
        edges = np.array([c[0] - half, c[0] + half])
    else:
        mid = 0.5 * (c[1:] + c[:-1])
        edges = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
        if np.any(np.diff(edges) <= 0):  # repeated values: give each a sliver of width
            edges = np.maximum.accumulate(edges + np.arange(edges.size) * 1e-12)
    return np.exp(edges) if log else edges


@dataclass
class PhaseGrid:
    """Outcomes over a grid: rows over ``beta2``, columns over ``beta1``.

    A grid from :func:`phase_grid` is two-dimensional. A sweep of real training
    (:func:`adamcheck.torch.phase_sweep`) adds two leading axes, batch size and learning
    rate: its ``outcome`` is (len(batch_size), len(lr), len(beta2), len(beta1)); take one
    two-dimensional panel with :meth:`select`.

    Attributes:
        beta1, beta2: the axes.
        outcome: ([batch sizes, lrs,] len(beta2), len(beta1)) majority label per cell.
        diverged, converged: fractions of seeds per cell.
        per_seed: (seeds, [batch sizes, lrs,] len(beta2), len(beta1)) outcomes.
        seeds: the seeds used.
        settings: the simulation settings (problem, steps, lr, schedule...).
        batch_size: the batch-size axis of a sweep, else None.
        lr: the learning-rate axis of a sweep, else None.
        steps: steps run at each batch size (a sweep), else None.
        budget: ``"steps"`` (the same number of steps at every batch size) or
            ``"epochs"`` (the same number of passes over the data), or None.
        records: per-run measurements (:class:`RunRecords`), or None.
    """

    beta1: np.ndarray
    beta2: np.ndarray
    outcome: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    per_seed: np.ndarray
    seeds: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)
    batch_size: np.ndarray | None = None
    lr: np.ndarray | None = None
    steps: np.ndarray | None = None
    budget: str | None = None
    records: RunRecords | None = None

    @property
    def is_sweep(self) -> bool:
        return self.batch_size is not None

    def counts(self) -> dict[str, int]:
        labels, counts = np.unique(self.outcome, return_counts=True)
        out = {"diverged": 0, "converged": 0, "undecided": 0}
        out.update({str(k): int(v) for k, v in zip(labels, counts)})
        return out

    def to_dict(self, traces: bool = True) -> dict[str, Any]:
        out = {
            "beta1": self.beta1,
            "beta2": self.beta2,
            "outcome": self.outcome,
            "diverged_fraction": self.diverged,
            "converged_fraction": self.converged,
            "seeds": self.seeds,
            "counts": self.counts(),
            **self.settings,
        }
        if self.is_sweep:
            out.update({"batch_size": self.batch_size, "lr": self.lr, "steps": self.steps,
                        "budget": self.budget, "per_seed": self.per_seed})
        if self.records is not None:
            out["runs"] = self.records.to_dict(traces=traces)
        return out

    def select(self, batch_size: int | None = None, lr: float | None = None) -> "PhaseGrid":
        """The two-dimensional (beta2, beta1) panel of a sweep at one batch size and lr.

        Either may be omitted when its axis has one value. The panel keeps the
        settings and records (cut to the panel); ``plot`` and ``render_text`` then
        draw it as a (beta1, beta2) phase diagram.

        Raises:
            InvalidParameterError: not a sweep, or a value not on the axis.
        """
        if not self.is_sweep:
            raise InvalidParameterError("select needs a sweep (phase_sweep) grid: this grid is already 2-D")
        i = self._axis_index(self.batch_size, batch_size, "batch_size")
        j = self._axis_index(self.lr, lr, "lr")
        rec = None
        if self.records is not None:
            r = self.records
            cut = lambda a: None if a is None else a[:, i, j]  # noqa: E731
            rec = RunRecords(
                initial_loss=cut(r.initial_loss), final_loss=cut(r.final_loss), best_loss=cut(r.best_loss),
                finite=cut(r.finite), nonfinite_step=cut(r.nonfinite_step),
                grad_norm_initial=cut(r.grad_norm_initial), grad_norm_final=cut(r.grad_norm_final),
                reason=cut(r.reason), eval_metric=cut(r.eval_metric), loss_trend_t=cut(r.loss_trend_t),
                loss_trace=(r.loss_trace[i][:, j],) if r.loss_trace else (),
                trace_steps=(r.trace_steps[i],) if r.trace_steps else (),
                final_params=None if r.final_params is None else {
                    n: a[:, i, j] for n, a in r.final_params.items()},
            )
        settings = dict(self.settings)
        settings.update({"batch_size": int(self.batch_size[i]), "lr": float(self.lr[j]),
                         "steps": int(self.steps[i]), "budget": self.budget})
        return PhaseGrid(
            beta1=self.beta1, beta2=self.beta2, outcome=self.outcome[i, j], diverged=self.diverged[i, j],
            converged=self.converged[i, j], per_seed=self.per_seed[:, i, j], seeds=self.seeds,
            settings=settings, records=rec,
        )

    @staticmethod
    def _axis_index(axis: np.ndarray, value: Any, name: str) -> int:
        if value is None:
            if axis.size != 1:
                raise InvalidParameterError(
                    f"the sweep has {axis.size} values of {name}: pass {name}= one of {axis.tolist()}"
                )
            return 0
        hits = np.flatnonzero(np.isclose(axis, value, rtol=1e-12, atol=0))
        if hits.size == 0:
            raise InvalidParameterError(f"{name} = {value} is not on the sweep's axis: use one of {axis.tolist()}")
        return int(hits[0])

    def batch_table(self, beta1: float | None = None, lr: float | None = None) -> str:
        """A text table of a sweep at one beta1 and lr: rows beta2 (growing upwards),
        columns batch size; each cell ``x`` diverged, ``.`` converged, ``?`` undecided,
        followed by the number of diverged seeds."""
        if not self.is_sweep:
            raise InvalidParameterError("batch_table needs a sweep (phase_sweep) grid")
        k = self._axis_index(self.beta1, beta1, "beta1")
        j = self._axis_index(self.lr, lr, "lr")
        symbols = {"diverged": "x", "converged": ".", "undecided": "?"}
        S = self.seeds.size
        head = "  beta2  | " + " ".join(f"B={int(b):<5d}" for b in self.batch_size)
        rows = [f"beta1 = {self.beta1[k]:g}, lr = {self.lr[j]:g}, budget = {self.budget} "
                f"(cell: label, diverged seeds of {S})", head]
        for i2 in range(self.beta2.size - 1, -1, -1):
            cells = []
            for ib in range(self.batch_size.size):
                lab = symbols[str(self.outcome[ib, j, i2, k])]
                nd = int(round(self.diverged[ib, j, i2, k] * S))
                cells.append(f"{lab} {nd:<5d}")
            rows.append(f"{self.beta2[i2]:8.5g} | " + " ".join(cells))
        return "\n".join(rows)

    def render_text(self, max_width: int = 80) -> str:
        """An ASCII map: x diverged, . converged, ? undecided; beta2 grows upwards.

        A sweep is drawn as one :meth:`batch_table` per (lr, beta1)."""
        if self.is_sweep:
            return "\n\n".join(self.batch_table(b1, lr) for lr in self.lr for b1 in self.beta1)
        symbols = {"diverged": "x", "converged": ".", "undecided": "?"}
        cols = self.beta1.size
        step = max(1, int(np.ceil(cols / max_width)))
        rows = []
        for i in range(self.beta2.size - 1, -1, -max(1, step)):
            line = "".join(symbols[str(o)] for o in self.outcome[i, ::step])
            rows.append(f"{self.beta2[i]:8.5f} |{line}")
        rows.append(" " * 9 + "+" + "-" * len(rows[0][10:]))
        rows.append(" " * 10 + f"beta1 {self.beta1[0]:g} .. {self.beta1[-1]:g}  (x diverged, . converged, ? undecided)")
        return "\n".join(rows)

    def plot(
        self,
        path: str | Path,
        *,
        log_beta2: bool = False,
        boundary: tuple[np.ndarray, np.ndarray] | None = None,
        title: str | None = None,
    ) -> Path:
        """Draw the grid (red diverged, blue converged) with beta1 = sqrt(beta2).

        A sweep with one batch size and one lr is drawn as that panel; a sweep with a
        single beta1 and lr is drawn as the (batch size, beta2) map of
        :meth:`plot_batch`; otherwise :meth:`select` a panel first.

        Args:
            path: output file (.png, .pdf or .svg).
            log_beta2: put 1 - beta2 on a log axis (the interesting region is near 1).
            boundary: optional (beta1, beta2*) curve to overlay (e.g. the drift-ratio
                boundary of :mod:`adamcheck.drift`); for a batch map, (batch sizes, beta2*).
        """
        if self.is_sweep:
            if self.batch_size.size == 1 and self.lr.size == 1:
                return self.select().plot(path, log_beta2=log_beta2, boundary=boundary, title=title)
            if self.beta1.size == 1 and self.lr.size == 1:
                return self.plot_batch(path, log_beta2=log_beta2, boundary=boundary, title=title)
            raise InvalidParameterError(
                "this sweep has several batch sizes and several beta1 or lr values: draw one panel "
                "with grid.select(batch_size=..., lr=...).plot(path) or grid.plot_batch(path, beta1=..., lr=...)"
            )
        from matplotlib.colors import LinearSegmentedColormap  # lazy: keeps matplotlib off `adamcheck simulate`

        plt = _plotting.pyplot()
        score = self.converged - self.diverged  # -1 red ... +1 blue
        cmap = LinearSegmentedColormap.from_list(
            "phase", [_plotting.PHASE_COLOURS["diverged"], _plotting.PHASE_COLOURS["undecided"], _plotting.PHASE_COLOURS["converged"]]
        )
        fig, ax = plt.subplots(figsize=(6.4, 5.0))
        # pcolormesh needs monotone axes: draw in sorted order so no column is lost.
        y_all = 1.0 - self.beta2 if log_beta2 else self.beta2
        o1, o2 = np.argsort(self.beta1, kind="stable"), np.argsort(y_all, kind="stable")
        b1s, y = self.beta1[o1], y_all[o2]
        score = score[np.ix_(o2, o1)]
        x_edges = _cell_edges(b1s, log=False)
        y_edges = _cell_edges(y, log=log_beta2)
        mesh = ax.pcolormesh(x_edges, y_edges, score, cmap=cmap, vmin=-1, vmax=1,
                             shading="flat")
        b1 = np.linspace(0, min(0.99999, float(self.beta1.max())), 400)
        curve = b1**2  # beta1 = sqrt(beta2)
        ax.plot(b1, 1 - curve if log_beta2 else curve, "k--", lw=1.2, label=r"$\beta_1=\sqrt{\beta_2}$")
        if boundary is not None:
            bx, by = boundary
            ax.plot(bx, 1 - np.asarray(by) if log_beta2 else by, "k-", lw=1.8, label="critical boundary")
        if log_beta2:
            ax.set_yscale("log")
            ax.set_ylabel(r"$1-\beta_2$")
        else:
            ax.set_ylabel(r"$\beta_2$")
        ax.set_xlim(float(x_edges.min()), float(x_edges.max()))
        # Limits at the cells' outer edges: every beta2 row is drawn, with no blank band.
        lo, hi = float(y_edges.min()), float(y_edges.max())
        ax.set_ylim((hi, lo) if log_beta2 else (lo, hi))
        ax.set_xlabel(r"$\beta_1$")
        cbar = fig.colorbar(mesh, ax=ax, ticks=[-1, 0, 1])
        cbar.ax.set_yticklabels(["diverged", "mixed/undecided", "converged"])
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(title or self.settings.get("title", "Adam phase diagram"), fontsize=10)
        return _plotting.save_figure(fig, path)


    def plot_batch(
        self,
        path: str | Path,
        *,
        beta1: float | None = None,
        lr: float | None = None,
        log_beta2: bool = True,
        boundary: tuple[np.ndarray, np.ndarray] | None = None,
        title: str | None = None,
    ) -> Path:
        """Draw a sweep at one beta1 and lr: batch size (log2) across, beta2 up.

        Args:
            boundary: optional (batch sizes, beta2*) curve, e.g. a predicted boundary.
        """
        from matplotlib.colors import LinearSegmentedColormap  # lazy: keeps matplotlib off `adamcheck simulate`

        if not self.is_sweep:
            raise InvalidParameterError("plot_batch needs a sweep (phase_sweep) grid: use plot")
        k = self._axis_index(self.beta1, beta1, "beta1")
        j = self._axis_index(self.lr, lr, "lr")
        plt = _plotting.pyplot()
        score = (self.converged - self.diverged)[:, j, :, k].T  # (beta2, B)
        cmap = LinearSegmentedColormap.from_list(
            "phase", [_plotting.PHASE_COLOURS["diverged"], _plotting.PHASE_COLOURS["undecided"], _plotting.PHASE_COLOURS["converged"]]
        )
        fig, ax = plt.subplots(figsize=(6.4, 5.0))
        x = np.log2(self.batch_size.astype(float))
        y = 1.0 - self.beta2 if log_beta2 else self.beta2
        mesh = ax.pcolormesh(x, y, score, cmap=cmap, vmin=-1, vmax=1, shading="nearest")
        if boundary is not None:
            bx, by = boundary
            by = np.asarray(by, dtype=float)
            ax.plot(np.log2(np.asarray(bx, dtype=float)), 1 - by if log_beta2 else by, "k-", lw=1.8,
                    marker="o", label="predicted boundary")
            ax.legend(loc="lower right", fontsize=8)
        if log_beta2:
            ax.set_yscale("log")
            ax.invert_yaxis()
            ax.set_ylabel(r"$1-\beta_2$")
        else:
            ax.set_ylabel(r"$\beta_2$")
        ax.set_xticks(x)
        ax.set_xticklabels([str(int(b)) for b in self.batch_size])
        ax.set_xlabel("batch size")
        cbar = fig.colorbar(mesh, ax=ax, ticks=[-1, 0, 1])
        cbar.ax.set_yticklabels(["diverged", "mixed/undecided", "converged"])
        default = (f"{self.settings.get('title', 'Adam on real training')}: beta1 = {self.beta1[k]:g}, "
                   f"lr = {self.lr[j]:g}, budget = {self.budget}")
        ax.set_title(title or default, fontsize=10)
        return _plotting.save_figure(fig, path)


def phase_grid(
    problem: Problem,
    beta1: Sequence[float] | np.ndarray,
    beta2: Sequence[float] | np.ndarray,
    *,
    steps: int,
    seeds: int | Sequence[int] = 1,
    seed: int | None = _NO_SEED,
    lr: float = 0.1,
    eps: float = 1e-8,
    convention: str = "paper",
    sampling: str | None = None,
    schedule: str = "inv-sqrt",
    x0: Any = 0.0,
    workers: int = 1,
    progress: bool = False,
    tol: float = 0.05,
    dtype: str = "float64",
    criterion: Any = None,
) -> PhaseGrid:
    """Simulate every (beta1, beta2) of the grid for each seed and label the cells.

    Args:
        problem: the problem (e.g. :class:`adamcheck.problems.Counterexample`).
        beta1, beta2: grid axes, values in [0, 1).
        steps: steps per run.
        seeds: number of seeds (0, 1, ...) or an explicit list (e.g. ``range(5, 9)``).
        seed: deprecated: the first seed when ``seeds`` is a count (a DeprecationWarning;
            ignored, as always, when ``seeds`` is a list). Pass ``seeds=range(seed,
            seed + count)`` instead (:func:`adamcheck.simulator._settings.phase_seeds`).
        Other arguments: as :func:`adamcheck.simulator.simulate`.

    Returns:
        A :class:`PhaseGrid` with rows over beta2 and columns over beta1.

    Example:
        >>> from adamcheck.problems import Counterexample
        >>> g = phase_grid(Counterexample(n=10, a=1/81), [0.0], [0.3, 0.99], steps=8000)
        >>> g.outcome[:, 0].tolist()
        ['diverged', 'converged']

    References:
        Zhang et al. 2026 (arXiv:2603.02092), Figure 2.4.
    """
    b1 = check_betas_array(beta1, "beta1")
    b2 = check_betas_array(beta2, "beta2")
    def check_size(count: int) -> None:  # a count of seeds: refuse a grid too large before building anything
        check_simulation_size(b1.size * b2.size * count, problem.dim if isinstance(problem, Problem) else 1,
                              check_positive_int(steps, "steps"), None)

    if seed is _NO_SEED:
        seed_list = phase_seeds(seeds, before=check_size)
    else:
        seed_list = phase_seeds(seeds, seed, before=check_size)
    adam = AdamSettings(lr=lr, eps=eps, convention=convention, schedule=schedule)
    plan = RunPlan(steps=steps, seeds=seed_list, sampling=sampling, x0=x0, dtype=dtype)
    return run_phase_grid(problem, b1, b2, adam, plan, workers=workers, progress=progress, tol=tol,
                          criterion=criterion)


def run_phase_grid(
    problem: Problem,
    beta1: Sequence[float] | np.ndarray,
    beta2: Sequence[float] | np.ndarray,
    adam: AdamSettings,
    plan: RunPlan,
    *,
    workers: int = 1,
    progress: bool = False,
    tol: float = 0.05,
    criterion: Any = None,
) -> PhaseGrid:
    """:func:`phase_grid` with its settings as objects; every cell runs once per seed of ``plan.seeds``.

    The grid's axes replace ``adam``'s betas; ``adam``'s other values must be single
    values (one Adam per diagram). The other arguments are those of :func:`phase_grid`.

    Example:
        >>> from adamcheck.problems import Counterexample
        >>> from adamcheck.simulator import AdamSettings, RunPlan
        >>> adam = AdamSettings(lr=0.1, schedule="inv-sqrt")
        >>> g = run_phase_grid(Counterexample(n=10, a=1/81), [0.0], [0.3, 0.99], adam, RunPlan(steps=8000))
        >>> g.outcome[:, 0].tolist()
        ['diverged', 'converged']

    References:
        Zhang et al. 2026 (arXiv:2603.02092), Figure 2.4.
    """
    b1 = check_betas_array(beta1, "beta1")
    b2 = check_betas_array(beta2, "beta2")
    if not isinstance(adam, AdamSettings) or not isinstance(plan, RunPlan):
        raise InvalidParameterError("give an adamcheck.simulator.AdamSettings and a RunPlan (or call phase_grid)")
    for name in ("lr", "eps", "weight_decay", "eps_root"):
        if getattr(adam, name).size != 1:
            raise InvalidParameterError(f"{name} has {getattr(adam, name).size} values: a phase diagram takes one "
                                        f"(run one diagram per {name})")
    seed_list = plan.seeds
    S, R2, R1 = seed_list.size, b2.size, b1.size
    grid1 = np.tile(np.broadcast_to(b1, (R2, R1)).ravel(), S)
    grid2 = np.tile(np.broadcast_to(b2[:, None], (R2, R1)).ravel(), S)
    grid_seed = np.repeat(seed_list, R2 * R1)
    res = run_simulation(
        problem,
        replace(adam, beta1=grid1, beta2=grid2),
        replace(plan, seeds=grid_seed),
        workers=workers,
        progress=progress,
        tol=tol,
        criterion=criterion,
    )
    per_seed = res.outcome.reshape(S, R2, R1)
    label, diverged, converged = majority_outcome(per_seed)
    ev = res.evidence
    records = None
    if str(ev["measure"]) == "training":
        shape = (S, R2, R1)
        cut = lambda a: np.asarray(a).reshape(shape)  # noqa: E731
        records = RunRecords(
            initial_loss=cut(ev["initial"]), final_loss=cut(ev["final"]), best_loss=cut(ev["best"]),
            finite=~cut(ev["nonfinite"]).astype(bool),
            nonfinite_step=np.where(cut(ev["blowup_step"]) > 0, cut(ev["blowup_step"]), -1),
            grad_norm_initial=cut(ev["grad_norm_initial"]), grad_norm_final=cut(ev["grad_norm_final"]),
            reason=cut(res.reason), loss_trend_t=cut(ev["drift_t"]),
        )
    settings = {
        "problem": problem.describe(),
        "steps": res.steps,
        "lr": float(adam.lr[0]),
        "eps": float(adam.eps[0]),
        "convention": res.convention,
        "sampling": res.sampling,
        "schedule": res.schedule,
        "shared_run_steps_fraction": res.shared_run_steps / float(res.runs * res.steps),
    }
    # recorded only when used, so the diagrams of plain Adam keep their settings as they were
    settings.update({name: float(getattr(adam, name)[0]) for name in ("weight_decay", "eps_root")
                     if getattr(adam, name)[0] != 0})
    if adam.decoupled:
        settings["decoupled"] = True
    return PhaseGrid(
        beta1=b1,
        beta2=b2,
        outcome=label,
        diverged=diverged,
        converged=converged,
        per_seed=per_seed,
        seeds=seed_list,
        settings=settings,
        records=records,
    )
