"""Critical and recommended beta2: the rules, the aggregation and the counterexample."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from adamcheck._errors import AdamCheckError
from adamcheck._laws import GradientLaw
from adamcheck.drift import (
    DriftGrid,
    critical_beta2,
    default_beta2_ladder,
    drift_ratio,
    recommended_beta2,
)


def _grid(rho_rows, mean=(1.0,), mean_se=None, ladder=None):
    """A hand-made one-column DriftGrid: rho_rows is (d, n2) with zero standard errors."""
    rho = np.asarray(rho_rows, dtype=float)
    d, n2 = rho.shape
    ladder = np.linspace(0.0, 0.9, n2) if ladder is None else np.asarray(ladder)
    return DriftGrid(
        beta1s=np.array([0.0]),
        beta2s=ladder,
        rho=rho[:, :, None],
        stderr=np.zeros((d, n2, 1)),
        method=np.full((d, n2), "given"),
        denominator=np.ones(d),
        mean=np.asarray(mean, dtype=float),
        mean_se=None if mean_se is None else np.asarray(mean_se, dtype=float),
        eps=0.0,
        seed=0,
    )


def test_strict_rule_needs_every_larger_beta2():
    # rho is not monotone: reversed at rows 0 and 2, fine at 1, 3, 4
    g = _grid([[-1.0, 0.5, -0.2, 0.3, 0.9]])
    cb = critical_beta2(g, refine_steps=0)
    assert cb.strict_grid[0] == pytest.approx(g.beta2s[3])
    assert cb.setters[0][0].beta2 == pytest.approx(g.beta2s[2])
    assert not cb.unresolved[0]


def test_top_of_ladder_reversed_is_unresolved_and_none_reversed_is_bottom():
    bad = critical_beta2(_grid([[-1.0, -1.0, -1.0]]), refine_steps=0)
    assert bad.unresolved[0] and np.isnan(bad.strict[0])
    good = critical_beta2(_grid([[0.2, 0.5, 0.9]]), refine_steps=0)
    assert good.strict[0] == 0.0 and good.setters[0] == ()


def test_standard_error_decides_reversal():
    g = _grid([[-0.01, 0.5, 0.9]])
    g2 = DriftGrid(**{**g.__dict__, "stderr": np.full_like(g.stderr, 0.01)})
    assert critical_beta2(g, refine_steps=0).strict_grid[0] == pytest.approx(g.beta2s[1])
    # -0.01 + 2 * 0.01 > 0: not reversed beyond its standard error
    assert critical_beta2(g2, refine_steps=0).strict[0] == 0.0


def test_lenient_rule_weights_by_mean_mass_and_uninformative_are_excluded():
    # coordinate 1 (1% of the mass) is reversed up to row 3, coordinate 0 only at row 0
    rho = [[-1.0, 0.5, 0.6, 0.7, 0.9], [-1.0, -1.0, -1.0, -1.0, 0.9], [-1.0, -1.0, -1.0, -1.0, -1.0]]
    g = _grid(rho, mean=[0.99, 0.01, 0.001], mean_se=[0.01, 0.001, 0.01])
    cb = critical_beta2(g, refine_steps=0, threshold=0.02)
    assert cb.excluded.tolist() == [1] and cb.informative.tolist() == [2]
    assert cb.strict_grid[0] == pytest.approx(g.beta2s[4])
    assert cb.lenient[0] == pytest.approx(g.beta2s[1])
    assert [s.coordinate for s in cb.setters[0]] == [1]
    tight = critical_beta2(g, refine_steps=0, threshold=0.005)
    assert tight.lenient[0] == pytest.approx(g.beta2s[4])


def test_missing_mean_se_counts_every_coordinate():
    g = _grid([[0.5, 0.9], [-1.0, 0.9]], mean=[1.0, 1e-9])
    cb = critical_beta2(g, refine_steps=0)
    assert cb.excluded.tolist() == [0] and not cb.mean_se_known[0]
    assert cb.strict_grid[0] == pytest.approx(g.beta2s[1])


def test_worst_point_wins():
    a = _grid([[-1.0, 0.5, 0.6, 0.9]])
    b = _grid([[-1.0, -1.0, -1.0, 0.9]])
    assert critical_beta2([a, b], refine_steps=0).strict_grid[0] == pytest.approx(a.beta2s[3])
    assert [s.point for s in critical_beta2([a, b], refine_steps=0).setters[0]] == [1]


def test_counterexample_sign_pattern_and_boundary_grows_with_n():
    stars = []
    for n in (3, 10, 20, 50):
        law = GradientLaw.two_point(n, 1 / (n - 1) ** 2)
        assert drift_ratio(law, 0.0, 0.05).value < 0  # sign-like steps follow the small gradients
        assert drift_ratio(law, 0.0, 0.999).value > 0
        cb = critical_beta2(law, [0.0])
        lo, hi = cb.strict_bracket[0]
        # the refined bracket straddles the zero crossing of rho
        assert drift_ratio(law, 0.0, lo).value < 0.01
        assert drift_ratio(law, 0.0, hi).value > -0.01
        assert hi - lo < 0.01
        stars.append(cb.strict[0])
    assert np.all(np.diff(stars) > 0), stars


def test_crossing_scales_like_one_over_n():
    """The expansion puts the crossing at 1 - beta2* = Theta(1/n) (first order: 2/n).

    The first-order value itself is not accurate at the crossing (v fluctuates by O(1)
    there); we check the scale: n (1 - beta2*) lies in [2, 8] and changes by less than
    25% from n = 100 to n = 200.
    """
    scaled = []
    for n in (100, 200):
        law = GradientLaw.two_point(n, 1 / (n - 1) ** 2)
        scaled.append(n * (1 - critical_beta2(law, [0.0]).strict[0]))
    assert all(2 < c < 8 for c in scaled), scaled
    assert abs(scaled[1] / scaled[0] - 1) < 0.25, scaled


def _binomial_batch_law(n: int, batch: int) -> GradientLaw:
    """Exact law of the mean of `batch` i.i.d. draws of the counterexample's component gradient."""
    a = 1 / (n - 1) ** 2
    big, small = 1 + (n - 1) * a, -a
    p = 1 / n
    k = np.arange(batch + 1)
    w = np.array([comb(batch, int(i)) * p**i * (1 - p) ** (batch - i) for i in k])
    keep = w > 1e-15
    w = w[keep] / w[keep].sum()
    vals = (k[keep] * big + (batch - k[keep]) * small) / batch
    return GradientLaw(values=vals[:, None], weights=w, batch_size=batch)


