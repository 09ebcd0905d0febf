"""adamcheck.optax.monitor's mechanics under jax.jit: its rows against gradients computed apart,
its replayed Adam direction against optax's own Adam state, the wrappers that run an update
and throw it away (optax.MultiSteps, optax.apply_if_finite), lax.scan, differentiation through
the update, never breaking training, errors of use at trace time, the file's bytes."""

from __future__ import annotations

import math

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="adamcheck.optax needs jax (pip install 'adamcheck[jax]')")
optax = pytest.importorskip("optax", reason="adamcheck.optax needs optax (pip install 'adamcheck[jax]')")
jnp = jax.numpy

from _jax_models import digits, jitted_step, mlp, mlp_loss, train  # noqa: E402


def at_sample(sample, tree):
    """The sampled coordinates of a pytree, by the sample's names (key paths) and flat indices: the plain route."""
    leaves = {".".join(str(k.key) for k in path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}
    return np.concatenate([np.asarray(leaves[n], dtype=np.float64).reshape(-1)[i]
                           for n, i in zip(sample.names, sample.per_tensor())])


def batches(n, size, offset=0):
    X, y = digits()
    return [(X[offset + s * size : offset + (s + 1) * size], y[offset + s * size : offset + (s + 1) * size])
            for s in range(n)]


def test_rows_are_the_step_gradients_and_the_direction_is_optaxs_adam():
    import adamcheck.optax

    b1, b2, eps = 0.8, 0.99, 1e-8
    mon = adamcheck.optax.monitor(batch_size=8, b1=b1, b2=b2, eps=eps, coordinates=40, every=10**6, multiples=(1,))
    opt = optax.chain(mon, optax.adam(1e-2, b1=b1, b2=b2, eps=eps))
    params = mlp(0, hidden=16)
    state = opt.init(params)
    step = jitted_step(opt, mlp_loss)
    grads, losses = [], []
    for x, y in batches(20, 8):
        # independent route: the step's gradient by jax.grad outside the jitted step, at the sample
        grads.append(at_sample(mon.sample, jax.grad(mlp_loss)(params, x, y)))
        params, state, loss = step(params, state, x, y)
        losses.append(float(loss))
    rep = mon.report(state)
    assert rep.step == 20 and rep.gradient_steps == 20 and rep.coordinates == mon.sample.size
    rows, steps = mon.monitor.recorder.rows.last()
    np.testing.assert_allclose(rows, np.stack(grads), rtol=1e-5, atol=1e-7)
    assert steps.tolist() == list(range(1, 21))
    # optax's own Adam state after 20 steps, at the sample
    adam = optax.tree_utils.tree_get(state, "ScaleByAdamState")
    assert int(adam.count) == 20
    m, v = at_sample(mon.sample, adam.mu), at_sample(mon.sample, adam.nu)
    d = np.linalg.norm((m / (1 - b1**20)) / (np.sqrt(v / (1 - b2**20)) + eps))
    assert rep.direction_norm_last == pytest.approx(d, rel=1e-4)
    np.testing.assert_allclose(mon.monitor.recorder.last_m, m, rtol=1e-4, atol=1e-9)
    # the loss reached the host with the row (optax's `value`), one per step
    assert rep.loss_start == pytest.approx(losses[0])
    a = mon.analyse()
    assert a.loss.count == 20 and a.loss.mean == pytest.approx(np.mean(losses), rel=1e-6)
    assert mon.report().analysed_step == 20


def test_sample_is_choose_coordinates_over_the_leaves_and_the_file_is_the_same_bytes(tmp_path):
    import adamcheck.optax
    from adamcheck.torch import choose_coordinates

    paths = []
    for name in ("a", "b"):
        mon = adamcheck.optax.monitor(batch_size=4, b1=0.9, b2=0.95, learning_rate=3e-3, coordinates=30, seed=4,
                                      every=10**6)
        opt = optax.chain(mon, optax.adamw(3e-3, b1=0.9, b2=0.95))
        _, state, *_ = train(mlp(1, hidden=8), opt, mlp_loss, batches(12, 4))
        paths.append(mon.save(tmp_path / f"{name}.npz", state))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    # the leaves in jax.tree_util order, named by key path; the torch monitor's coordinate choice
    expected = choose_coordinates([("l1.b", 8), ("l1.w", 64 * 8), ("l2.b", 10), ("l2.w", 80)], 30, seed=4)
    assert mon.sample.names == expected.names and mon.sample.sizes == expected.sizes
    np.testing.assert_array_equal(mon.sample.param, expected.param)
    np.testing.assert_array_equal(mon.sample.index, expected.index)
    with np.load(paths[0], allow_pickle=False) as f:
        k = expected.size
        assert f["grads"].shape == (1, 12, k) and f["param_names"].tolist() == list(expected.names)
        assert str(f["writer"]) == "adamcheck.optax.monitor" and int(f["row_batch_size"]) == 4
        assert float(f["beta2"]) == 0.95 and float(f["lr"]) == 3e-3 and str(f["dtype"]) == "float32"
        assert f["exp_avg"].shape == (k,) and int(f["steps"]) == 12


@pytest.mark.parametrize("block_steps", [2, 32])
def test_only_the_updates_adam_kept_are_recorded_under_multisteps_and_apply_if_finite(block_steps):
    """block_steps = 2: blocks are handed over during the run, also from updates the wrapper
    throws away (they carry the kept block in); 32: every row is read from the final state."""
    import adamcheck.optax

    k = 3
    mon = adamcheck.optax.monitor(batch_size=12, b1=0.9, b2=0.99, coordinates=25, every=10**6,
                                  block_steps=block_steps)
    opt = optax.MultiSteps(optax.chain(mon, optax.adam(1e-2)), every_k_schedule=k)
    params = mlp(2, hidden=8)
    state = opt.init(params)
    update = jax.jit(opt.update)
    expected = []
    micro = batches(4 * k, 4)
    for s in range(4):
        grads = [jax.grad(mlp_loss)(params, x, y) for x, y in micro[s * k : (s + 1) * k]]
        # the step's gradient: the mean of its k micro-batches' (MultiSteps' accumulation)
        expected.append(np.mean([at_sample(mon.sample, g) for g in grads], axis=0))
        for g in grads:
            updates, state = update(g, state, params)
            params = optax.apply_updates(params, updates)
    rep = mon.report(state)
    assert rep.step == 4  # 12 calls of the inner update, 4 kept
    np.testing.assert_allclose(mon.monitor.recorder.rows.last()[0], np.stack(expected), rtol=1e-5, atol=1e-7)
    # apply_if_finite skips the update of a non-finite step: no row for it
    mon = adamcheck.optax.monitor(batch_size=4, b1=0.9, b2=0.99, coordinates=25, every=10**6,
                                  block_steps=block_steps)
    opt = optax.apply_if_finite(optax.chain(mon, optax.adam(1e-2)), max_consecutive_errors=5)
    params = mlp(2, hidden=8)
    state = opt.init(params)
    update = jax.jit(opt.update)
    kept = []
    for s, (x, y) in enumerate(batches(6, 4)):
        g = jax.grad(mlp_loss)(params, x, y)
        if s == 2:
            g = jax.tree_util.tree_map(lambda a: a * jnp.nan, g)
        else:
            kept.append(at_sample(mon.sample, g))
        updates, state = update(g, state, params)
        params = optax.apply_updates(params, updates)
    rep = mon.report(state)
    assert rep.step == 5 and rep.nonfinite_steps == 0
    np.testing.assert_allclose(mon.monitor.recorder.rows.last()[0], np.stack(kept), rtol=1e-5, atol=1e-7)


def test_a_scanned_loop_is_recorded_step_by_step_and_the_update_can_be_differentiated():
    import adamcheck.optax

    mon = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, coordinates=20, every=10**6, block_steps=3)
    opt = optax.chain(mon, optax.adamw(1e-2))
    params = mlp(3, hidden=8)
    X, y = digits()
    xs, ys = jnp.asarray(X[:80]).reshape(10, 8, 64), jnp.asarray(y[:80]).reshape(10, 8)

    @jax.jit
    def run(params, state):
        def body(carry, batch):
            p, s = carry
            loss, g = jax.value_and_grad(mlp_loss)(p, *batch)
            u, s = opt.update(g, s, p, value=loss)
            return (optax.apply_updates(p, u), s), loss

        return jax.lax.scan(body, (params, state), (xs, ys))

    (_, state), losses = run(params, opt.init(params))
    assert mon.report().step == 9  # the blocks of 3 handed over inside the scan; the 10th is in the state
    rep = mon.report(state)
    assert rep.step == 10 and rep.loss_start == pytest.approx(float(losses[0]))
    assert mon.monitor.recorder.rows.last()[1].tolist() == list(range(1, 11))
    # meta-learning differentiates through the update (eps_root: optax's way to keep sqrt(nu) differentiable):
    # the callback's arguments carry no tangent, and the meta-gradient is the one without the monitor
    other = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, coordinates=20, every=10**6)

    def after_one_step(p, tx):
        u, _ = tx.update(jax.grad(mlp_loss)(p, xs[0], ys[0]), tx.init(p), p)
        return mlp_loss(optax.apply_updates(p, u), xs[1], ys[1])

    adam = optax.adam(1e-2, eps_root=1e-12)
    with_monitor = jax.grad(after_one_step)(params, optax.chain(other, adam))
    without = jax.grad(after_one_step)(params, adam)
    for a, b in zip(jax.tree_util.tree_leaves(with_monitor), jax.tree_util.tree_leaves(without)):
        assert bool(jnp.isfinite(a).all())
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_steps_in_the_state_block_are_read_when_the_state_is_given():
    import adamcheck.optax
    from adamcheck import AdamCheckError

    mon = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, coordinates=20, every=10**6, block_steps=4)
    opt = optax.chain(mon, optax.adam(1e-2))
    params = mlp(6, hidden=8)
    state = opt.init(params)
    step = jitted_step(opt, mlp_loss)
    states = []
    for x, y in batches(11, 8):
        params, state, _ = step(params, state, x, y)
        states.append(state)
    # blocks of 4 go to the host at the update after they fill: steps 1-8 by now; 9-11 are in the state
    rep = mon.report()
    assert rep.step == 8 and "pass the state" in " ".join(rep.notes)
    assert mon.report(states[8]).step == 9  # an older state: its block up to step 9
    mon.flush(states[-1])
    assert mon.report().step == 11 and mon.report(state).step == 11  # nothing recorded twice
    assert mon.monitor.recorder.rows.last()[1].tolist() == list(range(1, 12))
    assert not any("pass the state" in n for n in mon.report(state).notes)
    with pytest.raises(AdamCheckError, match="no adamcheck.optax.monitor state"):
        mon.report({"not": jnp.zeros(2)})
    with pytest.raises(AdamCheckError, match="block_steps"):
        adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, block_steps=0)
    other = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, coordinates=20, block_steps=5)
    other.init(params)
    with pytest.raises(AdamCheckError, match="not this monitor's"):
        other.update(params, state[0], params)


