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
from ..simulator._outcomes import TrainingCriterion, loss_trend_t
from ..simulator._phase import PhaseGrid, RunRecords, majority_outcome
from ..simulator._schedules import schedule_factors
from ._sweep_order import _Order, _steps_per_epoch, sweep_batch_indices
from ._sweep_settings import SweepSettings
from ._sweep_train import _Chunk, _ChunkResult, _Context, _functions, _train_chunk

__all__ = ["SweepSettings", "phase_sweep", "run_sweep", "sweep_batch_indices"]


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



def _pair(data: Any, name: str, torch: Any, dtype: Any, device: Any) -> tuple[Any, Any]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidParameterError(f"{name} must be a pair (X, y) of tensors or arrays with one row per example")
    X = _as_tensor(data[0], f"{name}[0] (X)", torch, dtype, device)
    y = _as_tensor(data[1], f"{name}[1] (y)", torch, dtype, device)
    if X.shape[0] != y.shape[0]:
        raise InvalidParameterError(f"{name} has {X.shape[0]} rows of X but {y.shape[0]} of y: give one target per row")
    return X, y



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



@dataclass
class _Models:
    """The model of every seed: the first seed's module, each seed's initial parameters and
    buffers, the trained names and the frozen parameters all copies share."""

    model0: Any
    init: dict[int, tuple[dict[str, Any], dict[str, Any]]]
    names: list[str]
    frozen: dict[str, Any]
    n_params: int

    @property
    def buffer_names(self) -> list[str]:
        return list(next(iter(self.init.values()))[1])


def _models(model_fn: Callable, settings: SweepSettings, torch: Any) -> _Models:
    """Build ``model_fn(seed)`` for every seed; split off the frozen parameters (``trainable``)."""
    seed_list, dtype, device = settings.seeds, settings.dtype, settings.device
    init: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    ref_shapes = None
    model0 = None
    for s in seed_list:
        model, params, buffers = _initial_state(model_fn, int(s), torch, dtype, device, ref_shapes)
        if ref_shapes is None:
            ref_shapes = {k: tuple(v.shape) for k, v in params.items()}
            model0 = model
        init[int(s)] = (params, buffers)
    names = _trainable_names(list(ref_shapes), settings.trainable)
    frozen = _frozen(init, list(ref_shapes), names, seed_list, torch)
    n_params = sum(int(np.prod(ref_shapes[n])) for n in names)
    return _Models(model0=model0, init=init, names=names, frozen=frozen, n_params=n_params)


def _frozen(init: dict[int, Any], all_names: list[str], names: list[str], seed_list: np.ndarray,
            torch: Any) -> dict[str, Any]:
    """The parameters not trained, taken out of ``init``; each must be the same for every seed."""
    frozen: dict[str, Any] = {}
    if len(names) == len(all_names):
        return frozen
    first = init[int(seed_list[0])][0]
    for n in all_names:
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
    return frozen


def _inputs(data: Any, eval_data: Any, eval_fn: Any, settings: SweepSettings, torch: Any) -> tuple[Any, ...]:
    """(X, y, X_eval, y_eval) as tensors of the sweep's dtype on its device (None, None without eval_data)."""
    X, y = _pair(data, "data", torch, settings.dtype, settings.device)
    N = int(X.shape[0])
    if settings.batch_sizes.max() > N:
        raise InvalidParameterError(f"batch size {int(settings.batch_sizes.max())} is larger than the data ({N} rows): "
                                    f"use at most {N}")
    eX = ey = None
    if eval_data is not None:
        eX, ey = _pair(eval_data, "eval_data", torch, settings.dtype, settings.device)
    if eval_fn is not None and eval_data is None:
        raise InvalidParameterError("eval_fn needs eval_data=(X_eval, y_eval)")
    return X, y, eX, ey


