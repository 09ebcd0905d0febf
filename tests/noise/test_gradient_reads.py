"""Each gradient file is opened once per command (the library calls and the recommend, check and
boundary commands), and streamed no more than its lenses need.

The loader (adamcheck/noise/_source.py) is wrapped: ``open_gradients`` counts the opens
(headers and metadata) and ``GradientSource.iter_chunks`` counts the rows streamed,
so a pass over the whole file is P x N rows. recommend and check stream it twice (the
noise estimate's pass, which also finds the non-zero coordinates, then the drawn
columns of the training boundary), boundary twice (non-zero coordinates, then the
columns); random-access reads of drawn mini-batches are not passes.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck.noise import _source


@pytest.fixture
def reads(monkeypatch):
    counts = {"opens": 0, "rows": 0}
    real_open, real_iter = _source.open_gradients, _source.GradientSource.iter_chunks

    def counted_open(*args, **kwargs):
        counts["opens"] += 1
        return real_open(*args, **kwargs)

    def counted_iter(self, p, start, stop, rows):
        for j, block in real_iter(self, p, start, stop, rows):
            counts["rows"] += block.shape[0]
            yield j, block

    monkeypatch.setattr(_source, "open_gradients", counted_open)
    monkeypatch.setattr(_source.GradientSource, "iter_chunks", counted_iter)
    return counts


@pytest.fixture
def grad_file(tmp_path):
    # d = 600 > the 512 sampled coordinates, with all-zero columns: the draw depends on
    # which coordinates are non-zero, so a wrong non-zero set changes the answer
    rng = np.random.default_rng(3)
    x = rng.normal(0.05, 1.0, (2, 300, 600)) * (rng.random((2, 300, 600)) < 0.2)
    x[:, :, ::7] = 0.0
    path = tmp_path / "g.npy"
    np.save(path, x)
    return path, 2 * 300


def test_recommend_opens_once_and_streams_twice(reads, grad_file):
    from adamcheck.recommend import calibrated_prediction, recommend

    path, rows = grad_file
    rec = recommend(32, gradients=str(path), planned_steps=200, seed=1)
    assert reads["opens"] == 1
    assert reads["rows"] == 2 * rows
    # the shared pass draws the same coordinates as the training boundary's own two passes
    alone = calibrated_prediction(str(path), 32, 0.9, eps=1e-8, steps=200, seed=1)
    assert rec.calibrated.beta2_critical == alone.beta2_critical
    assert rec.calibrated.aggregate_drift_ratio == alone.aggregate_drift_ratio
    assert rec.calibrated.sustained_update == alone.sustained_update


def test_check_opens_once(reads, grad_file):
    from adamcheck.configs._check import check_values

    path, rows = grad_file
    report = check_values(batch_size=32, beta1=0.9, beta2=0.95, max_steps=200, gradients=str(path))
    # the calibrated lens ran on the shared source: check's critical_beta2 rule decided
    assert [str(f.level) for f in report.findings if f.rule == "critical_beta2"] == ["ok"]
    assert reads["opens"] == 1
    assert reads["rows"] == 2 * rows


def test_boundary_cli_opens_once(reads, grad_file):
    from click.testing import CliRunner

    from adamcheck.cli import cli

    path, rows = grad_file
    out = CliRunner().invoke(cli, ["boundary", "--gradients", str(path), "--batch-sizes", "8,32", "--steps", "200",
                                    "--json", "--quiet"])
    assert out.exit_code == 0, out.output
    assert reads["opens"] == 1
    assert reads["rows"] == 2 * rows


def test_recommend_cli_opens_once(reads, grad_file):
    from click.testing import CliRunner

    from adamcheck.cli import cli

    path, rows = grad_file
    out = CliRunner().invoke(cli, ["recommend", "--batch-size", "32", "--gradients", str(path),
                                    "--max-steps", "200", "--json", "--quiet"])
    assert out.exit_code == 0, out.output
    assert reads["opens"] == 1
    assert reads["rows"] == 2 * rows


def test_check_cli_opens_once(reads, grad_file):
    from click.testing import CliRunner

    from adamcheck.cli import cli

    path, rows = grad_file
    out = CliRunner().invoke(cli, ["check", "--batch-size", "32", "--beta1", "0.9", "--beta2", "0.95",
                                    "--max-steps", "200", "--gradients", str(path), "--json"])
    assert out.exit_code in (0, 1), out.output
    assert reads["opens"] == 1
    assert reads["rows"] == 2 * rows
