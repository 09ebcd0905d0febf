"""``phase_sweep``: many Adam configurations of one real torch model, trained at once.

Every configuration (batch size B, learning rate, beta1, beta2, seed) is one copy of
the model. Copies of the same batch size are stacked (``torch.func.stack_module_state``)
and advanced together: one ``torch.func.vmap`` of ``functional_call`` + ``grad`` gives
every copy's mini-batch gradient, and a vectorised Adam/AdamW update, written out as
``torch.optim.Adam`` computes it (docs/theory.md section 6), moves the stacked parameters::

    t += 1;  g += wd * theta                         (Adam: coupled L2)
             theta *= 1 - lr_t * wd                  (AdamW: decoupled, instead)
    m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
    theta -= lr_t / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

with per-copy beta1, beta2 and lr (lr_t = lr * s_t, s_t the schedule). Copies of
different batch sizes cannot share a vmap (their batches differ in shape), so each
batch size is its own group, and a group is cut into chunks of at most ``chunk_size``
copies so that memory stays bounded.

Mini-batches are a pure function of (seed, step): with ``batching="rows"`` the rows
are permuted afresh every epoch (``sampling="reshuffle"``, a ``DataLoader`` with
``shuffle=True``) or taken in order (``"cyclic"``) and cut into consecutive batches;
with ``batching="fixed"`` batch i is rows [iB, (i+1)B) and the batch of each step is
drawn by the NumPy simulator's sampler (:func:`adamcheck.simulator.sample_components`),
so a logistic regression here and in :func:`adamcheck.simulator.simulate` sees the
same batches. :func:`sweep_batch_indices` returns the order of one run, to replay it in
a plain ``torch.optim`` loop.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import InvalidParameterError, ProblemError
from .._progress import Progress
from .._shown import shown_repr
from .._validate import (
    as_real_array,
    check_betas_array,
    check_finite_float,
    check_nonnegative_int,
    check_positive_int,
)
from ..simulator._outcomes import TrainingCriterion, loss_trend_t
from ..simulator._phase import PhaseGrid, RunRecords, majority_outcome
from ..simulator._sampling import _permutations, check_sampling, sample_components
from ..simulator._schedules import check_schedule, schedule_factors
from ..simulator._settings import phase_seeds

__all__ = ["phase_sweep", "sweep_batch_indices"]

#: |theta| beyond this counts as blown up (as the NumPy engine: 1e30 in float32).
_BLOWUP = {4: 1e30, 8: 1e150}
#: Steps of sampled batch indices prepared at once.
_ORDER_BLOCK = 256


# --- mini-batch order ---------------------------------------------------------------


def _steps_per_epoch(n_rows: int, batch_size: int, drop_last: bool) -> int:
    return n_rows // batch_size if drop_last else -(-n_rows // batch_size)


class _Order:
    """Row indices of every step for a set of seeds (one batch size)."""

    def __init__(self, n_rows: int, batch_size: int, seeds: np.ndarray, sampling: str, batching: str,
                 drop_last: bool):
        self.N, self.B, self.seeds = n_rows, batch_size, np.asarray(seeds, dtype=np.int64)
        self.sampling, self.batching = sampling, batching
        self.n = _steps_per_epoch(n_rows, batch_size, drop_last)
        self._epoch = -1
        self._perm: np.ndarray | None = None
        self._block_start = 0
        self._comps: np.ndarray | None = None

    def rows(self, t: int) -> list[np.ndarray] | np.ndarray:
        """Step t (1-based): (seeds, b) array when all batches have one size, else a list."""
        k = t - 1
        if self.batching == "rows":
            e, pos = divmod(k, self.n)
            if e != self._epoch:
                self._epoch = e
                if self.sampling == "cyclic":
                    self._perm = np.broadcast_to(np.arange(self.N), (self.seeds.size, self.N))
                else:
                    self._perm = _permutations(self.seeds, np.array([e]), self.N)[0]
            return self._perm[:, pos * self.B : min((pos + 1) * self.B, self.N)]
        if self._comps is None or not (self._block_start <= t < self._block_start + _ORDER_BLOCK):
            self._block_start = t
            self._comps = sample_components(self.n, self.sampling, self.seeds, t, _ORDER_BLOCK)
        comp = self._comps[t - self._block_start]
        starts = comp * self.B
        stops = np.minimum(starts + self.B, self.N)
        if np.all(stops - starts == stops[0] - starts[0]):
            return starts[:, None] + np.arange(stops[0] - starts[0])[None, :]
        return [np.arange(a, b) for a, b in zip(starts, stops)]


def sweep_batch_indices(
    n_rows: int,
    batch_size: int,
    seed: int,
    steps: int,
    *,
    sampling: str = "reshuffle",
    batching: str = "rows",
    drop_last: bool = False,
) -> list[np.ndarray]:
    """The rows of every mini-batch of one :func:`phase_sweep` run, step 1 to ``steps``.

    Use it to replay a sweep's run in a plain ``torch.optim`` loop (the tests do).

    Example:
        >>> [b.tolist() for b in sweep_batch_indices(5, 2, 0, 3, sampling="cyclic")]
        [[0, 1], [2, 3], [4]]
        >>> a = sweep_batch_indices(10, 5, 3, 2)
        >>> sorted(np.concatenate(a).tolist()) == list(range(10))  # one epoch: every row once
        True
    """
    n_rows = check_positive_int(n_rows, "n_rows")
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_positive_int(steps, "steps")
    _check_modes(sampling, batching)
    order = _Order(n_rows, batch_size, np.array([check_nonnegative_int(seed, "seed")]), sampling, batching,
                   bool(drop_last))
    out = []
    for t in range(1, steps + 1):
        r = order.rows(t)
        out.append(np.array(r[0]))
    return out


def _check_modes(sampling: str, batching: str) -> None:
    if not isinstance(batching, str) or batching not in ("rows", "fixed"):
        raise InvalidParameterError(f"unknown batching {shown_repr(batching)}: choose rows or fixed")
    check_sampling(sampling)
    if batching == "rows" and sampling == "replacement":
        raise InvalidParameterError(
            "sampling 'replacement' draws whole fixed batches: use batching='fixed' with it, "
            "or sampling 'reshuffle' or 'cyclic'"
        )


# --- inputs -------------------------------------------------------------------------


def _as_tensor(a: Any, name: str, torch: Any, dtype: Any, device: Any) -> Any:
    t = a if isinstance(a, torch.Tensor) else None
    if t is None:
        try:
            t = torch.as_tensor(np.array(a))
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"{name} must be a tensor or an array ({exc})") from None
    if t.ndim == 0:
        raise InvalidParameterError(f"{name} is a scalar: give one row per example (shape (N, ...))")
    if t.is_floating_point():
        if not bool(torch.isfinite(t).all()):
            raise InvalidParameterError(f"{name} holds NaN or inf values: clean the data first")
        t = t.to(dtype)
    # integer inputs stay integers, as a DataLoader hands them over: token ids feed embeddings
    try:
        return t.to(device)
    except (RuntimeError, AssertionError, TypeError, ValueError) as exc:  # e.g. CUDA not available
        raise InvalidParameterError(f"cannot move {name} to device {shown_repr(str(device))}: "
                                    f"{shown_repr(str(exc), 160)}") from None


def _device(device: Any, torch: Any) -> Any:
    """``device`` as a torch.device, refusing what torch cannot name or this machine lacks."""
    if not isinstance(device, (str, int, torch.device)) or isinstance(device, bool):
        raise InvalidParameterError(f"device = {shown_repr(device)} is not a device: give 'cpu', 'cuda' or 'cuda:0'")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InvalidParameterError(f"device = {shown_repr(device)} is not a device torch knows "
                                    f"({shown_repr(str(exc), 120)}): give 'cpu', 'cuda' or 'cuda:0'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device = {shown_repr(device)}: CUDA is not available here; use 'cpu'")
    return dev


def _pair(data: Any, name: str, torch: Any, dtype: Any, device: Any) -> tuple[Any, Any]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidParameterError(f"{name} must be a pair (X, y) of tensors or arrays with one row per example")
    X = _as_tensor(data[0], f"{name}[0] (X)", torch, dtype, device)
    y = _as_tensor(data[1], f"{name}[1] (y)", torch, dtype, device)
    if X.shape[0] != y.shape[0]:
        raise InvalidParameterError(f"{name} has {X.shape[0]} rows of X but {y.shape[0]} of y: give one target per row")
    return X, y


def _seed_list(seeds: Any) -> np.ndarray:
    """The simulator's seeds (a count or a list), which a sweep also needs distinct: two runs of
    one seed would be one run stacked twice."""
    if isinstance(seeds, bool):  # not a count: phase_seeds would read True as 1
        raise InvalidParameterError(
            f"seeds = {shown_repr(seeds)} is neither a count nor a list of seeds: give e.g. 4 or [0, 1, 2]")
    out = phase_seeds(seeds)
    if np.unique(out).size != out.size:
        raise InvalidParameterError("seeds repeats a value: give distinct seeds")
    return out


def _axis(values: Any, name: str, positive_float: bool = False) -> np.ndarray:
    arr = np.atleast_1d(as_real_array(values, name, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"{name} must be a number or a non-empty 1-D list")
    if positive_float and not (np.isfinite(arr).all() and (arr > 0).all()):
        raise InvalidParameterError(f"{name} must hold positive finite numbers, got {arr.tolist()}")
    return arr


def _trainable_names(names: list[str], trainable: Sequence[str] | None) -> list[str]:
    """The parameter names selected by ``trainable`` (exact names or dotted prefixes), in model order."""
    if trainable is None:
        return names
    if isinstance(trainable, str):
        trainable = [trainable]
    wanted = [str(t) for t in trainable]
    if not wanted:
        raise InvalidParameterError("trainable is empty: name at least one parameter (or pass None to train all)")
    picked = []
    for w in wanted:
        hit = [n for n in names if n == w or n.startswith(w.rstrip(".") + ".")]
        if not hit:
            close = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
            raise InvalidParameterError(f"trainable names {w!r}, which matches no parameter of the model ({close})")
        picked.extend(hit)
    return [n for n in names if n in set(picked)]


def _default_eval(out: Any, target: Any) -> Any:
    """Accuracy: argmax for several outputs, sign of one logit for a binary target."""
    if out.ndim >= 2 and out.shape[-1] > 1:
        return (out.argmax(-1) == target).to(out.dtype).mean()
    return ((out.reshape(target.shape) > 0).to(out.dtype) == target.to(out.dtype)).to(out.dtype).mean()


@dataclass
class _Context:
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
    frozen: dict[str, Any] | None = None


def _initial_state(model_fn: Callable, seed: int, torch: Any, dtype: Any, device: Any, ref: Any):
    try:
        model = model_fn(int(seed))
    except Exception as exc:  # the user's code: report it as their error, in one line
        raise ProblemError(f"model_fn({seed}) raised {type(exc).__name__}: {exc}; fix model_fn") from None
    if not isinstance(model, torch.nn.Module):
        raise ProblemError(f"model_fn({seed}) returned {type(model).__name__}, not a torch.nn.Module")
    model = model.to(device=device, dtype=dtype)
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    buffers = {k: b.detach().clone() for k, b in model.named_buffers()}
    if not params:
        raise ProblemError(f"model_fn({seed}) returned a model without parameters: nothing to train")
    if ref is not None:
        shapes = {k: tuple(v.shape) for k, v in params.items()}
        if shapes != ref:
            raise ProblemError(
                f"model_fn({seed}) returned parameters {shapes} unlike the first seed's {ref}: "
                "make model_fn build the same architecture for every seed"
            )
    return model, params, buffers


def _activation_numel(model: Any, x1: Any, torch: Any) -> int:
    """Numbers every sub-module outputs for one example (a memory estimate)."""
    total = [0]

    def hook(_mod: Any, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            total[0] += out.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(x1)
    except Exception as exc:
        raise ProblemError(
            f"the model cannot run on one row of X ({type(exc).__name__}: {exc}): check the shapes of X"
        ) from None
    finally:
        for h in handles:
            h.remove()
    return max(total[0], int(x1.numel()))


# --- the vectorised computations ----------------------------------------------------


def _functions(ctx: _Context):
    torch = ctx.torch
    from torch.func import functional_call, grad_and_value, vmap

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
    from torch.func import vmap

    return vmap(ctx.loss_fn, in_dims=(0, None))(out, ys)


def _eval_metric(ctx: _Context, fns, params, buffers) -> Any:
    torch, _, _, full_out = fns
    from torch.func import vmap

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


def _train_chunk(
    ctx: _Context,
    fns,
    order: _Order,
    seed_pos: np.ndarray,
    seeds: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    lr: np.ndarray,
    steps: int,
    record: np.ndarray,
    bar: Progress,
    keep_params: bool = False,
) -> _ChunkResult:
    torch, step_grad, _, _ = fns
    K = seeds.size
    params = {n: torch.stack([ctx.init[int(s)][0][n] for s in seeds]) for n in ctx.names}
    buffers = {n: torch.stack([ctx.init[int(s)][1][n] for s in seeds]) for n in ctx.buffer_names}
    m = {n: torch.zeros_like(p) for n, p in params.items()}
    v = {n: torch.zeros_like(p) for n, p in params.items()}
    shape = {n: (K,) + (1,) * (p.ndim - 1) for n, p in params.items()}
    tt = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), device=ctx.device).to(ctx.dtype)  # noqa: E731
    omb1 = tt(1.0 - b1)
    b2_t, omb2 = tt(b2), tt(1.0 - b2)
    eps = ctx.eps
    wd = ctx.weight_decay
    limit = _BLOWUP[torch.empty((), dtype=ctx.dtype).element_size()]

    loss0, g0 = _run_guarded(_full_loss, ctx, fns, params, buffers, ctx.grad_norms)
    trace = np.full((K, record.size), np.nan)
    trace[:, 0] = loss0.cpu().numpy()
    finite = np.isfinite(trace[:, 0])
    nonfinite_step = np.where(finite, -1, 0)
    rec_pos = 1
    sched = schedule_factors(ctx.schedule, 1, steps, order.n) if steps else np.zeros(0)

    for t in range(1, steps + 1):
        rows = order.rows(t)
        if isinstance(rows, np.ndarray):
            idx = torch.as_tensor(rows[seed_pos], device=ctx.device)
            grads, _ = _run_guarded(step_grad, params, buffers, ctx.X[idx], ctx.y[idx]) if t == 1 else \
                step_grad(params, buffers, ctx.X[idx], ctx.y[idx])
        else:  # fixed batches of unequal length: one vmap per length
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
        lr_t = lr * sched[t - 1]
        # Scalars as torch.optim.Adam forms them: Python doubles, rounded to dtype once.
        step_size = tt(-(lr_t / (1.0 - b1**t)))
        bc2_sqrt = tt(np.sqrt(1.0 - b2**t))
        decay = tt(1.0 - lr_t * wd) if (wd and ctx.decoupled) else None
        with torch.no_grad():
            for n, p in params.items():
                sh = shape[n]
                g = grads[n]
                if wd:
                    if ctx.decoupled:
                        p.mul_(decay.view(sh))
                    else:
                        g = g.add(p, alpha=wd)
                m[n].lerp_(g, omb1.view(sh))
                v[n].mul_(b2_t.view(sh)).addcmul_(g * omb2.view(sh), g)
                denom = (v[n].sqrt() / bc2_sqrt.view(sh)).add_(eps)
                p.addcdiv_(m[n] * step_size.view(sh), denom)
        bar.update()
        if rec_pos < record.size and t == record[rec_pos]:
            loss, _ = _full_loss(ctx, fns, params, buffers, False)
            trace[:, rec_pos] = loss.cpu().numpy()
            with torch.no_grad():
                ok = torch.ones(K, dtype=torch.bool, device=ctx.device)
                for p in params.values():
                    flat = p.reshape(K, -1)
                    ok &= torch.isfinite(flat).all(1) & (flat.abs() <= limit).all(1)
            ok_np = ok.cpu().numpy() & np.isfinite(trace[:, rec_pos])
            newly = finite & ~ok_np
            nonfinite_step[newly] = t
            finite &= ok_np
            rec_pos += 1
    gf = np.full(K, np.nan)
    if ctx.grad_norms:
        _, gnorm = _full_loss(ctx, fns, params, buffers, True)
        gf = gnorm.detach().cpu().numpy()
    metric = None
    if ctx.eval_X is not None:
        metric = _eval_metric(ctx, fns, params, buffers).cpu().numpy()
    with np.errstate(invalid="ignore"):
        best = np.where(np.isnan(trace), np.inf, trace).min(axis=1)
    return _ChunkResult(
        initial=trace[:, 0].copy(),
        final=trace[:, -1].copy(),
        best=best,
        finite=finite,
        nonfinite_step=nonfinite_step,
        g0=g0.detach().cpu().numpy() if g0 is not None else np.full(K, np.nan),
        gf=gf,
        metric=metric,
        trace=trace,
        params={n: p.detach().cpu().numpy() for n, p in params.items()} if keep_params else None,
    )


# --- the public function ------------------------------------------------------------


def phase_sweep(
    model_fn: Callable[[int], Any],
    loss_fn: Callable[[Any, Any], Any],
    data: tuple[Any, Any],
    *,
    batch_sizes: Sequence[int] | int,
    beta1: Sequence[float] | float,
    beta2: Sequence[float] | float,
    lr: Sequence[float] | float,
    seeds: int | Sequence[int] = 1,
    steps: int | None = None,
    epochs: int | None = None,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    eps: float = 1e-8,
    schedule: str = "constant",
    sampling: str = "reshuffle",
    batching: str = "rows",
    drop_last: bool = False,
    dtype: Any = None,
    device: Any = "cpu",
    eval_data: tuple[Any, Any] | None = None,
    eval_fn: Callable[[Any, Any], Any] | None = None,
    record_every: int | None = None,
    grad_norms: bool = True,
    reference_loss: float | None = None,
    criterion: TrainingCriterion | None = None,
    chunk_size: int | None = None,
    memory_limit: int = 1 << 30,
    keep_params: bool = False,
    progress: bool = True,
    title: str | None = None,
    trainable: Sequence[str] | None = None,
) -> PhaseGrid:
    """Train every (batch size, lr, beta1, beta2, seed) copy of a torch model; label each run.

    Copy (B, lr, beta1, beta2, seed) starts from the parameters of ``model_fn(seed)``
    (one initialisation per seed, shared across batch sizes, lrs and betas: common
    random numbers), draws the mini-batches of ``seed`` at batch size B and takes Adam
    steps (AdamW with ``decoupled``) computed as ``torch.optim.Adam`` computes them (see
    the module docstring): the result equals a loop of ``torch.optim.Adam`` over the
    configurations with the same batches (:func:`sweep_batch_indices`) up to rounding
    (tests: 1e-10 relative in float64, 1e-5 in float32, on an MLP and a CNN).

    Each run is judged by :func:`adamcheck.simulator.classify_training` from its full
    training loss at the start, at the end and at its best, its full-gradient norms and
    whether it blew up; a cell's label is the majority over seeds (ties undecided).

    Args:
        model_fn: seed -> ``torch.nn.Module``; the same architecture for every seed,
            deterministic (no dropout) and not updating buffers in forward.
        loss_fn: (output, target) -> the mean loss of a batch, a 0-d tensor (e.g.
            ``torch.nn.functional.cross_entropy``); it is vmapped over copies.
        data: (X, y) training data, tensors or arrays with one row per example.
        batch_sizes, beta1, beta2, lr: the axes (numbers or lists); beta in [0, 1).
        seeds: a count (seeds 0..n-1) or a list of distinct seeds.
        steps, epochs: the budget, exactly one of them: the same number of steps at
            every batch size, or the same number of passes over the data
            (epochs * ceil(N/B) steps; N // B with ``drop_last``). The grid records which.
        weight_decay, decoupled, eps: as ``torch.optim.Adam`` (``decoupled``: AdamW).
        schedule: ``constant``, ``inv-sqrt`` (lr/sqrt(t), Zhang et al. 2026) or
            ``inv-sqrt-epoch``; the lr of step t is lr * s_t.
        sampling, batching, drop_last: the mini-batch order (module docstring).
        dtype: ``torch.float32`` (default) or ``torch.float64``.
        device: where to train (``"cpu"``, ``"cuda"``...).
        eval_data, eval_fn: optional held-out (X, y) and (output, target) -> mean metric
            (default: accuracy); its final value per run goes to ``records.eval_metric``.
        record_every: full training loss every this many steps (default steps // 50);
            the best loss is the lowest of these records, and the trend of the
            second half's records (:func:`adamcheck.simulator.loss_trend_t`) feeds the
            criterion as the simulator's checkpoints do.
        grad_norms: measure the full-gradient norm at the start and the end.
        reference_loss: the optimum or a lower bound of the loss (0 for cross-entropy),
            handed to the criterion; None: each run's own best loss.
        criterion: thresholds of the labels (:class:`adamcheck.simulator.TrainingCriterion`).
        chunk_size: at most this many copies advance together (default: as many as fit
            ``memory_limit`` bytes by an estimate of parameters, Adam state and activations).
        memory_limit: bytes the default ``chunk_size`` and the row chunks of the
            full-data loss aim at (an estimate, not a hard cap).
        keep_params: keep every run's final parameters in ``records.final_params``
            (memory grows with the number of runs).
        progress: a progress bar on stderr (only when stderr is a terminal).
        title: a title for plots.
        trainable: names of the parameters to train (a name, or a prefix such as
            ``"blocks.1"`` that selects every parameter under it); the others keep
            their initial values, are shared by every copy (not stacked: memory grows
            with the trained parameters only) and must be the same for every seed.
            None trains every parameter. Gradient norms are those of the trained ones.

    Returns:
        A :class:`adamcheck.simulator.PhaseGrid` with batch-size and lr axes: ``outcome``
        is (len(batch_sizes), len(lr), len(beta2), len(beta1)), ``per_seed`` has the seeds
        in front, ``steps`` the steps at each batch size, ``budget`` ``"steps"`` or
        ``"epochs"``, ``records`` the per-run losses, traces and reasons.

    Raises:
        InvalidParameterError: a bad axis, budget, dtype or data shape.
        ProblemError: ``model_fn`` or ``loss_fn`` unusable (wrong type, differing
            architectures, not runnable under ``torch.func.vmap``).

    Example:
        >>> import torch
        >>> from adamcheck.torch import phase_sweep
        >>> X = torch.linspace(-1, 1, 32).reshape(-1, 1); y = 3 * X[:, 0]
        >>> def model_fn(seed):
        ...     torch.manual_seed(seed); return torch.nn.Linear(1, 1)
        >>> loss = lambda out, t: ((out[:, 0] - t) ** 2).mean()
        >>> g = phase_sweep(model_fn, loss, (X, y), batch_sizes=[4], beta1=0.9, beta2=[0.99],
        ...                 lr=0.05, steps=200, seeds=2, reference_loss=0.0, progress=False)
        >>> g.outcome.shape, str(g.outcome[0, 0, 0, 0])
        ((1, 1, 1, 1), 'converged')

    References:
        torch.optim.Adam / AdamW (PyTorch 2.x, single-tensor path); Zhang et al. 2026
        (arXiv:2603.02092), Figure 2.4, for the phase diagram.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - the package needs torch
        raise InvalidParameterError("phase_sweep needs torch: pip install 'adamcheck[torch]'") from None

    dtype = torch.float32 if dtype is None else dtype
    if not any(dtype is d for d in (torch.float32, torch.float64)):  # torch dtypes are singletons
        raise InvalidParameterError(f"dtype {shown_repr(dtype)} is not supported: use torch.float32 or torch.float64")
    device = _device(device, torch)
    if not callable(model_fn) or not callable(loss_fn):
        raise InvalidParameterError("model_fn and loss_fn must be callables (seed -> Module, (out, y) -> loss)")
    _check_modes(sampling, batching)
    schedule = check_schedule(schedule)
    if (steps is None) == (epochs is None):
        raise InvalidParameterError("give exactly one budget: steps= (same steps at every batch size) or epochs=")
    budget = "steps" if steps is not None else "epochs"
    if steps is not None:
        steps = check_positive_int(steps, "steps")
    else:
        epochs = check_positive_int(epochs, "epochs")
    bsizes = np.atleast_1d(as_real_array(batch_sizes, "batch_sizes"))
    if bsizes.ndim != 1 or bsizes.size == 0:
        raise InvalidParameterError("batch_sizes must be a positive integer or a non-empty list of them")
    bsizes = np.array([check_positive_int(b, "batch size") for b in bsizes.tolist()], dtype=np.int64)
    if np.unique(bsizes).size != bsizes.size:
        raise InvalidParameterError("batch_sizes repeats a value: give distinct batch sizes")
    b1_axis = check_betas_array(beta1, "beta1")
    b2_axis = check_betas_array(beta2, "beta2")
    lr_axis = _axis(lr, "lr", positive_float=True)
    seed_list = _seed_list(seeds)
    wd = check_finite_float(weight_decay, "weight_decay")
    if not wd >= 0:
        raise InvalidParameterError(f"weight_decay = {weight_decay} must be zero or positive")
    eps = check_finite_float(eps, "eps")
    if not eps >= 0:
        raise InvalidParameterError(f"eps = {eps} must be zero or positive, such as 1e-8")
    if record_every is not None:
        record_every = check_positive_int(record_every, "record_every")
    if chunk_size is not None:
        chunk_size = check_positive_int(chunk_size, "chunk_size")
    memory_limit = check_positive_int(memory_limit, "memory_limit")
    if criterion is not None and not isinstance(criterion, TrainingCriterion):
        raise InvalidParameterError(f"criterion must be an adamcheck.simulator.TrainingCriterion, got "
                                    f"{type(criterion).__name__}")
    criterion = criterion or TrainingCriterion()
    if reference_loss is not None:
        reference_loss = check_finite_float(reference_loss, "reference_loss")

    X, y = _pair(data, "data", torch, dtype, device)
    N = int(X.shape[0])
    if bsizes.max() > N:
        raise InvalidParameterError(f"batch size {int(bsizes.max())} is larger than the data ({N} rows): use at most {N}")
    eX = ey = None
    if eval_data is not None:
        eX, ey = _pair(eval_data, "eval_data", torch, dtype, device)
    if eval_fn is not None and eval_data is None:
        raise InvalidParameterError("eval_fn needs eval_data=(X_eval, y_eval)")

    init: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    ref_shapes = None
    model0 = None
    for s in seed_list:
        model, params, buffers = _initial_state(model_fn, int(s), torch, dtype, device, ref_shapes)
        if ref_shapes is None:
            ref_shapes = {k: tuple(v.shape) for k, v in params.items()}
            model0 = model
        init[int(s)] = (params, buffers)
    names = _trainable_names(list(ref_shapes), trainable)
    frozen: dict[str, Any] = {}
    if len(names) < len(ref_shapes):
        first = init[int(seed_list[0])][0]
        for n in ref_shapes:
            if n in names:
                continue
            if any(not torch.equal(init[int(s)][0][n], first[n]) for s in seed_list[1:]):
                raise InvalidParameterError(
                    f"parameter {n!r} is frozen (not in trainable) but model_fn builds it differently for each "
                    "seed: freeze only parameters every seed shares (or train it)"
                )
            frozen[n] = first[n]
            for s in seed_list:
                del init[int(s)][0][n]
    buffer_names = list(init[int(seed_list[0])][1])
    n_params = sum(int(np.prod(ref_shapes[n])) for n in names)
    act = _activation_numel(model0, X[:1], torch)
    item = torch.empty((), dtype=dtype).element_size()
    base = copy.deepcopy(model0).to("meta")

    per_copy = item * (6 * n_params + 3 * int(bsizes.max()) * act) + 1
    chunk = chunk_size or max(1, int(memory_limit // per_copy))
    eval_rows = max(1, min(N, int(memory_limit // (3 * item * act * min(chunk, 1 << 16)))))

    ctx = _Context(
        torch=torch, base=base, names=names, buffer_names=buffer_names, init=init, loss_fn=loss_fn,
        X=X, y=y, eval_X=eX, eval_y=ey, eval_fn=(eval_fn or _default_eval) if eX is not None else None,
        dtype=dtype, device=device, eval_rows=eval_rows, decoupled=bool(decoupled), weight_decay=wd,
        eps=eps, schedule=schedule, grad_norms=bool(grad_norms), frozen=frozen,
    )
    fns = _functions(ctx)

    NB, NL, R2, R1, S = bsizes.size, lr_axis.size, b2_axis.size, b1_axis.size, seed_list.size
    full = (S, NB, NL, R2, R1)
    initial, final, best = (np.full(full, np.nan) for _ in range(3))
    finite = np.zeros(full, dtype=bool)
    nonfinite_step = np.full(full, -1, dtype=np.int64)
    g0_all, gf_all = np.full(full, np.nan), np.full(full, np.nan)
    trend_all = np.full(full, np.nan)
    metric_all = np.full(full, np.nan) if eX is not None else None
    steps_per_b = np.array([
        steps if budget == "steps" else epochs * _steps_per_epoch(N, int(B), drop_last) for B in bsizes
    ], dtype=np.int64)
    if (steps_per_b == 0).any():
        raise InvalidParameterError("with drop_last every batch size must be at most the number of rows")
    traces: list[np.ndarray] = []
    final_params: dict[str, np.ndarray] = {}
    trace_steps: list[np.ndarray] = []
    # Configurations of a batch-size group, in the order (seed, lr, beta2, beta1).
    combos = np.array(list(itertools.product(range(S), range(NL), range(R2), range(R1))), dtype=np.int64)
    total_work = int(sum(steps_per_b) * combos.shape[0])
    with Progress(total=total_work, label="phase_sweep", enabled=progress) as bar:
        for ib, B in enumerate(bsizes):
            T = int(steps_per_b[ib])
            every = record_every or max(1, T // 50)
            record = np.unique(np.concatenate([np.arange(0, T + 1, every), [T]]))
            trace_b = np.full((S, NL, R2, R1, record.size), np.nan)
            for a in range(0, combos.shape[0], chunk):
                c = combos[a : a + chunk]
                iS, iL, i2, i1 = c.T
                seeds_c = seed_list[iS]
                useeds, spos = np.unique(seeds_c, return_inverse=True)
                order = _Order(N, int(B), useeds, sampling, batching, bool(drop_last))
                res = _train_chunk(ctx, fns, order, spos, seeds_c, b1_axis[i1], b2_axis[i2], lr_axis[iL], T,
                                   record, bar, keep_params)
                at = (iS, np.full_like(iS, ib), iL, i2, i1)
                initial[at], final[at], best[at] = res.initial, res.final, res.best
                finite[at], nonfinite_step[at] = res.finite, res.nonfinite_step
                g0_all[at], gf_all[at] = res.g0, res.gf
                if metric_all is not None:
                    metric_all[at] = res.metric
                trace_b[iS, iL, i2, i1] = res.trace
                if keep_params:
                    for n, arr in res.params.items():
                        if n not in final_params:
                            final_params[n] = np.full(full + arr.shape[1:], np.nan, dtype=arr.dtype)
                        final_params[n][at] = arr
            factors = schedule_factors(schedule, 1, T, _steps_per_epoch(N, int(B), drop_last))
            trend_all[:, ib] = loss_trend_t(record, trace_b, factors, T)
            traces.append(trace_b)
            trace_steps.append(record)

    per_seed, reason = criterion.apply(
        initial, final, best, finite,
        grad_norm=gf_all if grad_norms else None,
        initial_grad_norm=g0_all if grad_norms else None,
        reference_loss=reference_loss,
        trend_t=trend_all,
    )
    label, diverged, converged = majority_outcome(per_seed)
    records = RunRecords(
        initial_loss=initial, final_loss=final, best_loss=best, finite=finite, nonfinite_step=nonfinite_step,
        grad_norm_initial=g0_all, grad_norm_final=gf_all, reason=reason, eval_metric=metric_all,
        loss_trend_t=trend_all,
        loss_trace=tuple(traces), trace_steps=tuple(trace_steps),
        final_params=final_params if keep_params else None,
    )
    settings = {
        "problem": {"name": "torch", "model": type(model0).__name__, "parameters": n_params, "rows": N},
        "eps": eps,
        "weight_decay": wd,
        "decoupled_weight_decay": bool(decoupled),
        "convention": "torch",
        "schedule": schedule,
        "sampling": sampling,
        "batching": batching,
        "drop_last": bool(drop_last),
        "dtype": str(dtype).replace("torch.", ""),
        "reference_loss": reference_loss,
        "criterion": {"rise_factor": criterion.rise_factor, "min_decrease": criterion.min_decrease,
                      "min_relative_decrease": criterion.min_relative_decrease,
                      "stationary": criterion.stationary, "trend_threshold": criterion.trend_threshold},
        "chunk_size": int(chunk),
        "trainable": None if not frozen else list(names),
    }
    if title:
        settings["title"] = title
    return PhaseGrid(
        beta1=b1_axis, beta2=b2_axis, outcome=label, diverged=diverged, converged=converged,
        per_seed=per_seed, seeds=seed_list, settings=settings, batch_size=bsizes, lr=lr_axis,
        steps=steps_per_b, budget=budget, records=records,
    )