def _context(models: _Models, loss_fn: Callable, tensors: tuple[Any, ...], eval_fn: Any,
             settings: SweepSettings, torch: Any) -> tuple[_Context, int]:
    """The shared state of the training loop, and the chunk size (copies advanced together)."""
    X, y, eX, ey = tensors
    N = int(X.shape[0])
    act = _activation_numel(models.model0, X[:1], torch)
    item = torch.empty((), dtype=settings.dtype).element_size()
    base = copy.deepcopy(models.model0).to("meta")
    # an estimate: parameters, gradients, Adam's two moments and scratch, plus activations
    per_copy = item * (6 * models.n_params + 3 * int(settings.batch_sizes.max()) * act) + 1
    chunk = settings.chunk_size or max(1, int(settings.memory_limit // per_copy))
    eval_rows = max(1, min(N, int(settings.memory_limit // (3 * item * act * min(chunk, 1 << 16)))))
    ctx = _Context(
        torch=torch, base=base, names=models.names, buffer_names=models.buffer_names, init=models.init,
        loss_fn=loss_fn, X=X, y=y, eval_X=eX, eval_y=ey, eval_fn=(eval_fn or _default_eval) if eX is not None else None,
        dtype=settings.dtype, device=settings.device, eval_rows=eval_rows, decoupled=settings.decoupled,
        weight_decay=settings.weight_decay, eps=settings.eps, schedule=settings.schedule,
        grad_norms=settings.grad_norms, keep_params=settings.keep_params, frozen=models.frozen,
    )
    return ctx, chunk


def _steps_per_batch(settings: SweepSettings, n_rows: int) -> np.ndarray:
    """The steps at each batch size: ``steps``, or ``epochs`` passes over ``n_rows`` rows."""
    out = np.array([
        settings.steps if settings.budget == "steps" else
        settings.epochs * _steps_per_epoch(n_rows, int(B), settings.drop_last) for B in settings.batch_sizes
    ], dtype=np.int64)
    if (out == 0).any():
        raise InvalidParameterError("with drop_last every batch size must be at most the number of rows")
    return out


class _Tables:
    """Every run's measurements, shaped (seeds, batch sizes, lrs, beta2, beta1), filled chunk by chunk."""

    def __init__(self, full: tuple[int, ...], with_metric: bool):
        self.full = full
        self.initial, self.final, self.best = (np.full(full, np.nan) for _ in range(3))
        self.finite = np.zeros(full, dtype=bool)
        self.nonfinite_step = np.full(full, -1, dtype=np.int64)
        self.g0, self.gf = np.full(full, np.nan), np.full(full, np.nan)
        self.trend = np.full(full, np.nan)
        self.metric = np.full(full, np.nan) if with_metric else None
        self.final_params: dict[str, np.ndarray] = {}
        self.traces: list[np.ndarray] = []
        self.trace_steps: list[np.ndarray] = []

    def store(self, at: tuple[np.ndarray, ...], res: _ChunkResult) -> None:
        self.initial[at], self.final[at], self.best[at] = res.initial, res.final, res.best
        self.finite[at], self.nonfinite_step[at] = res.finite, res.nonfinite_step
        self.g0[at], self.gf[at] = res.g0, res.gf
        if self.metric is not None:
            self.metric[at] = res.metric
        for n, arr in (res.params or {}).items():
            if n not in self.final_params:
                self.final_params[n] = np.full(self.full + arr.shape[1:], np.nan, dtype=arr.dtype)
            self.final_params[n][at] = arr


def _train_batch_size(ctx: _Context, fns, settings: SweepSettings, ib: int, steps: int, chunk: int,
                      tables: _Tables, bar: Progress) -> None:
    """Train every configuration at the ``ib``-th batch size, ``chunk`` copies at a time."""
    s = settings
    B, N = int(s.batch_sizes[ib]), int(ctx.X.shape[0])
    every = s.record_every or max(1, steps // 50)
    record = np.unique(np.concatenate([np.arange(0, steps + 1, every), [steps]]))
    trace_b = np.full((s.seeds.size, s.lr.size, s.beta2.size, s.beta1.size, record.size), np.nan)
    # Configurations of a batch-size group, in the order (seed, lr, beta2, beta1).
    combos = np.array(list(itertools.product(*(range(n) for n in trace_b.shape[:4]))), dtype=np.int64)
    for a in range(0, combos.shape[0], chunk):
        iS, iL, i2, i1 = combos[a : a + chunk].T
        seeds_c = s.seeds[iS]
        useeds, spos = np.unique(seeds_c, return_inverse=True)
        order = _Order(N, B, useeds, s.sampling, s.batching, s.drop_last)
        res = _train_chunk(ctx, fns, order, _Chunk(seeds_c, spos, s.beta1[i1], s.beta2[i2], s.lr[iL]), steps,
                           record, bar)
        tables.store((iS, np.full_like(iS, ib), iL, i2, i1), res)
        trace_b[iS, iL, i2, i1] = res.trace
    factors = schedule_factors(s.schedule, 1, steps, _steps_per_epoch(N, B, s.drop_last))
    tables.trend[:, ib] = loss_trend_t(record, trace_b, factors, steps)
    tables.traces.append(trace_b)
    tables.trace_steps.append(record)


def _settings_record(settings: SweepSettings, models: _Models, n_rows: int, chunk: int) -> dict[str, Any]:
    """The grid's ``settings``: what a reader needs to know how the runs were made."""
    s, criterion = settings, settings.criterion
    out = {
        "problem": {"name": "torch", "model": type(models.model0).__name__, "parameters": models.n_params,
                    "rows": n_rows},
        "eps": s.eps,
        "weight_decay": s.weight_decay,
        "decoupled_weight_decay": s.decoupled,
        "convention": "torch",
        "schedule": s.schedule,
        "sampling": s.sampling,
        "batching": s.batching,
        "drop_last": s.drop_last,
        "dtype": str(s.dtype).replace("torch.", ""),
        "reference_loss": s.reference_loss,
        "criterion": {"rise_factor": criterion.rise_factor, "min_decrease": criterion.min_decrease,
                      "min_relative_decrease": criterion.min_relative_decrease,
                      "stationary": criterion.stationary, "trend_threshold": criterion.trend_threshold},
        "chunk_size": int(chunk),
        "trainable": None if not models.frozen else list(models.names),
    }
    if s.title:
        out["title"] = s.title
    return out


def _phase_grid(settings: SweepSettings, tables: _Tables, steps_per_b: np.ndarray,
                record: dict[str, Any]) -> PhaseGrid:
    """Judge every run (:meth:`TrainingCriterion.apply`), take the majority over seeds."""
    s, t = settings, tables
    per_seed, reason = s.criterion.apply(
        t.initial, t.final, t.best, t.finite,
        grad_norm=t.gf if s.grad_norms else None,
        initial_grad_norm=t.g0 if s.grad_norms else None,
        reference_loss=s.reference_loss,
        trend_t=t.trend,
    )
    label, diverged, converged = majority_outcome(per_seed)
    records = RunRecords(
        initial_loss=t.initial, final_loss=t.final, best_loss=t.best, finite=t.finite,
        nonfinite_step=t.nonfinite_step, grad_norm_initial=t.g0, grad_norm_final=t.gf, reason=reason,
        eval_metric=t.metric, loss_trend_t=t.trend, loss_trace=tuple(t.traces), trace_steps=tuple(t.trace_steps),
        final_params=t.final_params if s.keep_params else None,
    )
    return PhaseGrid(
        beta1=s.beta1, beta2=s.beta2, outcome=label, diverged=diverged, converged=converged,
        per_seed=per_seed, seeds=s.seeds, settings=record, batch_size=s.batch_sizes, lr=s.lr,
        steps=steps_per_b, budget=s.budget, records=records,
    )


# --- the public functions -----------------------------------------------------------


def run_sweep(
    model_fn: Callable[[int], Any],
    loss_fn: Callable[[Any, Any], Any],
    data: tuple[Any, Any],
    settings: SweepSettings,
    *,
    eval_data: tuple[Any, Any] | None = None,
    eval_fn: Callable[[Any, Any], Any] | None = None,
) -> PhaseGrid:
    """:func:`phase_sweep` with its options as one :class:`SweepSettings` (checked when built).

    ``model_fn``, ``loss_fn``, ``data``, ``eval_data`` and ``eval_fn`` are those of
    :func:`phase_sweep`, as are the result and the errors raised.

    Example:
        >>> import torch
        >>> from adamcheck.torch import SweepSettings, run_sweep
        >>> X = torch.linspace(-1, 1, 32).reshape(-1, 1); y = 3 * X[:, 0]
        >>> def model_fn(seed):
        ...     torch.manual_seed(seed); return torch.nn.Linear(1, 1)
        >>> loss = lambda out, t: ((out[:, 0] - t) ** 2).mean()
        >>> s = SweepSettings(batch_sizes=[4], beta1=0.9, beta2=[0.99], lr=0.05, steps=200, seeds=2,
        ...                   reference_loss=0.0, progress=False)
        >>> str(run_sweep(model_fn, loss, (X, y), s).outcome[0, 0, 0, 0])
        'converged'

    References:
        torch.optim.Adam / AdamW (PyTorch 2.x, single-tensor path); Zhang et al. 2026
        (arXiv:2603.02092), Figure 2.4, for the phase diagram.
    """
    if not isinstance(settings, SweepSettings):
        raise InvalidParameterError(f"settings must be an adamcheck.torch.SweepSettings, got {type(settings).__name__} "
                                    "(or call phase_sweep with keywords)")
    if not callable(model_fn) or not callable(loss_fn):
        raise InvalidParameterError("model_fn and loss_fn must be callables (seed -> Module, (out, y) -> loss)")
    import torch  # optional: torch

    tensors = _inputs(data, eval_data, eval_fn, settings, torch)
    models = _models(model_fn, settings, torch)
    ctx, chunk = _context(models, loss_fn, tensors, eval_fn, settings, torch)
    fns = _functions(ctx)
    N = int(ctx.X.shape[0])
    steps_per_b = _steps_per_batch(settings, N)
    s = settings
    tables = _Tables((s.seeds.size, s.batch_sizes.size, s.lr.size, s.beta2.size, s.beta1.size), ctx.eval_X is not None)
    configurations = s.seeds.size * s.lr.size * s.beta2.size * s.beta1.size
    with Progress(total=int(sum(steps_per_b) * configurations), label="phase_sweep", enabled=s.progress) as bar:
        for ib in range(s.batch_sizes.size):
            _train_batch_size(ctx, fns, s, ib, int(steps_per_b[ib]), chunk, tables, bar)
    return _phase_grid(s, tables, steps_per_b, _settings_record(s, models, N, chunk))


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
    settings = SweepSettings(
        batch_sizes=batch_sizes, beta1=beta1, beta2=beta2, lr=lr, seeds=seeds, steps=steps, epochs=epochs,
        weight_decay=weight_decay, decoupled=decoupled, eps=eps, schedule=schedule, sampling=sampling,
        batching=batching, drop_last=drop_last, dtype=dtype, device=device, record_every=record_every,
        grad_norms=grad_norms, reference_loss=reference_loss, criterion=criterion, chunk_size=chunk_size,
        memory_limit=memory_limit, keep_params=keep_params, progress=progress, title=title, trainable=trainable,
    )
    return run_sweep(model_fn, loss_fn, data, settings, eval_data=eval_data, eval_fn=eval_fn)
