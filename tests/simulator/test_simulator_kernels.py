"""The engine's in-place kernels against the slow reference adam_step, every convention."""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck.simulator import CONVENTIONS, adam_step
from adamcheck.simulator._kernels import RunParams, Scratch, apply_update, update_moments


def _params(rng, runs, wd):
    col = lambda a: np.asarray(a, dtype=float)[:, None]  # noqa: E731
    b1 = rng.uniform(0, 0.99, runs)
    b1[:3] = [0.0, 0.3, 0.5]  # both of torch's lerp branches and the switch point
    return RunParams(
        col(b1), col(rng.uniform(0.5, 0.9999, runs)), col(10 ** rng.uniform(-3, -1, runs)),
        col(10 ** rng.uniform(-10, -3, runs)), col(np.full(runs, wd) * rng.uniform(0, 1, runs)),
        col(10 ** rng.uniform(-12, -6, runs)),
    )


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_kernels_match_reference_over_steps(convention, wd):
    rng = np.random.default_rng(1)
    runs, d = 40, 3
    p = _params(rng, runs, wd)
    x = rng.normal(size=(runs, d))
    m = np.zeros((runs, d))
    v = np.zeros((runs, d))
    xr, mr, vr = x.copy(), m.copy(), v.copy()
    sc = Scratch(runs, d, x.dtype)
    for t in range(1, 30):
        g = rng.normal(size=(runs, d))
        s_t = 1 / np.sqrt(t)
        lr_t = p.lr * s_t
        gk = g + p.weight_decay * x if wd else g
        update_moments(convention, m, v, gk, p, sc)
        apply_update(convention, x, m, v, lr_t, t, p, sc)
        xr, mr, vr = adam_step(
            convention, xr, mr, vr, g, t, beta1=p.beta1, beta2=p.beta2, lr=lr_t, eps=p.eps,
            weight_decay=p.weight_decay, eps_root=p.eps_root,
        )
        # Same formulas with the same association: equal up to a couple of ulps.
        np.testing.assert_allclose(m, mr, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(v, vr, rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(x, xr, rtol=1e-13, atol=1e-300)


def test_reference_paper_step_by_hand():
    # One paper step from zero state: m = (1-b1) g, v = (1-b2) g^2.
    g = np.array([[2.0]])
    x, m, v = adam_step("paper", np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1)), g, 1,
                        beta1=0.5, beta2=0.75, lr=0.1, eps=0.0)
    assert m[0, 0] == 1.0 and v[0, 0] == 1.0
    assert x[0, 0] == pytest.approx(-0.1 * 1.0 / 1.0)


def test_bias_corrected_first_step_is_signed_lr():
    # torch/optax/keras with eps = 0: the first step is -lr * sign(g) exactly.
    g = np.array([[3.0, -0.5]])
    for conv in ("torch", "optax", "keras"):
        x, _, _ = adam_step(conv, np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)), g, 1,
                            beta1=0.9, beta2=0.999, lr=0.01, eps=0.0)
        np.testing.assert_allclose(x, [[-0.01, 0.01]], rtol=1e-12)
