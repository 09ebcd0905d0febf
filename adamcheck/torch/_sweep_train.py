"""The vectorised training of :func:`~adamcheck.torch.phase_sweep`: one chunk of stacked copies.

A chunk is up to ``chunk_size`` copies of one batch size. One backward pass through a
``torch.func.vmap`` of ``functional_call`` gives every copy's mini-batch gradient, and
:class:`_AdamState` moves the stacked parameters as ``torch.optim.Adam`` would (the
update is written out in the docstring of :mod:`adamcheck.torch._sweep`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._errors import ProblemError
from .._progress import Progress
from ..simulator._schedules import schedule_factors
from ._sweep_order import _Order

#: |theta| beyond this counts as blown up (as the NumPy engine: 1e30 in float32).
_BLOWUP = {4: 1e30, 8: 1e150}


@dataclass
class _Context:
    """What every chunk of one sweep shares: the model's meta copy, the initial states per
    seed, the data and the options the training loop reads."""

    torch: Any
    base: Any
    names: list[str]
    buffer_names: list[str]
    init: dict[int, tuple[dict[str, Any], dict[str, Any]]]
    loss_fn: Callable
    X: Any
    y: Any
    eval_X: Any
    eval_y: Any
    eval_fn: Callable | None
    dtype: Any
    device: Any
    eval_rows: int
    decoupled: bool
    weight_decay: float
    eps: float
    schedule: str
    grad_norms: bool
    keep_params: bool = False
    frozen: dict[str, Any] | None = None


# --- the vectorised computations ----------------------------------------------------


def _functions(ctx: _Context):
    torch = ctx.torch
    from torch.func import functional_call, grad_and_value, vmap  # optional: torch

    frozen = ctx.frozen or {}

    # Frozen parameters (``trainable``) are one tensor shared by every copy, closed over
    # here rather than stacked: vmap treats them as constants.
    def loss_one(params, buffers, x, y):
        out = functional_call(ctx.base, ({**params, **frozen}, buffers), (x,))
        return ctx.loss_fn(out, y)

    def out_one(params, buffers, x):
        return functional_call(ctx.base, ({**params, **frozen}, buffers), (x,))

    batched_out = vmap(out_one, in_dims=(0, 0, 0))
    batched_loss = vmap(ctx.loss_fn, in_dims=(0, 0))

    def step_grad(params, buffers, xb, yb):
        # Copies are independent, so the gradient of the summed losses with respect to
        # the stacked parameters is every copy's own gradient; one backward pass through
        # the vmapped forward is much cheaper than vmap(grad(...)) per step.
        leaves = {n: p.detach().requires_grad_(True) for n, p in params.items()}
        with torch.enable_grad():
            losses = batched_loss(batched_out(leaves, buffers, xb), yb)
            grads = torch.autograd.grad(losses.sum(), list(leaves.values()))
        return dict(zip(leaves, grads)), losses.detach()

    full_grad = vmap(grad_and_value(loss_one), in_dims=(0, 0, None, None))
    full_out = vmap(out_one, in_dims=(0, 0, None))
    return torch, step_grad, full_grad, full_out


def _full_loss(ctx: _Context, fns, params, buffers, want_grad: bool):
    """Mean loss over all rows of X per copy (row chunks weighted by size), and the
    full-gradient norm when asked."""
    torch, _, full_grad, full_out = fns
    N = ctx.X.shape[0]
    K = next(iter(params.values())).shape[0]
    total = torch.zeros(K, dtype=torch.float64, device=ctx.device)
    gsum = None
    for a in range(0, N, ctx.eval_rows):
        xs, ys = ctx.X[a : a + ctx.eval_rows], ctx.y[a : a + ctx.eval_rows]
        w = xs.shape[0] / N
        if want_grad:
            g, val = full_grad(params, buffers, xs, ys)
            gsum = {k: w * v.double() for k, v in g.items()} if gsum is None else {
                k: gsum[k] + w * g[k].double() for k in g}
        else:
            with torch.no_grad():
                val = _vloss(ctx, full_out(params, buffers, xs), ys)
        total += w * val.double().detach()
    gnorm = None
    if want_grad:
        sq = sum(v.reshape(K, -1).pow(2).sum(1) for v in gsum.values())
        gnorm = sq.sqrt()
    return total, gnorm


def _vloss(ctx: _Context, out: Any, ys: Any) -> Any:
    from torch.func import vmap  # optional: torch

    return vmap(ctx.loss_fn, in_dims=(0, None))(out, ys)


def _eval_metric(ctx: _Context, fns, params, buffers) -> Any:
    torch, _, _, full_out = fns
    from torch.func import vmap  # optional: torch

    N = ctx.eval_X.shape[0]
    K = next(iter(params.values())).shape[0]
    total = torch.zeros(K, dtype=torch.float64, device=ctx.device)
    with torch.no_grad():
        for a in range(0, N, ctx.eval_rows):
            xs, ys = ctx.eval_X[a : a + ctx.eval_rows], ctx.eval_y[a : a + ctx.eval_rows]
            out = full_out(params, buffers, xs)
            val = vmap(ctx.eval_fn, in_dims=(0, None))(out, ys)
            total += (xs.shape[0] / N) * val.double()
    return total


def _run_guarded(fn: Callable, *args: Any) -> Any:
    try:
        return fn(*args)
    except RuntimeError as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ProblemError(
            f"the model or loss_fn cannot run under torch.func.vmap ({msg}): use a deterministic model "
            "(no dropout) that does not update buffers in forward (batch-norm in eval mode), and a "
            "loss_fn that returns the mean loss of a batch"
        ) from None


@dataclass
class _ChunkResult:
    initial: np.ndarray
    final: np.ndarray
    best: np.ndarray
    finite: np.ndarray
    nonfinite_step: np.ndarray
    g0: np.ndarray
    gf: np.ndarray
    metric: np.ndarray | None
    trace: np.ndarray  # (K, T)
    params: dict[str, np.ndarray] | None


@dataclass(frozen=True)
class _Chunk:
    """The configurations trained together: each one's seed (and that seed's row in the
    order's seed list), beta1, beta2 and lr."""

    seeds: np.ndarray
    seed_pos: np.ndarray
    b1: np.ndarray
    b2: np.ndarray
    lr: np.ndarray


