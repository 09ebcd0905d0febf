"""The training monitor as an optax gradient transformation: :func:`monitor`.

Put it in the chain right before the Adam transformation, so that it sees the gradient
Adam sees, and tell it Adam's betas::

    mon = adamcheck.optax.monitor(batch_size=32, b1=0.9, b2=0.999)
    opt = optax.chain(mon, optax.adamw(1e-3, b1=0.9, b2=0.999))
    ...
    updates, state = opt.update(grads, state, params, value=loss)   # value: optional, free
    ...
    print(mon.report()); mon.save("monitor.npz")   # then: adamcheck recommend --gradients monitor.npz

It passes the updates through unchanged. What it records and concludes is what
:class:`adamcheck.torch.GradientMonitor` records and concludes, from the same
framework-free core (:mod:`adamcheck.monitor`): the same seeded sample of coordinates
(:func:`~adamcheck.torch.choose_coordinates` over the pytree's floating leaves, in
``jax.tree_util`` order, named by their key paths), the same per-step records
(:class:`~adamcheck.monitor._record.StepRecorder`), analyses, rules, report and file
(writer ``adamcheck.optax.monitor``).

How it works under ``jax.jit``, and why this way:

* **Inside the jitted update**: one gather of the k sampled coordinates from the updates'
  leaves (constant indices baked into the program), then one
  :func:`jax.experimental.io_callback` (unordered, no result) that hands the row, the
  transformation's step count and the loss (``value``) to the host. ``io_callback`` is
  JAX's callback for impure functions: under ``jit``, ``lax.scan`` and ``lax.cond`` it runs
  once per executed update. :func:`jax.debug.callback` was not chosen: its documentation
  says it may be dropped, duplicated or reordered by transformations. An *ordered*
  callback was not chosen either: JAX refuses ordered effects in computations over
  several devices. The arguments pass through ``lax.stop_gradient``, so differentiating
  through the update (meta-learning) does not meet the callback's missing JVP rule.
* **On the host**, outside the jitted step: the row goes into the recorder; the analyses
  (:func:`~adamcheck.monitor.analyse_window`) run there on the schedule of
  :mod:`adamcheck.monitor._schedule`, while the device waits for the callback, as the
  torch monitor's analysis runs inside ``optimizer.step()``. A lock guards the host state,
  because JAX may run callbacks on a thread of its runtime.
* **Exactly the steps Adam took**: the host keeps the latest row and records it when the
  next callback carries a larger step count (or when a result is read). A wrapper that
  runs the update and then throws its state away (``optax.MultiSteps`` runs it at every
  mini-step and keeps its state only at the last one) sends several rows with the same
  count: only the last one, the update that was kept, is recorded. ``optax.apply_if_finite``
  skips the update of a non-finite step, so no row arrives for it.

Adam's m and v at the sample are replayed from the recorded gradients from zero (the
transformation cannot read the state of the Adam that follows it): exact, to float32
rounding, for ``optax.adam``/``optax.adamw`` seen from their first step. A run restored
from a checkpoint (a first step count above 0) is noted in the report: its replay starts
from zero where Adam's did not.

It never breaks training: nothing raises out of the callback (an internal error becomes
one :class:`~adamcheck.AdamCheckWarning` and the monitor switches itself off; the program
still gathers and calls back, at no further host cost). Errors of use are raised when the
update is traced, before any step runs: updates whose structure differs from the
parameters given to ``init``, a ``value`` that is not one number. One monitor watches one
run: ``vmap`` over runs, or two optimizers sharing it, mix their rows.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.experimental import io_callback

from .._errors import InvalidParameterError
from .._shown import shown_repr
from ..monitor import MonitorReport, MonitorSettings, RunInfo, WindowAnalysis
from ..monitor._host import MonitorHost
from ..monitor._record import StepRecorder
from ..noise._sampled import CoordinateSample, choose_coordinates

__all__ = ["MonitorState", "MonitorTransformation", "OptaxMonitor", "monitor"]

WRITER = "adamcheck.optax.monitor"


class MonitorState(NamedTuple):
    """The monitor's optax state: how many updates it has made (int32; restored with a checkpoint)."""

    count: Any


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

    def __init__(self, run: RunInfo, settings: MonitorSettings) -> None:
        self.settings = settings
        self.run = run
        self.enabled = True
        self.error: str | None = None
        self._lock = threading.RLock()
        self._bound: tuple[Any, tuple[tuple[int, ...], ...]] | None = None
        self._plan: list[tuple[int, np.ndarray]] = []  # (leaf number, flat sampled indices)
        self._held: tuple[int, np.ndarray, float | None] | None = None
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
        return MonitorState(count=jnp.zeros([], jnp.int32))

    def update(self, updates: Any, state: MonitorState, params: Any = None, *, value: Any = None,
               **extra_args: Any) -> tuple[Any, MonitorState]:
        """Pass ``updates`` through; gather the sampled row and hand it to the host (module docstring).

        ``value``: the training loss of the step (optax's name for it), passed to the host
        with the row at no extra synchronisation; the walk-off rule reads it.

        Raises:
            InvalidParameterError: (when traced) ``init`` was not called, updates of another
                structure than the parameters given to ``init``, a ``value`` that is not one number.
        """
        if self._bound is None:
            raise InvalidParameterError("adamcheck.optax.monitor: call init(params) before update (opt.init does)")
        leaves, treedef = jax.tree_util.tree_flatten(updates)
        if treedef != self._bound[0] or tuple(tuple(jnp.shape(x)) for x in leaves) != self._bound[1]:
            raise InvalidParameterError("adamcheck.optax.monitor: the updates have another structure or shapes than "
                                        "the parameters given to init: pass the gradients of those parameters")
        parts = []
        for i, idx in self._plan:
            leaf = leaves[i]
            picked = leaf.reshape(1)[idx] if leaf.ndim == 0 else leaf[np.unravel_index(idx, leaf.shape)]
            parts.append(picked.astype(self._row_dtype))
        row = jnp.concatenate(parts)
        has_value = value is not None
        if has_value:
            v = jnp.asarray(value)
            if v.size != 1 or not (jnp.issubdtype(v.dtype, jnp.floating) or jnp.issubdtype(v.dtype, jnp.integer)):
                raise InvalidParameterError(f"adamcheck.optax.monitor: value must be the scalar training loss, got "
                                            f"an array of shape {v.shape} and dtype {v.dtype}")
            v = v.reshape(()).astype(self._row_dtype)
        else:
            v = jnp.zeros([], self._row_dtype)
        callback = functools.partial(self._callback, has_value=has_value)
        io_callback(callback, None, jax.lax.stop_gradient(state.count), jax.lax.stop_gradient(row),
                    jax.lax.stop_gradient(v), ordered=False)
        return updates, MonitorState(count=_increment(state.count))

    # -- the host -----------------------------------------------------------------------------------
    def _callback(self, count: Any, row: Any, value: Any, *, has_value: bool) -> None:
        """The host end of the callback: hold this row; record the held one when the count moved on."""
        try:
            with self._lock:
                if not self.enabled:
                    return
                c = int(count)
                if self._held is not None and self._held[0] != c:
                    self._commit()
                self._held = (c, np.array(row, dtype=np.asarray(row).dtype, copy=True),
                              float(value) if has_value else None)
        except Exception as exc:  # noqa: BLE001 - nothing may raise into the jitted step
            self._fail(exc)

    def _commit(self) -> None:
        count, row, value = self._held  # type: ignore[misc]
        self._held = None
        if self._first_count is None:
            self._first_count = count
            if count > 0:
                self._notes.append(f"the run was restored at optimizer step {count}: the monitor replays Adam's m "
                                   "and v from zero from there (the update-norm jump rule reads that replay)")
        rec = self.recorder

        def record() -> bool:
            rec.steps += 1
            if value is not None:  # before the analysis, so that its window has this step's loss
                self._pending.append((rec.steps, value))
            return rec.record(row)

        self._on_step(record)

    def _flush(self) -> None:
        """Wait for the callbacks in flight, then record the held row (the last step taken)."""
        jax.effects_barrier()  # outside the lock: the callbacks it waits for take it
        with self._lock:
            if self._held is not None and self.enabled:
                try:
                    self._commit()
                except Exception as exc:  # noqa: BLE001 - a result must come back even from a broken monitor
                    self._fail(exc)

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

    def observe_loss(self, loss: Any) -> None:
        """Record a training loss from the host (a number or a one-element array; one synchronisation).

        Passing ``value=loss`` to ``opt.update`` does the same inside the jitted step at no
        extra cost; use one or the other.

        Raises:
            InvalidParameterError: a loss that is not one real number, or no ``init`` yet.
        """
        self._bound_or_refuse("observe_loss")
        value = self._check_loss(loss)  # outside the lock: reading a device array may wait for the step
        self._flush()
        with self._lock:
            self._observe_loss(value)

    def analyse(self) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (also run on the schedule)."""
        self._bound_or_refuse("analyse")
        self._flush()
        with self._lock:
            return super().analyse()

    def report(self) -> MonitorReport:
        """The numbers and findings so far (:class:`~adamcheck.monitor.MonitorReport`; ``str()``: three lines)."""
        self._bound_or_refuse("report")
        self._flush()
        with self._lock:
            return super().report()

    @property
    def diagnostics(self) -> tuple[Any, ...]:
        """Every finding so far (:func:`adamcheck.monitor.judge` on the history)."""
        self._bound_or_refuse("diagnostics")
        self._flush()
        with self._lock:
            return MonitorHost.diagnostics.fget(self)  # type: ignore[attr-defined]

    def save(self, path: Any) -> Any:
        """Write the monitor's file (:meth:`adamcheck.monitor._host.MonitorHost.save`; writer ``adamcheck.optax.monitor``).

        ``exp_avg``/``exp_avg_sq`` are the replayed moments (module docstring).
        """
        self._bound_or_refuse("save")
        self._flush()
        with self._lock:
            return super().save(path)


class MonitorTransformation(optax.GradientTransformationExtraArgs):
    """An optax transformation (``init``, ``update``) that carries its monitor.

    ``optax.chain`` uses it as it is (it takes optax's extra arguments, such as ``value``).
    ``report()``, ``save(path)``, ``observe_loss(loss)`` and ``analyse()`` are its
    monitor's (:class:`OptaxMonitor`, also ``.monitor``).
    """

    # no __slots__: an instance keeps its monitor in its __dict__ (the tuple holds init, update)

    def __new__(cls, host: OptaxMonitor) -> "MonitorTransformation":
        self = super().__new__(cls, host.init, host.update)
        self.__dict__["monitor"] = host
        return self

    def report(self) -> MonitorReport:
        """The monitor's report (``str(report)``: the verdict in three lines)."""
        return self.monitor.report()

    def save(self, path: Any) -> Any:
        """Write the monitor's file; then ``adamcheck recommend --gradients FILE``."""
        return self.monitor.save(path)

    def observe_loss(self, loss: Any) -> None:
        """Record a training loss from the host (or pass ``value=loss`` to ``update``)."""
        self.monitor.observe_loss(loss)

    def analyse(self) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now."""
        return self.monitor.analyse()

    @property
    def sample(self) -> CoordinateSample:
        """The sampled coordinates (after ``init``)."""
        return self.monitor.sample


def monitor(batch_size: int, *, b1: float, b2: float, eps: float = 1e-8, learning_rate: Any = None,
            weight_decay: Any = None, planned_steps: int | None = None, seq_len: int | None = None,
            settings: MonitorSettings | None = None, **options: Any) -> MonitorTransformation:
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

    Returns:
        a :class:`MonitorTransformation`: an ``optax.GradientTransformationExtraArgs`` with
        ``report()``, ``save(path)``, ``observe_loss(loss)`` and ``analyse()``.

    Raises:
        InvalidParameterError: a bad batch size, betas or setting.

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
        >>> mon.report().step, mon.sample.names
        (3, ('b', 'w'))
        >>> print(mon.report())  # doctest: +NORMALIZE_WHITESPACE
        adamcheck monitor, step 3 (batch 8, beta1 0.9, beta2 0.999): NOT CHECKED
        no analysis yet: the next at step 200 (or call analyse())
        Nothing to change yet (1 note: report.notes).
    """
    if settings is not None and not isinstance(settings, MonitorSettings):
        raise InvalidParameterError(f"settings = {shown_repr(settings)} is not a MonitorSettings: build one with "
                                    "adamcheck.monitor.MonitorSettings(...)")
    settings = settings or MonitorSettings()
    settings = settings.replace(**options) if options else settings
    run = RunInfo(batch_size=batch_size, beta1=b1, beta2=b2, eps=eps, lr=learning_rate, weight_decay=weight_decay,
                  planned_steps=planned_steps, seq_len=seq_len, optimizer="optax")
    return MonitorTransformation(OptaxMonitor(run, settings))
