"""Shared assertions for the torch and optax monitor-file tests."""

from __future__ import annotations


def assert_check_follows_the_lens_cells(path, star: float, batch: int, beta1: float) -> None:
    """check judges a monitor file by the file lens's decided cells; the monitor's beta2*
    (the point estimate) lies above every value they fail and at or below every value they
    train; a value between them is not checked."""
    from adamcheck.configs import check_values
    from adamcheck.recommend import recommend

    lens = recommend(gradients=path).calibrated
    assert lens.beta2_failed and max(lens.beta2_failed) < star
    assert all(star <= b for b in lens.beta2_trained)
    cells = [(max(lens.beta2_failed), "risk")] + [(b, "ok") for b in lens.beta2_trained[:1]]
    cells += [(b, "not_checked") for b in lens.ladder if max(lens.beta2_failed) < b < min(lens.beta2_trained or [1])]
    for beta2, level in cells:
        found = [f for f in check_values(batch, beta1, beta2, gradients=path).findings if f.rule == "critical_beta2"]
        assert [f.level for f in found] == [level], (beta2, found)