def test_an_internal_error_warns_once_switches_the_monitor_off_and_training_goes_on(monkeypatch):
    import adamcheck.monitor._host as host
    import adamcheck.optax

    def broken(window, settings):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(host, "analyse_window", broken)
    mon = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, every=5, coordinates=20)
    opt = optax.chain(mon, optax.adam(1e-2))
    params, _, losses, caught, rep = train(mlp(4, hidden=8), opt, mlp_loss, batches(30, 8), mon)
    assert len(losses) == 30 and losses[-1] < losses[0]  # training went on and trained
    internal = [w for w in caught if "internal error" in str(w.message)]
    assert len(internal) == 1 and "planted bug" in str(internal[0].message)
    assert not rep.enabled and rep.step == 5 and "switched off after an internal error" in str(rep)
    assert mon.analyse() is None


def test_a_non_finite_gradient_is_counted_and_left_out_while_the_jitted_loop_goes_on():
    import adamcheck.optax

    mon = adamcheck.optax.monitor(batch_size=8, b1=0.9, b2=0.999, every=10**6, coordinates=20)
    opt = optax.chain(mon, optax.adam(1e-2))

    def loss_fn(p, x, y):  # a NaN in the inputs of step 4 reaches the gradient
        return mlp_loss(p, x, y)

    data = batches(8, 8)
    x3 = data[3][0].copy()
    x3[0, 0] = np.nan
    data[3] = (x3, data[3][1])
    params, _, losses, caught, rep = train(mlp(5, hidden=8), opt, loss_fn, data, mon)
    assert len(losses) == 8 and not math.isfinite(losses[-1])  # the premise: Adam took the NaN and the run broke
    assert rep.step == 8 and rep.nonfinite_steps == 5 and np.isfinite(mon.monitor.recorder.rows.last()[0]).all()
    assert {"non_finite_gradient", "non_finite_loss"} <= rep.warning_kinds
    assert not [w for w in caught if "internal error" in str(w.message)]