@pytest.mark.slow
def test_boundary_non_increasing_in_batch_size():
    stars = [critical_beta2(_binomial_batch_law(20, b), [0.0]).strict[0] for b in (1, 4, 16, 64, 256)]
    assert all(stars[i] >= stars[i + 1] - 1e-3 for i in range(4)), stars
    assert stars[0] > stars[-1] + 0.3, stars


def test_recommendation_keeps_margin_and_paper_condition():
    law = GradientLaw.two_point(20, 1 / 361)
    rec = recommended_beta2(law, 0.9, margin=0.5)
    assert rec.paper_condition and 0.9 < np.sqrt(rec.beta2)
    assert drift_ratio(law, 0.9, rec.beta2).value >= 0.5 - 0.02
    higher = recommended_beta2(law, 0.9, margin=0.8)
    assert higher.beta2 >= rec.beta2
    lo = rec.bracket[0]
    assert drift_ratio(law, 0.9, lo).value < 0.5 + 0.02 or not 0.9 < np.sqrt(lo)
    assert rec.beta2 >= rec.boundary.strict[0]


def test_recommendation_unresolved_when_eps_caps_rho():
    law = GradientLaw.two_point(4, 1 / 9)
    s = float(law.second_moment()[0])
    eps = 3 * s**0.5  # rho -> 1/4 < margin
    rec = recommended_beta2(law, 0.0, margin=0.5, eps=eps, refine_steps=0)
    assert rec.unresolved and np.isnan(rec.beta2)


def test_samples_with_mean_se_fast_path_agrees_with_unscreened():
    rng = np.random.default_rng(3)
    per = np.exp(1.3 * rng.standard_normal((4000, 4))) - np.exp(0.845) + np.array([0.4, 0.6, 0.0, 2.0])
    batch = per[rng.integers(0, 4000, size=(600, 2))].mean(axis=1)
    law = GradientLaw.from_samples(batch, batch_size=2)
    law.meta["mean_se"] = np.array([0.01, 0.01, 10.0, 0.01])  # coordinate 2 cannot be told from 0
    ladder = default_beta2_ladder(9)
    fast = critical_beta2(law, [0.0, 0.9], ladder, refine_steps=0)
    slow = critical_beta2(law, [0.0, 0.9], ladder, refine_steps=0, screen=False)
    assert fast.excluded.tolist() == slow.excluded.tolist() == [1]
    assert fast.strict_grid.tolist() == slow.strict_grid.tolist()


