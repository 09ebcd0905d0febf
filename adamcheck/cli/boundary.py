"""``adamcheck boundary``: the critical beta2* per beta1 (counterexample) or per batch size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from .._diagnostics import Diagnostic, Level, text_line
from .._errors import InvalidParameterError
from .._plotting import check_plot_path
from .._validate import parse_linspace
from ..theory import COUNTEREXAMPLE_REGION_N, check_counterexample_n, counterexample_default_a
from ._common import emit, json_option, quiet_option
from ._problems import NUMBER

__all__ = ["command"]


def _fmt(v: float) -> str:
    return "none (rho > 0 for every beta2)" if v <= 0 else f"{v:.6f}"


def _render_problem(payload: dict[str, Any]) -> str:
    L = [f"counterexample n = {payload['n']}, a = {payload['a']:.6g}: critical beta2* per beta1 (strict rule)",
         f"{'beta1':>8}  {'beta2*':<32} {'lenient':>10}"]
    for b1, s, le in zip(payload["beta1"], payload["critical_beta2"], payload["lenient_beta2"]):
        L.append(f"{b1:>8.4f}  {_fmt(s):<32} {le:>10.6f}")
    if payload.get("simulation"):
        sim = payload["simulation"]
        L.append("")
        L.append(f"simulated phase grid ({sim['steps']} steps, {sim['seeds']} seed(s)): agreement "
                 f"{sim['agreement']:.1%} of {sim['cells_compared']} cells farther than {sim['distance']} from "
                 f"the boundary; {sim['agreement_beta1_below_sqrt_beta2']:.1%} where beta1 < sqrt(beta2)")
    if payload.get("plot"):
        L.append(f"plot written to {payload['plot']}")
    return "\n".join(L)


def _fmt_training(v: float) -> str:
    if v != v:
        return "no safe value on the ladder"
    return "none on the ladder" if v <= 0 else f"{v:g}"


def _steps_text(steps: list[int]) -> str:
    return f"{min(steps)}" if min(steps) == max(steps) else f"{min(steps)}-{max(steps)}"


def _answer(failed: list[float], trained: list[float], decided: bool) -> str:
    """One cell of the table: what the file decided at one batch size."""
    if not decided:
        return "cannot tell from this file"
    parts = []
    if failed:
        parts.append(f"fails <= {failed[-1]:g}")
    if trained:
        parts.append(f"trains >= {trained[0]:g}")
    return ", ".join(parts)


def _short(reason: str) -> str:
    """A few words for one cell's reason (the full sentence is in --json)."""
    for key, words in (("depends on the learning rate and the model", "update bursts: lr and model decide"),
                       ("update growth", "update growth"), ("sign drift", "sign drift"),
                       ("reversed coordinates", "reversed coordinates climb: a run may leave the sampled path"),
                       ("standard errors of", "statistic within its standard errors of the threshold"),
                       ("resolves Adam's mean step", "no sampled point resolves the mean step"),
                       ("cannot be told", "a larger beta2 cannot be told")):
        if key in reason:
            return words
    return reason[:60]


def _why(payload: dict[str, Any], i: int) -> str:
    out, why = payload["outcome"][i], payload["cell_reason"][i]
    parts = []
    fails = [j for j, o in enumerate(out) if o == "fails"]
    unknown = [j for j, o in enumerate(out) if o == "cannot_tell"]
    if fails:
        parts.append(_short(why[fails[-1]]))
    if unknown:
        lo, hi = payload["beta2"][unknown[0]], payload["beta2"][unknown[-1]]
        span = f"{lo:g}" if lo == hi else f"{lo:g}-{hi:g}"
        reasons = list(dict.fromkeys(_short(why[j]) for j in reversed(unknown)))
        parts.append(f"cannot tell at {span}: {' / '.join(reasons)}")
    return "; ".join(parts) or "-"


