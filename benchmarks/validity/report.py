"""Markdown tables of the validation results (results.json written by run.py).

    python benchmarks/validity/report.py benchmarks/validity/results/results.json
"""

from __future__ import annotations

import json
import sys


def _star(x: float | None) -> str:
    if x is None or x != x:
        return "top fails"
    return "-" if x == 0 else f"{x:g}"


def table(results: list[dict]) -> str:
    lines = [
        "| problem | budget | lr | beta1 | batch sizes | real beta2*(B) | predicted beta2*(B) | recommended beta2(B) "
        "| agreement (cells) | unsafe called safe | safe called unsafe | non-increasing | recommended in a failing cell |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rec = r.get("recommended")
        rec_s = " ".join(f"{x:.4g}" for x in rec) if rec else "not run"
        bad = r.get("recommended_in_failing_cell")
        bad_s = "not run" if bad is None else str(sum(bad))
        agree = "n/a" if r["agreement"] is None else f"{r['agreement']:.1%}"
        mono = "yes" if r["predicted_monotone_where_real_is"] else "NO"
        lines.append(
            f"| {r['problem']} | {r['amount']} {r['budget']} | {r['lr']:g} {r['schedule']} | {r['beta1']:g} "
            f"| {' '.join(map(str, r['batch_sizes']))} | {' '.join(_star(x) for x in r['real_critical'])} "
            f"| {' '.join(_star(x) for x in r['predicted_critical'])} | {rec_s} | {agree} ({r['cells_compared']}) "
            f"| {r['unsafe_called_safe']} | {r['safe_called_unsafe']} | {mono} | {bad_s} |"
        )
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    cells = sum(r["cells_compared"] for r in results)
    agree = sum(r["agreement"] * r["cells_compared"] for r in results if r["agreement"] is not None)
    worst = min((r["agreement"] for r in results if r["agreement"] is not None), default=None)
    missed = sum(r["unsafe_called_safe"] for r in results)
    over = sum(r["safe_called_unsafe"] for r in results)
    rec_bad = sum(sum(r["recommended_in_failing_cell"] or []) for r in results)
    mono = sum(not r["predicted_monotone_where_real_is"] for r in results)
    return (f"{len(results)} panels, {cells} cells far from the real boundary: agreement {agree / cells:.1%} overall, "
            f"worst panel {worst:.1%}; failing cells called safe: {missed}; safe cells called unsafe: {over}; "
            f"panels where the prediction rises with B while real training does not: {mono}; recommended beta2 in "
            f"a failing cell: {rec_bad}.")


if __name__ == "__main__":
    data = json.load(open(sys.argv[1]))
    print(summary(data))
    print()
    print(table(data))
