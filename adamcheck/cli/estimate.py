"""``adamcheck estimate``: noise constants from per-example gradients (thin layer over
:func:`adamcheck.noise.estimate`)."""

from __future__ import annotations

import math
from typing import Any

import click

from .._diagnostics import Diagnostic, Level, text_line
from .._errors import InvalidParameterError
from .._files import check_output_path
from .._jsonio import to_jsonable
from ._common import emit, json_option, quiet_option, seed_option

_SRC_ESTIMATE = "adamcheck.noise.estimate on the gradient file (docs/theory.md sections 2, 8, 9)"

HELP = """Estimate the noise constants that decide whether Adam converges at a batch size.

GRADS are .npy/.npz files of per-example gradients, shape (N, d) at one point or
(P, N, d) at P points (float32/float64; several files join along examples, and
must agree on their metadata), or a file saved by adamcheck.torch.GradientMonitor
(one row per step, each the mean gradient of the run's batch R: a batch of B
examples averages B/R rows, and --batch-size defaults to the file's). Reports
|grad|^2, tr(Sigma), B_simple (exact and two-batch), the (D0, D1) frontier of the
mini-batch partition (n = N/B batches) with its corners, and per-coordinate
mini-batch laws, with bootstrap confidence intervals. All values are for the
unscaled, mean-reduced loss; say how the rows were made with --reduction,
--loss-scale and --mean-over (rows = loss_scale * grad for 'sum',
loss_scale/mean_over * grad for 'mean').

\b
Example:
  adamcheck estimate examples/digits/grads.npz --batch-size 32
  adamcheck estimate examples/digits/grads.npz --batch-size 32 --dataset-size 50000 --json
  adamcheck estimate examples/digits/grads.npz -b 8 --partitions 20 --plot noise.png
"""


@click.command("estimate", help=HELP)
@click.argument("grads", nargs=-1, required=True)
@click.option("--batch-size", "-b", type=int, default=None,
              help="Mini-batch size B, in examples [default: the file's batch_size, as a GradientMonitor file "
                   "states it].")
@click.option("--dataset-size", type=int, default=None,
              help="Size N of the data set the file samples [default: the file's examples].")
@click.option("--reduction", default=None,
              help="Reduction of the loss the rows are gradients of: mean or sum "
                   "[default: stored in the file, else mean].")
@click.option("--loss-scale", type=float, default=None, help="Loss scale the rows include [default: 1].")
@click.option("--mean-over", type=int, default=None,
              help="Examples the mean was taken over when the rows were computed [default: 1].")
@click.option("--key", default=None, help="Array name inside .npz files [default: grads].")
@click.option("--partitions", type=int, default=0, show_default=True,
              help="Also evaluate this many random actual partitions exactly.")
@click.option("--file-partition", is_flag=True, help="Also evaluate the partition into consecutive rows.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--replicates", type=int, default=1000, show_default=True, help="Bootstrap replicates.")
@click.option("--atoms", type=int, default=256, show_default=True, help="Mini-batches drawn for the laws.")
@click.option("--laws-out", type=click.Path(dir_okay=False), default=None,
              help="Write the per-point mini-batch laws to this .npz (for the boundary code).")
@click.option("--workers", type=int, default=None,
              help="Parallel workers, threads of the streaming pass (0: all cores) [default: 1; 2 is faster on an idle machine].")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None,
              help="Draw the (D0, D1) frontier and sign agreement to FILE (.png/.pdf/.svg).")
