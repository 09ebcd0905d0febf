"""``adamcheck phase``: the (beta1, beta2) phase diagram of a problem."""

from __future__ import annotations

from typing import Any

import click

from .._plotting import check_plot_path
from .._validate import check_positive_int, parse_linspace
from ..theory import CONVENTIONS
from ._common import emit, json_option, quiet_option
from ._problems import NUMBER, build_problem, problem_options

__all__ = ["command"]


def _render(payload: Any) -> str:
    grid, out = payload["grid"], payload["out"]
    c = grid.counts()
    lines = [
        grid.render_text(),
        "",
        f"cells: {c['diverged']} diverged, {c['converged']} converged, {c['undecided']} undecided "
        f"({grid.seeds.size} seed(s) per cell, {grid.settings['steps']} steps, {grid.settings['convention']} convention)",
    ]
    if out:
        lines.append(f"plot written to {out}")
    return "\n".join(lines)


@click.command(
    help="""Simulate Adam over a (beta1, beta2) grid and draw the phase diagram.

Every cell runs once per seed; the map is red where Adam diverges and blue where
it converges, with the curve beta1 = sqrt(beta2) (Zhang et al. 2026, Figure 2.4).
Ranges are START:STOP:COUNT (inclusive) or comma lists.

\b
Example:
  adamcheck phase --problem counterexample --n 20 --beta1 0:0.99:64 \\
      --beta2 0.5:0.9999:64 --steps 20000 --seeds 4 --plot phase.png
  adamcheck phase --n 10 --beta1 0:0.9:8 --beta2 0.5:0.999:8 --steps 5000 --json
"""
)
@problem_options
@click.option("--beta1", "beta1_spec", default="0:0.99:32", show_default=True, help="beta1 axis.")
@click.option("--beta2", "beta2_spec", default="0.5:0.9999:32", show_default=True, help="beta2 axis.")
@click.option("--steps", type=int, default=20000, show_default=True, help="Steps per run.")
@click.option("--seeds", type=int, default=1, show_default=True, help="Seeds per cell (SEED, SEED+1, ...).")
@click.option("--seed", type=int, default=0, show_default=True, help="First seed.")
@click.option("--lr", type=NUMBER, default=0.1, show_default=True, help="Base learning rate eta_0.")
@click.option("--eps", type=NUMBER, default=1e-8, show_default=True, help="Adam's epsilon.")
@click.option("--convention", type=click.Choice(CONVENTIONS),
              default="paper", show_default=True)
@click.option("--sampling", type=click.Choice(["replacement", "reshuffle", "cyclic"]), default=None,
              help="How mini-batches are drawn (default: the problem's own).")
@click.option("--schedule", type=click.Choice(["constant", "inv-sqrt", "inv-sqrt-epoch"]),
              default="inv-sqrt", show_default=True)
@click.option("--x0", type=NUMBER, default=0.0, show_default=True, help="Start point (every coordinate).")
@click.option("--plot", "out", type=click.Path(dir_okay=False), default=None, help="Draw the phase diagram to this .png/.pdf/.svg.")
# --out was this option's first name; kept, hidden, so existing scripts still work
@click.option("--out", "out_alias", type=click.Path(dir_okay=False), default=None, hidden=True)
@click.option("--log-beta2", is_flag=True, help="Plot 1 - beta2 on a log axis.")
@click.option("--workers", type=int, default=0, show_default=True, help="Parallel workers, processes here (0: all cores).")
@json_option
@quiet_option
def command(problem, n, a, C, period, delta, data, batch_size, drop_last, beta1_spec, beta2_spec, steps, seeds, seed,
            lr, eps, convention, sampling, schedule, x0, out, out_alias, log_beta2, workers, as_json, quiet) -> int:
    from ..simulator import AdamSettings, RunPlan, run_phase_grid  # lazy: keeps numpy off `adamcheck phase --help`
    from ..simulator._settings import seed_range  # lazy: keeps numpy off `adamcheck phase --help`
    from ..simulator._simulate import check_simulation_size  # lazy: keeps numpy off `adamcheck phase --help`
    out = out or out_alias
    if out:
        check_plot_path(out)  # fail before the simulation, not after
    prob = build_problem(problem, n=n, a=a, C=C, period=period, delta=delta, data=data, batch_size=batch_size,
                         drop_last=drop_last)
    b1 = parse_linspace(beta1_spec, "--beta1")
    b2 = parse_linspace(beta2_spec, "--beta2")
    seed_list = seed_range(seeds, seed, before=lambda count: check_simulation_size(
        b1.size * b2.size * count, prob.dim, check_positive_int(steps, "steps"), None))
    adam = AdamSettings(lr=lr, eps=eps, convention=convention, schedule=schedule)
    plan = RunPlan(steps=steps, seeds=seed_list, sampling=sampling, x0=x0)
    grid = run_phase_grid(prob, b1, b2, adam, plan, workers=workers, progress=not quiet and not as_json)
    if out:
        desc = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in grid.settings["problem"].items() if k not in ("dim", "n_components"))
        grid.plot(out, log_beta2=log_beta2, title=f"{desc}; {steps} steps, {grid.seeds.size} seed(s)")
    payload = {"grid": grid, "out": out}
    if as_json:
        emit({**grid.to_dict(), "plot": out}, True, str)
    else:
        emit(payload, False, _render)
    return 0
