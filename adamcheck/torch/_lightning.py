"""The :class:`GradientMonitor` as a Lightning ``Callback`` (extra ``adamcheck[lightning]``).

lightning is imported inside :func:`lightning_callback`, so the class is created on first
use and ``import adamcheck.torch`` never loads it.

What it does: in ``on_train_start`` it attaches a :class:`GradientMonitor` to the
trainer's first optimizer (batch size: the one you give, else the dataloader's batch
size x ``accumulate_grad_batches`` x ``world_size``; planned steps: ``trainer.max_steps``
or ``trainer.estimated_stepping_batches``, so a short run is analysed early); it passes
each training batch's loss to ``observe_loss`` and, after each batch whose optimizer
step ran an analysis, logs the numbers to every logger of the trainer
(``trainer.loggers``, keys ``adamcheck/...``). The monitor is ``callback.monitor``;
its warnings go through Python ``warnings`` and the ``adamcheck`` logger as usual.
The options are checked when the callback is made; a monitor that cannot be attached
(an optimizer it cannot follow, a batch size it cannot find) is skipped with an
``AdamCheckWarning``, and training goes on.
Under Lightning's DDP strategy it installs the monitor's communication hook on the
strategy's ``DistributedDataParallel`` wrapper (:meth:`GradientMonitor.attach_ddp`), so
the two-batch estimate uses each rank's gradient as a small batch; DDP takes one hook,
so when the strategy was given its own (``DDPStrategy(ddp_comm_hook=...)``) the callback
leaves it and says so in the report's notes. The other statistics are the same on every
rank.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._errors import AdamCheckWarning, InvalidParameterError
from ._callbacks import check_monitor_options
from ._monitor import LOGGER, GradientMonitor, report_metrics

__all__ = ["lightning_callback"]


def lightning_callback(batch_size: int | None = None, **monitor_options: Any) -> Any:
    """A ``lightning.pytorch.Callback`` that runs a :class:`GradientMonitor` during ``fit``.

    Args:
        batch_size: examples per optimizer step (default: the train dataloader's batch
            size x ``accumulate_grad_batches`` x ``world_size``).
        monitor_options: passed to :class:`GradientMonitor` (``every``, ``coordinates``...).

    Raises:
        InvalidParameterError: lightning is not installed, or a bad monitor option.

    Example (needs lightning)::

        cb = adamcheck.torch.lightning_callback(every=500)
        lightning.Trainer(callbacks=[cb]).fit(module, loader)
        cb.monitor.report()
    """
    try:
        import lightning.pytorch as pl  # optional: lightning
    except ImportError:
        raise InvalidParameterError("the Lightning callback needs lightning: pip install 'adamcheck[lightning]'") from None
    options = check_monitor_options(monitor_options, "lightning_callback(settings=...)")
    # the hooks first: Lightning's Callback has no-op on_* methods that must not shadow them
    cls = type("AdamCheckMonitorCallback", (_Hooks, pl.Callback),
               {"__doc__": "Attaches :class:`GradientMonitor` at train start; logs its analyses."})
    return cls(batch_size, options)


def _skip(why: str) -> None:
    """A monitor that cannot be attached: said on the logger and as an AdamCheckWarning."""
    LOGGER.warning("adamcheck: gradient monitor not attached: %s", why)
    warnings.warn(f"adamcheck: gradient monitor not attached: {why}", AdamCheckWarning, stacklevel=3)


def _planned_steps(trainer: Any) -> int | None:
    """``trainer.max_steps``, else Lightning's estimate of the stepping batches (None: unknown)."""
    if isinstance(trainer.max_steps, int) and trainer.max_steps > 0:
        return trainer.max_steps
    try:
        est = trainer.estimated_stepping_batches
        return int(est) if isinstance(est, (int, float)) and 0 < est < float("inf") else None
    except Exception:  # noqa: BLE001 - an estimate Lightning cannot make: the default first analysis
        return None


class _Hooks:
    """The callback's state and hooks, without lightning (:func:`lightning_callback` makes the
    class that derives from this and ``lightning.pytorch.Callback``)."""

    def __init__(self, batch_size: int | None, monitor_options: dict[str, Any]) -> None:
        self.monitor: GradientMonitor | None = None
        self._logged = -1
        self._batch_size = batch_size
        self._options = monitor_options

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        size = self._batch_size
        if size is None:
            per = getattr(trainer.train_dataloader, "batch_size", None)
            if not isinstance(per, int):
                _skip("cannot tell the batch size from the train dataloader: pass lightning_callback(batch_size=...)")
                return
            size = per * int(trainer.accumulate_grad_batches) * int(trainer.world_size)
        options = {"accumulation_steps": int(trainer.accumulate_grad_batches),
                   "planned_steps": _planned_steps(trainer), **self._options}
        try:
            self.monitor = GradientMonitor(trainer.optimizers[0], size, model=pl_module, **options)
            self._attach_ddp(trainer.strategy)
        except Exception as exc:  # noqa: BLE001 - never break training for the monitor
            self.monitor = None
            _skip(f"{type(exc).__name__}: {exc}")

    def _attach_ddp(self, strategy: Any) -> None:
        from torch.nn.parallel import DistributedDataParallel  # optional: torch

        wrapped = getattr(strategy, "model", None)
        if self.monitor is None or not isinstance(wrapped, DistributedDataParallel):
            return
        if getattr(strategy, "_ddp_comm_hook", None) is not None:
            self.monitor._notes.append("the DDP strategy has its own communication hook (DDP takes one): "
                                       "no per-rank gradients, so no two-batch noise scale from the ranks")
            return
        self.monitor.attach_ddp(wrapped)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        mon = self.monitor
        if mon is None:
            return
        try:
            import torch  # optional: torch

            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            if isinstance(loss, torch.Tensor) and loss.numel() == 1:
                mon.observe_loss(loss)  # the walk-off rule reads the training loss
            last = mon.last_analysis
            if last is None or last.step == self._logged:
                return
            self._logged = last.step
            metrics = report_metrics(mon.report())
        except Exception as exc:  # noqa: BLE001 - never break training for the monitor
            LOGGER.warning("adamcheck: monitor metrics not logged (%s: %s)", type(exc).__name__, exc)
            return
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.monitor is not None:
            self.monitor.remove()
