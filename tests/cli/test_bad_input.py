"""Every bad input gets one line on stderr and exit 2, in bounded time and memory.

One test (or a few) per numbered case of the bad-input report: each runs the real
command in a fresh interpreter under an address-space cap and checks its exit code,
its stderr (one ``adamcheck: error:`` line, no traceback), its CPU time (<= 2 s of
its own work, import included) and its peak memory (<= 500 MB resident). Plot and
Python-API cases run in-process. The last tests run every README and ``--help``
example as written from a clone.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _examples import help_commands, readme_commands

ROOT = Path(__file__).resolve().parents[2]

#: numpy and SciPy reserve address space far beyond what they touch: cap at 1.5 GiB so a
#: runaway allocation fails fast, and check the resident peak against 500 MB.
ADDRESS_SPACE = 3 * 2**29
MAX_RSS_BYTES = 500 * 2**20
MAX_CPU_SECONDS = 2.0


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.fixture
def run_bounded(run_cli_subprocess, tmp_path):
    """Like ``run_cli_subprocess`` (same interpreter, checkout first on PYTHONPATH), plus
    the resource figures of the child: returns (code, stdout, stderr, cpu_s, max_rss_bytes)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("ADAMCHECK_DEBUG", None)

    def run(*args, stdout=None, cwd=None, timeout=60):
        out_path, err_path, hwm = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "hwm"
        with open(err_path, "wb") as err_f:
            out_f = stdout if stdout is not None else open(out_path, "wb")
            try:
                hwm.unlink(missing_ok=True)
                proc = subprocess.Popen([sys.executable, "-c", _MEASURED, *map(str, args)], stdout=out_f,
                                        stderr=err_f, env={**env, "ADAMCHECK_TEST_HWM": str(hwm)},
                                        cwd=cwd or tmp_path, preexec_fn=_limit_memory)
                try:
                    _, status, usage = _wait4(proc.pid, timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise
                proc.returncode = os.waitstatus_to_exitcode(status)
            finally:
                if stdout is None:
                    out_f.close()
        out = out_path.read_text() if stdout is None else ""
        cpu = usage.ru_utime + usage.ru_stime
        # the child's own peak (VmHWM of its image after exec); ru_maxrss would also count the
        # pytest process it was forked from, which grows past the limit once torch or jax is loaded
        rss = int(hwm.read_text()) * 1024 if hwm.exists() and hwm.read_text().strip() else usage.ru_maxrss * 1024
        return proc.returncode, out, err_path.read_text(), cpu, rss

    return run


# ``python -m adamcheck ARGS`` that writes its peak resident memory (kB) on the way out
_MEASURED = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as f:
        kb = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "")
    with open(os.environ["ADAMCHECK_TEST_HWM"], "w") as out:
        out.write(kb)