def _stacked_state(ctx: _Context, seeds: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every copy's initial parameters and buffers, stacked along a leading copy axis."""
    torch = ctx.torch
    params = {n: torch.stack([ctx.init[int(s)][0][n] for s in seeds]) for n in ctx.names}
    buffers = {n: torch.stack([ctx.init[int(s)][1][n] for s in seeds]) for n in ctx.buffer_names}
    return params, buffers


class _AdamState:
    """The stacked moments of a chunk and its update, in torch.optim.Adam's arithmetic."""

    def __init__(self, ctx: _Context, params: dict[str, Any], chunk: _Chunk):
        torch = ctx.torch
        K = chunk.seeds.size
        self.ctx, self.b1, self.b2, self.lr = ctx, chunk.b1, chunk.b2, chunk.lr
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}
        self.shape = {n: (K,) + (1,) * (p.ndim - 1) for n, p in params.items()}
        self.omb1 = self._tensor(1.0 - chunk.b1)
        self.b2_t, self.omb2 = self._tensor(chunk.b2), self._tensor(1.0 - chunk.b2)

    def _tensor(self, a: Any) -> Any:
        return self.ctx.torch.as_tensor(np.asarray(a, dtype=np.float64), device=self.ctx.device).to(self.ctx.dtype)

    def step(self, params: dict[str, Any], grads: dict[str, Any], t: int, factor: float) -> None:
        """Step ``t`` (1-based) at learning rate ``lr * factor``, in place."""
        ctx = self.ctx
        wd, eps = ctx.weight_decay, ctx.eps
        lr_t = self.lr * factor
        # Scalars as torch.optim.Adam forms them: Python doubles, rounded to dtype once.
        step_size = self._tensor(-(lr_t / (1.0 - self.b1**t)))
        bc2_sqrt = self._tensor(np.sqrt(1.0 - self.b2**t))
        decay = self._tensor(1.0 - lr_t * wd) if (wd and ctx.decoupled) else None
        m, v = self.m, self.v
        with ctx.torch.no_grad():
            for n, p in params.items():
                sh = self.shape[n]
                g = grads[n]
                if wd:
                    if ctx.decoupled:
                        p.mul_(decay.view(sh))
                    else:
                        g = g.add(p, alpha=wd)
                m[n].lerp_(g, self.omb1.view(sh))
                v[n].mul_(self.b2_t.view(sh)).addcmul_(g * self.omb2.view(sh), g)
                denom = (v[n].sqrt() / bc2_sqrt.view(sh)).add_(eps)
                p.addcdiv_(m[n] * step_size.view(sh), denom)