def test_errors_of_use_are_raised_when_the_update_is_traced_or_the_monitor_built():
    import adamcheck.optax
    from adamcheck import AdamCheckError

    mon = adamcheck.optax.monitor(batch_size=4, b1=0.9, b2=0.999)
    params = {"w": jnp.zeros(3)}
    with pytest.raises(AdamCheckError, match="before opt.init"):
        mon.report()
    with pytest.raises(AdamCheckError, match="call init"):
        mon.update(params, None, params)
    opt = optax.chain(mon, optax.adam(1e-3))
    state = opt.init(params)
    with pytest.raises(AdamCheckError, match="scalar training loss"):
        jax.jit(lambda s: opt.update(params, s, params, value=jnp.ones(4)))(state)
    with pytest.raises(AdamCheckError, match="another structure"):
        opt.update({"w": jnp.zeros(4)}, state, params)
    with pytest.raises(AdamCheckError, match="another structure"):
        opt.init({"v": jnp.zeros(3)})
    with pytest.raises(AdamCheckError, match="no floating-point leaf"):
        adamcheck.optax.monitor(batch_size=4, b1=0.9, b2=0.999).init({"n": jnp.zeros(3, jnp.int32)})
    for bad in (dict(batch_size=0, b1=0.9, b2=0.9), dict(batch_size=4, b1=1.0, b2=0.9),
                dict(batch_size=4, b1=0.9, b2=0.9, every=-1), dict(batch_size=4, b1=0.9, b2=0.9, settings=3)):
        with pytest.raises(AdamCheckError):
            adamcheck.optax.monitor(**bad)
    with pytest.raises(TypeError):  # the betas are required: the monitor cannot read them from Adam
        adamcheck.optax.monitor(batch_size=4)
    assert mon.report().step == 0  # none of the refused calls was recorded