@seed_option
@json_option
@quiet_option
def command(
    grads: tuple[str, ...], batch_size: int, dataset_size: int | None, reduction: str | None,
    loss_scale: float | None, mean_over: int | None, key: str | None, partitions: int,
    file_partition: bool, level: float, replicates: int, atoms: int, laws_out: str | None,
    workers: int | None, plot: str | None, seed: int, as_json: bool, quiet: bool,
) -> int:
    from ..noise import EstimateSettings, run_estimate, save_laws  # lazy: keeps numpy off `adamcheck estimate --help`
    from ..noise._scale import ScaleOptions  # lazy: keeps numpy off `adamcheck estimate --help`

    if plot is not None:
        _check_output(plot, {".png", ".pdf", ".svg"}, "plot")
    if laws_out is not None:
        _check_output(laws_out, {".npz"}, "laws file")
    if workers == 0:  # the same meaning as in simulate, phase and boundary
        from ..simulator._parallel import available_workers  # lazy: keeps numpy off `adamcheck estimate --help`

        workers = available_workers()
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `adamcheck estimate --help`

    with opened_gradients(list(grads), key, progress=not quiet) as source:
        taken = None
        if batch_size is None:
            batch_size = source.meta.batch_size
            if batch_size is None:
                raise InvalidParameterError(f"give --batch-size: {source.label} states no batch_size")
            taken = f"batch size {batch_size} taken from {source.label}"
        settings = EstimateSettings(partitions=partitions, file_partition=file_partition, level=level,
                                    replicates=replicates, law_atoms=atoms, seed=seed)
        est = run_estimate(source, batch_size, settings, dataset_size=dataset_size,
                           scale_options=ScaleOptions(reduction, loss_scale, mean_over), workers=workers,
                           progress=not quiet)
    result = to_jsonable(est.to_dict())
    # the estimate's notes (and the batch taken from the file) in the one shape of every command
    notes = ([taken] if taken else []) + list(result.pop("notes", []))
    result["diagnostics"] = [Diagnostic(Level.OK, "noise_estimate", n, _SRC_ESTIMATE, lens="gradients").to_dict()
                             for n in notes]
    if laws_out is not None:
        result["laws_file"] = str(save_laws(laws_out, est.laws))
    if plot is not None:
        from ..noise._plot import plot_estimate  # lazy: keeps numpy off `adamcheck estimate --help`

        result["plot"] = str(plot_estimate(est, plot))
    emit(result, as_json, _render)
    return 0


def _check_output(path: str, suffixes: set[str], what: str) -> None:
    check_output_path(path, what, suffixes)


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return "inf"
    return f"{x:.4g}"


def _ci(pair: Any) -> str:
    if not pair or pair[0] is None:
        return ""
    # JSON has no inf: an open upper end (||G||^2 <= 0 in some replicates) comes back as null
    upper = "inf" if pair[1] is None else _fmt(pair[1])
    return f"  [{_fmt(pair[0])}, {upper}]"


def _bound(s: dict[str, Any]) -> str:
    """B_simple of a point whose |grad|^2 the file does not resolve: a lower bound or "cannot tell"."""
    return f">= {_fmt(s['b_simple_lower'])}" if s["b_simple_lower"] is not None else "cannot tell"


def _signal_line(s: dict[str, Any]) -> str:
    """One point's |grad|^2 and B_simple with their intervals, as adamcheck.noise.read_signal reads them."""
    if not s["resolved"]:
        upper = (f"<= {_fmt(s['grad_norm_sq_upper'])}" if s["grad_norm_sq_upper"] is not None else "~ 0")
        return (f"|grad|^2 not resolved from this file (signal below noise: |grad|^2 {upper})  "
                f"B_simple {_bound(s)}")
    g_iv, b_iv = s["grad_norm_sq_interval"], s["b_simple_interval"]
    g = f"|grad|^2 {_fmt(s['grad_norm_sq'])}" + (f"  [{_fmt(g_iv[0])}, {_fmt(g_iv[1])}]" if g_iv else "")
    if b_iv is None:
        b = f"B_simple {_fmt(s['b_simple'])}"
    elif b_iv[1] is None:  # |grad|^2 = 0 lies in its interval: no upper bound at this level
        b = f"B_simple {_fmt(s['b_simple'])}  [{_fmt(b_iv[0])}, no upper bound]"
    else:
        b = f"B_simple {_fmt(s['b_simple'])}  [{_fmt(b_iv[0])}, {_fmt(b_iv[1])}]"
    line = f"{g}  {b}"
    if s["outside"]:
        line += (f"  ({', '.join(s['outside'])}: the estimate lies outside its percentile interval, "
                 "whose bootstrap law is skewed; read the interval)")
    return line