atexit.register(_peak)
sys.argv = ["adamcheck", *sys.argv[1:]]
runpy.run_module("adamcheck", run_name="__main__", alter_sys=True)
"""


def _wait4(pid: int, timeout: float):
    import time

    deadline = time.monotonic() + timeout
    while True:
        got, status, usage = os.wait4(pid, os.WNOHANG)
        if got:
            return got, status, usage
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(str(pid), timeout)
        time.sleep(0.02)


def _assert_one_line_exit_2(result, needle: str | None = None, json_out: bool = False) -> str:
    code, out, err, cpu, rss = result
    lines = err.strip().splitlines()
    assert code == 2, (code, out[:300], err[-600:])
    assert len(lines) == 1 and lines[0].startswith("adamcheck: error:"), err[-600:]
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(lines[0]) < 600, lines[0]
    if json_out:  # --json: stdout is only the error object (docs/cli.md, "Errors in --json")
        data = json.loads(out)
        assert data["error"] == lines[0][len("adamcheck: error: "):] and data["exit_code"] == 2
    else:
        assert out == ""
    assert cpu <= MAX_CPU_SECONDS, f"{cpu:.2f} s of CPU"
    assert rss <= MAX_RSS_BYTES, f"{rss / 2**20:.0f} MB resident"
    if needle is not None:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", np.ones((10, 3)))
    g = rng.normal(size=(100, 5))
    g[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", g)
    np.save(tmp_path / "small.npy", rng.normal(0.3, 1.0, size=(50, 5)))
    np.save(tmp_path / "one.npy", rng.normal(size=(1, 5)))
    np.savez(tmp_path / "big.npz", X=np.full((20, 3), 1e200) * np.arange(1, 61).reshape(20, 3),
             y=np.full(20, 1e200))
    level = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        level.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    (tmp_path / "laughs.yaml").write_text("\n".join(level) + "\nper_device_train_batch_size: 8\nadam_beta2: *i\n")
    (tmp_path / "hf.json").write_text('{"per_device_train_batch_size": 8, "adam_beta2": 0.999}')
    return tmp_path


# 1. billion laughs ------------------------------------------------------------------------
def test_1_billion_laughs_yaml_is_refused_without_expanding(run_bounded, files):
    _assert_one_line_exit_2(run_bounded("check", files / "laughs.yaml"), "aliases")


def test_1_include_bomb_is_refused(run_bounded, files):
    for i in range(6):  # nine !include of nine !include of ... 9**5 reads
        nxt = f"inc{i + 1}.yaml" if i < 5 else None
        body = "\n".join(f"k{j}: !include {nxt}" for j in range(9)) if nxt else "adam_beta2: 0.95"
        (files / f"inc{i}.yaml").write_text("optimizer:\n  type: adam\n" + body + "\n")
    _assert_one_line_exit_2(run_bounded("check", "inc0.yaml", "--format", "levanter"), "!include")


# 2. user-sized work ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["simulate", "--steps", "1000000000000"],
    ["phase", "--beta1", "0:0.99:100000000"],
    ["phase", "--seeds", "1000000000"],
    ["estimate", "small.npy", "-b", "4", "--replicates", "1000000000"],
    ["estimate", "small.npy", "-b", "4", "--atoms", "1000000000"],
    ["estimate", "small.npy", "-b", "4", "--partitions", "1000000000"],
    ["estimate", "small.npy", "-b", "4", "--replicates", "20000000"],
    ["estimate", "small.npy", "-b", "4", "--atoms", "10000000"],
    ["estimate", "small.npy", "-b", "4", "--partitions", "10000000"],
])
def test_2_work_is_bounded_before_it_starts_with_the_limit_named(run_bounded, files, args):
    line = _assert_one_line_exit_2(run_bounded(*args))
    assert "limit" in line


def _compressed_npz_claiming(path, name, shape, extra=None):
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open(f"{name}.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            f.write(b"\0" * (1 << 20))
        for key, value in (extra or {}).items():
            buf = io.BytesIO()
            np.save(buf, value)
            z.writestr(f"{key}.npy", buf.getvalue())


def test_2_compressed_npz_claiming_terabytes_is_refused_before_inflating(run_bounded, files):
    _compressed_npz_claiming(files / "bomb.npz", "grads", (10**9, 10**4))
    _assert_one_line_exit_2(run_bounded("estimate", "bomb.npz", "-b", "4"), "bytes")
    _compressed_npz_claiming(files / "xy.npz", "X", (10**6, 10**5), {"y": np.ones(10)})
    _assert_one_line_exit_2(run_bounded("simulate", "--problem", "lsq", "--data", "xy.npz", "--batch-size", "2"),
                            "limit")


# 3. numbers outside machine range -----------------------------------------------------------
HUGE = str(2**64)
GOOGOL2 = "1" + "0" * 200


@pytest.mark.parametrize("args", [
    ["recommend", "-b", "8", "--seed", HUGE],
    ["estimate", "small.npy", "-b", "4", "--seed", HUGE],
    ["boundary", "--problem", "counterexample", "--seed", HUGE],
    ["phase", "--seed", HUGE],
    ["simulate", "--seed", HUGE],
    ["simulate", "--n", GOOGOL2],
    ["phase", "--n", GOOGOL2],
    ["boundary", "--problem", "counterexample", "--n", GOOGOL2],
    ["simulate", "--n", str(2**62)],
    ["simulate", "--problem", "reddi-online", "--period", str(2**62)],
    ["derive", "counterexample", "--a", "1/0"],
    ["derive", "counterexample", "--a", "1e999999999"],
    ["derive", "shi-threshold", "--n", "1" + "0" * 400, "--d", "10", "--D1", "1000"],
    ["derive", "theorem22", "--n", "1e40"],
    ["simulate", "--a", "1/0"],
    ["simulate", "--beta2", "nan"],
    ["recommend", "-b", "8", "--eps", "inf"],
])
def test_3_out_of_range_numbers_are_usage_errors(run_bounded, files, args):
    _assert_one_line_exit_2(run_bounded(*args))


def test_3_messages_show_at_most_80_characters_of_a_value(run_bounded, files):
    line = _assert_one_line_exit_2(run_bounded("derive", "counterexample", "--a", "9" * 5000))
    assert "9" * 81 not in line


# 4. crashes on small inputs --------------------------------------------------------------------
def test_4_boundary_with_one_component(run_bounded, files):
    _assert_one_line_exit_2(run_bounded("boundary", "--problem", "counterexample", "--n", "1"), "at least 2")


def test_4_lsq_data_given_as_npy(run_bounded, files):
    _assert_one_line_exit_2(run_bounded("simulate", "--problem", "lsq", "--data", "x.npy", "--batch-size", "2"),
                            "np.savez")


# 5. not a regular file; full disk ----------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["check", "/dev/zero"],
    ["check", "/dev/null"],
    ["estimate", "/dev/zero", "-b", "4"],
    ["recommend", "-b", "8", "--gradients", "/dev/zero"],
    ["simulate", "--problem", "lsq", "--data", "/dev/zero", "--batch-size", "2"],
    ["check", "hf.json", "--gradients", "/dev/zero"],
])
def test_5_devices_are_refused_before_reading(run_bounded, files, args):
    _assert_one_line_exit_2(run_bounded(*args), "not a regular file")


def test_5_fifo_is_refused_without_blocking(run_bounded, files):
    os.mkfifo(files / "pipe.json")
    _assert_one_line_exit_2(run_bounded("check", "pipe.json", timeout=20), "pipe")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_5_full_disk_on_stdout_is_exit_2_with_the_os_reason(run_bounded, files, json_flag):
    with open("/dev/full", "wb") as full:
        result = run_bounded("recommend", "-b", "8", *json_flag, stdout=full)
    _assert_one_line_exit_2(result, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
                                 PermissionError(errno.EACCES, os.strerror(errno.EACCES))])
def test_5_12_plot_write_failure_says_write_and_the_os_reason(run_cli, tmp_path, monkeypatch, exc):
    import matplotlib.figure

    def fail(self, *a, **k):
        raise exc

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail)
    code, out, err = run_cli("recommend", "-b", "8", "--plot", tmp_path / "r.png")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "cannot write plot" in err and exc.strerror in err and "cannot read" not in err


def test_5_full_disk_writing_a_laws_file_is_exit_2(run_cli, files, monkeypatch):
    import adamcheck.noise

    def full(path, laws):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(adamcheck.noise, "save_laws", full)
    code, out, err = run_cli("estimate", files / "small.npy", "-b", "4", "--replicates", "20",
                             "--laws-out", files / "laws.npz")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and os.strerror(errno.ENOSPC) in err and "laws.npz" in err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_5_closed_stdout_is_exit_2_without_traceback(files, json_flag):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(f"{shlex.quote(sys.executable)} -m adamcheck recommend -b 8 {' '.join(json_flag)} >&-",
                          shell=True, capture_output=False, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# 6. a gradient file with NaN under check -------------------------------------------------------
def test_6_check_with_nan_gradients_fails_instead_of_passing(run_bounded, files):
    line = _assert_one_line_exit_2(run_bounded("check", "hf.json", "--gradients", "nan.npy"))
    assert "NaN" in line


# 7. bare adamcheck ------------------------------------------------------------------------------
def test_7_bare_command_prints_the_usage_as_help_does(run_bounded, files):
    code, out, err, cpu, rss = run_bounded()
    assert code == 2 and err == ""
    assert out.startswith("Usage: adamcheck") and len(out.splitlines()) > 10
    assert "Commands:" in out


# 8. --json holds only JSON; no raw numpy warnings ----------------------------------------------
def test_8_lsq_with_huge_values_json(run_bounded, files):
    _assert_one_line_exit_2(run_bounded("simulate", "--problem", "lsq", "--data", "big.npz", "--batch-size", "4",
                                        "--steps", "100", "--json"), "overflow", json_out=True)


def test_8_native_chatter_on_fd1_never_reaches_json_stdout(tmp_path):
    code = (
        "import os, sys\n"
        "from adamcheck.cli import _native_stdout_to_stderr\n"
        "with _native_stdout_to_stderr():\n"
        "    os.write(1, b' ** On entry to DLASCL parameter number  4 had an illegal value\\n')\n"
        "    print('{\"ok\": true}')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"ok": True}
    assert "DLASCL" in proc.stderr


def test_8_tiny_loss_scale_is_one_line(run_bounded, files):
    _assert_one_line_exit_2(run_bounded("estimate", "small.npy", "-b", "4", "--loss-scale", "1e-320"), "loss scale")


def test_8_one_row_file_gives_no_raw_warnings(run_bounded, files):
    code, out, err, cpu, rss = run_bounded("estimate", "one.npy", "-b", "1", "--json")
    assert code in (0, 2), err
    assert "Warning" not in err and "empty slice" not in err, err
    if code == 0:
        json.loads(out)
    else:
        assert len(err.strip().splitlines()) == 1


def test_8_library_entry_points_raise_no_raw_numpy_warnings():
    import warnings

    from adamcheck.noise import estimate

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a raw warning would fail the call
        est = estimate(np.random.default_rng(0).normal(size=(1, 3)), 1, replicates=20)
    assert est.n == 1


# 9. boundary on a small file ---------------------------------------------------------------------
def test_9_boundary_default_batch_sizes_fit_a_small_file(run_bounded, files):
    code, out, err, cpu, rss = run_bounded("boundary", "--gradients", "small.npy", "--beta1", "0", "--json", "-q",
                                           timeout=120)
    assert code == 0, err
    data = json.loads(out)
    assert data["batch_sizes"] == [1, 4, 16]
    first = data["diagnostics"][0]
    assert "64, 256 skipped" in first["message"] and first["level"] == "not_checked"


def test_9_explicit_batch_size_at_the_file_size_is_answered(run_bounded, files):
    # B = N is the full batch, as in recommend; B > N is refused (issue 19 item 2, below).
    code, out, err, cpu, rss = run_bounded("boundary", "--gradients", "small.npy", "--batch-sizes", "50",
                                           "--beta1", "0", "--json", "-q", timeout=120)
    assert code == 0, err
    assert json.loads(out)["batch_sizes"] == [50]


# 10. Python API -------------------------------------------------------------------------------------
def test_10_recommend_accepts_an_array_like_estimate():
    import adamcheck.recommend  # noqa: F401  (the subpackage of the same name, as the CLI imports it)
    from adamcheck import recommend

    g = np.random.default_rng(0).normal(0.3, 1.0, size=(256, 3))
    from_array = recommend(4, gradients=g, beta1=0.0)
    assert from_array.calibrated is not None and 0.0 <= from_array.beta2 < 1.0


def test_10_api_nonsense_raises_adamcheck_errors(tmp_path):
    from adamcheck import AdamCheckError, recommend
    from adamcheck.configs import read_config
    from adamcheck.problems import Counterexample, ReddiStochastic
    from adamcheck.theory import counterexample_d1

    calls = [
        lambda: recommend(8, reference=0.999),
        lambda: recommend(8, gradients=42),
        lambda: read_config(42),
        lambda: read_config([None]),
        lambda: Counterexample(n=10**200, a=0.1),
        lambda: ReddiStochastic(C=10, delta=0),
        lambda: counterexample_d1(1, 0.5),
        lambda: counterexample_d1(3, -1),
    ]
    for call in calls:
        with pytest.raises(AdamCheckError) as info:
            call()
        assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_10_counterexample_d1_still_works_on_symbols_and_fractions():
    from fractions import Fraction

    import sympy as sp

    from adamcheck.theory import counterexample_d1

    assert counterexample_d1(3, Fraction(1, 4)) == Fraction(171, 8)  # n^2[(1+(n-1)a)^2+(n-1)a^2]
    n, a = sp.symbols("n a", positive=True)
    assert sp.simplify(counterexample_d1(n, a) - n**2 * ((1 + (n - 1) * a) ** 2 + (n - 1) * a**2)) == 0


# 11. plots -------------------------------------------------------------------------------------------
def _captured_phase_plot(monkeypatch, tmp_path, beta1, beta2, log_beta2):
    from adamcheck import _plotting
    from adamcheck.simulator._phase import PhaseGrid

    shape = (len(beta2), len(beta1))
    rng = np.random.default_rng(1)
    div = rng.random(shape)
    grid = PhaseGrid(np.asarray(beta1, float), np.asarray(beta2, float), np.full(shape, "undecided", object),
                     div, 1 - div, np.zeros((1,) + shape, object), np.array([0]))
    seen = {}
    real = _plotting.save_figure

    def keep(fig, path):
        seen["fig"] = fig
        seen["ylim"] = fig.axes[0].get_ylim()
        seen["xlim"] = fig.axes[0].get_xlim()
        seen["mesh"] = fig.axes[0].collections[0]
        return real(fig, path)

    monkeypatch.setattr(_plotting, "save_figure", keep)
    grid.plot(tmp_path / "p.png", log_beta2=log_beta2)
    return grid, seen


@pytest.mark.parametrize("log_beta2", [False, True])
def test_11_every_beta2_row_is_inside_the_axes(monkeypatch, tmp_path, log_beta2):
    beta1 = np.linspace(0, 0.99, 8)
    beta2 = np.linspace(0.5, 0.9999, 32)
    grid, seen = _captured_phase_plot(monkeypatch, tmp_path, beta1, beta2, log_beta2)
    y = 1 - beta2 if log_beta2 else beta2
    lo, hi = sorted(seen["ylim"])
    assert lo > 0 or not log_beta2
    assert lo <= y.min() and y.max() <= hi  # nothing cut off (0.9999 included)
    arr = np.asarray(seen["mesh"].get_array()).reshape(len(beta2), len(beta1))
    assert np.isfinite(arr).all()  # every cell drawn: no blank band
    # The drawn edges span exactly the axis limits: no empty margin either.
    coords = seen["mesh"].get_coordinates()
    ys = coords[:, 0, 1]
    assert np.isclose(min(ys), lo) and np.isclose(max(ys), hi)


def test_11_unsorted_axis_keeps_every_column(monkeypatch, tmp_path):
    beta1 = [0.9, 0.1, 0.5]
    beta2 = [0.999, 0.5, 0.9]
    grid, seen = _captured_phase_plot(monkeypatch, tmp_path, beta1, beta2, False)
    coords = seen["mesh"].get_coordinates()
    x_edges, y_edges = coords[0, :, 0], coords[:, 0, 1]
    assert np.all(np.diff(x_edges) > 0) and np.all(np.diff(y_edges) > 0)
    arr = np.asarray(seen["mesh"].get_array()).reshape(3, 3)
    score = grid.converged - grid.diverged
    # Each drawn cell holds the score of the (beta2, beta1) pair whose centre it contains.
    for i, b2 in enumerate(sorted(beta2)):
        for j, b1 in enumerate(sorted(beta1)):
            assert x_edges[j] < b1 < x_edges[j + 1] and y_edges[i] < b2 < y_edges[i + 1]
            assert arr[i, j] == score[beta2.index(b2), beta1.index(b1)]


# 12. messages that mislead ----------------------------------------------------------------------------
def test_12_dev_null_is_named_a_device(run_bounded, files):
    line = _assert_one_line_exit_2(run_bounded("recommend", "-b", "8", "--gradients", "/dev/null"))
    assert "does not exist" not in line and "character device" in line


def test_12_reference_at_its_own_batch_is_not_called_large(run_bounded, files):
    code, out, err, cpu, rss = run_bounded("recommend", "--reference", "0.95@8", "-b", "8")
    assert code == 0, err
    assert "large batch" not in out


@pytest.mark.parametrize("args", [["--level", "0"], ["--level", "1"], ["--workers", "-1"]])
def test_12_estimate_refuses_meaningless_level_and_workers(run_bounded, files, args):
    _assert_one_line_exit_2(run_bounded("estimate", "small.npy", "-b", "4", *args))


def test_12_prove_json_is_byte_stable(run_cli):
    first = run_cli("prove", "--only", "reddi", "--json")
    second = run_cli("prove", "--only", "reddi", "--json")
    assert first[0] == 0 and first[1] == second[1]


# 13. every example runs as written from a clone -----------------------------------------------------------
def _examples() -> list[list[str]]:
    seen: list[list[str]] = []
    for cmd in readme_commands(ROOT) + help_commands():
        if cmd not in seen:
            seen.append(cmd)
    return seen


EXAMPLES = _examples()


def test_13_examples_were_found():
    commands = {c[1] for c in EXAMPLES if len(c) > 1}
    assert {"recommend", "check", "estimate", "simulate", "phase", "boundary", "derive", "prove"} <= commands


@pytest.mark.slow
@pytest.mark.parametrize("cmd", EXAMPLES, ids=[shlex.join(c)[:60] for c in EXAMPLES])
def test_13_example_runs_as_written(run_cli_subprocess, tmp_path, cmd):
    # A clone's files, without writing plots into the checkout: examples/ is linked in.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for word in cmd:
        if word.startswith("examples/"):
            assert (ROOT / word).exists(), f"{shlex.join(cmd)} names {word}, which is not in the repository"
    code, out, err = run_cli_subprocess(*cmd[1:], cwd=tmp_path, timeout=600)
    assert code in (0, 1), (shlex.join(cmd), err[-800:])
    assert "error" not in err.lower(), err[-800:]
    assert out.strip()
    if "--json" in cmd:
        json.loads(out)


# Round 3 (gradient files): items 1, 3, 5, 8, 9 and 14 of the third bad-input report ----------------------
# A gradient file means the same thing to estimate, boundary, recommend and check: each case is
# run through all four (in-process, cheap) and through one bounded subprocess (one line, exit 2).
GRADIENT_COMMANDS = {
    "estimate": lambda f: ["estimate", *f, "-b", "4", "--replicates", "20"],
    "boundary": lambda f: ["boundary", *[w for x in f for w in ("--gradients", x)], "--batch-sizes", "4",
                           "--beta1", "0", "--steps", "40"],
    "recommend": lambda f: ["recommend", "-b", "4", *[w for x in f for w in ("--gradients", x)]],
    "check": lambda f: ["check", "--batch-size", "4", "--beta1", "0.9", "--beta2", "0.99", "--gradients", f[0]],
}


def _grads_npz(path, grads=None, **meta):
    rng = np.random.default_rng(0)
    np.savez(path, grads=rng.normal(0.2, 1.0, size=(64, 5)) if grads is None else grads,
             **{k: np.asarray(v) for k, v in meta.items()})
    return path.name


def _every_command_refuses(run_cli, files, names, needle, commands=tuple(GRADIENT_COMMANDS)):
    before = {n: (files / n).read_bytes() for n in set(names)}
    for command in commands:
        args = GRADIENT_COMMANDS[command]([str(files / n) for n in names])
        code, out, err = run_cli(*args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("adamcheck: error:"), (command, code, err)
        assert "Traceback" not in err and needle in lines[0], (command, lines[0])
    assert {n: (files / n).read_bytes() for n in before} == before  # nothing overwritten


@pytest.mark.parametrize("meta,key", [
    ({"reduction": "sum"}, "reduction"),
    ({"loss_scale": 128.0}, "loss_scale"),
    ({"mean_over": 8}, "mean_over"),
    ({"row_batch_size": 4, "batch_size": 4}, "monitored run"),
])
def test_r3_1_files_whose_metadata_disagree_are_refused_naming_both(run_cli, run_bounded, files, meta, key):
    # a.npz states a key (or is a monitor file's rows of 4); b.npz is per-example with the defaults
    a = _grads_npz(files / "a.npz", **meta)
    b = _grads_npz(files / "b.npz", reduction="mean")
    _every_command_refuses(run_cli, files, [a, b], key, ("estimate", "boundary", "recommend"))
    line = _assert_one_line_exit_2(run_bounded("estimate", a, b, "-b", "4"), key)
    assert "a.npz" in line and "b.npz" in line


@pytest.mark.parametrize("meta,key", [
    ({"row_batch_size": 2.5}, "row_batch_size"), ({"row_batch_size": 0}, "row_batch_size"),
    ({"row_batch_size": -4}, "row_batch_size"), ({"reduction": "banana"}, "reduction"),
    ({"loss_scale": float("nan")}, "loss_scale"), ({"loss_scale": 0.0}, "loss_scale"),
    ({"loss_scale": -1.0}, "loss_scale"), ({"mean_over": -3}, "mean_over"),
])
def test_r3_3_malformed_metadata_is_refused_by_every_command(run_cli, run_bounded, files, meta, key):
    name = _grads_npz(files / "meta.npz", **meta)
    _every_command_refuses(run_cli, files, [name], key)
    _assert_one_line_exit_2(run_bounded(*GRADIENT_COMMANDS["boundary"]([name])), key)


def test_r3_5_the_same_file_twice_is_refused(run_cli, run_bounded, files):
    (files / "again.npy").symlink_to(files / "small.npy")
    _every_command_refuses(run_cli, files, ["small.npy", "small.npy"], "given twice",
                           ("estimate", "boundary", "recommend"))
    _assert_one_line_exit_2(run_bounded("estimate", "small.npy", "again.npy", "-b", "4"), "given twice")


def test_r3_8_npy_format_3_is_read_like_format_1(run_cli, files):
    import io
    import zipfile

    x = np.random.default_rng(1).normal(0.3, 1.0, size=(40, 3))
    with open(files / "v3.npy", "wb") as f:
        np.lib.format.write_array(f, x, version=(3, 0))
    np.save(files / "v1.npy", x)
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):  # a v3 member of an .npz too
        with zipfile.ZipFile(files / f"v3_{compression}.npz", "w", compression=compression) as z:
            buf = io.BytesIO()
            np.lib.format.write_array(buf, x, version=(3, 0))
            z.writestr("grads.npy", buf.getvalue())
    outs = []
    for name in ("v1.npy", "v3.npy", f"v3_{zipfile.ZIP_STORED}.npz", f"v3_{zipfile.ZIP_DEFLATED}.npz"):
        code, out, err = run_cli("estimate", files / name, "-b", "4", "--replicates", "20", "--json")
        assert code == 0, err
        outs.append({k: v for k, v in json.loads(out).items() if k != "files"})
    assert all(o == outs[0] for o in outs[1:])


def _npy_with_header(path, header: bytes, data: bytes = b"\0" * 800):
    body = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + data)
    return path.name


@pytest.mark.parametrize("header,needle", [
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3),", "unreadable .npy header"),  # was TokenError
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (10L, 3L), }", "unreadable .npy header"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 8), }", "negative dimension"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (10, 2.5), }", "whole numbers"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), 'extra': 1}", "keys"),
    (b"{'descr': 'no such type', 'fortran_order': False, 'shape': (10, 3), }", "dtype"),
    (b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + b"9" * 5000 + b", 3), }", "unreadable"),
    (b"[1, 2, 3]", "keys"),
])
def test_r3_9_malformed_or_negative_npy_headers_are_refused(run_cli, run_bounded, files, header, needle):
    name = _npy_with_header(files / "bad.npy", header)
    _every_command_refuses(run_cli, files, [name], needle)
    _assert_one_line_exit_2(run_bounded("boundary", "--gradients", name, "--beta1", "0"), needle)


def test_r3_14_compressed_npz_above_the_limits_is_refused_before_inflating(run_cli_subprocess, files, monkeypatch):
    # a real compressed array: 24 MB of zeros deflate to ~24 KB; with a 16 MB limit it is refused
    # from its header, before one byte is inflated (the same path as a 20 MB file claiming 21 GB).
    # A few non-zero entries, since a file of exact zeros is refused for what it holds
    g = np.zeros((3000, 1000))
    g[::7, 3] = 1.0
    np.savez_compressed(files / "zeros.npz", grads=g)
    assert (files / "zeros.npz").stat().st_size < 10**6
    monkeypatch.setenv("ADAMCHECK_MAX_MEMORY_GB", str(16 / 1024))
    monkeypatch.setenv("TMPDIR", str(files / "tmp"))
    (files / "tmp").mkdir()
    for args in (["estimate", "zeros.npz", "-b", "4"], ["boundary", "--gradients", "zeros.npz", "--beta1", "0"],
                 ["recommend", "-b", "4", "--gradients", "zeros.npz"]):
        code, out, err = run_cli_subprocess(*args, cwd=files)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "limit" in lines[0], err
        assert "24,000,000 bytes" in lines[0] and "ADAMCHECK_MAX_MEMORY_GB" in lines[0]
        assert not list((files / "tmp").iterdir())  # nothing was inflated
    monkeypatch.delenv("ADAMCHECK_MAX_MEMORY_GB")
    code, out, err = run_cli_subprocess("estimate", "zeros.npz", "-b", "4", "--replicates", "20", "-q", cwd=files)
    assert code == 0, err  # within the limit it is read
    assert not list((files / "tmp").iterdir())  # and its inflated copy removed


def test_r3_14_compressed_npz_larger_than_the_free_space_is_refused(run_cli, files, monkeypatch):
    import shutil
    from collections import namedtuple

    np.savez_compressed(files / "z.npz", grads=np.zeros((500, 40)))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 1000, 1000))
    code, out, err = run_cli("estimate", files / "z.npz", "-b", "4")
    assert code == 2 and "bytes free" in err and "160,000 bytes" in err, err


def test_r3_14_inflating_shows_progress_unless_quiet(run_cli, files, monkeypatch):
    np.savez_compressed(files / "z.npz", grads=np.random.default_rng(0).normal(size=(2000, 50)))
    monkeypatch.setenv("ADAMCHECK_PROGRESS", "1")
    code, out, err = run_cli("estimate", files / "z.npz", "-b", "4", "--replicates", "20")
    assert code == 0 and "inflating z.npz" in err and "100%" in err, err
    code, out, err = run_cli("estimate", files / "z.npz", "-b", "4", "--replicates", "20", "--quiet")
    assert code == 0 and err == "", err


# ==========================================================================================
# Config readers (issue 19 items 5, 10, 15; added by the configs work, kept apart to merge)
# ==========================================================================================
def test_cfg_5_duplicate_beta_key_in_json_config_is_refused(run_bounded, tmp_path):
    (tmp_path / "args.json").write_text(
        '{"per_device_train_batch_size": 8, "adam_beta2": 0.95, "output_dir": "o", "adam_beta2": 0.999}')
    line = _assert_one_line_exit_2(run_bounded("check", "args.json"), "adam_beta2")
    assert "0.95" in line and "0.999" in line and "twice" in line


def test_cfg_5_duplicate_batch_key_in_yaml_config_is_refused(run_bounded, tmp_path):
    (tmp_path / "recipe.yaml").write_text(
        "per_device_train_batch_size: 4\nadam_beta2: 0.95\nper_device_train_batch_size: 16\noutput_dir: o\n")
    line = _assert_one_line_exit_2(run_bounded("check", "recipe.yaml"), "per_device_train_batch_size")
    assert "line 1: 4" in line and "line 3: 16" in line


def test_cfg_5_duplicate_unchecked_key_is_a_warning_naming_both_values(run_bounded, tmp_path):
    (tmp_path / "recipe.yaml").write_text(
        "per_device_train_batch_size: 4\nadam_beta2: 0.95\nseed: 1\noutput_dir: o\nseed: 2\n")
    code, out, err, cpu, rss = run_bounded("check", "recipe.yaml", "--json")
    assert code in (0, 1) and cpu <= MAX_CPU_SECONDS, err
    warnings = [d["message"] for d in json.loads(out)["diagnostics"] if d["level"] == "advice"]
    assert any("'seed' is given twice (line 3: 1, line 5: 2)" in w for w in warnings), warnings


def test_cfg_10_json_config_with_a_5000_digit_integer(run_bounded, tmp_path):
    (tmp_path / "args.json").write_text('{"per_device_train_batch_size": ' + "9" * 5000 + ', "adam_beta2": 0.95}')
    _assert_one_line_exit_2(run_bounded("check", "args.json"), "digits")
    (tmp_path / "args.yaml").write_text("per_device_train_batch_size: " + "9" * 5000 + "\nadam_beta2: 0.95\n")
    _assert_one_line_exit_2(run_bounded("check", "args.yaml"), "digits")


def test_cfg_15_a_4mb_toml_config_is_refused_before_parsing(run_bounded, tmp_path):
    (tmp_path / "big.toml").write_text("[training]\nsteps = [" + "1," * 2_000_000 + "]\n")
    line = _assert_one_line_exit_2(run_bounded("check", "big.toml"), "MiB")
    assert "1 MiB" in line  # the limit is named
    (tmp_path / "big.yaml").write_text("a: [" + "1," * 2_000_000 + "]\n")
    _assert_one_line_exit_2(run_bounded("check", "big.yaml"), "1 MiB")


# Issue 19 (bad input, round 3): one test per case, named test_i19_<item>_... -------------------------
def test_i19_12_debug_shows_the_traceback_and_still_exits_3(run_cli, monkeypatch):
    import adamcheck.recommend

    def boom(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(adamcheck.recommend, "recommend_with", boom)  # what the command calls (issue 23)
    monkeypatch.setenv("ADAMCHECK_DEBUG", "1")
    code, out, err = run_cli("recommend", "-b", "8")
    assert code == 3, (code, err[-400:])
    assert "Traceback" in err and "planted bug" in err
    assert err.strip().splitlines()[-1].startswith("adamcheck: error: internal error (RuntimeError")
    monkeypatch.delenv("ADAMCHECK_DEBUG")
    code, out, err = run_cli("recommend", "-b", "8")
    assert code == 3 and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("case", ["beta2=1", "beta2=1.5", "beta2=-0.5", "beta2=1e400", "wrong-format",
                                  "deepspeed-auto"])
def test_i19_16_check_errors_print_one_line_on_stderr_too(run_cli, tmp_path, case):
    args: list = []
    if case.startswith("beta2="):
        (tmp_path / "hf.json").write_text(f'{{"per_device_train_batch_size": 8, "adam_beta2": {case[6:]}}}')
        args = [tmp_path / "hf.json"]
    elif case == "wrong-format":
        (tmp_path / "hf.json").write_text('{"per_device_train_batch_size": 8, "adam_beta2": 0.99}')
        args = [tmp_path / "hf.json", "--format", "deepspeed"]
    else:
        args = [ROOT / "examples/configs/deepspeed/ds_config_zero2.json"]
    for json_flag in ([], ["--json"]):
        code, out, err = run_cli("check", *args, *json_flag)
        lines = err.strip().splitlines()
        assert code == 2, (case, code, err)
        assert len(lines) == 1 and lines[0].startswith("adamcheck: error:"), (case, err)
        if case == "beta2=1e400":  # refused while reading the file: no report
            assert "not finite" in lines[0]
            continue
        if json_flag:  # stdout keeps only the JSON report, which holds the same error
            report = json.loads(out)
            assert report["exit_code"] == 2
            first = next(f for f in report["findings"] if f["level"] == "error")
            assert " ".join(first["message"].split()) in lines[0]
        else:
            assert "Verdict: ERROR" in out
        if case.startswith("beta2="):
            assert f"beta2 = {case[6:]}" in lines[0] and "outside [0, 1)" in lines[0]
        else:
            assert "unknown" in lines[0] and "more error" in lines[0]


@pytest.mark.parametrize("sizes", ["1000," + str(10**30), "51", "4,51"])
def test_i19_2_boundary_refuses_batch_sizes_above_the_data_as_recommend_does(run_bounded, files, sizes):
    # small.npy holds N = 50 examples: recommend refuses B = 51, so must boundary (it said "every beta2
    # tried is safe" for B = 1000 and 10**30 on a 64-example file, exit 0).
    first = sizes.split(",")[-1] if sizes.startswith("4,") else sizes.split(",")[0]
    line = _assert_one_line_exit_2(run_bounded("boundary", "--gradients", "small.npy", "--batch-sizes", sizes,
                                               "--beta1", "0", "-q"), "N = 50 examples")
    assert f"B = {first}" in line
    line_rec = _assert_one_line_exit_2(run_bounded("recommend", "-b", "51", "--gradients", "small.npy"))
    assert "N = 50 examples" in line_rec


def test_i19_2_boundary_counts_monitor_rows_as_their_examples(tmp_path):
    # A monitor file's row is row_batch_size examples: 16 rows of 4 hold 64 examples, the unit of
    # recommend's batch size; the check is on the examples, before any simulation.
    from adamcheck import InvalidParameterError
    from adamcheck.recommend import batch_size_boundary

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "mon.npz", grads=rng.normal(size=(16, 3)), row_batch_size=np.asarray(4))
    with pytest.raises(InvalidParameterError, match="N = 64 examples, fewer than the batch size B = 68"):
        batch_size_boundary(str(tmp_path / "mon.npz"), [4, 68], steps=50)
    assert batch_size_boundary(str(tmp_path / "mon.npz"), [64], steps=50).batch_sizes == (64,)
    with pytest.raises(InvalidParameterError, match="N = 30 examples, fewer than the batch size B = 31"):
        batch_size_boundary(rng.normal(size=(2, 30, 3)), [31], steps=50)  # (P, N, d): N examples


def test_i19_2_number_of_batch_sizes_is_bounded_before_work(run_bounded, files):
    from adamcheck._limits import MAX_BATCH_SIZES

    many = ",".join(str(1 + i % 50) for i in range(4999))
    line = _assert_one_line_exit_2(run_bounded("boundary", "--gradients", "small.npy", "--batch-sizes", many,
                                               "--beta1", "0", "-q"), f"limit of {MAX_BATCH_SIZES}")
    assert "4,999 batch sizes" in line


@pytest.mark.parametrize("command", ["simulate", "phase"])
@pytest.mark.parametrize("which", ["X", "y"])
def test_i19_4_complex_data_is_refused_not_cast_to_its_real_part(run_bounded, files, command, which):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    if which == "X":
        X = X + 1j * rng.normal(size=X.shape)
    else:
        y = y + 1j
    np.savez(files / "complex.npz", X=X, y=y)
    grid = ["--beta1", "0,0.9", "--beta2", "0.5,0.99", "-q"] if command == "phase" else []
    line = _assert_one_line_exit_2(run_bounded(command, "--problem", "lsq", "--data", "complex.npz",
                                               "--batch-size", "4", "--steps", "20", *grid))
    assert f"{which} has complex dtype" in line


def test_i19_4_data_dtypes_in_the_library():
    from adamcheck import DataError, LeastSquares, LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    for bad_X in (X.astype(complex), X.astype(object), np.full((8, 2), "a"),
                  np.zeros((8, 2), dtype="datetime64[s]")):
        with pytest.raises(DataError, match="dtype"):
            LeastSquares(bad_X, y, batch_size=4)
    # Real kinds stay accepted and mean what they say: integers and 0/1 booleans.
    ints = LeastSquares(np.arange(16).reshape(8, 2), y, batch_size=4)
    assert np.array_equal(ints.X, np.arange(16.0).reshape(8, 2))
    labels = rng.random(8) > 0.5
    logit = LogisticRegression(X > 0, labels, batch_size=4)
    assert np.array_equal(logit.y, labels.astype(float))


def _same_file_as(target: Path, name: str, how: str) -> Path:
    link = target.parent / name
    if how == "name":
        return target
    if how == "relative":
        return Path(os.path.relpath(target))
    if how == "symlink":
        link.symlink_to(target)
    else:
        os.link(target, link)
    return link


@pytest.mark.parametrize("how", ["name", "relative", "symlink", "hardlink"])
@pytest.mark.parametrize("case", ["estimate --laws-out", "estimate --plot", "simulate --plot", "phase --plot",
                                  "phase --out", "boundary --plot", "recommend --plot"])
def test_i19_6_an_output_that_is_an_input_is_refused_and_the_input_kept(run_cli, files, monkeypatch, case, how):
    monkeypatch.chdir(files)
    rng = np.random.default_rng(0)
    command, flag = case.split()
    if command in ("simulate", "phase"):
        np.savez(files / "data.npz", X=rng.normal(size=(12, 3)), y=rng.normal(size=12))
        target = files / "data.npz"
        args = [command, "--problem", "lsq", "--data", target, "--batch-size", "4", "--steps", "20"]
        if command == "phase":
            args += ["--beta1", "0,0.9", "--beta2", "0.5,0.99"]
    else:
        np.savez(files / "grads.npz", grads=rng.normal(size=(64, 5)))
        target = files / "grads.npz"
        args = {"estimate": ["estimate", target, "-b", "4", "--replicates", "20"],
                "boundary": ["boundary", "--gradients", target, "--batch-sizes", "4", "--beta1", "0"],
                "recommend": ["recommend", "-b", "4", "--gradients", target]}[command]
    suffix = ".npz" if flag == "--laws-out" else ".png"
    output = _same_file_as(target, "other" + suffix, how)
    before = target.read_bytes()
    code, out, err = run_cli(*args, flag, output, "-q")
    lines = err.strip().splitlines()
    assert code == 2 and out == "", (code, err)
    assert len(lines) == 1 and "is the input file" in lines[0] and "destroy" in lines[0], err
    assert target.read_bytes() == before


def test_i19_6_every_path_option_is_classified_as_input_or_output():
    # A new output option must join OUTPUT_PARAMS, or the guard would take it for an input.
    from adamcheck.cli import SUBCOMMANDS, cli
    from adamcheck.cli._outputs import INPUT_PARAMS, OUTPUT_PARAMS
    import click

    ctx = click.Context(cli)
    seen = set()
    for name in SUBCOMMANDS:
        for param in cli.get_command(ctx, name).params:
            if isinstance(param.type, click.Path) or param.name in OUTPUT_PARAMS | INPUT_PARAMS:
                assert param.name in OUTPUT_PARAMS | INPUT_PARAMS, (name, param.name)
                seen.add(param.name)
    assert {"laws_out", "plot", "plot_path", "grads", "gradients", "data", "files"} <= seen


def _full_disk_midway(monkeypatch, after_bytes: int = 300):
    """Make every file write fail with ENOSPC once ``after_bytes`` have gone to that file: the
    writer has already truncated or created it and written a part, as on a real full disk."""
    import builtins
    import io as io_module

    real_open = builtins.open

    class Full(io_module.FileIO):
        def write(self, data):
            room = after_bytes - self.tell()
            if room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(bytes(memoryview(data)[:room]))

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(m in mode for m in "wax"):
            return io_module.BufferedWriter(Full(os.fspath(file), mode.replace("b", "").replace("+", "") or "w"))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io_module, "open", fake_open)  # zipfile opens with io.open


@pytest.mark.parametrize("existing", [True, False])
@pytest.mark.parametrize("output", ["--laws-out", "--plot"])
def test_i19_7_full_disk_keeps_the_old_output_and_leaves_no_partial_file(run_cli, files, monkeypatch, existing,
                                                                          output):
    name = "laws.npz" if output == "--laws-out" else "frontier.png"
    target = files / name
    args = ["estimate", files / "small.npy", "-b", "4", "--replicates", "20", "-q", output, target]
    if existing:
        code, _, err = run_cli(*args)
        assert code == 0, err
        assert target.stat().st_size > 300  # the fault below strikes mid-file
    before = target.read_bytes() if existing else None
    listing = sorted(os.listdir(files))
    _full_disk_midway(monkeypatch)
    code, out, err = run_cli(*args)
    monkeypatch.undo()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, err)
    assert name in lines[0] and os.strerror(errno.ENOSPC) in lines[0], lines[0]
    assert ("unchanged" if existing else "nothing was written") in lines[0]
    assert sorted(os.listdir(files)) == listing  # no temporary file left, no new partial file
    if existing:
        assert target.read_bytes() == before
    else:
        assert not target.exists()


def test_i19_7_real_file_size_limit_keeps_the_old_output(files):
    # An independent, real fault: RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), as a
    # full disk refuses it (ENOSPC), in a fresh interpreter with nothing patched.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ADAMCHECK_DEBUG", None)
    cmd = [sys.executable, "-m", "adamcheck", "estimate", "small.npy", "-b", "4", "--replicates", "20", "-q",
           "--laws-out", "laws.npz"]
    assert subprocess.run(cmd, cwd=files, env=env, capture_output=True, timeout=120).returncode == 0
    before = (files / "laws.npz").read_bytes()
    listing = sorted(os.listdir(files))

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    for out in ("laws.npz", "new.npz"):
        proc = subprocess.run(cmd[:-1] + [out], cwd=files, env=env, capture_output=True, text=True, timeout=120,
                              preexec_fn=small_files)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and f"cannot write file '{out}'" in proc.stderr
        assert os.strerror(errno.EFBIG) in proc.stderr
    assert (files / "laws.npz").read_bytes() == before
    assert sorted(os.listdir(files)) == listing


def test_i19_7_library_writers_are_atomic_and_keep_permissions(tmp_path, monkeypatch):
    from adamcheck import InvalidParameterError
    from adamcheck.noise._npz import write_npz
    from adamcheck.torch._sample import CoordinateSample, save_sampled_gradients

    sample = CoordinateSample(names=("w",), sizes=(3,), param=np.zeros(3, np.int64), index=np.arange(3), seed=0)
    target = tmp_path / "monitor.npz"
    save_sampled_gradients(target, np.ones((4, 3)), sample)
    os.chmod(target, 0o600)
    before = target.read_bytes()
    _full_disk_midway(monkeypatch)
    with pytest.raises(InvalidParameterError, match="monitor.npz.*No space left on device.*unchanged"):
        save_sampled_gradients(target, np.zeros((400, 3)), sample)
    monkeypatch.undo()
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["monitor.npz"]
    write_npz(target, {"a": np.arange(3)})  # a successful rewrite keeps the file's permissions
    assert (target.stat().st_mode & 0o777) == 0o600
    assert np.load(target)["a"].tolist() == [0, 1, 2]
    old_umask = os.umask(0o022)
    try:
        write_npz(tmp_path / "new.npz", {"a": np.arange(3)})
    finally:
        os.umask(old_umask)
    assert ((tmp_path / "new.npz").stat().st_mode & 0o777) == 0o644  # as open() would create it
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    write_npz(link, {"b": np.arange(2)})  # written through the link, which stays a link
    assert link.is_symlink() and np.load(target)["b"].tolist() == [0, 1]
    for bad in (b"x.npz", str(tmp_path / "a\x00b.npz"), tmp_path / "missing" / "x.npz"):
        with pytest.raises(InvalidParameterError):
            write_npz(bad, {"a": np.arange(3)})


def test_i19_11_recommend_reads_a_torch_tensor_as_its_numpy_array():
    torch = pytest.importorskip("torch")
    from adamcheck import recommend
    from adamcheck._jsonio import dumps

    g = np.random.default_rng(0).normal(0.3, 1.0, size=(64, 5))
    want = dumps(recommend(8, gradients=g).to_dict())
    assert want != dumps(recommend(8).to_dict())  # the gradients are used: the tensor's must be too
    for tensor in (torch.tensor(g), torch.tensor(g, requires_grad=True), torch.nn.Parameter(torch.tensor(g))):
        assert dumps(recommend(8, gradients=tensor).to_dict()) == want


def test_i19_11_phase_grid_refuses_a_range_string_and_names_linspace():
    from adamcheck import Counterexample, InvalidParameterError, phase_grid

    with pytest.raises(InvalidParameterError, match=r"beta1 = '0:1:3' is text.*numpy\.linspace"):
        phase_grid(Counterexample(n=5, a=1 / 16), "0:1:3", [0.5, 0.9], steps=10)


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped by PID 1, is not alive)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the worker processes")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_i19_13_a_killed_phase_leaves_no_worker_running(tmp_path, sig):
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ADAMCHECK_DEBUG", None)
    # 9 cells x 2e6 steps is past the 5e6 run-steps from which simulate forks its workers
    proc = subprocess.Popen([sys.executable, "-m", "adamcheck", "phase", "--problem", "counterexample", "--n", "20",
                             "--steps", "2000000", "--beta1", "0,0.5,0.9", "--beta2", "0.5,0.9,0.99", "--workers", "2",
                             "-q"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = _children(proc.pid)
        assert len(workers) == 2, ("the workers never started", proc.poll())
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "orphaned workers still running"
        if sig == "SIGTERM":
            assert proc.returncode == 143, (proc.returncode, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("adamcheck: error: terminated by SIGTERM"), err
            assert "Traceback" not in err and out == ""
    finally:
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_i19_17_version_works_in_a_checkout_that_is_not_installed(tmp_path):
    # As in a clone run without pip install: no distribution metadata can be found.
    code = ("import importlib.metadata as m, sys\n"
            "def missing(*a, **k):\n"
            "    raise m.PackageNotFoundError('adamcheck')\n"
            "m.version = m.distribution = m.metadata = missing\n"
            "from adamcheck.cli import main\n"
            "sys.exit(main(['--version']))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert proc.stdout.strip() == f"adamcheck, version {declared}"


def test_i19_7_an_output_that_is_a_device_is_written_in_place_not_replaced(tmp_path):
    # A rename would replace the device node itself (as root, /dev/null would become a file).
    import stat

    from adamcheck import InvalidParameterError
    from adamcheck.noise._npz import write_npz

    (tmp_path / "null.npz").symlink_to("/dev/null")
    (tmp_path / "full.npz").symlink_to("/dev/full")
    write_npz(tmp_path / "null.npz", {"a": np.arange(3)})
    with pytest.raises(InvalidParameterError, match="full.npz.*No space left on device"):
        write_npz(tmp_path / "full.npz", {"a": np.arange(3)})
    for device in ("/dev/null", "/dev/full"):
        assert stat.S_ISCHR(os.stat(device).st_mode)
        assert not [n for n in os.listdir("/dev") if n.startswith(f".{device[5:]}.")]