def _render_batches(payload: dict[str, Any]) -> str:
    L = [f"training boundary at beta1 = {payload['beta1']:g}: what your gradients decide per batch size "
         f"({payload['coordinates_sampled']} of {payload['coordinates_total']} coordinates, "
         f"{_steps_text(payload['steps'])} simulated steps, {payload['z']:g} standard errors)",
         f"{'batch':>7}  {'answer':<28} {'point estimate':<19} why"]
    for i, B in enumerate(payload["batch_sizes"]):
        ans = _answer(payload["beta2_failed"][i], payload["beta2_trained"][i], payload["decided"][i])
        L.append(f"{B:>7}  {ans:<28} {_fmt_training(payload['critical_beta2'][i]):<19} {_why(payload, i)}")
    R = payload.get("row_batch_size", 1)
    if R > 1:
        L.append(f"batch sizes count examples; each row of the file is the mean gradient of {R} examples, "
                 f"so a batch of B averages B/{R} rows")
    L.append("beta2 between 'fails' and 'trains' cannot be told from this file (reasons in full: --json); "
             "the point estimate is the statistics' guess without their standard errors")
    L.append("rules and constants: docs/theory.md section 10 (adamcheck's choices, checked against real training)")
    if payload["beta1"] > 0:
        L.append(f"beta2 <= beta1^2 = {payload['beta1'] ** 2:.4g} is outside every convergence theorem "
                 "(beta1 >= sqrt(beta2));")
        L.append("recommend and check keep beta2 above it whatever this boundary says")
    for d in payload.get("diagnostics", []):
        L.append(text_line(d))
    if payload.get("plot"):
        L.append(f"plot written to {payload['plot']}")
    return "\n".join(L)


def _lr_note(lr: float | None, source: str, schedule: str | None) -> str:
    """What the learning rate changed in this answer (nothing: said, with what to do instead)."""
    what = "no learning rate given" if lr is None else f"learning rate {lr:g} ({source}"
    if lr is not None:
        what += f", schedule {schedule})" if schedule else ")"
    return (f"{what}: the file's statistics do not use it, so it changed nothing here, but real edges move "
            "with it (the digits MLP at beta1 0.9: 0.7-0.8 at lr 1e-3, 0.8-0.9 at 1e-2); to measure at your "
            "learning rate and schedule, run adamcheck.torch.probe on your model")


def _plot_batches(payload: dict[str, Any], path: str) -> None:
    from ..recommend import plot_beta2_against_batch  # lazy: keeps adamcheck.recommend (~80 ms) off `boundary --help`

    sizes = payload["batch_sizes"]
    plot_beta2_against_batch(
        path, batch_range=(min(sizes), max(sizes)), batch_sizes=sizes,
        critical_beta2=payload["critical_beta2"],
        title=rf"critical $\beta_2^*$ at $\beta_1$ = {payload['beta1']:g}",
    )


def _file_settings(source: Any, beta1: float | None, eps: float | None,
                   steps: int | None) -> tuple[float, float, int, list[str]]:
    """beta1, eps and the simulated steps: the flags, else the gradient file's, else the defaults."""
    meta, name = source.meta, source.label
    notes = list(source.notes)
    taken = []
    values = {}
    for key, given, default in (("beta1", beta1, 0.9), ("eps", eps, 1e-8)):
        value, differs = meta.setting(key, given, f"--{key}", name)
        if differs:
            notes.append(differs)
        elif given is None and value is not None:
            taken.append(f"{key} {value:g}")
        values[key] = default if value is None else value
    if steps is None:
        steps = 4000
        if meta.planned_steps is not None:
            # the planned run is the run to simulate, up to the length recommend simulates
            steps = int(min(max(meta.planned_steps, 20), 20000))
            taken.append(f"simulated steps {steps:,} (planned_steps {meta.planned_steps:,}, at most 20,000)")
    if taken:
        notes.append(f"{', '.join(taken)} taken from {name}")
    return values["beta1"], values["eps"], steps, notes


