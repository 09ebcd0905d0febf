"""The validity report's split at the theory's bound, counted by hand on a small panel."""

from __future__ import annotations

import re

import report


def _panel(outcome, failed_seeds, beta1=0.9, panel="ladder"):
    return {"problem": "toy", "lr": 0.01, "schedule": "constant", "beta1": beta1, "panel": panel,
            "batch_sizes": [1], "beta2": [0.1, 0.5, 0.8, 0.9, 0.99, 0.999], "failed_seeds": [failed_seeds],
            "file": {"outcome": [outcome]}}


def test_inside_bound_is_beta1_below_sqrt_beta2():
    # sqrt(0.8) = 0.894 < 0.9 <= sqrt(0.9) = 0.949: the bound falls between 0.8 and 0.9
    assert report._inside_bound(_panel([], [])) == [[False, False, False, True, True, True]]
    # a beta1 = beta2 panel: beta2 < sqrt(beta2) for every beta2 in (0, 1)
    assert all(report._inside_bound(_panel([], [], panel="diag"))[0])


def test_bound_split_counts_far_cells_on_each_side():
    # real runs: 0.1 fails, the rest train, so the real edge lies between 0.1 and 0.5; cells next
    # to it (0.1, 0.5) are not "far", leaving 0.8, 0.9, 0.99 and 0.999
    outcome = ["fails", "cannot_tell", "cannot_tell", "trains", "cannot_tell", "fails"]
    line = report.bound_split([_panel(outcome, [2, 0, 0, 0, 0, 0])]).splitlines()[0]
    inside = re.search(r"inside .*? accuracy (\S+) on (\d+), coverage (\S+) of (\d+)", line)
    beyond = re.search(r"beyond it accuracy (\S+) on (\d+), coverage (\S+) of (\d+)", line)
    # inside and far: 0.9 (trains, right), 0.99 (undecided), 0.999 (says fails, wrong)
    assert inside.groups() == ("50.0%", "2", "66.7%", "3")
    # beyond and far: 0.8 (undecided)
    assert beyond.groups() == ("n/a", "0", "0.0%", "1")
    assert "panels below 70%: 1" in line
