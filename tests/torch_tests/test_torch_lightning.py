"""The Lightning callback on a real lightning Trainer (CPU): its monitor sees the same
steps and statistics as a plain loop with the same data and accumulation, and the
analyses reach the trainer's loggers."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch


def test_lightning_callback_matches_a_plain_loop_and_logs(tmp_path):
    pl = pytest.importorskip("lightning.pytorch", reason="lightning is not installed (extra adamcheck[lightning])")
    import torch

    from adamcheck.torch import GradientMonitor, lightning_callback

    g = torch.Generator().manual_seed(3)
    x = torch.randn(160, 5, generator=g)
    y = (x[:, 0] - x[:, 1] > 0).long()

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return torch.nn.functional.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2, betas=(0.9, 0.99))

    class Memory(pl.loggers.Logger):
        def __init__(self):
            super().__init__()
            self.rows = []

        name = "memory"
        version = 0

        def log_hyperparams(self, *args, **kwargs):
            pass

        def log_metrics(self, metrics, step=None):
            self.rows.append((step, dict(metrics)))

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4, shuffle=False)
    cb = lightning_callback(every=10, multiples=(1,), seed=2)
    memory = Memory()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=20, accumulate_grad_batches=2, logger=memory,
                         callbacks=[cb], enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=str(tmp_path))
    trainer.fit(Module(), loader)
    rep = cb.monitor.report()
    assert rep.step == 20 and rep.batch_size == 8 and rep.small_batch == 4
    assert rep.small_batch_source == "micro-batches"
    steps = [s for s, m in memory.rows if "adamcheck/b_simple" in m]
    assert steps == [10, 20]

    # the plain loop: same data order, two micro-batches of 4 per step, loss / 2
    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99))
    mon = GradientMonitor(opt, batch_size=8, every=10, multiples=(1,), seed=2, model=model, accumulation_steps=2)
    for s in range(20):
        opt.zero_grad()
        for k in range(2):
            lo = (2 * s + k) * 4
            (torch.nn.functional.cross_entropy(model(x[lo : lo + 4]), y[lo : lo + 4]) / 2).backward()
        opt.step()
    ref = mon.report()
    np.testing.assert_allclose(cb.monitor.recorder.rows.last()[0], mon.recorder.rows.last()[0], rtol=1e-5, atol=1e-8)
    for name in ("b_simple", "grad_norm_sq", "direction_norm_last", "beta2_critical", "drift_ratio_min"):
        mine, theirs = getattr(rep, name), getattr(ref, name)
        assert (mine is None and theirs is None) or mine == pytest.approx(theirs, rel=1e-4), name


def test_lightning_callback_checks_options_when_made_and_never_stops_fit(tmp_path):
    pl = pytest.importorskip("lightning.pytorch", reason="lightning is not installed (extra adamcheck[lightning])")
    import torch

    from adamcheck import InvalidParameterError
    from adamcheck.torch import AdamCheckWarning, lightning_callback

    with pytest.raises(InvalidParameterError, match="unknown monitor setting"):
        lightning_callback(evry=10)
    with pytest.raises(InvalidParameterError, match="nope"):
        lightning_callback(drift_options={"nope": 1})

    class Module(pl.LightningModule):  # SGD: not an optimizer the monitor can follow
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(3, 1)

        def training_step(self, batch, batch_idx):
            return self.net(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(20, 3)), batch_size=4)
    cb = lightning_callback()
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=5, logger=False, callbacks=[cb],
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=str(tmp_path))
    with pytest.warns(AdamCheckWarning, match="not attached.*no betas"):
        trainer.fit(Module(), loader)
    assert trainer.global_step == 5 and cb.monitor is None
