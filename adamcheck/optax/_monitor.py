"""The training monitor as an optax gradient transformation: :func:`monitor`.

Put it in the chain right before the Adam transformation, so that it sees the gradient
Adam sees, and tell it Adam's betas::

    mon = adamcheck.optax.monitor(batch_size=32, b1=0.9, b2=0.999)
    opt = optax.chain(mon, optax.adamw(1e-3, b1=0.9, b2=0.999))
    ...
    updates, state = opt.update(grads, state, params, value=loss)   # value: optional, free
    ...
    print(mon.report(state)); mon.save("monitor.npz", state)   # then: adamcheck recommend --gradients monitor.npz

It passes the updates through unchanged. What it records and concludes is what
:class:`adamcheck.torch.GradientMonitor` records and concludes, from the same
framework-free core (:mod:`adamcheck.monitor`): the same seeded sample of coordinates
(:func:`~adamcheck.torch.choose_coordinates` over the pytree's floating leaves, in
``jax.tree_util`` order, named by their key paths), the same per-step records
(:class:`~adamcheck.monitor._record.StepRecorder`), analyses, rules, report and file
(writer ``adamcheck.optax.monitor``).

How it works under ``jax.jit``, and why this way:

* **Inside the jitted update**: one gather of the k sampled coordinates from the updates'
  leaves (constant indices baked into the program), written with the transformation's step
  count and the loss (``value``) into a block of ``block_steps`` rows that the optimizer
  state carries (:class:`MonitorState`). At the first update after the block is full, one
  :func:`jax.pure_callback` inside a ``lax.cond`` hands the whole block to the host, whose
  answer (0) is the block's new fill, so the state the run keeps depends on the call and it
  is not dropped. Why not a callback every step: a callback stops the compiled step until
  Python has run. Why not :func:`jax.experimental.io_callback`: a program with an effect
  in it loses JAX's fast dispatch, which costs every step, even when the callback runs once
  in 32 (about +0.5 ms a step on a busy CPU, the callback's own runs aside;
  ``benchmarks/bench_optax_callbacks.py``). A ``pure_callback`` may be
  run more than once or, where its answer is thrown away, not at all: both are harmless
  here, as the host records a row only once, by its step count, and a block a wrapper
  throws away is never the one handed over (below). :func:`jax.debug.callback` was not
  chosen: it may be dropped, as its documentation says. The arguments pass through
  ``lax.stop_gradient`` and the answer is an integer, so differentiating through the update
  (meta-learning) does not meet the callback's missing JVP rule.
* **The latest steps are in the state**: up to ``block_steps`` steps have not reached the
  host yet, so a result is read with the state the last update returned:
  ``report(state)``, ``save(path, state)``, ``analyse(state)`` or ``flush(state)`` read the
  state's block first. Without the state, a result stops at the last block handed over
  (the report says so in a note). A jump of Adam's update norm is therefore warned up to
  ``block_steps`` steps after its step (on top of the host core's own blocks of 32, as the
  torch monitor's; :mod:`adamcheck.monitor._record`), and an analysis due at step s runs
  when s's block arrives, on the steps up to s as always.
* **On the host**, outside the jitted step: the block's rows go into the recorder one
  step at a time; the analyses (:func:`~adamcheck.monitor.analyse_window`) run there on
  the schedule of :mod:`adamcheck.monitor._schedule`, while the device waits for the
  callback. A lock guards the host state, because JAX may run callbacks on a thread of its
  runtime.
* **Exactly the steps Adam took**: a block is handed over from the state the update was
  *given*, which is the state a wrapper kept. A wrapper that runs the update and then
  throws its state away (``optax.MultiSteps`` runs it at every mini-step and keeps its
  state only at the last one; ``optax.apply_if_finite`` skips the update of a non-finite
  step) throws the new row away with it, and may hand over the kept block more than once:
  the host records only rows whose step count is past the last one it recorded. (So a run
  rolled back to an earlier checkpoint in the same process is recorded again only from
  past the furthest step recorded.)

Adam's m and v at the sample are replayed from the recorded gradients from zero (the
transformation cannot read the state of the Adam that follows it): exact, to float32
rounding, for ``optax.adam``/``optax.adamw`` seen from their first step. A run restored
from a checkpoint (a first step count above 0) is noted in the report: its replay starts
from zero where Adam's did not.

It never breaks training: nothing raises out of the callback (an internal error becomes
one :class:`~adamcheck.AdamCheckWarning` and the monitor switches itself off; the program
still gathers and calls back, at no further host cost). The state grows by
``block_steps`` x k floats (32 x 4,096 float32: 512 KiB at the defaults). Errors of use
are raised when the update is traced, before any step runs: updates whose structure differs from the
parameters given to ``init``, a ``value`` that is not one number. One monitor watches one
run: ``vmap`` over runs, or two optimizers sharing it, mix their rows.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import pure_callback

from .._errors import InvalidParameterError
from .._shown import shown_repr
from ..monitor import MonitorReport, MonitorSettings, RunInfo, WindowAnalysis
from ..monitor._host import MonitorHost
from ..monitor._record import StepRecorder
from ..noise._sampled import CoordinateSample, choose_coordinates

__all__ = ["MonitorState", "MonitorTransformation", "OptaxMonitor", "monitor"]

WRITER = "adamcheck.optax.monitor"
#: steps per block handed to the host (adamcheck's choice: the host core's own block of 32 rows,
#: :mod:`adamcheck.monitor._record`; 32 rows of 4,096 float32 coordinates are 512 KiB of state)
BLOCK_STEPS = 32


class MonitorState(NamedTuple):
    """The monitor's optax state (restored with a checkpoint, like any optax state).

    ``count``: the updates it has made (int32). The block of rows not yet handed to the host
    (module docstring): ``filled`` (int32, how many), ``rows`` (``block_steps`` x k, the
    sampled gradients), ``counts`` (int32, each row's update count), ``values`` and
    ``valued`` (each row's loss, and whether one was passed).
    """

    count: Any
    filled: Any
    rows: Any
    counts: Any
    values: Any
    valued: Any


def _leaf_name(path: Any) -> str:
    """A leaf's key path as a dotted name (``params.Dense_0.kernel``, ``layers.0.w``)."""
    parts = []
    for key in path:
        for attr in ("key", "idx", "name"):  # DictKey / FlattenedIndexKey, SequenceKey, GetAttrKey
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return ".".join(parts) or "params"


def _floating(leaf: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(leaf), jnp.floating) and int(np.prod(jnp.shape(leaf))) > 0


def _increment(count: Any) -> Any:
    """count + 1, saturating at the int32 maximum (optax's safe increment)."""
    return jnp.where(count < jnp.iinfo(jnp.int32).max, count + 1, count)


class OptaxMonitor(MonitorHost):
    """The host side of :func:`monitor`: the recorder, the analyses, the report and the file.

    Built by :func:`monitor` (its arguments); reached as ``transformation.monitor``. Its
    ``init``/``update`` are the transformation's.
    """

    writer = WRITER
    label = "optax monitor"
    no_small_batches_note = ("no two-batch noise scale: the optax monitor records one gradient per step, not the "
                             "small batches it is made of")
    warn_stacklevel = 2

    def __init__(self, run: RunInfo, settings: MonitorSettings, block_steps: int = BLOCK_STEPS) -> None:
        self.settings = settings
        self.run = run
        self.block_steps = block_steps
        self.enabled = True
        self.error: str | None = None
        self._lock = threading.RLock()
        self._bound: tuple[Any, tuple[tuple[int, ...], ...]] | None = None
        self._plan: list[tuple[int, np.ndarray]] = []  # (leaf number, flat sampled indices)
        self._last_count: int | None = None  # the update count of the last row recorded
        self._first_count: int | None = None
        self._dtype = "float32"

    # -- the transformation -----------------------------------------------------------------------
    def init(self, params: Any) -> MonitorState:
        """The monitor's state; draws the coordinate sample from the parameters' leaves the first time.

        Raises:
            InvalidParameterError: no floating-point leaf, or parameters of another structure
                than the first ``init`` (one monitor watches one run).
        """
        leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
        shapes = tuple(tuple(jnp.shape(leaf)) for _, leaf in leaves)
        if self._bound is None:
            chosen = [(i, _leaf_name(path), leaf) for i, (path, leaf) in enumerate(leaves) if _floating(leaf)]
            if not chosen:
                raise InvalidParameterError("adamcheck.optax.monitor: the parameters have no floating-point leaf to "
                                            "sample: pass the model's parameters to init")
            s = self.settings
            sample = choose_coordinates([(name, int(np.prod(jnp.shape(leaf)))) for _, name, leaf in chosen],
                                        s.coordinates, seed=s.seed, floor_per_tensor=s.floor_per_tensor)
            self._plan = [(i, idx) for (i, _, _), idx in zip(chosen, sample.per_tensor()) if idx.size]
            self._dtype = str(jnp.result_type(chosen[0][2]))
            wide = any(jnp.result_type(leaf) == jnp.float64 for _, _, leaf in chosen)
            recorder = StepRecorder(sample.size, beta1=self.run.beta1, beta2=self.run.beta2, eps=self.run.eps,
                                    replay=True, history=s.history, spike_factor=s.spike_factor,
                                    spike_window=s.spike_window, batch_size=self.run.batch_size,
                                    exact_rows=not wide, fresh=True)
            self._row_dtype = jnp.float64 if wide else jnp.float32
            self._start(s, self.run, recorder, sample)
            self._bound = (treedef, shapes)
        elif self._bound != (treedef, shapes):
            raise InvalidParameterError("adamcheck.optax.monitor: init was called with parameters of another "
                                        "structure than before; one monitor watches one run: make a monitor per "
                                        "optimizer")
        n = self.block_steps
        return MonitorState(count=jnp.zeros([], jnp.int32), filled=jnp.zeros([], jnp.int32),
                            rows=jnp.zeros((n, self.k), self._row_dtype), counts=jnp.zeros(n, jnp.int32),
                            values=jnp.zeros(n, self._row_dtype), valued=jnp.zeros(n, jnp.bool_))

    def update(self, updates: Any, state: MonitorState, params: Any = None, *, value: Any = None,
               **extra_args: Any) -> tuple[Any, MonitorState]:
        """Pass ``updates`` through; gather the sampled row into the state's block (module docstring).

        ``value``: the training loss of the step (optax's name for it), kept with the row at
        no extra synchronisation; the walk-off rule reads it.

        Raises:
            InvalidParameterError: (when traced) ``init`` was not called, updates of another
                structure than the parameters given to ``init``, a ``value`` that is not one
                number, a state of another monitor (its block or sample of another size).
        """
        if self._bound is None:
            raise InvalidParameterError("adamcheck.optax.monitor: call init(params) before update (opt.init does)")
        leaves, treedef = jax.tree_util.tree_flatten(updates)
        if treedef != self._bound[0] or tuple(tuple(jnp.shape(x)) for x in leaves) != self._bound[1]:
            raise InvalidParameterError("adamcheck.optax.monitor: the updates have another structure or shapes than "
                                        "the parameters given to init: pass the gradients of those parameters")
        if not isinstance(state, MonitorState) or tuple(jnp.shape(state.rows)) != (self.block_steps, self.k):
            raise InvalidParameterError("adamcheck.optax.monitor: the state is not this monitor's (another block "
                                        "size or sample): pass the state its init returned")
        parts = []
        for i, idx in self._plan:
            leaf = leaves[i]
            picked = leaf.reshape(1)[idx] if leaf.ndim == 0 else leaf[np.unravel_index(idx, leaf.shape)]
            parts.append(picked.astype(self._row_dtype))
        row = jax.lax.stop_gradient(jnp.concatenate(parts))
        has_value = value is not None
        if has_value:
            v = jnp.asarray(value)
            if v.size != 1 or not (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer)):
                raise InvalidParameterError(f"adamcheck.optax.monitor: value must be the scalar training loss, got "
                                            f"an array of shape {v.shape} and dtype {v.dtype}")
            v = jax.lax.stop_gradient(v.reshape(()).astype(self._row_dtype))
        else:
            v = jnp.zeros([], self._row_dtype)
        block = tuple(jax.lax.stop_gradient(x) for x in (state.filled, state.counts, state.rows, state.values,
                                                          state.valued))
        full = state.filled >= self.block_steps
        done = jax.ShapeDtypeStruct((), jnp.int32)

        def hand_over(block: tuple[Any, ...]) -> Any:
            return pure_callback(self._callback, done, *block)

        # the block the state carries in is the one a wrapper kept (MultiSteps, apply_if_finite):
        # handed over at the first update after it is full, so a block thrown away never is;
        # the callback's answer (0) is the new fill, so the kept state depends on it
        filled = jax.lax.cond(full, hand_over, lambda block: block[0], block)
        slot = jnp.minimum(filled, self.block_steps - 1)
        new = MonitorState(count=_increment(state.count), filled=slot + 1,
                           rows=jax.lax.dynamic_update_index_in_dim(block[2], row, slot, 0),
                           counts=block[1].at[slot].set(state.count), values=block[3].at[slot].set(v),
                           valued=block[4].at[slot].set(has_value))
        return updates, new

    # -- the host -----------------------------------------------------------------------------------
    def _callback(self, filled: Any, counts: Any, rows: Any, values: Any, valued: Any) -> np.ndarray:
        """The host end of the callback: record the block's rows not recorded yet; the new fill (0)."""
        try:
            with self._lock:
                if self.enabled:
                    self._take(filled, counts, rows, values, valued)
        except Exception as exc:  # noqa: BLE001 - nothing may raise into the jitted step
            self._fail(exc)
        return np.zeros((), np.int32)

    def _take(self, filled: Any, counts: Any, rows: Any, values: Any, valued: Any) -> None:
        """Record rows ``[0, filled)`` of a block whose update counts are past the last recorded one.

        A block may come twice (a wrapper that threw an update away hands the kept block over
        again at the next update) or partly read already (a result asked for mid-block):
        the counts say which rows are new.
        """
        n = int(filled)
        counts = np.asarray(counts)[:n]
        new = [i for i in range(n) if self._last_count is None or int(counts[i]) > self._last_count]
        if not new:
            return
        rows, values, valued = np.asarray(rows), np.asarray(values), np.asarray(valued)
        self._last_count = int(counts[new[-1]])
        self._on_steps([functools.partial(self._commit, int(counts[i]), np.array(rows[i], copy=True),
                                          float(values[i]) if valued[i] else None) for i in new])

    def _commit(self, count: int, row: np.ndarray, value: float | None) -> bool:
        """Record one step's row (and its loss); True when a jump was recorded."""
        if self._first_count is None:
            self._first_count = count
            if count > 0:
                self._notes.append(f"the run was restored at optimizer step {count}: the monitor replays Adam's m "
                                   "and v from zero from there (the update-norm jump rule reads that replay)")
        rec = self.recorder
        rec.steps += 1
        if value is not None:  # before the analysis, so that its window has this step's loss
            self._pending.append((rec.steps, value))
        return rec.record(row)

    def _find_state(self, state: Any) -> MonitorState:
        """This monitor's :class:`MonitorState` inside an optimizer state (a chain's, MultiSteps', ...)."""
        found = [s for s in jax.tree_util.tree_leaves(state, is_leaf=lambda x: isinstance(x, MonitorState))
                 if isinstance(s, MonitorState) and tuple(jnp.shape(s.rows)) == (self.block_steps, self.k)]
        if len(found) != 1:
            what = "no adamcheck.optax.monitor state" if not found else f"{len(found)} monitor states alike"
            raise InvalidParameterError(f"adamcheck.optax.monitor: the state given holds {what}: pass the "
                                        "optimizer state the last opt.update returned (or this monitor's own)")
        return found[0]

    def _flush(self, state: Any = None) -> None:
        """Wait for the callbacks in flight, then record the rows of ``state``'s block not handed over yet."""
        block = None
        if state is not None:
            mine = self._find_state(state)
            # read first (it waits for the step that made the state), then wait for that step's
            # callbacks: the blocks they carry come before this one's rows
            block = jax.device_get((mine.filled, mine.counts, mine.rows, mine.values, mine.valued))
        jax.effects_barrier()  # outside the lock: the callbacks it waits for take it
        if block is not None:
            self._callback(*block)

    def _unseen_note(self, state: Any) -> list[str]:
        if state is not None or not self.enabled:
            return []
        return [f"read without the optimizer state: the steps after step {self.step} that are still in the "
                f"state's block (up to {self.block_steps - 1}) are not in it; pass the state: report(state)"]

    def _check_loss(self, loss: Any) -> Any:
        if isinstance(loss, jax.Array):
            if loss.size != 1:
                raise InvalidParameterError(f"observe_loss(loss): the array has {loss.size} elements, not one: pass "
                                            "the mean loss")
            loss = np.asarray(loss).reshape(())
        return super()._check_loss(loss)

    def _file_dtype(self) -> str:
        return self._dtype

    # -- results, read from the main thread ---------------------------------------------------------
    def _bound_or_refuse(self, what: str) -> None:
        if self._bound is None:
            raise InvalidParameterError(f"adamcheck.optax.monitor: {what} before opt.init(params): nothing to "
                                        "report yet")

    def flush(self, state: Any) -> None:
        """Record the steps still in ``state``'s block (the optimizer state the last update returned).

        The report, file and analyses take the state and do this first; call it yourself
        before reading ``diagnostics`` or ``analyses`` mid-block.

        Raises:
            InvalidParameterError: no ``init`` yet, or a state that holds no (or more than one)
                state of this monitor.
        """
        self._bound_or_refuse("flush")
        self._flush(state)

    def observe_loss(self, loss: Any) -> None:
        """Record a training loss from the host (a number or a one-element array; one synchronisation).

        It is placed at the last step handed to the host, up to ``block_steps`` - 1 steps
        before the step it belongs to; passing ``value=loss`` to ``opt.update`` keeps it with
        its step inside the jitted update at no extra cost. Use one or the other.

        Raises:
            InvalidParameterError: a loss that is not one real number, or no ``init`` yet.
        """
        self._bound_or_refuse("observe_loss")
        value = self._check_loss(loss)  # outside the lock: reading a device array may wait for the step
        self._flush()
        with self._lock:
            self._observe_loss(value)

    def analyse(self, state: Any = None) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (also run on the schedule); ``state``: :meth:`flush` first."""
        self._bound_or_refuse("analyse")
        self._flush(state)
        with self._lock:
            return super().analyse()

    def report(self, state: Any = None) -> MonitorReport:
        """The numbers and findings so far (:class:`~adamcheck.monitor.MonitorReport`; ``str()``: three lines).

        ``state``: the optimizer state the last ``opt.update`` returned, whose block holds the
        latest steps (:meth:`flush`); without it the report stops at the last block handed
        over, and says so in a note.
        """
        self._bound_or_refuse("report")
        self._flush(state)
        with self._lock:
            rep = super().report()
        unseen = self._unseen_note(state)
        return replace(rep, notes=rep.notes + tuple(unseen)) if unseen else rep

    @property
    def diagnostics(self) -> tuple[Any, ...]:
        """Every finding so far (:func:`adamcheck.monitor.judge` on the history; :meth:`flush` first for the latest steps)."""
        self._bound_or_refuse("diagnostics")
        self._flush()
        with self._lock:
            return MonitorHost.diagnostics.fget(self)  # type: ignore[attr-defined]

    def save(self, path: Any, state: Any = None) -> Any:
        """Write the monitor's file (:meth:`adamcheck.monitor._host.MonitorHost.save`; writer ``adamcheck.optax.monitor``).

        ``state``: as for :meth:`report` (without it the file stops at the last block handed
        over). ``exp_avg``/``exp_avg_sq`` are the replayed moments (module docstring).
        """
        self._bound_or_refuse("save")
        self._flush(state)
        with self._lock:
            return super().save(path)


class MonitorTransformation(optax.GradientTransformationExtraArgs):
    """An optax transformation (``init``, ``update``) that carries its monitor.

    ``optax.chain`` uses it as it is (it takes optax's extra arguments, such as ``value``).
    ``report(state)``, ``save(path, state)``, ``flush(state)``, ``observe_loss(loss)`` and
    ``analyse(state)`` are its monitor's (:class:`OptaxMonitor`, also ``.monitor``); ``state``
    is the optimizer state the last ``opt.update`` returned.
    """

    # no __slots__: an instance keeps its monitor in its __dict__ (the tuple holds init, update)

    def __new__(cls, host: OptaxMonitor) -> "MonitorTransformation":
        self = super().__new__(cls, host.init, host.update)
        self.__dict__["monitor"] = host
        return self

    def report(self, state: Any = None) -> MonitorReport:
        """The monitor's report (``str(report)``: the verdict in three lines); pass the latest optimizer state."""
        return self.monitor.report(state)

    def save(self, path: Any, state: Any = None) -> Any:
        """Write the monitor's file (pass the latest optimizer state); then ``adamcheck recommend --gradients FILE``."""
        return self.monitor.save(path, state)

    def flush(self, state: Any) -> None:
        """Record the steps still in the optimizer state's block (:meth:`OptaxMonitor.flush`)."""
        self.monitor.flush(state)

    def observe_loss(self, loss: Any) -> None:
        """Record a training loss from the host (or pass ``value=loss`` to ``update``)."""
        self.monitor.observe_loss(loss)

    def analyse(self, state: Any = None) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (pass the latest optimizer state)."""
        return self.monitor.analyse(state)

    @property
    def sample(self) -> CoordinateSample:
        """The sampled coordinates (after ``init``)."""
        return self.monitor.sample


def monitor(batch_size: int, *, b1: float, b2: float, eps: float = 1e-8, learning_rate: Any = None,
            weight_decay: Any = None, planned_steps: int | None = None, seq_len: int | None = None,
            settings: MonitorSettings | None = None, block_steps: int = BLOCK_STEPS,
            **options: Any) -> MonitorTransformation:
    """The training monitor as an optax transformation (module docstring); chain it right before Adam.

    Args:
        batch_size: B, examples per optimizer step (the global batch: micro batch x
            accumulation x data-parallel devices).
        b1, b2, eps: the betas and eps of the Adam transformation that follows
            (``optax.adam``/``optax.adamw``'s; optax's defaults are 0.9, 0.999, 1e-8). They
            are required: the monitor cannot read them from the transformation that follows.
        learning_rate, weight_decay: Adam's, written to the file when plain numbers (a
            schedule is not written).
        planned_steps: the optimizer steps the run plans (the first analysis comes at 10%
            of them, at most 200); seq_len: tokens per sample (language models).
        settings: a :class:`~adamcheck.monitor.MonitorSettings`; ``**options``: shortcuts for
            its fields (``coordinates``, ``every``, ``budget``, ``window``, ``multiples``,
            ``warn``...), applied on top.
        block_steps: the steps whose rows the optimizer state keeps before they are handed to
            the host in one callback (adamcheck's choice: 32, the host core's own block; 1:
            a callback every step). Warnings come up to this many steps late; the state
            holds ``block_steps`` x ``coordinates`` floats.

    Returns:
        a :class:`MonitorTransformation`: an ``optax.GradientTransformationExtraArgs`` with
        ``report(state)``, ``save(path, state)``, ``flush(state)``, ``observe_loss(loss)`` and
        ``analyse(state)`` (``state``: the optimizer state the last update returned).

    Raises:
        InvalidParameterError: a bad batch size, betas, block size or setting.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> mon = monitor(batch_size=8, b1=0.9, b2=0.999)
        >>> opt = optax.chain(mon, optax.adamw(1e-2, b1=0.9, b2=0.999))
        >>> params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
        >>> state = opt.init(params)
        >>> loss_fn = lambda p, x: jnp.mean((x @ p["w"] + p["b"] - 1.0) ** 2)
        >>> @jax.jit
        ... def step(params, state, x):
        ...     loss, grads = jax.value_and_grad(loss_fn)(params, x)
        ...     updates, state = opt.update(grads, state, params, value=loss)
        ...     return optax.apply_updates(params, updates), state
        >>> x = jax.random.normal(jax.random.key(0), (8, 3))
        >>> for _ in range(3):
        ...     params, state = step(params, state, x)
        >>> mon.report(state).step, mon.sample.names
        (3, ('b', 'w'))
        >>> print(mon.report(state))  # doctest: +NORMALIZE_WHITESPACE
        adamcheck monitor, step 3 (batch 8, beta1 0.9, beta2 0.999): NOT CHECKED
        no analysis yet: the next at step 200 (or call analyse())
        Nothing to change yet (1 note: report.notes).
    """
    if settings is not None and not isinstance(settings, MonitorSettings):
        raise InvalidParameterError(f"settings = {shown_repr(settings)} is not a MonitorSettings: build one with "
                                    "adamcheck.monitor.MonitorSettings(...)")
    if isinstance(block_steps, bool) or not isinstance(block_steps, (int, np.integer)) or block_steps < 1:
        raise InvalidParameterError(f"block_steps = {shown_repr(block_steps)} is not a number of steps: give an "
                                    f"int >= 1 (default {BLOCK_STEPS}; 1 hands every step to the host at once)")
    settings = settings or MonitorSettings()
    settings = settings.replace(**options) if options else settings
    run = RunInfo(batch_size=batch_size, beta1=b1, beta2=b2, eps=eps, lr=learning_rate, weight_decay=weight_decay,
                  planned_steps=planned_steps, seq_len=seq_len, optimizer="optax")
    return MonitorTransformation(OptaxMonitor(run, settings, int(block_steps)))
