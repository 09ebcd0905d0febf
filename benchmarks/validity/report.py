"""Markdown tables of the validation results (results.json written by run.py).

    python benchmarks/validity/report.py benchmarks/validity/results/results.json [--before OLD.json]

Per panel and lens (file = the training boundary on a gradient file, probe, both in
precedence): accuracy on the decided cells far from the real boundary, coverage (the share
of those far cells decided), and the regret of the recommended beta2, 0.999 and 0.95 (final
training loss minus the best ladder value's, mean over batch sizes). ``--before`` adds the
agreement of an older results.json (one answer per cell, no abstention) beside each panel.

The summary also splits each lens's far cells by the theory's bound: inside (beta1 <
sqrt(beta2), where the convergence results apply and a lens is expected to decide) and beyond
it (beta1 >= sqrt(beta2), where no result bounds Adam's step and an abstention is the
expected answer: whether update bursts sink a run there depends on the learning rate and the
model, docs/theory.md).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

LENSES = ("file", "probe", "combined")


def _star(x: float | None) -> str:
    if x is None or x != x:
        return "top fails"
    return "-" if x == 0 else f"{x:g}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _clear(outcome: list[str], ladder: list[float]) -> str:
    """The smallest beta2 from which the lens says 'trains' all the way up, '?' when none."""
    j = len(outcome)
    while j > 0 and outcome[j - 1] == "trains":
        j -= 1
    return "?" if j == len(outcome) else ("-" if j == 0 else f"{ladder[j]:g}")


def _lr(r: dict) -> str:
    return f"{r['lr']:g} {r['schedule']}"


def _b1(r: dict) -> str:
    return "=b2" if r.get("panel") == "diag" else f"{r['beta1']:g}"


def _regret(r: dict, key: str) -> str:
    g = r.get("regret", {}).get(key)
    return "n/a" if g is None else f"{g['mean']:.4f} ({g['relative']:.0%})"


def table(results: list[dict], before: dict | None = None) -> str:
    head = ("| problem | lr | beta1 | batch sizes | real beta2*(B) | file trains from | file acc | file cov "
            "| probe acc | probe cov | both acc | both cov | regret rec | regret 0.999 | regret 0.95 "
            "| rec failing |" + (" before: agreement |" if before is not None else ""))
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        f, p, c = (r.get(k, {}) for k in LENSES)
        clears = " ".join(_clear(o, r["beta2"]) for o in f.get("outcome", []))
        bad = r.get("recommended_in_failing_cell")
        row = (f"| {r['problem']} | {_lr(r)} | {_b1(r)} | {' '.join(map(str, r['batch_sizes']))} "
               f"| {' '.join(_star(x) for x in r['real_critical'])} | {clears} "
               f"| {_pct(f.get('accuracy'))} ({f.get('decided')}) | {_pct(f.get('coverage'))} "
               f"| {_pct(p.get('accuracy'))} | {_pct(p.get('coverage'))} "
               f"| {_pct(c.get('accuracy'))} | {_pct(c.get('coverage'))} "
               f"| {_regret(r, 'recommended')} | {_regret(r, '0.999')} | {_regret(r, '0.95')} "
               f"| {'n/a' if bad is None else sum(bad)} |")
        if before is not None:
            old = before.get((r["problem"], r.get("panel", "ladder"), r["lr"], str(r["beta1"])))
            row += f" {_pct(old['agreement']) if old else 'n/a'} |"
        lines.append(row)
    return "\n".join(lines)


def _names(rows: list[dict]) -> str:
    return ", ".join(f"{r['problem']} {_lr(r)} b1 {_b1(r)}" for r in rows) or "none"


def summary(results: list[dict]) -> str:
    out = [f"{len(results)} panels."]
    for lens in LENSES:
        rows = [r[lens] for r in results if lens in r]
        if not rows:
            continue
        dec = sum(x["decided"] for x in rows)
        far = sum(x["far"] for x in rows)
        right = sum(round(x["accuracy"] * x["decided"]) for x in rows if x["accuracy"] is not None)
        low_acc = [r for r in results if lens in r and r[lens]["accuracy"] is not None and r[lens]["accuracy"] < 0.95]
        low_cov = [r for r in results if lens in r and (r[lens]["coverage"] or 0) < 0.70]
        every = sum(x.get("says_every_beta2_fails", 0) for x in rows)
        out.append(
            f"{lens}: accuracy {right / dec:.1%} on {dec} decided far cells, coverage {dec / far:.1%} of {far}; "
            f"panels below 95% accuracy: {len(low_acc)} ({_names(low_acc)}); "
            f"below 70% coverage: {len(low_cov)} ({_names(low_cov)}); "
            f"batch sizes where it says every beta2 fails: {every}."
        )
    reg = [r["regret"] for r in results if "recommended" in r.get("regret", {})]
    if reg:
        mean = {k: sum(g[k]["mean"] for g in reg) / len(reg) for k in ("recommended", "0.999", "0.95")}
        rel = {k: sum(g[k]["relative"] for g in reg) / len(reg) for k in ("recommended", "0.999", "0.95")}
        out.append("mean regret over the {} panels with a recommendation: recommended {:.4f} ({:.1%} of the best run's "
                   "decrease), 0.999 {:.4f} ({:.1%}), 0.95 {:.4f} ({:.1%}).".format(
                       len(reg), mean["recommended"], rel["recommended"], mean["0.999"], rel["0.999"], mean["0.95"],
                       rel["0.95"]))
    bad = sum(sum(r.get("recommended_in_failing_cell") or []) for r in results)
    out.append(f"recommended beta2 trained for real and failed: {bad} batch sizes.")
    return " ".join(out)


def _inside_bound(r: dict) -> list[list[bool]]:
    """Per batch size and ladder value: beta1 < sqrt(beta2) (a beta1 = beta2 panel is inside everywhere)."""
    ladder = r["beta2"]
    row = [(b2 if r.get("panel") == "diag" else r["beta1"]) < b2 ** 0.5 for b2 in ladder]
    return [row for _ in r["batch_sizes"]]


def far_cells(ladder, failed) -> np.ndarray:
    """(batch sizes, ladder) mask of the cells at least one ladder step away from the real boundary."""
    from adamcheck.drift import real_boundary

    _, k = real_boundary(np.asarray(ladder), failed)
    i = np.arange(len(ladder))[None, :]
    return (i <= k[:, None] - 2) | (i >= k[:, None] + 1)


def bound_split(results: list[dict]) -> str:
    """Accuracy and coverage of each lens on far cells inside and beyond the bound, with the panels under 70%."""
    out = []
    for lens in LENSES:
        tally = {True: [0, 0, 0], False: [0, 0, 0]}  # decided, far, right
        low = []
        for r in results:
            if lens not in r:
                continue
            failed = [[c > 0 for c in row] for row in r["failed_seeds"]]
            far = far_cells(r["beta2"], np.array(failed)).tolist()
            inside = _inside_bound(r)
            panel = [0, 0]
            for b, row in enumerate(r[lens]["outcome"]):
                for j, o in enumerate(row):
                    if not far[b][j]:
                        continue
                    t = tally[inside[b][j]]
                    t[1] += 1
                    if o != "cannot_tell":
                        t[0] += 1
                        t[2] += (o == "fails") == failed[b][j]
                    if inside[b][j]:
                        panel[1] += 1
                        panel[0] += o != "cannot_tell"
            if panel[1] and panel[0] / panel[1] < 0.70:
                low.append(r)
        (di, fi, ri), (do, fo, ro) = tally[True], tally[False]
        out.append(f"{lens}: inside the bound (beta1 < sqrt(beta2)) accuracy {_pct(ri / di if di else None)} on {di}, "
                   f"coverage {_pct(di / fi if fi else None)} of {fi} far cells, panels below 70%: {len(low)} "
                   f"({_names(low)}); beyond it accuracy {_pct(ro / do if do else None)} on {do}, coverage "
                   f"{_pct(do / fo if fo else None)} of {fo}.")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--before", default=None, help="an older results.json: its agreement per panel")
    a = ap.parse_args()
    data = json.load(open(a.results))
    before = None
    if a.before:
        before = {(r["problem"], r.get("panel", "ladder"), r["lr"], str(r["beta1"])): r for r in json.load(open(a.before))}
    print(summary(data))
    print()
    print(bound_split(data))
    print()
    print(table(data, before))


if __name__ == "__main__":
    main()