def _step_grads(ctx: _Context, fns, rows: Any, seed_pos: np.ndarray, params: dict[str, Any],
                buffers: dict[str, Any], guarded: bool) -> dict[str, Any]:
    """Every copy's gradient on its mini-batch ``rows`` (guarded: a vmap failure is the user's)."""
    torch, step_grad, _, _ = fns
    if isinstance(rows, np.ndarray):
        idx = torch.as_tensor(rows[seed_pos], device=ctx.device)
        if guarded:
            return _run_guarded(step_grad, params, buffers, ctx.X[idx], ctx.y[idx])[0]
        return step_grad(params, buffers, ctx.X[idx], ctx.y[idx])[0]
    # fixed batches of unequal length: one vmap per length
    grads = {n: torch.empty_like(p) for n, p in params.items()}
    lengths = np.array([r.size for r in rows])[seed_pos]
    for L in np.unique(lengths):
        sel = np.flatnonzero(lengths == L)
        sel_t = torch.as_tensor(sel, device=ctx.device)
        idx = torch.as_tensor(np.stack([rows[seed_pos[i]] for i in sel]), device=ctx.device)
        g, _ = _run_guarded(
            step_grad,
            {n: p[sel_t] for n, p in params.items()},
            {n: b[sel_t] for n, b in buffers.items()},
            ctx.X[idx], ctx.y[idx],
        )
        for n in grads:
            grads[n][sel_t] = g[n]
    return grads


def _finite_params(ctx: _Context, params: dict[str, Any], limit: float) -> np.ndarray:
    """Per copy: every parameter finite and within ``limit``."""
    torch = ctx.torch
    K = next(iter(params.values())).shape[0]
    with torch.no_grad():
        ok = torch.ones(K, dtype=torch.bool, device=ctx.device)
        for p in params.values():
            flat = p.reshape(K, -1)
            ok &= torch.isfinite(flat).all(1) & (flat.abs() <= limit).all(1)
    return ok.cpu().numpy()


class _Trace:
    """The full training loss at the record steps, and when each copy stopped being finite."""

    def __init__(self, loss0: np.ndarray, record: np.ndarray):
        self.record = record
        self.loss = np.full((loss0.size, record.size), np.nan)
        self.loss[:, 0] = loss0
        self.finite = np.isfinite(self.loss[:, 0])
        self.nonfinite_step = np.where(self.finite, -1, 0)
        self.pos = 1

    def due(self, t: int) -> bool:
        return self.pos < self.record.size and t == self.record[self.pos]

    def add(self, t: int, loss: np.ndarray, params_ok: np.ndarray) -> None:
        self.loss[:, self.pos] = loss
        ok = params_ok & np.isfinite(self.loss[:, self.pos])
        newly = self.finite & ~ok
        self.nonfinite_step[newly] = t
        self.finite &= ok
        self.pos += 1


def _train_chunk(ctx: _Context, fns, order: _Order, chunk: _Chunk, steps: int, record: np.ndarray,
                 bar: Progress) -> _ChunkResult:
    """Train the copies of ``chunk`` for ``steps`` steps on ``order``'s mini-batches."""
    torch = ctx.torch
    params, buffers = _stacked_state(ctx, chunk.seeds)
    adam = _AdamState(ctx, params, chunk)
    limit = _BLOWUP[torch.empty((), dtype=ctx.dtype).element_size()]
    loss0, g0 = _run_guarded(_full_loss, ctx, fns, params, buffers, ctx.grad_norms)
    trace = _Trace(loss0.cpu().numpy(), record)
    sched = schedule_factors(ctx.schedule, 1, steps, order.n) if steps else np.zeros(0)
    for t in range(1, steps + 1):
        grads = _step_grads(ctx, fns, order.rows(t), chunk.seed_pos, params, buffers, guarded=t == 1)
        adam.step(params, grads, t, sched[t - 1])
        bar.update()
        if trace.due(t):
            loss, _ = _full_loss(ctx, fns, params, buffers, False)
            trace.add(t, loss.cpu().numpy(), _finite_params(ctx, params, limit))
    return _chunk_result(ctx, fns, params, buffers, trace, g0)


def _chunk_result(ctx: _Context, fns, params: dict[str, Any], buffers: dict[str, Any], trace: _Trace,
                  g0: Any) -> _ChunkResult:
    """The end of a chunk: final gradient norms and metric, the best loss, the kept parameters."""
    K = trace.loss.shape[0]
    gf = np.full(K, np.nan)
    if ctx.grad_norms:
        _, gnorm = _full_loss(ctx, fns, params, buffers, True)
        gf = gnorm.detach().cpu().numpy()
    metric = None
    if ctx.eval_X is not None:
        metric = _eval_metric(ctx, fns, params, buffers).cpu().numpy()
    with np.errstate(invalid="ignore"):
        best = np.where(np.isnan(trace.loss), np.inf, trace.loss).min(axis=1)
    return _ChunkResult(
        initial=trace.loss[:, 0].copy(),
        final=trace.loss[:, -1].copy(),
        best=best,
        finite=trace.finite,
        nonfinite_step=trace.nonfinite_step,
        g0=g0.detach().cpu().numpy() if g0 is not None else np.full(K, np.nan),
        gf=gf,
        metric=metric,
        trace=trace.loss,
        params={n: p.detach().cpu().numpy() for n, p in params.items()} if ctx.keep_params else None,
    )
