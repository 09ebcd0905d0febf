"""Small JAX models for the adamcheck.optax tests: scikit-learn's digits, standardised, a
logistic regression and a 64-128-10 MLP initialised as torch.nn.Linear is (uniform in
+-1/sqrt(fan_in)), trained by a jitted step with the monitor chained before Adam.

A module of its own (not a folder named jax or optax, which would shadow the packages on
the test path); the test files that use it skip without jax first."""

from __future__ import annotations

import warnings

import numpy as np


def digits():
    """(X, y) as float32 / int arrays: 1,797 standardised 8x8 digits."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)).astype(np.float32)
    return X, y


def _uniform(key, shape, fan_in):
    import jax

    bound = 1.0 / np.sqrt(fan_in)
    return jax.random.uniform(key, shape, minval=-bound, maxval=bound)


def mlp(seed=0, hidden=128):
    import jax

    ka, kb, kc, kd = jax.random.split(jax.random.key(seed), 4)
    return {"l1": {"w": _uniform(ka, (64, hidden), 64), "b": _uniform(kb, (hidden,), 64)},
            "l2": {"w": _uniform(kc, (hidden, 10), hidden), "b": _uniform(kd, (10,), hidden)}}


def mlp_loss(p, x, y):
    import jax
    import optax

    h = jax.nn.relu(x @ p["l1"]["w"] + p["l1"]["b"])
    return optax.softmax_cross_entropy_with_integer_labels(h @ p["l2"]["w"] + p["l2"]["b"], y).mean()


def logistic(seed=0):
    import jax

    return {"w": _uniform(jax.random.key(seed), (64,), 64), "b": _uniform(jax.random.key(seed + 1), (), 64)}


def logistic_loss(p, x, y):
    import optax

    return optax.sigmoid_binary_cross_entropy(x @ p["w"] + p["b"], y).mean()


def jitted_step(opt, loss_fn):
    """One jitted training step: the loss goes to the monitor as optax's ``value``."""
    import jax
    import optax

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss

    return step


def train(params, opt, loss_fn, batches, mon=None):
    """Run the jitted step over ``batches`` ((x, y) pairs); the monitor's warnings are caught, up to
    its report when ``mon`` is given (read with the last state: the steps still in its block)."""
    from adamcheck._errors import AdamCheckWarning

    state = opt.init(params)
    step = jitted_step(opt, loss_fn)
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AdamCheckWarning)
        for x, y in batches:
            params, state, loss = step(params, state, x, y)
            losses.append(loss)
        report = mon.report(state) if mon is not None else None
    ours = [w for w in caught if issubclass(w.category, AdamCheckWarning)]
    return params, state, [float(v) for v in losses], ours, report
