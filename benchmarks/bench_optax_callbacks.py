"""Why adamcheck.optax.monitor hands its blocks over with ``jax.pure_callback``: the per-step CPU
cost of JAX callback designs on a tiny jitted optax step (CPU jax), against the same step without
any, measured in the same run.

Sides (each a transformation chained before ``optax.adamw`` on the digits-sized MLP 64-128-10,
batch 32; the callbacks' host end does nothing):

* ``plain``: ``optax.adamw`` alone (the peer);
* ``chain``: an identity transformation with a small state (the chain's own dispatch);
* ``buffer``: a row of 4,096 values written into a (32, 4,096) buffer in the state each step;
* ``buffer+io_callback/32``: the same, and ``io_callback`` with the buffer once in 32 steps (``lax.cond``);
* ``io_callback/step``: ``io_callback`` with the row every step;
* ``buffer+pure_callback/32``: the buffer, and ``pure_callback`` once in 32 steps, its answer used;
* ``monitor``: ``adamcheck.optax.monitor`` at its defaults (its host work included).

XLA runs on one CPU thread. Times are CPU seconds of this process per step (median of blocks).

Run:  python benchmarks/bench_optax_callbacks.py [--blocks 6] [--block 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

N, K = 32, 4096


def side(kind: str):
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from jax.experimental import io_callback

    def init(params):
        return jnp.zeros([], jnp.int32), jnp.zeros((N, K))

    def update(updates, state, params=None, **extra):
        count, buf = state
        if kind == "chain":
            return updates, state
        row = jnp.concatenate([leaf.reshape(-1) for leaf in jax.tree_util.tree_leaves(updates)])[:K]
        if kind == "io_callback/step":
            io_callback(lambda *a: None, None, row, ordered=False)
            return updates, (count + 1, buf)
        buf = buf.at[count % N].set(row)
        full = count % N == N - 1
        if kind == "buffer+io_callback/32":
            jax.lax.cond(full, lambda b: io_callback(lambda *a: None, None, b, ordered=False), lambda b: None, buf)
        elif kind == "buffer+pure_callback/32":
            zero = jax.ShapeDtypeStruct((), jnp.int32)
            ack = jax.lax.cond(full, lambda b: jax.pure_callback(lambda *a: np.zeros((), np.int32), zero, b),
                               lambda b: jnp.zeros([], jnp.int32), buf)
            count = count + ack  # the answer is used, as the monitor's is
        return updates, (count + 1, buf)

    return optax.GradientTransformationExtraArgs(init, update)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--block", type=int, default=200)
    args = ap.parse_args()
    import jax
    import numpy as np
    import optax

    import adamcheck.optax
    from bench_optax_monitor import loss_fn, mlp

    rng = np.random.default_rng(0)
    x = jax.device_put(rng.standard_normal((32, 64)).astype(np.float32))
    y = jax.device_put(rng.integers(0, 10, 32).astype(np.int32))
    adamw = lambda: optax.adamw(1e-3, b1=0.9, b2=0.95)  # noqa: E731
    sides = {"plain": adamw()}
    for kind in ("chain", "buffer", "buffer+io_callback/32", "io_callback/step", "buffer+pure_callback/32"):
        sides[kind] = optax.chain(side(kind), adamw())
    sides["monitor"] = optax.chain(adamcheck.optax.monitor(batch_size=32, b1=0.9, b2=0.95, warn=False), adamw())
    runs = {}
    for name, opt in sides.items():
        @jax.jit
        def step(p, s, x, y, opt=opt):
            loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
            updates, s = opt.update(grads, s, p, value=loss)
            return optax.apply_updates(p, updates), s, loss

        p = mlp([64, 128, 10], 0)
        s = opt.init(p)
        for _ in range(3):
            p, s, loss = step(p, s, x, y)
        jax.block_until_ready(loss)
        runs[name] = [step, p, s, []]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.blocks):
            for name, run in runs.items():  # alternating, so machine noise hits every side alike
                step, p, s, times = run
                t = time.process_time()
                for _ in range(args.block):
                    p, s, loss = step(p, s, x, y)
                jax.block_until_ready((p, s, loss))
                jax.effects_barrier()
                times.append((time.process_time() - t) / args.block)
                run[1:3] = [p, s]
    base = statistics.median(runs["plain"][3])
    print(f"jax {jax.__version__}, digits-sized MLP, {args.blocks} blocks of {args.block} steps per side")
    for name, run in runs.items():
        t = statistics.median(run[3])
        print(f"  {name:24s} {t * 1e6:6.0f} us CPU a step  ({t / base - 1:+.0%}, {(t - base) * 1e6:+.0f} us)")


if __name__ == "__main__":
    main()
