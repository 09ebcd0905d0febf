"""A Hugging Face ``TrainerCallback`` that runs ``adamcheck check`` when training starts.

transformers is imported only inside :func:`hf_check_callback`, so the class is
created on first use and importing adamcheck never loads transformers. It lives in the
torch wing with the Lightning callback (:mod:`adamcheck.torch._lightning`); the names stay
importable from :mod:`adamcheck.configs`.

What it does in ``on_train_begin``: reads the Trainer's ``TrainingArguments`` (betas,
eps, per-device batch, accumulation, optim), takes the world size from
``args.world_size`` and the planned steps from ``state.max_steps`` (both known once
training starts), runs the same rules as the CLI, keeps the report on
``callback.report`` and logs it through the transformers logger
(``transformers.adamcheck``): as a warning when it has errors or risks, else at info.

When it raises: only when asked. With ``fail_on_risk=True`` a report with risks or
errors raises :class:`~adamcheck.AdamCheckError` before the first step (a pre-flight
gate for CI). Otherwise nothing reaches the training loop: an unreadable setup is
logged as a warning, and so is an unexpected exception inside adamcheck (a bug in
adamcheck must never stop someone's training run).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .._errors import AdamCheckError, InvalidParameterError
from .._halflife import BetaReference
from .._measurement import Measurement
from ..configs._check import check_setup
from ..configs._hf import read_hf_dict
from ..configs._precision import state_dtype_of
from ..configs._report import CheckReport
from ..configs._setup import Sourced
from ..recommend._eps import normal_state_dtype
from ._callbacks import check_monitor_options

if TYPE_CHECKING:  # torch loads when the monitor is attached
    from ._monitor import GradientMonitor

__all__ = ["LOGGER_NAME", "check_training_arguments", "hf_check_callback"]

LOGGER_NAME = "transformers.adamcheck"


def check_training_arguments(
    args: Any,
    state: Any = None,
    *,
    seq_len: int | None = None,
    dataset_size: int | None = None,
    gradients: str | Path | None = None,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    domain: str | None = None,
    state_dtype: str | None = None,
    measurements: Iterable[Measurement] = (),
) -> CheckReport:
    """Check a live ``TrainingArguments`` (and optionally a ``TrainerState``).

    ``args`` needs ``to_dict()`` (as TrainingArguments has) or is a plain mapping.
    ``state_dtype`` (``fp32``/``bf16``/``fp16``): the precision of the optimizer's m and
    v, when known (the callback reads it from the optimizer's parameters); else from
    ``fp16``/``bf16`` in the arguments (mixed precision: fp32). ``domain`` and
    ``measurements`` as in :func:`adamcheck.configs.check_setup`.
    """
    data = args.to_dict() if hasattr(args, "to_dict") else dict(args)
    setup = read_hf_dict(data, "TrainingArguments")
    found = state_dtype_of("hf", data, "TrainingArguments")
    if state_dtype is not None:
        setup.state_dtype = Sourced(normal_state_dtype(state_dtype), "the optimizer's parameters")
    elif found is not None:
        setup.state_dtype = Sourced(*found)
    world = getattr(args, "world_size", None)
    if isinstance(world, int) and world >= 1:
        setup.world_size = Sourced(world, "TrainingArguments.world_size (the running process group)")
    max_steps = getattr(state, "max_steps", None)
    if isinstance(max_steps, int) and max_steps > 0:
        setup.max_steps = Sourced(max_steps, "TrainerState.max_steps")
    if seq_len is not None:
        setup.seq_len = Sourced(int(seq_len), "argument seq_len")
    return check_setup(
        setup,
        reference=reference,
        reference_seq_len=reference_seq_len,
        gradients=gradients,
        dataset_size=dataset_size,
        domain=domain,
        measurements=measurements,
    )


def hf_check_callback(
    *,
    seq_len: int | None = None,
    dataset_size: int | None = None,
    gradients: str | Path | None = None,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    fail_on_risk: bool = False,
    monitor: bool | dict[str, Any] = False,
    domain: str | None = None,
) -> Any:
    """A ``transformers.TrainerCallback`` instance that checks Adam at train start.

    With ``monitor=True`` (or a dict of :class:`adamcheck.torch.GradientMonitor`
    options, e.g. ``{"coordinates": 2048}`` or ``{"settings": MonitorSettings(...)}``) it
    also attaches a GradientMonitor to the Trainer's optimizer in ``on_train_begin``
    (batch size per-device x accumulation x world size; the planned steps from
    ``state.max_steps``, so a short run is analysed early; ``seq_len`` as given here) as
    ``callback.monitor``, feeds it the logged training loss, and adds its latest analysis
    (keys ``adamcheck/...``) to the Trainer's logs in ``on_log``: to the dict the logging
    callbacks after this one receive and to ``state.log_history``. Save its file after
    training with ``callback.monitor.save("monitor.npz")``. The monitor's options are
    checked when the callback is made (an unknown option raises then); a monitor that
    cannot follow the optimizer (not Adam-family, FSDP/DeepSpeed-sharded) is not attached,
    with a warning on the transformers logger, and training goes on. Under DDP it does not
    install the monitor's per-rank communication hook (the Trainer gives callbacks the
    model without its DDP wrapper), so there is no two-batch estimate from the ranks;
    Lightning's callback does install it.

    Example (needs transformers)::

        trainer = Trainer(model=model, args=args, train_dataset=ds,
                          callbacks=[adamcheck.hf_check_callback(seq_len=1024)])
        trainer.train()      # logs the report; callback.report holds it

    The log holds the short answer (at most 10 lines: the verdict, the one reason, the
    recommendation); ``callback.report.render(explain=True)`` has every rule. ``domain``:
    your kind of training (default: a language model when ``seq_len`` is given).

    See the module docstring for when it raises (only with ``fail_on_risk=True``).
    """
    from transformers import TrainerCallback  # optional: transformers
    from transformers.utils import logging as hf_logging  # optional: transformers

    monitor_options = _monitor_options(monitor, seq_len)
    # the hooks first: TrainerCallback's own on_* are no-ops that must not shadow them
    cls = type("AdamCheckCallback", (_Hooks, TrainerCallback),
               {"__doc__": "Runs adamcheck's Adam checks in ``on_train_begin``; see ``adamcheck.torch._hf``."})
    return cls(hf_logging.get_logger(LOGGER_NAME), monitor_options, fail_on_risk,
               dict(seq_len=seq_len, dataset_size=dataset_size, gradients=gradients, reference=reference,
                    reference_seq_len=reference_seq_len, domain=domain))


class _Hooks:
    """The callback's state and ``on_*`` methods, without transformers (the class
    :func:`hf_check_callback` makes derives from this and ``TrainerCallback``)."""

    def __init__(self, logger: logging.Logger, monitor_options: dict[str, Any] | None, fail_on_risk: bool,
                 options: dict[str, Any]) -> None:
        self.report: CheckReport | None = None
        self.error: str | None = None
        self.monitor: GradientMonitor | None = None
        self._logged = -1
        self._logger = logger
        self._monitor_options = monitor_options
        self._fail_on_risk = fail_on_risk
        self._options = options

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._monitor_options is not None:
            self._attach_monitor(args, state, kwargs)
        logger = self._logger
        try:
            report = check_training_arguments(args, state, state_dtype=_state_dtype(kwargs), **self._options)
        except AdamCheckError as exc:
            self.error = str(exc)
            logger.warning("adamcheck: could not check the Adam settings: %s", exc)
            return
        except Exception as exc:  # noqa: BLE001 - never break training for an adamcheck bug
            self.error = f"{type(exc).__name__}: {exc}"
            logger.warning("adamcheck: internal error, check skipped (%s); please report it", self.error)
            return
        self.report = report
        # the short answer only: the training log is no place for every rule
        if report.exit_code:
            logger.warning("adamcheck:\n%s", report.render())
        else:
            logger.info("adamcheck:\n%s", report.render())
        if self._fail_on_risk and report.exit_code:
            worst = report.by_level("error") or report.by_level("risk")
            raise AdamCheckError(
                f"adamcheck found {len(worst)} {'error' if report.exit_code == 2 else 'risk'}(s) before "
                f"training: {worst[0].rule}: {worst[0].message}"
            )

    def _attach_monitor(self, args: Any, state: Any, kwargs: Any) -> None:
        try:
            from ._monitor import GradientMonitor  # lazy: keeps numpy off `import adamcheck.configs`

            opt = kwargs.get("optimizer")
            batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
            planned = getattr(state, "max_steps", None)
            options: dict[str, Any] = {"accumulation_steps": args.gradient_accumulation_steps,
                                       "planned_steps": planned if isinstance(planned, int) and planned > 0 else None,
                                       **(self._monitor_options or {})}
            self.monitor = GradientMonitor(opt, batch, model=kwargs.get("model"), **options)
        except Exception as exc:  # noqa: BLE001 - never break training for an adamcheck bug
            self._logger.warning("adamcheck: gradient monitor not attached (%s: %s)", type(exc).__name__, exc)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        mon = self.monitor
        if mon is None:
            return
        try:
            loss = logs.get("loss") if isinstance(logs, dict) else None
            if isinstance(loss, (int, float)) and not isinstance(loss, bool):
                mon.observe_loss(float(loss))  # the mean since the last log: the walk-off rule reads it
            last = mon.last_analysis
            if last is None or last.step == self._logged:
                return
            from ._monitor import report_metrics  # lazy: keeps numpy off `import adamcheck.configs`

            self._logged = last.step
            metrics = report_metrics(mon.report())
        except Exception as exc:  # noqa: BLE001 - never break training for an adamcheck bug
            self._logger.warning("adamcheck: monitor metrics not logged (%s: %s)", type(exc).__name__, exc)
            return
        if logs is not None:
            logs.update(metrics)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(metrics)
        self._logger.info("adamcheck monitor at step %d: %s", state.global_step, metrics)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.monitor is not None:
            self.monitor.remove()


def _monitor_options(monitor: bool | dict[str, Any], seq_len: int | None) -> dict[str, Any] | None:
    """The GradientMonitor options of ``hf_check_callback(monitor=...)``, checked now (None: no monitor).

    Raises:
        InvalidParameterError: ``monitor`` is neither a bool nor a dict, or holds an unknown
            option or a bad value.
    """
    if monitor is False or monitor is None:
        return None
    if monitor is True:
        options: dict[str, Any] = {}
    elif isinstance(monitor, dict):
        options = dict(monitor)
    else:
        raise InvalidParameterError(f"monitor = {monitor!r:.80} must be True, False or a dict of GradientMonitor "
                                    "options")
    options = check_monitor_options(options, "monitor={'settings': ...}")
    if seq_len is not None:
        options.setdefault("seq_len", seq_len)
    return options


def _state_dtype(kwargs: Any) -> str | None:
    """fp32/bf16/fp16 from the dtype of the parameters the Trainer's optimizer updates (its
    m and v take that dtype), else of the model's; None when neither is there."""
    params: list[Any] = []
    opt = kwargs.get("optimizer")
    for group in getattr(opt, "param_groups", None) or []:
        params = list(group.get("params") or [])[:1]
        if params:
            break
    if not params and kwargs.get("model") is not None and hasattr(kwargs["model"], "parameters"):
        params = list(kwargs["model"].parameters())[:1]
    if not params:
        return None
    name = str(getattr(params[0], "dtype", "")).replace("torch.", "")
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "float64": "fp32"}.get(name)
