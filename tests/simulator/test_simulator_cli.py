"""`adamcheck simulate` and `adamcheck phase`: JSON shapes, plots, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_simulate_issue_example_json(run_cli):
    code, out, err = run_cli(
        "simulate", "--problem", "counterexample", "--n", "10", "--a", "0.0123", "--beta1", "0.9",
        "--beta2", "0.99", "--steps", "10000", "--convention", "paper", "--sampling", "replacement",
        "--lr", "0.1", "--schedule", "inv-sqrt", "--x0", "0", "--seed", "0", "--record-every", "1000",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["outcome"] == "converged"
    assert len(data["final"]) == 1 and abs(data["final"][0] + 2) < 0.05
    assert len(data["trajectory"]) == 11 and data["record_steps"][-1] == 10000


def test_simulate_several_runs_gives_one_list_per_run(run_cli):
    code, out, _ = run_cli("simulate", "--beta1", "0", "--beta2", "0.3,0.99", "--steps", "3000", "--json")
    data = json.loads(out)
    assert code == 0
    assert len(data["final"]) == 2 and all(len(f) == 1 for f in data["final"])
    assert data["outcome"][0] == "diverged"


def test_simulate_lsq_and_logistic_from_file(run_cli, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    np.savez(tmp_path / "d.npz", X=X, y=X @ np.array([1.0, -2.0, 0.5]))
    code, out, err = run_cli("simulate", "--problem", "lsq", "--data", tmp_path / "d.npz", "--batch-size", "5",
                             "--sampling", "cyclic", "--convention", "torch", "--schedule", "constant",
                             "--lr", "0.05", "--beta1", "0.9", "--beta2", "0.999", "--steps", "3000", "--json")
    assert code == 0, err
    data = json.loads(out)
    np.testing.assert_allclose(data["final"], [1.0, -2.0, 0.5], atol=0.05)
    assert data["outcome"] == "converged"
    np.savez(tmp_path / "c.npz", X=X, y=(X[:, 0] > 0).astype(float))
    code, out, err = run_cli("simulate", "--problem", "logistic", "--data", tmp_path / "c.npz",
                             "--batch-size", "5", "--steps", "200", "--json")
    assert code == 0, err


def test_simulate_plot(run_cli, tmp_path):
    code, out, err = run_cli("simulate", "--beta1", "0", "--beta2", "0.3,0.99", "--steps", "2000",
                             "--plot", tmp_path / "t.png")
    assert code == 0, err
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_phase_json_shape_and_plot(run_cli, tmp_path):
    code, out, err = run_cli("phase", "--problem", "counterexample", "--n", "10", "--beta1", "0:0.9:5",
                             "--beta2", "0.3,0.6,0.95", "--steps", "8000", "--seeds", "2",
                             "--out", tmp_path / "p.png", "--log-beta2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta1"] == pytest.approx(np.linspace(0, 0.9, 5).tolist())
    assert data["beta2"] == [0.3, 0.6, 0.95]
    assert np.array(data["outcome"]).shape == (3, 5)  # rows over beta2, columns over beta1
    assert data["outcome"][0][0] == "diverged" and data["outcome"][2][0] == "converged"
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_phase_text_map(run_cli):
    code, out, err = run_cli("phase", "--n", "10", "--beta1", "0,0.5", "--beta2", "0.3,0.99",
                             "--steps", "4000", "--workers", "1")
    assert code == 0, err
    assert "x diverged" in out and "cells:" in out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["simulate", "--beta1", "1.0"], "beta1"),
        (["simulate", "--beta2", "-0.5"], "beta2"),
        (["simulate", "--n", "1"], "n = 1"),
        (["simulate", "--a", "0"], "a = 0"),
        (["simulate", "--a", "-1"], "a = -1"),
        (["simulate", "--steps", "0"], "steps"),
        (["simulate", "--beta1", "abc"], "not a number"),
        (["simulate", "--beta1", "0.1,0.2", "--beta2", "0.9,0.99,0.999"], "equal length"),
        (["simulate", "--problem", "lsq", "--batch-size", "2"], "--data"),
        (["simulate", "--problem", "lsq", "--data", "missing.npz", "--batch-size", "2"], "does not exist"),
        (["simulate", "--problem", "lsq", "--n", "3"], "--n applies"),
        (["simulate", "--convention", "adamw"], "adamw"),
        (["simulate", "--no-such-option"], "no-such-option"),
        (["phase", "--beta1", "0:1"], "START:STOP:COUNT"),
        (["phase", "--beta2", "0.5:1.0:3"], "beta2"),
        (["phase", "--out", "/no/such/dir/p.png", "--steps", "10", "--beta1", "0", "--beta2", "0.9"], "does not exist"),
        (["simulate", "--problem", "reddi-online", "--sampling", "replacement"], "cyclic"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_cli, args, needle):
    code, out, err = run_cli(*args)
    assert code == 2, (args, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adamcheck: error:"), err
    assert needle in lines[0], lines[0]


def test_bad_data_files(run_cli, tmp_path):
    X = np.ones((4, 2))
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.nan], [0.0, 1.0]]), y=np.ones(2))
    np.savez(tmp_path / "shape.npz", X=X, y=np.ones(3))
    np.savez(tmp_path / "keys.npz", A=X, b=np.ones(4))
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "pickled.npz", X=np.array([{"a": 1}], dtype=object), y=np.ones(1))
    (tmp_path / "junk.npz").write_text("not a zip")
    for name, needle in [("nan.npz", "NaN"), ("shape.npz", "rows"), ("keys.npz", "no X"),
                         ("pickled.npz", "pickled"), ("junk.npz", "not a NumPy file"),
                         ("pickled.npy", "pickled")]:
        code, out, err = run_cli("simulate", "--problem", "lsq", "--data", tmp_path / name,
                                 "--batch-size", "1", "--steps", "5")
        assert code == 2, (name, err)
        assert len(err.strip().splitlines()) == 1 and needle in err, (name, err)
    code, out, err = run_cli("simulate", "--problem", "lsq", "--data", tmp_path / "shape.npz",
                             "--batch-size", "1", "--steps", "5")
    code, out, err = run_cli("simulate", "--problem", "lsq", "--data", tmp_path / "nan.npz",
                             "--batch-size", "5", "--steps", "5")
    assert code == 2


def test_batch_larger_than_data(run_cli, tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)), y=np.ones(4))
    code, out, err = run_cli("simulate", "--problem", "lsq", "--data", tmp_path / "d.npz",
                             "--batch-size", "5", "--steps", "5")
    assert code == 2 and "larger than the data" in err


def test_no_traceback_in_a_real_process(run_cli_subprocess):
    code, out, err = run_cli_subprocess("simulate", "--beta2", "1.5")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_same_seed_same_json_bytes(run_cli):
    args = ("simulate", "--beta1", "0,0.5", "--beta2", "0.5,0.9", "--steps", "2000", "--seed", "3", "--json")
    assert run_cli(*args)[1] == run_cli(*args)[1]
