"""Phase diagrams: outcomes of Adam over a (beta1, beta2) grid and several seeds.

Every cell of the grid is run once per seed (seeds are shared across cells: common
random numbers), all in one vectorised simulation. A cell's label is the outcome
most of its seeds reached (ties: ``undecided``); the fractions are kept as well.
The plot follows Zhang et al. 2026, Figure 2.4(a): red where Adam diverges, blue where
it converges, with the curve beta1 = sqrt(beta2) of the convergence theorem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._validate import check_betas_array, check_nonnegative_int, check_positive_int
from ..problems._base import Problem
from ._simulate import check_simulation_size, simulate

__all__ = ["PhaseGrid", "phase_grid"]


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

    Attributes:
        beta1, beta2: the axes.
        outcome: (len(beta2), len(beta1)) majority label per cell.
        diverged, converged: fractions of seeds per cell.
        per_seed: (seeds, len(beta2), len(beta1)) outcomes.
        seeds: the seeds used.
        settings: the simulation settings (problem, steps, lr, schedule...).
    """

    beta1: np.ndarray
    beta2: np.ndarray
    outcome: np.ndarray
    diverged: np.ndarray
    converged: np.ndarray
    per_seed: np.ndarray
    seeds: np.ndarray
    settings: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        labels, counts = np.unique(self.outcome, return_counts=True)
        out = {"diverged": 0, "converged": 0, "undecided": 0}
        out.update({str(k): int(v) for k, v in zip(labels, counts)})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1": self.beta1,
            "beta2": self.beta2,
            "outcome": self.outcome,
            "diverged_fraction": self.diverged,
            "converged_fraction": self.converged,
            "seeds": self.seeds,
            "counts": self.counts(),
            **self.settings,
        }

    def render_text(self, max_width: int = 80) -> str:
        """An ASCII map: x diverged, . converged, ? undecided; beta2 grows upwards."""
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

        Args:
            path: output file (.png, .pdf or .svg).
            log_beta2: put 1 - beta2 on a log axis (the interesting region is near 1).
            boundary: optional (beta1, beta2*) curve to overlay (e.g. the drift-ratio
                boundary of :mod:`adamcheck.drift`).
        """
        from .._plotting import PHASE_COLOURS, pyplot, save_figure
        from matplotlib.colors import LinearSegmentedColormap

        plt = pyplot()
        score = self.converged - self.diverged  # -1 red ... +1 blue
        cmap = LinearSegmentedColormap.from_list(
            "phase", [PHASE_COLOURS["diverged"], PHASE_COLOURS["undecided"], PHASE_COLOURS["converged"]]
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
        return save_figure(fig, path)


def phase_grid(
    problem: Problem,
    beta1: Sequence[float] | np.ndarray,
    beta2: Sequence[float] | np.ndarray,
    *,
    steps: int,
    seeds: int | Sequence[int] = 1,
    seed: int = 0,
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
) -> PhaseGrid:
    """Simulate every (beta1, beta2) of the grid for each seed and label the cells.

    Args:
        problem: the problem (e.g. :class:`adamcheck.problems.Counterexample`).
        beta1, beta2: grid axes, values in [0, 1).
        steps: steps per run.
        seeds: number of seeds (``seed``, ``seed+1``, ...) or an explicit list.
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
    if isinstance(seeds, (int, np.integer)):
        count = check_positive_int(seeds, "seeds")
        start = check_nonnegative_int(seed, "seed")
        if start + count - 1 > 2**63 - 1:
            raise InvalidParameterError(f"seed + seeds - 1 = {start + count - 1} is above 2**63 - 1: lower seed")
        check_simulation_size(b1.size * b2.size * count, problem.dim if isinstance(problem, Problem) else 1,
                              check_positive_int(steps, "steps"), None)
        seed_list = np.arange(start, start + count, dtype=np.int64)
    else:
        seed_list = np.asarray([check_nonnegative_int(s, "seed") for s in seeds], dtype=np.int64)
        if seed_list.size == 0:
            raise InvalidParameterError("seeds is empty: give a count or at least one seed")
    S, R2, R1 = seed_list.size, b2.size, b1.size
    grid1 = np.tile(np.broadcast_to(b1, (R2, R1)).ravel(), S)
    grid2 = np.tile(np.broadcast_to(b2[:, None], (R2, R1)).ravel(), S)
    grid_seed = np.repeat(seed_list, R2 * R1)
    res = simulate(
        problem,
        steps=steps,
        beta1=grid1,
        beta2=grid2,
        lr=lr,
        eps=eps,
        seed=grid_seed,
        x0=x0,
        convention=convention,
        sampling=sampling,
        schedule=schedule,
        workers=workers,
        progress=progress,
        tol=tol,
        dtype=dtype,
    )
    per_seed = res.outcome.reshape(S, R2, R1)
    diverged = (per_seed == "diverged").mean(axis=0)
    converged = (per_seed == "converged").mean(axis=0)
    undecided = 1.0 - diverged - converged
    label = np.full((R2, R1), "undecided", dtype=object)
    label[(diverged > converged) & (diverged > undecided)] = "diverged"
    label[(converged > diverged) & (converged > undecided)] = "converged"
    settings = {
        "problem": problem.describe(),
        "steps": res.steps,
        "lr": float(lr),
        "eps": float(eps),
        "convention": res.convention,
        "sampling": res.sampling,
        "schedule": res.schedule,
        "shared_run_steps_fraction": res.shared_run_steps / float(res.runs * res.steps),
    }
    return PhaseGrid(
        beta1=b1,
        beta2=b2,
        outcome=label.astype(str),
        diverged=diverged,
        converged=converged,
        per_seed=per_seed,
        seeds=seed_list,
        settings=settings,
    )
