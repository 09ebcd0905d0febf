"""``adamcheck derive`` and ``adamcheck prove``."""

from __future__ import annotations

import json

import pytest


def test_derive_d1_issue_example(run_cli):
    code, out, err = run_cli("derive", "d1", "--problem", "counterexample", "--n", "3", "--a", "1/4", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["D1"] == "171/8" and data["D0"] == "0" and data["minimiser"] == "-2"


def test_derive_d1_symbolic_and_decimal_input(run_cli):
    code, out, _ = run_cli("derive", "d1", "--json")
    assert json.loads(out)["D1"] == "n**2*(a**2*n**2 - a**2*n + 2*a*n - 2*a + 1)"
    code, out, _ = run_cli("derive", "d1", "--n", "3", "--a", "0.25", "--json")
    assert json.loads(out)["D1"] == "171/8"
    code, out, _ = run_cli("derive", "d1", "--problem", "reddi-online", "--C", "3", "--json")
    assert json.loads(out)["D1"] == "99"


@pytest.mark.parametrize("subject", ["recurrence", "conditions", "counterexample", "theorem22", "shi", "theorem23", "reddi-theorem1"])
def test_derive_subjects_text_latex_json(run_cli, subject):
    code, text, err = run_cli("derive", subject)
    assert code == 0 and text.strip(), err
    code, latex, _ = run_cli("derive", subject, "--latex")
    assert code == 0 and "\\" in latex
    code, out, _ = run_cli("derive", subject, "--json")
    assert code == 0 and json.loads(out)["objects"]


def test_derive_recurrence_per_convention(run_cli):
    code, out, _ = run_cli("derive", "recurrence", "--convention", "shi2021", "--json")
    objs = json.loads(out)["objects"]
    assert len(objs) == 1 and "sqrt(epsilon + v_t)" in objs[0]["entries"]["update"]


def test_derive_theorem22_with_constant(run_cli):
    code, out, _ = run_cli("derive", "theorem22", "--n", "10", "--c", "1", "--variant", "2022", "--json")
    gamma = json.loads(out)["objects"][0]["entries"]["gamma1"]
    assert "sqrt(10)" in gamma  # n^3.5 = 1000 sqrt(10)


def test_derive_shi_threshold(run_cli):
    code, out, _ = run_cli("derive", "shi-threshold", "--n", "10", "--d", "1", "--D1", "1", "--json")
    data = json.loads(out)
    assert data["feasible"] and data["theorem"] == "4.3" and float(data["beta2_lower"]) < 1
    code, out, _ = run_cli("derive", "shi-threshold", "--n", "10", "--d", "1", "--D1", "1", "--beta1", "0.9")
    assert code == 0 and "no beta2 < 1" in out


@pytest.mark.parametrize(
    "args",
    [("d1", "--n", "2.5"), ("d1", "--a", "-1"), ("d1", "--a", "abc"), ("d1", "--problem", "reddi-stochastic"), ("shi-threshold", "--n", "3"), ("nonsense",)],
)
def test_derive_bad_input_is_one_line_exit_2(run_cli, args):
    code, out, err = run_cli("derive", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("adamcheck: error:")


def test_prove_json_subset(run_cli):
    code, out, err = run_cli("prove", "--only", "reddi", "--json", "--timings")
    assert code == 0, err
    data = json.loads(out)
    rows = data["obligations"]
    assert rows and all(set(r) >= {"id", "statement", "method", "status", "seconds"} for r in rows)
    assert all(r["status"] == "proved" for r in rows)


def test_prove_exits_1_on_failure(run_cli, monkeypatch):
    from adamcheck import proofs
    from adamcheck.proofs._framework import Obligation

    failing = [Obligation("demo.false", "a false claim", "False", "symbolic", lambda: (False, "nope"))]
    monkeypatch.setattr(proofs, "all_obligations", lambda only=None: failing)
    code, out, _ = run_cli("prove")
    assert code == 1 and "failed" in out and "nope" in out


def test_prove_unknown_filter_is_usage_error(run_cli):
    code, out, err = run_cli("prove", "--only", "no-such-obligation")
    assert code == 2 and err.startswith("adamcheck: error:")


def test_cli_modules_do_not_import_sympy(root):
    import subprocess
    import sys

    code = "import sys, adamcheck.cli.derive, adamcheck.cli.prove; print(any(m.startswith('sympy') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "False"
