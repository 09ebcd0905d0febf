"""The :class:`GradientMonitor` as a Lightning ``Callback`` (extra ``adamcheck[lightning]``).

lightning is imported inside :func:`lightning_callback`, so the class is created on first
use and ``import adamcheck.torch`` never loads it.

What it does: in ``on_train_start`` it attaches a :class:`GradientMonitor` to the
trainer's first optimizer (batch size: the one you give, else the dataloader's batch
size x ``accumulate_grad_batches`` x ``world_size``); after each training batch whose
optimizer step ran an analysis it logs the numbers to every logger of the trainer
(``trainer.loggers``, keys ``adamcheck/...``). The monitor is ``callback.monitor``;
its warnings go through Python ``warnings`` and the ``adamcheck`` logger as usual.
Under Lightning's DDP strategy it installs the monitor's communication hook on the
strategy's ``DistributedDataParallel`` wrapper (:meth:`GradientMonitor.attach_ddp`), so
the two-batch estimate uses each rank's gradient as a small batch; DDP takes one hook,
so when the strategy was given its own (``DDPStrategy(ddp_comm_hook=...)``) the callback
leaves it and says so in the report's notes. The other statistics are the same on every
rank.
"""

from __future__ import annotations

from typing import Any

__all__ = ["lightning_callback"]


def lightning_callback(batch_size: int | None = None, **monitor_options: Any) -> Any:
    """A ``lightning.pytorch.Callback`` that runs a :class:`GradientMonitor` during ``fit``.

    Args:
        batch_size: examples per optimizer step (default: the train dataloader's batch
            size x ``accumulate_grad_batches`` x ``world_size``).
        monitor_options: passed to :class:`GradientMonitor` (``every``, ``coordinates``...).

    Raises:
        InvalidParameterError: lightning is not installed, or the batch size cannot be
            found (pass ``batch_size``).

    Example (needs lightning)::

        cb = adamcheck.torch.lightning_callback(every=500)
        lightning.Trainer(callbacks=[cb]).fit(module, loader)
        cb.monitor.report()
    """
    from .._errors import InvalidParameterError

    try:
        import lightning.pytorch as pl
    except ImportError:
        raise InvalidParameterError("the Lightning callback needs lightning: pip install 'adamcheck[lightning]'") from None
    from ._monitor import GradientMonitor, report_metrics
    from ._sample import import_torch

    torch = import_torch()

    class AdamCheckMonitorCallback(pl.Callback):  # type: ignore[misc, valid-type]
        """Attaches :class:`GradientMonitor` at train start; logs its analyses."""

        def __init__(self) -> None:
            self.monitor: GradientMonitor | None = None
            self._logged = -1

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            size = batch_size
            if size is None:
                loader = trainer.train_dataloader
                per = getattr(loader, "batch_size", None)
                if not isinstance(per, int):
                    raise InvalidParameterError(
                        "cannot tell the batch size from the train dataloader: pass lightning_callback(batch_size=...)"
                    )
                size = per * int(trainer.accumulate_grad_batches) * int(trainer.world_size)
            options = {"accumulation_steps": int(trainer.accumulate_grad_batches), **monitor_options}
            self.monitor = GradientMonitor(trainer.optimizers[0], size, model=pl_module, **options)
            self._attach_ddp(trainer.strategy)

        def _attach_ddp(self, strategy: Any) -> None:
            from torch.nn.parallel import DistributedDataParallel

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
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            if mon is not None and isinstance(loss, torch.Tensor) and loss.numel() == 1:
                mon.observe_loss(loss)  # the walk-off rule reads the training loss
            if mon is None or not mon._analysis or mon._analysis["analysed_step"] == self._logged:
                return
            self._logged = mon._analysis["analysed_step"]
            metrics = report_metrics(mon.report())
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=trainer.global_step)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            if self.monitor is not None:
                self.monitor.remove()

    return AdamCheckMonitorCallback()
