"""A gradient file means the same thing to every command (estimate, boundary, recommend, check).

The case that was misread: a GradientMonitor file stores one row per optimizer step, each the
mean gradient of the run's batch R (``row_batch_size = R``), so a batch of B examples is B/R
rows. recommend, check and boundary counted B in rows (B x R examples) and found beta2* too low.
Here the file is written with the monitor's keys (the torch-trained version is in
tests/torch_tests/test_torch_monitor_file.py) from rows whose beta2* at one row (B = R = 4 examples)
is far above beta2* at four rows (16 examples), so reading the batch in the wrong unit fails
the test. The independent route is the predictor called directly on the rows in rows-of-4
terms: :func:`adamcheck.drift.training_boundary` at 1 row per batch, which is also what the
monitor computes on its window (:func:`adamcheck.torch._monitor.predict_beta2_star`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from adamcheck import DataError
from adamcheck.drift import training_boundary
from adamcheck.noise import GradientSource, estimate, open_gradients
from adamcheck.noise._meta import GradientFileMeta

R = 4  # the monitored run's batch: one row per step, each the mean gradient of 4 examples
BETA1 = 0.0
STEPS, COORDS, SEED = 4000, 512, 0  # what recommend and check simulate by default


def _rows(seed: int = 0) -> np.ndarray:
    """Counterexample-like mini-batch gradients: rare large positive, frequent small negative
    (positive mean), so that Adam's mean step climbs at small beta2 (sign drift)."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((400, 16)) < 0.1, 12.0, -1.0) + 0.1 * rng.normal(size=(400, 16))
    return x.astype(np.float32)


def _monitor_file(path, rows=None, **extra):
    from adamcheck.torch._sample import choose_coordinates, save_sampled_gradients

    rows = _rows() if rows is None else rows
    sample = choose_coordinates([("w", rows.shape[1])], coordinates=rows.shape[1])
    keys = {"beta1": BETA1, "beta2": 0.95, "writer": "adamcheck.torch.GradientMonitor", **extra}
    return save_sampled_gradients(path, rows, sample, batch_size=R, row_batch_size=R, step=[len(rows)], extra=keys)


def _star(rows, rows_per_batch, beta1=BETA1):
    tb = training_boundary(rows[None], [rows_per_batch], beta1=beta1, eps=1e-8, steps=STEPS,
                           coordinates=COORDS, seed=SEED)
    return float(tb.critical_beta2[0])


@pytest.fixture(scope="module")
def monitor(tmp_path_factory):
    path = _monitor_file(tmp_path_factory.mktemp("mon") / "monitor.npz")
    rows = _rows()
    at_4, at_16 = _star(rows, 1), _star(rows, 4)
    # the file can tell the two readings apart: beta2* at 4 examples is well above beta2* at 16
    assert at_4 >= at_16 + 0.2, (at_4, at_16)
    return path, rows, at_4, at_16


