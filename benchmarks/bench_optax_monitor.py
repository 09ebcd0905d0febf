"""Cost of adamcheck.optax.monitor on jitted optax training steps (CPU jax), as a ratio against
the same jitted step without it, measured in the same run.

Two identical MLPs train on the same batches with ``optax.adamw``, one with
``optax.chain(adamcheck.optax.monitor(...), optax.adamw(...))`` at the monitor's defaults
(4,096 coordinates, told the planned steps; its analyses where its schedule puts them: first
at 10% of the planned steps, at most step 200, then as its 2% cost budget allows), in
alternating blocks so machine noise hits both alike. Each side is compiled and warmed up
before timing; a block ends when its last step's results are ready (the monitor's callback,
once every 32 steps, runs inside the step that makes them), so the host work is inside the block.

A third side runs the monitor's jitted part alone: the same gather, block in the state and
callback, with a host end that does nothing, so the figures tell jax's part from the monitor's
host work. Reported per model: the total overhead (time of all blocks with / without - 1, analyses
included), the per-step overhead (median of paired blocks without an analysis), the analyses
and the monitor's own accounting. Two models: the digits-sized MLP (64-128-10, batch 32,
d = 9,610: a step of well under a millisecond, the worst case for a fixed per-step cost) and a
wider MLP (256-1024-1024-10, batch 64, d = 1,324,042).

XLA runs on one CPU thread (set before jax is imported): a shared 2-core machine, one thread
for both sides of each ratio. Times are CPU seconds of this process (``time.process_time``)
and wall seconds; on a busy machine read the CPU ratio.

Run:  python benchmarks/bench_optax_monitor.py [--steps 2000] [--wide-steps 1000] [--block 50]
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

# before jax is imported: one XLA CPU thread (see the module docstring)
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def mlp(widths: list[int], seed: int):
    import jax

    keys = jax.random.split(jax.random.key(seed), len(widths) - 1)
    params = []
    for key, a, b in zip(keys, widths[:-1], widths[1:]):
        bound = 1.0 / a**0.5  # torch.nn.Linear's initialisation
        kw, kb = jax.random.split(key)
        params.append({"w": jax.random.uniform(kw, (a, b), minval=-bound, maxval=bound),
                       "b": jax.random.uniform(kb, (b,), minval=-bound, maxval=bound)})
    return params


def loss_fn(params, x, y):
    import jax
    import optax

    h = x
    for layer in params[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def make_step(opt):
    import jax
    import optax

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss

    return step


def bench(name: str, widths: list[int], batch: int, steps: int, block_size: int) -> dict:
    import jax
    import numpy as np
    import optax

    import adamcheck.optax

    rng = np.random.default_rng(0)
    # a learnable task: labels from a fixed random linear map of the inputs
    X = rng.standard_normal((64 * batch, widths[0])).astype(np.float32)
    y = np.argmax(X @ rng.standard_normal((widths[0], widths[-1])), axis=1).astype(np.int32)
    data = [(jax.device_put(X[i * batch : (i + 1) * batch]), jax.device_put(y[i * batch : (i + 1) * batch]))
            for i in range(64)]
    mon = adamcheck.optax.monitor(batch_size=batch, b1=0.9, b2=0.95, learning_rate=1e-3, weight_decay=1e-4,
                                  planned_steps=steps, warn=False)
    # the third side: the monitor's jitted part alone (the same gather, block and callback, whose
    # host end does nothing), to tell jax's part from the monitor's host work
    bare = adamcheck.optax.monitor(batch_size=batch, b1=0.9, b2=0.95, planned_steps=steps, warn=False)
    bare.monitor._callback = lambda *args, **kwargs: np.zeros((), np.int32)  # the new fill, as the real one
    opts = [optax.adamw(1e-3, b1=0.9, b2=0.95, weight_decay=1e-4),
            optax.chain(mon, optax.adamw(1e-3, b1=0.9, b2=0.95, weight_decay=1e-4)),
            optax.chain(bare, optax.adamw(1e-3, b1=0.9, b2=0.95, weight_decay=1e-4))]
    params = [mlp(widths, 0) for _ in opts]
    states = [opts[i].init(params[i]) for i in range(3)]
    step_fns = [make_step(o) for o in opts]
    d = sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params[0]))

    # compile and warm up every side; the warm-up's outputs (and the rows in them) are thrown away
    x0, y0 = data[0]
    for i in range(3):
        for _ in range(3):
            jax.block_until_ready(step_fns[i](params[i], states[i], x0, y0))
    jax.effects_barrier()

    def block(i: int, start: int, count: int) -> tuple[float, float]:
        c, w = time.process_time(), time.perf_counter()
        p, s = params[i], states[i]
        for k in range(start, start + count):
            x, yy = data[k % 64]
            p, s, loss = step_fns[i](p, s, x, yy)
        jax.block_until_ready((p, s, loss))
        params[i], states[i] = p, s
        return time.process_time() - c, time.perf_counter() - w

    plain, watched, callback, analysed = [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(0, steps, block_size):
            count = min(block_size, steps - k)
            before = len(mon.monitor.analyses)
            plain.append(block(0, k, count))
            watched.append(block(1, k, count))
            callback.append(block(2, k, count))
            # an analysis runs in the callback of the step that reaches it: inside the block
            analysed.append(len(mon.monitor.analyses) > before)
        rep = mon.report(states[1])  # the steps still in the state's block
    assert rep.step == steps, (rep.step, steps)  # every timed step was recorded

    def ratios(j: int, side: list) -> tuple[float, float]:
        total = sum(b[j] for b in side) / sum(a[j] for a in plain) - 1
        quiet = [b[j] / a[j] for a, b, an in zip(plain, side, analysed) if not an]
        return total, (statistics.median(quiet) - 1 if quiet else float("nan"))

    (cpu_total, cpu_step), (wall_total, wall_step) = ratios(0, watched), ratios(1, watched)
    (cb_cpu, _), (cb_wall, _) = ratios(0, callback), ratios(1, callback)
    per_step_ms = sum(a[0] for a in plain) / steps * 1e3
    print(f"{name}: d = {d:,}, batch {batch}, {mon.monitor.k} coordinates, {steps} steps in {len(plain)} "
          f"alternating blocks; jitted step without the monitor {per_step_ms:.3f} ms CPU")
    print(f"  total overhead, analyses included: {cpu_total:+.1%} CPU, {wall_total:+.1%} wall")
    print(f"  per step (median of {sum(not a for a in analysed)} paired blocks without an analysis): "
          f"{cpu_step:+.1%} CPU, {wall_step:+.1%} wall")
    print(f"  of which the jitted gather, block and callback alone (a no-op host end): {cb_cpu:+.1%} CPU, {cb_wall:+.1%} wall "
          f"({(sum(b[0] for b in callback) - sum(a[0] for a in plain)) / steps * 1e6:.0f} us CPU per step)")
    c = mon.monitor.costs
    print(f"  analyses at steps {[a.step for a in mon.monitor.analyses]}; next planned: {rep.next_analysis}")
    print(f"  the monitor's own accounting (wall clock): {c.spent_seconds:.2f} s = "
          f"{(c.share or float('nan')):.1%} of its measured training time {c.train_seconds:.1f} s "
          f"(budget {mon.monitor.settings.budget:.0%}; host records {c.record_seconds * 1e6:.0f} us per step)")
    return {"name": name, "total_cpu": cpu_total, "per_step_cpu": cpu_step, "callback_cpu": cb_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="steps of the digits-sized MLP (0: skip)")
    ap.add_argument("--wide-steps", type=int, default=1000, help="steps of the wider MLP (0: skip)")
    ap.add_argument("--block", type=int, default=50)
    args = ap.parse_args()
    import jax

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, XLA_FLAGS={os.environ['XLA_FLAGS']!r}")
    if args.steps:
        bench("digits-sized MLP 64-128-10", [64, 128, 10], 32, args.steps, args.block)
    if args.wide_steps:
        bench("wider MLP 256-1024-1024-10", [256, 1024, 1024, 10], 64, args.wide_steps, args.block)


if __name__ == "__main__":
    main()