def _render(r: dict[str, Any]) -> str:
    ci = r.get("ci", {})
    R = int(r.get("row_batch_size", 1))
    rows = R > 1 or bool(r.get("monitor_file"))
    # a GradientMonitor file's rows are mini-batch gradients: say so before any count, so
    # that no one reads rows as examples
    head = (f"per-example gradients: {r['points']} point(s) x {r['sample_size']} examples x d = {r['dim']}"
            if not rows else
            f"mini-batch gradients (each row averages {R} example{'s' if R > 1 else ''}: a GradientMonitor file): "
            f"{r['points']} point(s) x {r['sample_size']} rows x d = {r['dim']}")
    size = (f"batch size B = {r['batch_size']}, data set N = {r['dataset_size']}, n = N/B = {r['n']} mini-batches"
            if not rows else
            f"batch size B = {r['batch_size'] * R} examples = {r['batch_size']} row(s); the rows stand in for "
            f"examples below (N = {r['dataset_size']} rows, n = {r['n']}; B_simple in rows, x {R} for examples)")
    lines = [
        f"{head} ({', '.join(r['files'])})",
        f"scale: reduction={r['reduction']}, loss scale={_fmt(r['loss_scale'])}, mean over={r['mean_over']}"
        f" ({r['scale']['source']}); values are for the unscaled mean loss",
        size,
        "",
        f"{'point':>5}  {'|grad|^2':>11}  {'tr(Sigma)':>11}  {'E|g_B|^2':>11}  {'B_simple':>10}  {'B_simple 2-batch':>16}",
    ]
    sig = r["signal"]["points"]
    # the table shows the signal reading where it reads the table's own values (a sample
    # of a data set); a whole data set's exact values are shown as they are
    own = "estimate" not in ci
    two = (r.get("two_batch") or {}).get("signal") or [None] * r["points"]
    for p in range(r["points"]):
        g2 = _fmt(r["grad_norm_sq"][p]) if not own or sig[p]["resolved"] else "unresolved"
        bs = _fmt(r["b_simple"][p]) if not own or sig[p]["resolved"] else _bound(sig[p])
        tb = _fmt(two[p]["b_simple"]) if two[p] and two[p]["resolved"] else _bound(two[p]) if two[p] else "n/a"
        lines.append(
            f"{p:>5}  {g2:>11}  {_fmt(r['trace_sigma'][p]):>11}  "
            f"{_fmt(r['minibatch_second_moment'][p]):>11}  {bs:>10}  {tb:>16}"
        )
    if ci:
        what = ("for the data distribution (another data set of this size); each line gives the unbiased "
                "estimate for it, then its interval (the table's values are exact for this data set)"
                if not own else "for the data set the file samples")
        lines.append(f"({int(100 * ci['level'])}% bootstrap intervals {what}; seed {ci['seed']}, "
                     f"{ci['replicates']} replicates)")
        for p in range(r["points"]):
            lines.append(f"  point {p}: {_signal_line(sig[p])}")
    lines += [
        "",
        f"(D0, D1) condition, expected partition into n = {r['n']} batches of B = {r['batch_size']}:",
        f"  smallest D1 with D0 = 0 : {_fmt(r['d1_at_d0_zero'])}{_ci(ci.get('d1_at_d0_zero'))}"
        f"   (D1/n = {_fmt(r['d1_at_d0_zero'] / r['n'] if r['d1_at_d0_zero'] is not None else None)})",
        f"  smallest D0 with D1 = n : {_fmt(r['d0_at_d1_n'])}{_ci(ci.get('d0_at_d1_n'))}",
    ]
    for pc in r.get("actual_partitions", []):
        s1, s0 = pc["d1_at_d0_zero_summary"], pc["d0_at_d1_n_summary"]
        lines.append(
            f"  {pc['kind']} partitions ({pc['partitions']}): D1 at D0=0 in [{_fmt(s1['min'])}, {_fmt(s1['max'])}],"
            f" D0 at D1=n in [{_fmt(s0['min'])}, {_fmt(s0['max'])}]"
        )
    laws = r.get("laws", {})
    if laws.get("points"):
        lines += ["", f"mini-batch laws at B = {laws['batch_size']}: {laws['atoms']} atoms x {laws['coordinates']} "
                  f"coordinates (moments matched: {laws['matched_moments']})"]
        for pt in laws["points"]:
            sa, sk = pt["sign_agreement"], pt["skewness"]
            lines.append(
                f"  point {pt['point']}: {pt['resolved_coordinates']} coordinates resolved from zero; "
                f"P(sign g_B = sign E g) min {_fmt(sa['min'])}, median {_fmt(sa['median'])}; "
                f"skewness median {_fmt(sk['median'])}, max {_fmt(sk['max'])}"
            )
    for key in ("laws_file", "plot"):
        if key in r:
            lines.append(f"wrote {r[key]}")
    for d in r.get("diagnostics", []):
        lines.append(text_line(d))
    return "\n".join(lines)
