"""``adamcheck simulate``: run Adam on one problem for one or several settings."""

from __future__ import annotations

from typing import Any

import click
import numpy as np

from .._errors import InvalidParameterError
from .._plotting import check_plot_path, pyplot, save_figure
from .._shown import shown_repr
from ..simulator import AdamSettings, RunPlan, run_simulation
from ..theory import CONVENTIONS
from ._common import emit, json_option, quiet_option
from ._problems import NUMBER_LIST, build_problem, problem_options
from ._types import SEED

__all__ = ["command"]


def _render(result: Any) -> str:
    d = result.to_dict()
    lines = [
        f"problem: {d['problem']['name']}  ({', '.join(f'{k}={v}' for k, v in d['problem'].items() if k != 'name')})",
        f"convention {result.convention}, sampling {result.sampling}, schedule {result.schedule}, "
        f"{result.steps} steps, {result.runs} run(s), {result.dtype}",
        "",
        f"{'run':>4} {'beta1':>8} {'beta2':>9} {'lr':>8} {'seed':>5}  {'outcome':<10} "
        f"{'final x (first coords)':<26} {result.evidence['measure']!s:>10} {'drift':>9} {'drift t':>8}",
    ]
    ev = result.evidence
    for r in range(result.runs):
        x = result.final[r]
        xs = ", ".join(f"{v:.4g}" for v in x[:3]) + (", ..." if x.size > 3 else "")
        lines.append(
            f"{r:>4} {result.hyper['beta1'][r]:>8.4g} {result.hyper['beta2'][r]:>9.6g} "
            f"{result.hyper['lr'][r]:>8.3g} {int(result.hyper['seed'][r]):>5}  {result.outcome[r]:<10} "
            f"{xs:<26} {ev['final'][r]:>10.4g} {ev['drift'][r]:>9.3g} {ev['drift_t'][r]:>8.3g}"
        )
        if result.reason is not None:
            lines.append(f"{'':>6}why: {result.reason[r]}")
    lines.append("")
    lines.append(
        "drift: slope of the measure against elapsed step size over the second half; "
        "diverged = it grows steadily (or overflowed)."
    )
    return "\n".join(lines)


def _plot(result: Any, path: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    steps = result.record_steps
    traj = result.trajectory
    for r in range(min(result.runs, 12)):
        label = f"b1={result.hyper['beta1'][r]:.3g}, b2={result.hyper['beta2'][r]:.5g}: {result.outcome[r]}"
        ax.plot(steps, traj[:, r, 0], lw=1.2, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("x (first coordinate)")
    ax.set_title(f"{result.problem['name']}, {result.convention} convention", fontsize=10)
    ax.legend(fontsize=7)
    save_figure(fig, path)


@click.command(
    help="""Run Adam on a problem, for one or several (beta1, beta2, lr, eps, seed) settings.

Comma lists give one run per entry (lists of one value broadcast). Each run ends
diverged, converged or undecided, judged by the trend of its distance to the
minimiser (the loss when no minimiser is known).

\b
Examples:
  adamcheck simulate --problem counterexample --n 10 --a 0.0123 --beta1 0.9 \\
      --beta2 0.99 --steps 10000 --convention paper --sampling replacement \\
      --lr 0.1 --schedule inv-sqrt --x0 0 --seed 0
  adamcheck simulate --problem lsq --data examples/digits/digits_binary.npz --batch-size 8 \\
      --sampling cyclic --convention torch --schedule constant --lr 0.01 --json
"""
)
@problem_options
@click.option("--beta1", type=NUMBER_LIST, default="0.9", show_default=True, help="beta1 (or a comma list).")
@click.option("--beta2", type=NUMBER_LIST, default="0.999", show_default=True, help="beta2 (or a comma list).")
@click.option("--lr", type=NUMBER_LIST, default="0.1", show_default=True, help="Base learning rate eta_0.")
@click.option("--eps", type=NUMBER_LIST, default="1e-8", show_default=True, help="Adam's epsilon.")
@click.option("--weight-decay", type=NUMBER_LIST, default="0", show_default=True, help="Weight decay.")
@click.option("--decoupled", is_flag=True, help="AdamW-style decoupled weight decay (default: coupled L2).")
@click.option("--eps-root", type=NUMBER_LIST, default="0", show_default=True, help="optax's eps_root.")
@click.option("--seed", type=str, default="0", show_default=True, help="Seed (or a comma list).")
@click.option("--steps", type=int, default=10000, show_default=True, help="Number of steps.")
@click.option("--convention", type=click.Choice(CONVENTIONS),
              default="paper", show_default=True, help="Which Adam (bias correction, where eps sits).")
@click.option("--sampling", type=click.Choice(["replacement", "reshuffle", "cyclic"]), default=None,
              help="How mini-batches are drawn (default: the problem's own).")
@click.option("--schedule", type=click.Choice(["constant", "inv-sqrt", "inv-sqrt-epoch"]),
              default="inv-sqrt", show_default=True, help="Learning-rate schedule.")
@click.option("--x0", type=NUMBER_LIST, default="0", show_default=True,
              help="Start: one number for every coordinate, or d numbers.")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True)
@click.option("--record-every", type=int, default=None, help="Keep the iterate every K steps (JSON 'trajectory').")
@click.option("--workers", type=int, default=1, show_default=True, help="Parallel workers, processes here (0: all cores).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Draw the trajectories to this .png/.pdf/.svg (records 200 points if --record-every is not given).")
@json_option
@quiet_option
def command(problem, n, a, C, period, delta, data, batch_size, drop_last, beta1, beta2, lr, eps, weight_decay,
            decoupled, eps_root, seed, steps, convention, sampling, schedule, x0, dtype, record_every,
            workers, plot_path, as_json, quiet) -> int:
    if plot_path:
        check_plot_path(plot_path)  # fail before the simulation, not after
    prob = build_problem(problem, n=n, a=a, C=C, period=period, delta=delta, data=data, batch_size=batch_size,
                         drop_last=drop_last)
    try:
        seeds = [SEED.convert(s, None, None) for s in seed.split(",") if s.strip()]
    except click.BadParameter:
        raise InvalidParameterError(
            f"--seed {shown_repr(seed)} is not a whole number in [0, 2**63 - 1] or a comma list of them"
        ) from None
    if not seeds:
        raise InvalidParameterError("--seed is empty: give a whole number such as 0")
    x0_value = x0[0] if len(x0) == 1 else np.asarray(x0)
    if plot_path and record_every is None:
        record_every = max(1, steps // 200)
    adam = AdamSettings(beta1=beta1, beta2=beta2, lr=lr, eps=eps, weight_decay=weight_decay, eps_root=eps_root,
                        decoupled=decoupled, convention=convention, schedule=schedule)
    plan = RunPlan(steps=steps, seeds=seeds, sampling=sampling, x0=x0_value, dtype=dtype, record_every=record_every)
    result = run_simulation(prob, adam, plan, workers=workers, progress=not quiet and not as_json)
    if plot_path:
        _plot(result, plot_path)
    emit(result, as_json, _render)
    return 0