def test_recommend_without_batch_size_reads_the_file_at_its_own_batch(monitor, run_cli):
    from adamcheck.recommend import recommend
    from adamcheck.torch._monitor import predict_beta2_star

    path, rows, at_4, _ = monitor
    rec = recommend(gradients=path)
    assert rec.batch_size == R and rec.beta1 == BETA1 and rec.beta1_source.startswith("the gradient file")
    assert rec.beta2_critical == at_4
    # what the monitor computes on this window at its own batch (multiple 1), same settings
    [(k, own, unresolved, _)] = predict_beta2_star(rows, [1], BETA1, eps=1e-8, seed=SEED, steps=STEPS,
                                                   coordinates=COORDS)
    assert (k, unresolved) == (1, False) and rec.beta2_critical == own
    # a monitor file's N is steps, not a data set
    assert rec.dataset_size is None and rec.provable.n is None
    assert any("batch_size 4, beta1 0 taken from" in n for n in rec.notes)

    code, out, err = run_cli("recommend", "--gradients", path, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta2_critical"]["value"] == at_4 and data["batch"]["samples"] == R
    code, out, err = run_cli("recommend", "--gradients", path)
    assert code == 0 and "note: gradient file: batch_size 4, beta1 0 taken from" in out, out


def test_a_larger_batch_averages_rows_and_flags_override_with_a_note(monitor):
    from adamcheck.recommend import recommend

    path, rows, _, at_16 = monitor
    rec = recommend(16, gradients=path, beta1=0.9)
    assert rec.beta2_critical == _star(rows, 4, beta1=0.9)  # 16 examples = 4 rows
    assert any("batch_size 16 differs from" in n and "batch_size = 4" in n for n in rec.notes)
    assert any("beta1 0.9 differs from" in n for n in rec.notes)
    assert recommend(16, gradients=path).beta2_critical == at_16
    with pytest.raises(DataError, match="multiple of 4"):
        recommend(6, gradients=path)


def test_check_uses_the_same_beta2_star_and_agrees_with_the_monitor(monitor):
    from adamcheck.configs import check_values

    path, rows, at_4, at_16 = monitor
    between = round((at_4 + at_16) / 2, 3)  # below the monitor's beta2*, above the misread one
    report = check_values(R, BETA1, between, gradients=path)
    crit = [f for f in report.findings if f.rule == "critical_beta2"]
    # the message names the lowest beta2 the file lens decided trains (not its point estimate)
    trained = report.recommendation["lenses"]["calibrated"].beta2_trained
    assert [f.level for f in crit] == ["risk"] and f">= {min(trained):g} training" in crit[0].message
    assert report.recommendation["beta2_critical"]["value"] == at_4
    # the eps rule sees a law of batch 4 examples (it read "batch 1" when rows were counted)
    eps = [f for f in check_values(R, BETA1, 0.999, eps=1e-8, gradients=path).findings if f.rule == "eps_vs_sqrt_v"]
    assert eps and eps[0].level != "not_checked", eps


def test_check_cli_on_the_monitor_file(monitor, run_cli):
    path, _, at_4, at_16 = monitor
    between = f"{(at_4 + at_16) / 2:.3f}"
    code, out, err = run_cli("check", "--gradients", path, "--batch-size", "4", "--beta1", "0", "--beta2", between,
                             "--json")
    data = json.loads(out)
    crit = [f for f in data["findings"] if f["rule"] == "critical_beta2"]
    assert code == 1 and crit[0]["level"] == "risk", (code, crit)


def test_boundary_counts_batch_sizes_in_examples(monitor, run_cli):
    from adamcheck.recommend import batch_size_boundary

    path, rows, at_4, at_16 = monitor
    tb = batch_size_boundary(path, [4, 16], beta1=BETA1, steps=STEPS, seed=SEED)
    assert tb.batch_sizes == (4, 16) and [s.batch_size for s in tb.statistics] == [4, 16]
    direct = training_boundary(rows[None], [1, 4], beta1=BETA1, steps=STEPS, seed=SEED)
    np.testing.assert_array_equal(tb.critical_beta2, direct.critical_beta2)
    assert tb.critical_beta2[0] == at_4 and tb.critical_beta2[1] == at_16
    with pytest.raises(DataError, match="multiple of 4"):
        batch_size_boundary(path, [2], beta1=BETA1)
    # the CLI: beta1 from the file, default sizes the run's batch and its multiples
    code, out, err = run_cli("boundary", "--gradients", path, "--json", "-q")
    data = json.loads(out)
    assert code == 0 and data["beta1"] == BETA1 and data["batch_sizes"][:2] == [4, 8]
    assert data["critical_beta2"][0] == at_4 and data["row_batch_size"] == R
    assert any("beta1 0 taken from" in d["message"] for d in data["diagnostics"])


def test_estimate_reads_the_file_at_its_own_batch(monitor, run_cli):
    path, rows, _, _ = monitor
    est = estimate(path, 8, replicates=0)
    assert est.constants.batch_size == 2 and est.laws[0].batch_size == 8 and est.meta.is_monitor
    code, out, err = run_cli("estimate", path, "--replicates", "20", "--json")
    data = json.loads(out)
    assert code == 0 and data["batch_size"] == 1 and data["row_batch_size"] == R
    assert data["diagnostics"][0]["message"].startswith("batch size 4 taken from")


def test_the_source_exposes_the_validated_meta(monitor):
    path, *_ = monitor
    with open_gradients(path) as src:
        assert isinstance(src.meta, GradientFileMeta)
        assert (src.meta.row_batch_size, src.meta.batch_size, src.meta.beta1, src.meta.is_monitor) == (4, 4, 0.0, True)
        assert src.batch_rows(12) == 3


def test_pooled_monitor_files_keep_what_they_agree_on(tmp_path):
    a = _monitor_file(tmp_path / "a.npz", lr=1e-3)
    b = _monitor_file(tmp_path / "b.npz", rows=_rows(1), lr=5e-4)
    with open_gradients([a, b]) as src:
        assert src.shape[1] == 800 and src.meta.row_batch_size == R and src.meta.lr is None
        assert src.meta.beta1 == BETA1 and any("disagree on lr" in n for n in src.notes)
    c = _monitor_file(tmp_path / "c.npz", rows=_rows(2), beta1=0.9)
    with pytest.raises(DataError, match=r"a\.npz and .*c\.npz disagree on beta1"):
        open_gradients([a, c])


# -- per-example files: exactly as before ------------------------------------------------------------------
def test_per_example_files_are_read_as_before(tmp_path):
    from adamcheck.recommend import batch_size_boundary, recommend

    rng = np.random.default_rng(3)
    x = rng.normal(0.2, 1.0, size=(256, 6))
    np.save(tmp_path / "g.npy", x)
    np.savez(tmp_path / "g.npz", grads=x, reduction="mean", loss_scale=1.0, mean_over=1)
    for path in (tmp_path / "g.npy", tmp_path / "g.npz"):
        with open_gradients(path) as src:
            assert src.meta.rows_per_example == 1 and not src.meta.is_monitor and src.batch_rows(7) == 7
        rec = recommend(8, gradients=path, beta1=0.9)
        direct = training_boundary(x, [8], beta1=0.9, steps=STEPS, seed=SEED)
        assert rec.beta2_critical == float(direct.critical_beta2[0])
        assert rec.dataset_size == 256 and rec.provable.n == 32  # the file is the data set
        tb = batch_size_boundary(path, [1, 8], beta1=0.9, steps=500)
        np.testing.assert_array_equal(tb.critical_beta2,
                                      training_boundary(x, [1, 8], beta1=0.9, steps=500).critical_beta2)
        est = estimate(path, 8, replicates=0)
        ref = estimate(GradientSource.from_array(x), 8, replicates=0)
        assert est.constants.n == ref.constants.n == 32
        np.testing.assert_array_equal(est.constants.b_simple, ref.constants.b_simple)
        assert est.laws[0].batch_size == 8 and not est.meta.is_monitor
    with pytest.raises(Exception, match="batch size not given"):
        recommend(gradients=tmp_path / "g.npy")


def test_the_files_scale_is_honoured_by_the_predictor(tmp_path):
    # rows stored 128 x the gradients (an fp16 loss scale): with eps comparable to the gradients,
    # recommend and boundary must see the unscaled gradients, as estimate does
    from adamcheck.recommend import batch_size_boundary, recommend

    x = _rows()[:, :6].astype(np.float64)
    np.save(tmp_path / "plain.npy", x)
    np.savez(tmp_path / "scaled.npz", grads=128.0 * x, loss_scale=128.0)
    plain = recommend(8, gradients=tmp_path / "plain.npy", beta1=0.0, eps=0.5)
    scaled = recommend(8, gradients=tmp_path / "scaled.npz", beta1=0.0, eps=0.5)
    np.testing.assert_allclose(scaled.calibrated.aggregate_drift_ratio, plain.calibrated.aggregate_drift_ratio,
                               rtol=1e-6)
    ignored = training_boundary(128.0 * x, [8], beta1=0.0, eps=0.5, steps=STEPS, seed=SEED).statistics[0]
    assert not np.allclose(ignored.drift, plain.calibrated.aggregate_drift_ratio, rtol=1e-3)  # eps matters here
    a = batch_size_boundary(tmp_path / "plain.npy", [2, 8], beta1=0.0, eps=0.5, steps=500)
    b = batch_size_boundary(tmp_path / "scaled.npz", [2, 8], beta1=0.0, eps=0.5, steps=500)
    for sa, sb in zip(a.statistics, b.statistics):
        np.testing.assert_allclose(sb.drift, sa.drift, rtol=1e-6)