def test_leaves_are_named_by_their_key_paths_as_jax_writes_them():
    from typing import NamedTuple

    from adamcheck.optax._monitor import _leaf_name

    class Pair(NamedTuple):
        a: object
        b: object

    tree = {"params": {"Dense_0": {"kernel": jnp.zeros((2, 3))}}, "layers": [jnp.zeros(2), Pair(jnp.zeros(1), 1.0)]}
    for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]:
        # the independent route: jax's own key-path string, dotted
        assert _leaf_name(path) == jax.tree_util.keystr(path, simple=True, separator=".")
    assert _leaf_name(()) == "params"  # a bare array


def test_the_same_gradients_give_the_torch_monitor_the_same_records_analysis_and_warnings():
    """Independent route for the adapter: the gradients and losses of a jitted optax run at batch 1
    (beta1 0.9, beta2 0.5: spikes and a beta2* warning), given as they are to torch.optim.Adam with
    adamcheck.torch.GradientMonitor (which reads torch's own m and v instead of replaying them)."""
    torch = pytest.importorskip("torch", reason="the cross-check against the torch monitor needs torch")
    import warnings

    import adamcheck.optax
    from adamcheck.torch import GradientMonitor

    b1, b2, steps = 0.9, 0.5, 130
    opts = dict(coordinates=200, every=120, multiples=(1,), seed=3, warn=False)
    mon = adamcheck.optax.monitor(batch_size=1, b1=b1, b2=b2, **opts)
    opt = optax.chain(mon, optax.adam(1e-3, b1=b1, b2=b2))
    params = mlp(0)  # the digits MLP of tests/optax_tests/test_optax_monitor_runs.py: its first jump comes at step 58
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(mlp_loss)(params, x, y)
        updates, state = opt.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss, grads

    X, y = digits()
    order = np.random.default_rng(0).permutation(len(X))[:steps]
    fed = []
    for j in order:
        params, state, loss, grads = step(params, state, X[j : j + 1], y[j : j + 1])
        fed.append((float(loss), [np.asarray(g) for g in jax.tree_util.tree_leaves(grads)]))
    rep = mon.report(state)
    # the torch side: the leaves in the same order and names, their gradients assigned as computed
    names = [jax.tree_util.keystr(p, simple=True, separator=".") for p, _ in
             jax.tree_util.tree_flatten_with_path(params)[0]]
    tparams = [torch.nn.Parameter(torch.zeros(g.shape)) for g in fed[0][1]]
    topt = torch.optim.Adam(tparams, lr=1e-3, betas=(b1, b2), eps=1e-8)
    tmon = GradientMonitor(topt, batch_size=1, names=names, **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loss, leaves in fed:
            for p, g in zip(tparams, leaves):
                p.grad = torch.from_numpy(g.copy())
            tmon.observe_loss(loss)
            topt.step()
        trep = tmon.report()
    assert mon.sample.names == tmon.sample.names
    np.testing.assert_array_equal(mon.sample.index, tmon.sample.index)
    np.testing.assert_array_equal(mon.monitor.recorder.rows.last()[0], tmon.recorder.rows.last()[0])
    assert (rep.step, rep.analysed_step, rep.spikes) == (trep.step, trep.analysed_step, trep.spikes) == \
        (steps, 120, trep.spikes)
    assert rep.spikes > 0 and rep.beta2_critical == trep.beta2_critical > b2
    assert rep.warning_kinds == trep.warning_kinds and "beta2_below_critical" in rep.warning_kinds
    assert [(w.kind, w.step) for w in rep.warnings] == [(w.kind, w.step) for w in trep.warnings]
    for field in ("grad_norm_sq", "drift_ratio_median", "loss_mean", "loss_start", "direction_norm_last",
                  "direction_norm_max_ratio"):
        assert getattr(rep, field) == pytest.approx(getattr(trep, field), rel=1e-5), field
