"""`adamcheck recommend` and `adamcheck boundary`: lenses, validation, bad input."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import numpy as np
import pytest

from adamcheck import InvalidParameterError
from adamcheck.recommend import batch_size_boundary, counterexample_boundary, recommend, simulated_agreement

GRADS = "examples/digits/grads.npz"


def test_recommend_with_only_a_batch_size(run_cli):
    code, out, err = run_cli("recommend", "--batch-size", "32", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("beta1", "beta2", "beta2_critical", "beta2_half_life_rule", "beta2_provable"):
        assert key in data
    # JSON fields carry their unit and source (issue: "JSON with units and sources per field").
    assert data["beta2_critical"]["value"] is None and data["beta2_provable"]["value"] is None
    assert data["beta2_half_life_rule"]["value"] == pytest.approx(0.999)
    assert "Marek et al. 2025" in data["beta2_half_life_rule"]["source"]
    assert data["answer"]["memory"] == {"value": 1000.0, "unit": "steps", "source": "1/(1-beta2)"}
    assert data["beta1"] < data["beta2"] ** 0.5
    assert any("calibrated lens not used" in d["message"] and d["level"] == "not_checked" for d in data["diagnostics"])
    code, out, _ = run_cli("recommend", "--batch-size", "32")
    assert out.startswith("beta1 = 0.9, beta2 = 0.999") and "--gradients" in out


def test_half_life_rule_and_clamp():
    r = recommend(64, reference="0.95@512")
    assert r.beta2_half_life_rule == pytest.approx(0.95 ** (64 / 512))
    big = recommend(100_000)
    assert big.beta2 == pytest.approx(0.95)  # clamped; the large-batch note says why 0.95
    assert any("large batch" in n for n in big.notes)
    tiny = recommend(1)
    assert tiny.beta2 == pytest.approx(0.9999)
    # Without --steps there is no upper edge and no self-contradicting "keep it lower" warning.
    assert tiny.upper.beta2 is None and not tiny.warnings


def test_beta1_above_sqrt_beta2_is_repaired():
    r = recommend(4096, beta1=0.99)  # practice gives 0.95 < 0.99^2
    assert r.beta1 < r.beta2**0.5
    assert any("sqrt(beta2)" in w for w in r.warnings)


def test_planned_steps_cap_the_memory_and_say_what_it_trades():
    r = recommend(32, planned_steps=500)
    assert 1 / (1 - r.beta2) <= 500 and r.beta2 == pytest.approx(0.998)
    assert r.trades and any("traded for" in w for w in r.warnings)


def test_provable_lens_with_dataset_size_and_gradients(root):
    r = recommend(32, dataset_size=1797)
    assert r.provable.n == 56
    assert r.provable.theorem22_scale == pytest.approx((1 - 0.9**56) / 56**5)
    r = recommend(32, gradients=root / GRADS, beta1=0.0)
    shi = r.provable.shi
    assert shi["feasible"] and r.beta2_provable is not None
    # Extremely conservative, and shown anyway: far closer to 1 than the calibrated beta2*.
    assert 0 < shi["gap_upper"] < 1e-9
    assert r.beta2_provable > (r.beta2_critical or 0)


def test_calibrated_lens_on_the_example(root):
    # Logistic regression on digits at batch 4, beta1 = 0: simulated Adam climbs from 0.69 to
    # about 20 at beta2 = 0.1 (test below); the training boundary puts beta2* above that.
    r = recommend(4, gradients=root / GRADS, beta1=0.0)
    assert 0.3 < r.beta2_critical < 0.8
    assert "sign drift" in r.calibrated.mechanism
    assert r.beta2 >= r.beta2_calibrated >= r.beta2_critical
    assert r.laws and r.calibrated.coordinates > 0
    # the same prediction whether the gradients come as a file or as an array
    arr = np.load(root / GRADS, allow_pickle=False)["grads"]
    assert recommend(4, gradients=arr, beta1=0.0).beta2_critical == r.beta2_critical


def test_critical_beta2_falls_with_batch_size(root):
    # Required: non-increasing over {1, 4, 16, 64, 256}, visibly higher at 1 than at 256.
    b = batch_size_boundary(root / GRADS, [1, 4, 16, 64, 256], beta1=0.0)
    star = np.array(b.critical_beta2)
    assert np.all(np.diff(star) <= 1e-9), star
    assert star[0] > star[-1] + 0.3, star
    b9 = batch_size_boundary(root / GRADS, [1, 256], beta1=0.9)
    assert b9.critical_beta2[0] > b9.critical_beta2[1]


def test_below_critical_beta2_misbehaves_on_the_same_problem(root):
    # Required: at batch 4, beta2 well below beta2* misbehaves visibly more than the
    # recommended beta2 (same logistic regression, simulated). Plot: examples/digits/compare_beta2.py.
    compare = runpy.run_path(str(root / "examples" / "digits" / "compare_beta2.py"))["compare"]
    out = compare(batch_size=4, steps=6000, seeds=2, below=0.1, record=20)
    bad = out["below beta2*"]["final_loss"]
    good = out["recommended"]["final_loss"]
    assert out["below beta2*"]["beta2"] < out["beta2_critical"] - 0.3
    assert np.all(bad > out["initial_loss"])  # the loss climbs above its start
    assert np.all(good < 0.5 * out["initial_loss"])
    assert bad.min() > 10 * good.max()


@pytest.mark.slow
def test_counterexample_boundary_agrees_with_simulation():
    from adamcheck.problems import Counterexample
    from adamcheck.simulator import phase_grid

    b1 = np.linspace(0, 0.95, 16)
    b2 = np.linspace(0.2, 0.999, 30)
    diverged = []
    for n in (3, 10, 20, 50):
        a = 1 / (n - 1) ** 2
        cb = counterexample_boundary(n, a, b1)
        grid = phase_grid(Counterexample(n=n, a=a), b1, b2, steps=30000, seeds=2)
        agree = simulated_agreement(cb, grid)
        # Where the convergence theorems apply (beta1 < sqrt(beta2)) the boundary rho = 0
        # must match the simulation on at least 95% of the cells farther than 0.02 from it.
        assert agree["agreement_beta1_below_sqrt_beta2"] >= 0.95, (n, agree)
        assert agree["cells_compared_beta1_below_sqrt_beta2"] > 200
        # Over the whole grid (including beta1 >= sqrt(beta2), outside the stationary
        # analysis, where the steps m/sqrt(v) are heavy tailed) it still mostly agrees.
        assert agree["agreement"] >= 0.85, (n, agree)
        diverged.append(int((grid.outcome == "diverged").sum()))
    assert diverged == sorted(diverged) and diverged[0] < diverged[-1]  # grows with n


def test_boundary_cli_json(run_cli, root):
    code, out, err = run_cli("boundary", "--problem", "counterexample", "--n", "10", "--beta1", "0,0.5", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta1"] == [0.0, 0.5] and len(data["critical_beta2"]) == 2
    assert 0.6 < data["critical_beta2"][0] < 0.8
    code, out, err = run_cli("boundary", "--gradients", root / GRADS, "--batch-sizes", "1,64", "--beta1", "0", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["batch_sizes"] == [1, 64] and data["critical_beta2"][0] > data["critical_beta2"][1]


def test_boundary_and_recommend_plots(run_cli, root, tmp_path):
    code, _, err = run_cli("boundary", "--problem", "counterexample", "--n", "10", "--beta1", "0:0.9:4",
                           "--steps", "3000", "--seeds", "1", "--workers", "1", "--plot", tmp_path / "b.png", "-q")
    assert code == 0, err and (tmp_path / "b.png").stat().st_size > 1000
    code, _, err = run_cli("recommend", "-b", "8", "--plot", tmp_path / "r.png")
    assert code == 0, err and (tmp_path / "r.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args,needle",
    [
        (["recommend", "--batch-size", "0"], "batch size"),
        (["recommend", "--batch-size", "-3"], "batch size"),
        (["recommend", "--batch-size", "64", "--dataset-size", "32"], "larger than the data set"),
        (["recommend", "--batch-size", "8", "--beta1", "1.0"], "beta1"),
        (["recommend", "--batch-size", "8", "--reference", "0.95"], "BETA2@BATCH"),
        (["recommend", "--batch-size", "8", "--reference", "x@y"], "BETA2@BATCH"),
        (["recommend", "--batch-size", "8", "--reference", "1.5@32"], "reference beta2"),
        (["recommend", "--batch-size", "8", "--gradients", "nope.npz"], "does not exist"),
        (["recommend", "--batch-size", "8", "--margin", "1.5"], "margin"),
        (["recommend"], "batch-size"),
        (["boundary"], "either --problem"),
        (["boundary", "--gradients", "x.npz", "--batch-sizes", "1,a"], "batch-sizes"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_cli, args, needle, tmp_path):
    if "x.npz" in args:
        np.save(tmp_path / "x.npy", np.ones((10, 2)))
        args = [str(tmp_path / "x.npy") if a == "x.npz" else a for a in args]
    code, out, err = run_cli(*args)
    assert code == 2, (args, err)
    assert out == "" and len(err.strip().splitlines()) == 1 and needle in err, err


def test_bad_gradient_files(run_cli, tmp_path):
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]] * 40))
    np.save(tmp_path / "small.npy", np.ones((3, 2)))
    for name in ("pickled.npy", "nan.npy", "small.npy"):
        code, out, err = run_cli("recommend", "-b", "8", "--gradients", tmp_path / name)
        assert code == 2 and len(err.strip().splitlines()) == 1, (name, err)


def test_recommend_library_errors():
    with pytest.raises(InvalidParameterError):
        recommend(0)
    with pytest.raises(InvalidParameterError):
        recommend(8, beta1=-0.1)


def test_recommend_imports_nothing_heavy(root):
    code = (
        "import sys\n"
        "from adamcheck.cli import main\n"
        "assert main(['recommend', '--batch-size', '32']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'matplotlib', 'torch', 'scipy'))\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_settings_objects_are_checked_once_and_the_wrappers_pass_them_through():
    # issue 23: recommend/verdict are keyword wrappers over recommend_with/judge_betas
    from adamcheck import InvalidParameterError
    from adamcheck.recommend import RecommendSettings, VerdictSettings, judge_betas, recommend, recommend_with, verdict
    from adamcheck._halflife import DEFAULT_REFERENCE
    from adamcheck._jsonio import dumps

    for bad in ({"eps": -1.0}, {"beta1": 1.0}, {"planned_steps": 0}, {"domain": "cooking"}, {"state_dtype": "fp8"},
                {"reference": 0.999}, {"dataset_size": 0}):
        with pytest.raises(InvalidParameterError):
            RecommendSettings(**bad)
    s = RecommendSettings(beta1=0.95, planned_steps=1500, beta2=0.99, domain="vision", reference="0.999@64")
    a = recommend(8, beta1=0.95, planned_steps=1500, beta2=0.99, domain="vision", reference="0.999@64")
    b = recommend_with(8, None, s)
    assert dumps(a.to_dict()) == dumps(b.to_dict()) and a.verdict is not None
    with pytest.raises(InvalidParameterError):
        VerdictSettings(reference=DEFAULT_REFERENCE, interpolation=1.5)
    v = verdict(8, 0.0, 0.95, reference=DEFAULT_REFERENCE, domain="vision")
    w = judge_betas(8, 0.0, 0.95, VerdictSettings(reference=DEFAULT_REFERENCE, domain="vision"))
    assert dumps(v.to_dict()) == dumps(w.to_dict()) and v.level == "risk"
