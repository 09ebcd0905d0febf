"""``adamcheck prove``: run every machine-checked proof obligation in proofs/."""

from __future__ import annotations

import click

from .. import proofs
from .._errors import InvalidParameterError
from .._progress import Progress
from ._common import emit, json_option, quiet_option

HELP = """Run the proof obligations in proofs/ and list id, method, status and time.

Methods: symbolic (SymPy proves it for all admissible symbols), interval (interval
arithmetic at the stated points), numeric (sampling: evidence, never a proof).
Statuses: proved, supported (numeric evidence), failed, error. Exits 1 if any
obligation failed or errored.

\b
Example:
  adamcheck prove
  adamcheck prove --only counterexample --json
"""


def run_proofs(only: str | None = None, *, quiet: bool = True) -> dict:
    """Run the obligations (ids containing ``only``) and return the JSON-ready report."""
    obligations = proofs.all_obligations(only)
    with Progress(total=len(obligations), label="prove", enabled=not quiet) as bar:
        results = proofs.run(obligations, on_done=lambda _r: bar.update())
    return {
        "obligations": [r.to_dict() for r in results],
        "summary": {
            "total": len(results),
            "proved": sum(r.status == "proved" for r in results),
            "supported": sum(r.status == "supported" for r in results),
            "failed": sum(r.status == "failed" for r in results),
            "error": sum(r.status == "error" for r in results),
            "seconds": round(sum(r.seconds for r in results), 3),
        },
    }


def _render(report: dict) -> str:
    rows = report["obligations"]
    width = max((len(r["id"]) for r in rows), default=10)
    lines = [f"{'id'.ljust(width)}  {'method':8}  {'status':9}  seconds"]
    for r in rows:
        lines.append(f"{r['id'].ljust(width)}  {r['method']:8}  {r['status']:9}  {r['seconds']:7.3f}")
        if r["status"] in ("failed", "error"):
            lines.append(f"    {r['statement']}\n    detail: {r['detail']}")
    s = report["summary"]
    lines.append(
        f"{s['total']} obligations: {s['proved']} proved, {s['supported']} supported by numeric evidence, "
        f"{s['failed']} failed, {s['error']} errors ({s['seconds']:.1f} s)"
    )
    return "\n".join(lines)


@click.command("prove", help=HELP)
@click.option("--only", default=None, help="Run only obligations whose id contains this text.")
@click.option("--timings", is_flag=True,
              help="Keep the seconds per obligation in --json output (then it differs run to run).")
@json_option
@quiet_option
def command(only: str | None, timings: bool, as_json: bool, quiet: bool) -> int:
    report = run_proofs(only, quiet=quiet or as_json)
    if not report["obligations"]:
        raise InvalidParameterError(f"no obligation id contains {only!r}: run 'adamcheck prove' to list them")
    s = report["summary"]
    if as_json and not timings:  # byte-stable JSON: the same obligations give the same bytes
        report = {"obligations": [{k: v for k, v in r.items() if k != "seconds"} for r in report["obligations"]],
                  "summary": {k: v for k, v in s.items() if k != "seconds"}}
    emit(report, as_json, _render)
    return 1 if s["failed"] or s["error"] else 0
