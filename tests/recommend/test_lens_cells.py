"""check and recommend read the file lens cell by cell, as ``boundary`` prints it.

A fresh-user trial found ``check --gradients`` calling beta2 = 0.7 "trains, set by
gradients" at batch 4 on the digits file (the point estimate beta2* = 0.5 was read as
"below fails, the rest trains") while ``boundary`` on the same file says it cannot tell
below 0.9, and real Adam training on that problem diverges at 0.7. The tests tie the
verdict to the boundary's cells and to real training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRADS = ROOT / "examples" / "digits" / "grads.npz"
DATA = ROOT / "examples" / "digits" / "digits_binary.npz"


@pytest.fixture(scope="module")
def cells(run_cli_module):
    code, out, err = run_cli_module("boundary", "--gradients", str(GRADS), "--batch-sizes", "4", "--beta1", "0",
                                    "--json", "--quiet")
    assert code == 0, err
    data = json.loads(out)
    return dict(zip(data["beta2"], data["outcome"][0]))


@pytest.mark.parametrize("beta2", [0.3, 0.5, 0.7, 0.9, 0.95])
def test_check_answers_each_beta2_as_the_boundary_cell_does(cells, run_cli_module, beta2):
    code, out, err = run_cli_module("check", "--batch-size", "4", "--beta1", "0", "--beta2", str(beta2),
                                    "--gradients", str(GRADS), "--json")
    div = json.loads(out)["verdict"]["divergence"]
    cell = cells[beta2]
    assert cell in ("fails", "trains", "cannot_tell")
    if cell == "cannot_tell":
        assert div["lens"] != "gradients", div
        assert any(a["lens"] == "gradients" for a in div["abstained"]), div
    else:
        assert (div["outcome"], div["lens"]) == (cell, "gradients"), div


def test_a_beta2_the_file_cannot_tell_is_not_cleared_and_real_training_fails_there(cells, run_cli_module):
    # real Adam (torch convention) on the same logistic problem at batch 4, beta1 0, beta2 0.7
    code, out, err = run_cli_module("simulate", "--problem", "logistic", "--data", str(DATA), "--batch-size", "4",
                                    "--beta1", "0", "--beta2", "0.7", "--lr", "0.01", "--schedule", "constant",
                                    "--convention", "torch", "--steps", "20000", "--seed", "0", "--json")
    assert code == 0, err
    assert json.loads(out)["outcome"] == "diverged"
    assert cells[0.7] != "trains"
    code, out, err = run_cli_module("recommend", "--batch-size", "4", "--beta1", "0", "--beta2", "0.7",
                                    "--gradients", str(GRADS), "--json")
    rec = json.loads(out)
    assert rec["verdict"]["divergence"]["outcome"] != "trains" or rec["verdict"]["divergence"]["lens"] != "gradients"
