"""``adamcheck derive``: print the symbolic objects (text, LaTeX or exact JSON)."""

from __future__ import annotations

from typing import Any

import click

from .._derive_subjects import PROBLEMS, SUBJECTS
from ..theory import CONVENTIONS
from ._common import emit, json_option


HELP = """Print Adam's recurrences, the papers' conditions and counterexamples.

SUBJECT is one of: recurrence (per --convention), conditions (all of the next four),
theorem22 (region; its constant c is a symbol unless --c is given), shi (Shi et al.'s
T1/T2), theorem23, reddi-theorem1, counterexample (--problem), d1 (tight D1 of a
problem) and shi-threshold (smallest beta2 meeting Shi et al.'s conditions, certified
bracket). Numbers given as 1/4 or 0.25 stay exact; --json prints rationals as "p/q".

\b
Example:
  adamcheck derive d1 --problem counterexample --n 3 --a 1/4 --json
  adamcheck derive recurrence --convention torch --latex
  adamcheck derive counterexample --n 20 --a 1/361
  adamcheck derive shi-threshold --n 100 --d 10 --D1 1000
"""


def _text(result: Any, latex: bool) -> str:
    if isinstance(result, dict):
        return "\n".join(f"{k}: {v}" for k, v in result.items())
    if isinstance(result, list):
        return "\n\n".join(item.latex() if latex else item.text() for item in result)
    # ShiThreshold
    d = result.to_dict()
    lines = [f"Shi et al. Theorem {d['theorem']}: {d['condition']}"]
    if d["feasible"]:
        lines.append(f"  smallest beta2 in ({d['beta2_lower']}, {d['beta2_upper']}]")
        lines.append(f"  1 - beta2* in [{d['gap_lower']:.6g}, {d['gap_upper']:.6g}]  (log10 {d['log10_gap']:.3f})")
        lines.append(f"  certified by {d['verified_by']}")
    lines.append(f"  note: {d['note']}")
    return "\n".join(lines)


def _jsonable(result: Any) -> Any:
    if isinstance(result, list):
        return {"objects": [item.to_dict() for item in result]}
    return result


@click.command("derive", help=HELP)
@click.argument("subject", type=click.Choice(SUBJECTS))
@click.option("--convention", default="all", type=click.Choice(("all",) + CONVENTIONS), show_default=True, help="Convention for 'recurrence'.")
@click.option("--problem", default="counterexample", type=click.Choice(PROBLEMS), show_default=True, help="Problem for 'counterexample' and 'd1'.")
@click.option("--n", "n", default=None, help="Number of mini-batches n (symbol if omitted).")
@click.option("--a", "a", default=None, help="Counterexample parameter a > 0, e.g. 1/4 (symbol if omitted).")
@click.option("--C", "C", default=None, help="Reddi et al.'s C (> 2 for the online problem).")
@click.option("--delta", default=None, help="Reddi et al.'s delta for the stochastic problem.")
@click.option("--c", "c", default=None, help="Theorem 2.2's unknown constant c (symbol if omitted; the paper gives none).")
@click.option("--variant", default="2026", type=click.Choice(("2026", "2022")), show_default=True, help="Theorem 2.2 order: n^-5 (2026) or n^-3.5 (2022).")
@click.option("--d", "d", default=None, help="Dimension d (shi-threshold).")
@click.option("--D1", "D1", default=None, help="Affine-variance constant D1 (shi-threshold).")
@click.option("--beta1", default=None, help="beta1 for shi-threshold (default 0: Theorem 4.3).")
@click.option("--d1-convention", default="sum", type=click.Choice(("sum", "mean")), show_default=True, help="D1 of Shi et al.'s f = sum f_j, or of the mean loss of docs/theory.md section 2 (divided by n^2).")
@click.option("--latex", is_flag=True, help="Print LaTeX instead of plain text.")
@json_option
def command(subject: str, latex: bool, as_json: bool, **params: Any) -> int:
    from ..symbolic._derive import derive  # lazy: keeps sympy off `adamcheck derive --help`

    result = derive(subject, **params)
    emit(_jsonable(result), as_json, lambda r: _text(result, latex))
    return 0
