"""``adamcheck estimate``: output contract, the shipped example, bad input, import cost."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

EXAMPLE = "examples/digits/grads.npz"
KEYS = ("n", "batch_size", "dataset_size", "grad_norm_sq", "trace_sigma", "b_simple",
        "d1_at_d0_zero", "d0_at_d1_n", "reduction")


def test_json_has_every_key_and_interval(run_cli, root):
    code, out, err = run_cli("estimate", root / EXAMPLE, "--batch-size", "32", "--json", "--replicates", "200")
    assert code == 0, err
    r = json.loads(out)
    for k in KEYS:
        assert k in r, k
    for k in ("grad_norm_sq", "trace_sigma", "b_simple", "d1_at_d0_zero", "d0_at_d1_n", "b_simple_two_batch"):
        assert k in r["ci"], k
    assert r["n"] == 1797 // 32 and r["batch_size"] == 32 and r["dataset_size"] == 1797
    assert r["points"] == 4 and r["dim"] == 65 and len(r["grad_norm_sq"]) == 4
    assert r["reduction"] == "mean" and r["scale"]["source"] == "file"
    # the shipped file: per-example log-loss gradients (sigmoid(x.theta) - y) x at theta_0 = 0
    data = np.load(root / "examples/digits/digits_binary.npz")
    X, y = data["X"], data["y"]
    g0 = ((0.5 - y)[:, None] * X).mean(axis=0)
    assert r["grad_norm_sq"][0] == pytest.approx(g0 @ g0, rel=1e-5)
    # gradient descent shrinks the gradient along the path
    assert r["grad_norm_sq"][0] > r["grad_norm_sq"][1] > r["grad_norm_sq"][2] > r["grad_norm_sq"][3]


def test_example_file_matches_its_data(root):
    data = np.load(root / "examples/digits/digits_binary.npz")
    g = np.load(root / "examples/digits/grads.npz")
    X, y, theta = data["X"], data["y"], g["theta"]
    assert X.shape == (1797, 65) and set(np.unique(y)) == {0.0, 1.0} and 0.08 < y.mean() < 0.12
    assert g["grads"].shape == (4, 1797, 65) and g["grads"].dtype == np.float32
    resid = 1.0 / (1.0 + np.exp(-(X @ theta.T))) - y[:, None]  # (N, P)
    np.testing.assert_allclose(g["grads"], np.einsum("np,nd->pnd", resid, X), rtol=1e-5, atol=1e-6)


def test_text_output_plot_and_laws(run_cli, root, tmp_path):
    png, laws = tmp_path / "noise.png", tmp_path / "laws.npz"
    code, out, err = run_cli("estimate", root / EXAMPLE, "-b", "32", "--plot", png, "--laws-out", laws,
                             "--replicates", "100", "--partitions", "2", "--quiet")
    assert code == 0, err
    assert "smallest D1 with D0 = 0" in out and "random partitions (2)" in out
    assert png.stat().st_size > 10_000 and laws.exists()
    from adamcheck.noise import load_laws

    assert len(load_laws(laws)) == 4


def test_reduction_option_overrides_and_converts(run_cli, tmp_path):
    x = np.random.default_rng(40).normal(size=(200, 3))
    np.save(tmp_path / "plain.npy", x)
    np.save(tmp_path / "scaled.npy", x * 4.0)
    _, out_a, _ = run_cli("estimate", tmp_path / "plain.npy", "-b", "8", "--json", "--replicates", "0")
    code, out_b, err = run_cli("estimate", tmp_path / "scaled.npy", "-b", "8", "--json", "--replicates", "0",
                               "--reduction", "sum", "--loss-scale", "4")
    assert code == 0, err
    a, b = json.loads(out_a), json.loads(out_b)
    assert b["reduction"] == "sum" and b["loss_scale"] == 4.0
    assert b["d0_at_d1_n"] == pytest.approx(a["d0_at_d1_n"], rel=1e-12)


def _write_bad(tmp_path, kind):
    p = tmp_path / f"{kind}.npy"
    if kind == "rank":
        np.save(p, np.zeros((2, 3, 4, 5)))
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "pickled":
        np.save(p, np.array([None, {"x": 1}], dtype=object), allow_pickle=True)
    elif kind == "rawpickle":
        p.write_bytes(pickle.dumps([1, 2, 3]))
    elif kind == "nan":
        x = np.ones((40, 3))
        x[7, 1] = np.nan
        np.save(p, x)
    elif kind == "small":
        np.save(p, np.ones((5, 3)))
    return [p]


@pytest.mark.parametrize(
    "kind, extra, words",
    [
        ("rank", [], "rank 4"),
        ("empty", [], "empty"),
        ("pickled", [], "pickled"),
        ("rawpickle", [], "pickle"),
        ("nan", [], "NaN or inf"),
        ("small", [], "fewer than the batch size"),
        ("nan", ["--reduction", "median"], "reduction 'median' is unknown"),
        ("nan", ["--dataset-size", "2"], "dataset size"),
        ("small", ["--plot", "x.gif"], "suffix"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, kind, extra, words):
    files = _write_bad(tmp_path, kind)
    code, out, err = run_cli("estimate", *files, "-b", "8", *extra)
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and words in err, err


def test_d_mismatch_and_missing_file(run_cli, tmp_path):
    np.save(tmp_path / "a.npy", np.ones((20, 3)))
    np.save(tmp_path / "b.npy", np.ones((20, 4)))
    code, out, err = run_cli("estimate", tmp_path / "a.npy", tmp_path / "b.npy", "-b", "4")
    assert code == 2 and "d = 4" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("estimate", tmp_path / "nope.npy", "-b", "4")
    assert code == 2 and "does not exist" in err


def test_help_has_an_example(run_cli):
    code, out, _ = run_cli("estimate", "--help")
    assert code == 0 and "Example:" in out and "--json" in out and "--reduction" in out


def test_no_heavy_imports_and_no_traceback(tmp_path, root):
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from adamcheck.cli import main\n"
        f"code = main(['estimate', {str(root / EXAMPLE)!r}, '-b', '32', '--json', '--replicates', '50'])\n"
        "heavy = [m for m in ('sympy', 'matplotlib', 'torch', 'scipy') if m in sys.modules]\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert "HEAVY [] 0" in proc.stderr, proc.stderr
    json.loads(proc.stdout)


def test_subprocess_bad_input_has_no_traceback(run_cli_subprocess, tmp_path):
    np.save(tmp_path / "r.npy", np.zeros(5))
    code, out, err = run_cli_subprocess("estimate", tmp_path / "r.npy", "-b", "2")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_monitor_file_is_read_as_rows_of_mini_batches_not_examples(run_cli, tmp_path):
    # a GradientMonitor file (row_batch_size = 8): the text says rows before any count, and
    # the JSON carries the row size next to counts that are in rows
    rng = np.random.default_rng(0)
    path = tmp_path / "monitor.npz"
    np.savez(path, grads=rng.standard_normal((1, 64, 5)).astype(np.float32), row_batch_size=np.int64(8),
             reduction=np.str_("mean"))
    code, out, err = run_cli("estimate", path, "--batch-size", "16", "--replicates", "50")
    assert code == 0, err
    first, _, third = out.splitlines()[:3]
    assert first.startswith("mini-batch gradients (each row averages 8 examples") and "64 rows" in first
    assert third.startswith("batch size B = 16 examples = 2 row(s)")
    code, out, err = run_cli("estimate", path, "--batch-size", "16", "--replicates", "50", "--json")
    r = json.loads(out)
    assert code == 0 and r["row_batch_size"] == 8 and r["batch_size"] == 2 and r["sample_size"] == 64