def _default_sizes(source: Any, sizes: list[int]) -> tuple[list[int], str]:
    """The default batch sizes this file can serve, and a note on those it cannot.

    A monitor file's default is its run's batch and multiples of it; a batch of B examples
    needs B / R whole rows of the file, and at most the rows it holds.
    """
    meta, rows = source.meta, source.shape[1]
    R = meta.rows_per_example
    if meta.is_monitor and meta.batch_size is not None:
        sizes = [meta.batch_size * k for k in (1, 2, 4, 16, 64)]
    keep = [b for b in sizes if b % R == 0 and b // R <= rows]
    skipped = [b for b in sizes if b not in keep]
    if not skipped:
        return keep, ""
    held = (f"{rows} examples per point" if R == 1 and not meta.is_monitor
            else f"{rows} rows, each the mean gradient of {R} examples")
    return keep, (f"default batch sizes {', '.join(map(str, skipped))} skipped: the gradients hold {held} "
                  "(pass --batch-sizes to choose)")


@click.command(
    help="""Critical beta2*: below it Adam's average step climbs (the divergent phase).

For the counterexample (eq. 2.5) it gives beta2* per beta1 from the two-point law,
and with --plot draws it over the simulated phase grid (Zhang et al. 2026, Figure
2.4(a) style). With --gradients it gives beta2* per batch size from your sampled
per-example gradients: the training boundary, which looks for both ways real
training fails (sign drift, and update growth where beta1 >= sqrt(beta2)) and was
checked against real training runs (docs/theory.md section 10).

\b
Examples:
  adamcheck boundary --problem counterexample --n 20 --plot boundary.png
  adamcheck boundary --gradients examples/digits/grads.npz --batch-sizes 1,4,16,64,256 --beta1 0

With --gradients it answers per batch size only what the file can decide: which
beta2 fail, which train, and "cannot tell from this file" with the reason where a
statistic is within its standard errors of its threshold, where reversed coordinates
climb (a run may leave the sampled path) or where the sampled points are too close to
a stationary point. The learning rate (--lr, or the file's) is reported: the file's
statistics do not use it; adamcheck.torch.probe measures at your learning rate.
"""
)
@click.option("--problem", type=click.Choice(["counterexample"]), default=None,
              help="Boundary of a built-in problem (the counterexample of eq. 2.5).")
@click.option("--n", type=int, default=None, help="counterexample: n (default 20).")
@click.option("--a", type=NUMBER, default=None, help="counterexample: a (default 1/(n-1)^2).")
@click.option("--gradients", type=click.Path(dir_okay=False), multiple=True,
              help="Per-example gradient file(s), or a GradientMonitor file: boundary per batch size.")
@click.option("--batch-sizes", default="1,4,16,64,256", show_default=True,
              help="Batch sizes in examples (with --gradients; a monitor file: its batch x 1, 2, 4, 16, 64).")
@click.option("--dataset-size", type=int, default=None, help="N of the data set the gradients sample.")
@click.option("--beta1", "beta1_spec", default=None,
              help="beta1 axis START:STOP:COUNT or list (counterexample; default 0:0.99:34), or one beta1 "
                   "(gradients; default the file's beta1, else 0.9).")
@click.option("--eps", type=float, default=None,
              help="Adam's epsilon (default: 0 for the counterexample; with --gradients the file's eps, else "
                   "torch's 1e-8).")
@click.option("--max-update", type=float, default=2.0, show_default=True,
              help="--gradients: largest tolerated window-average update, in learning rates (adamcheck's choice).")
@click.option("--max-climbing", type=float, default=1.0, show_default=True,
              help="--gradients: largest tolerated climbing share of reversed coordinates (adamcheck's choice).")
@click.option("--growth-fails", is_flag=True, default=False,
              help="--gradients: let update bursts above --max-update decide failures (calibrated on an MLP; "
                   "off by default: the harm of a burst depends on the learning rate and the model).")
@click.option("--lr", type=float, default=None,
              help="--gradients: your learning rate (default: the file's 'lr'); reported, see the note.")
@click.option("--schedule", type=click.Choice(["constant", "inv-sqrt", "inv-sqrt-epoch", "cosine", "linear"]),
              default=None, help="--gradients: your learning-rate schedule; reported with the learning rate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, help="Draw it (.png/.pdf/.svg).")
@click.option("--steps", type=int, default=None,
              help="Steps of each simulated run: counterexample --plot (default 20000); with --gradients the "
                   "run length you plan (default the file's planned_steps up to 20000, else 4000).")
@click.option("--seeds", type=int, default=2, show_default=True, help="counterexample --plot: seeds per cell.")
@click.option("--workers", type=int, default=0, show_default=True, help="Parallel workers, processes of the simulation (0: all cores).")
@json_option
@quiet_option
def command(problem, n, a, gradients, batch_sizes, dataset_size, beta1_spec, eps, max_update, max_climbing,
            growth_fails, lr, schedule, seed, plot_path, steps, seeds, workers, as_json, quiet) -> int:
    if plot_path:
        check_plot_path(plot_path)
    if bool(problem) == bool(gradients):
        raise InvalidParameterError("give either --problem counterexample or --gradients FILE (one of them)")
    progress = not quiet and not as_json
    if gradients:
        if n is not None or a is not None:
            raise InvalidParameterError("--n/--a apply to --problem counterexample, not to --gradients")
        if dataset_size is not None:
            raise InvalidParameterError(
                "--dataset-size is not used with --gradients: mini-batches are drawn from the examples in the file"
            )
        default_sizes = (click.get_current_context().get_parameter_source("batch_sizes")
                         == click.core.ParameterSource.DEFAULT)
        opts = _FileOptions.of(batch_sizes, default_sizes, beta1_spec, eps, max_update, max_climbing, growth_fails,
                               lr, schedule, seed, steps, progress)
        payload = _file_boundary(list(gradients), opts)
        if plot_path:
            _plot_batches(payload, plot_path)
            payload["plot"] = plot_path
        emit(payload, as_json, _render_batches)
        return 0
    payload = _counterexample(n, a, beta1_spec, eps, seed, steps, seeds, workers, progress, plot_path)
    emit(payload, as_json, _render_problem)
    return 0


@dataclass(frozen=True)
class _FileOptions:
    """The --gradients options of ``adamcheck boundary``, checked once (:meth:`of`)."""

    sizes: tuple[int, ...]
    default_sizes: bool
    beta1: float | None
    eps: float | None
    max_update: float
    max_climbing: float
    growth_fails: bool
    lr: float | None
    schedule: str | None
    seed: int
    steps: int | None
    progress: bool

    @classmethod
    def of(cls, batch_sizes: str, default_sizes: bool, beta1_spec: str | None, eps: float | None,
           max_update: float, max_climbing: float, growth_fails: bool, lr: float | None, schedule: str | None,
           seed: int, steps: int | None, progress: bool) -> "_FileOptions":
        try:
            sizes = tuple(int(s) for s in batch_sizes.split(",") if s.strip())
        except ValueError:
            raise InvalidParameterError(f"--batch-sizes {batch_sizes!r} is not a comma list of integers") from None
        if lr is not None and not (lr > 0 and lr == lr and lr != float("inf")):
            raise InvalidParameterError(f"--lr {lr} must be a positive number, such as 1e-3")
        beta1 = None if beta1_spec is None else float(parse_linspace(beta1_spec, "--beta1")[0])
        return cls(sizes, default_sizes, beta1, eps, max_update, max_climbing, growth_fails, lr, schedule, seed,
                   steps, progress)


def _file_boundary(gradients: list[str], opts: _FileOptions) -> dict[str, Any]:
    """beta2* per batch size from the gradient files: one open for every read (the metadata,
    the rows per batch, and both passes)."""
    from ..drift import batch_size_boundary  # lazy: keeps numpy off `adamcheck boundary --help`
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `adamcheck boundary --help`

    with opened_gradients(gradients, progress=opts.progress) as source:
        beta1, eps, steps, notes = _file_settings(source, opts.beta1, opts.eps, opts.steps)
        said = _notes("gradient_file", notes)
        sizes = list(opts.sizes)
        if opts.default_sizes:
            sizes, skipped = _default_sizes(source, sizes)
            if skipped:
                said.insert(0, Diagnostic(Level.NOT_CHECKED, "batch_sizes", skipped, _SRC_FILE, lens="gradients"))
        result = batch_size_boundary(source, sizes, beta1=beta1, eps=eps, steps=steps, seed=opts.seed,
                                     progress=opts.progress, max_update=opts.max_update,
                                     max_climbing=opts.max_climbing, growth_fails=opts.growth_fails)
        payload = result.to_dict()
        payload["row_batch_size"] = source.meta.rows_per_example
        payload["file_metadata"] = source.meta.stated()
        lr, lr_source = opts.lr, "your --lr"
        if lr is None and source.meta.lr is not None:
            lr, lr_source = source.meta.lr, "the file's 'lr'"
    payload["lr"] = {"value": lr, "source": lr_source if lr is not None else None, "schedule": opts.schedule,
                     "changed": "nothing: the file lens's statistics do not use the learning rate"}
    # the boundary's own notes, then the file's, then what the learning rate changed: one shape
    said = _notes("training_boundary", payload.pop("notes", [])) + said
    said.append(Diagnostic(Level.ADVICE, "learning_rate", _lr_note(lr, lr_source, opts.schedule),
                           "docs/theory.md section 10; adamcheck.torch.probe", lens="gradients"))
    payload["diagnostics"] = [d.to_dict() for d in said]
    return payload


_SRC_FILE = "the gradient file's metadata and rows (adamcheck.noise.GradientFileMeta, the one loader)"
_SRC_BOUNDARY = "adamcheck's training boundary (docs/theory.md section 10)"


def _notes(rule: str, notes: list[str]) -> list[Diagnostic]:
    """Information (level ok) from the gradients lens: the file's (``gradient_file``) or the search's."""
    return [Diagnostic(Level.OK, rule, n, _SRC_FILE if rule == "gradient_file" else _SRC_BOUNDARY, lens="gradients")
            for n in notes]


def _counterexample(n: int | None, a: float | None, beta1_spec: str | None, eps: float | None, seed: int,
                    steps: int | None, seeds: int, workers: int, progress: bool,
                    plot_path: str | None) -> dict[str, Any]:
    """beta2* per beta1 for the counterexample (eq. 2.5), with the simulated grid when plotted."""
    from ..drift import counterexample_boundary  # lazy: keeps numpy off `adamcheck boundary --help`
    n = check_counterexample_n(COUNTEREXAMPLE_REGION_N if n is None else n)
    a_value = counterexample_default_a(n) if a is None else a
    b1 = parse_linspace(beta1_spec or "0:0.99:34", "--beta1")
    cb = counterexample_boundary(n, a_value, b1, eps=0.0 if eps is None else eps, seed=seed)
    payload: dict[str, Any] = {
        "problem": "counterexample", "n": n, "a": a_value,
        "beta1": cb.beta1s, "critical_beta2": cb.strict, "lenient_beta2": cb.lenient,
        "critical_beta2_brackets": cb.strict_bracket, "unresolved": cb.unresolved,
    }
    if plot_path:
        payload.update(_simulated(cb, n, a_value, b1, 20000 if steps is None else steps, seeds, seed, workers,
                                  progress, plot_path))
    return payload


def _simulated(cb: Any, n: int, a_value: float, b1: Any, steps: int, seeds: int, seed: int, workers: int,
               progress: bool, plot_path: str) -> dict[str, Any]:
    """The simulated phase grid around the boundary, drawn to ``plot_path``."""
    import numpy as np  # lazy: keeps numpy off `adamcheck boundary --help`

    from ..drift import simulated_agreement  # lazy: keeps numpy off `adamcheck boundary --help`
    from ..problems import Counterexample  # lazy: keeps numpy off `adamcheck boundary --help`
    from ..simulator import phase_grid  # lazy: keeps numpy off `adamcheck boundary --help`
    from ..simulator._settings import seed_range  # lazy: keeps numpy off `adamcheck boundary --help`

    lowest = float(np.min(cb.strict[cb.strict > 0])) if np.any(cb.strict > 0) else 0.5
    b2 = np.linspace(max(0.0, lowest - 0.4), 0.999, 24)
    grid = phase_grid(Counterexample(n=n, a=a_value), b1, b2, steps=steps, seeds=seed_range(seeds, seed),
                      workers=workers, progress=progress)
    sim = simulated_agreement(cb, grid)
    star = np.where(cb.strict > 0, cb.strict, np.nan)
    grid.plot(plot_path, boundary=(cb.beta1s, star),
              title=f"counterexample n={n}: simulated phase and critical beta2* (drift ratio = 0)")
    return {"simulation": {**sim, "steps": steps, "seeds": seeds, "beta2_axis": b2}, "plot": plot_path}