@pytest.mark.parametrize(
    "call",
    [
        lambda law: critical_beta2(law),  # no beta1s for laws
        lambda law: critical_beta2(law, [0.0], threshold=2.0),
        lambda law: critical_beta2(law, [0.0], z=-1),
        lambda law: critical_beta2([], [0.0]),
        lambda law: recommended_beta2(law, 1.5),
        lambda law: default_beta2_ladder(1),
    ],
)
def test_bad_input_raises_our_errors(call):
    with pytest.raises(AdamCheckError):
        call(GradientLaw.two_point(5, 1 / 16))


def test_recommendation_says_what_limits_it():
    law = GradientLaw.two_point(10, 1 / 81)
    # at beta1 = 0.9 rho stays above 0.5 on the whole ladder: only beta1 < sqrt(beta2) binds
    rec = recommended_beta2(law, 0.9)
    assert rec.limited_by == "paper_condition" and rec.binding == ()
    assert 0.81 < rec.beta2 < 0.83
    rec0 = recommended_beta2(law, 0.0)
    assert rec0.limited_by == "margin" and rec0.binding[0].coordinate == 0


def test_recommendation_without_boundary_matches_full_one():
    law = GradientLaw.two_point(20, 1 / 361)
    full = recommended_beta2(law, 0.5)
    quick = recommended_beta2(law, 0.5, with_boundary=False)
    assert quick.boundary is None
    assert quick.beta2 == pytest.approx(full.beta2)
    assert full.boundary.strict[0] <= full.beta2


def test_public_names_are_lazy_reexports():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    code = (
        "import sys, adamcheck; assert 'adamcheck.drift' not in sys.modules; "
        "from adamcheck import critical_beta2, drift_ratio; "
        "assert not any(m.startswith(('scipy', 'matplotlib')) for m in sys.modules), 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


def test_boundary_is_deterministic():
    rng = np.random.default_rng(5)
    law = GradientLaw.from_samples(np.exp(rng.standard_normal((300, 2))) - 1.5)
    a = critical_beta2(law, [0.0], default_beta2_ladder(7), refine_steps=2, seed=3)
    b = critical_beta2(law, [0.0], default_beta2_ladder(7), refine_steps=2, seed=3)
    assert a.strict.tobytes() == b.strict.tobytes()
    assert a.grids[0].rho.tobytes() == b.grids[0].rho.tobytes()


@pytest.mark.slow
def test_shipped_digits_boundary_non_increasing_in_batch_size():
    """examples/digits gradients: beta2*(beta1 = 0) over batch sizes 1, 4, 16, 64, 256."""
    from pathlib import Path

    from adamcheck.noise import minibatch_laws

    path = Path(__file__).resolve().parents[2] / "examples" / "digits" / "grads.npz"
    if not path.exists():
        pytest.skip("examples/digits/grads.npz is not in this checkout")
    grads = np.load(path, allow_pickle=False)["grads"]
    stars = []
    for batch in (1, 4, 16, 64, 256):
        cb = critical_beta2(minibatch_laws(grads, batch), [0.0])
        assert cb.mean_se_known.all()
        stars.append(float(cb.strict[0]))
    assert all(stars[i] >= stars[i + 1] for i in range(4)), stars
    assert stars[0] > stars[-1] + 0.3, stars


def test_boundary_rules_are_objects_with_the_documented_inequalities():
    """STRICT fails cells with rho + z se < t, MARGIN cells with rho - z se < t; a string rule is refused."""
    import pytest

    from adamcheck._errors import InvalidParameterError
    from adamcheck.drift._boundary import MARGIN, STRICT, BoundarySearch

    rho = np.array([-0.5, 0.1, 0.3, 0.6, np.nan])
    se = np.array([0.1, 0.1, 0.2, 0.05, 0.1])
    z, t = 2.0, 0.4
    strict = BoundarySearch(t=t, rule=STRICT, z=z).fails(rho, se)
    margin = BoundarySearch(t=t, rule=MARGIN, z=z).fails(rho, se)
    # by hand: rho + 2 se = -0.3, 0.3, 0.7, 0.7; rho - 2 se = -0.7, -0.1, -0.1, 0.5
    assert strict.tolist() == [True, True, False, False, False]
    assert margin.tolist() == [True, True, True, False, False]
    with pytest.raises(InvalidParameterError):
        BoundarySearch(rule="strict")
