"""Two gloo processes under DDP (per-rank against all-reduced gradients, merged with one
all-reduce of the noise accumulator) give the statistics of one process that accumulates
the same two micro-batches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

COMMON = textwrap.dedent(
    """
    import numpy as np
    import torch
    from adamcheck.torch import GradientMonitor

    STEPS, MICRO = 40, 4

    def data():
        g = torch.Generator().manual_seed(5)
        x = torch.randn(STEPS * 2 * MICRO, 6, generator=g)
        y = (x[:, 0] + 0.5 * torch.randn(len(x), generator=g) > 0).long()
        return x, y

    def model():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 2))

    def numbers(mon):
        r = mon.report()
        return np.array([np.nan if v is None else v for v in (
            r.grad_norm_sq, r.b_simple, r.small_batch, r.beta2_critical, r.drift_ratio_min, r.drift_ratio_median,
            r.direction_norm_last, r.informative, r.step)], dtype=float)

    def monitor(opt, net, **kw):
        return GradientMonitor(opt, batch_size=2 * MICRO, every=STEPS, window=STEPS, multiples=(1,),
                               model=net, seed=1, **kw)
    """
)

WORKER = COMMON + textwrap.dedent(
    """
    import sys
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    rank, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    net = model()
    ddp = DDP(net)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-2, betas=(0.9, 0.99))
    mon = monitor(opt, net).attach_ddp(ddp)
    x, y = data()
    for s in range(STEPS):
        lo = (2 * s + rank) * MICRO
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ddp(x[lo : lo + MICRO]), y[lo : lo + MICRO]).backward()
        opt.step()
    np.save(f"{out}.{rank}.npy", numbers(mon))
    np.save(f"{out}.{rank}.rows.npy", mon.recorder.rows.last()[0])
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(procs: list, timeout: float = 300) -> None:
    """Wait for every worker; kill any still running; each must exit 0 (stderr's tail shown)."""
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err[-3000:]


def test_two_gloo_ranks_give_the_statistics_of_one_process_with_accumulation(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port, out = str(_free_port()), str(tmp_path / "stats")
    procs = [subprocess.Popen([sys.executable, str(script), str(r), port, out], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    _wait_for(procs)
    # one process: the same two micro-batches per step, accumulated with loss / 2
    ns: dict = {}
    exec(compile(COMMON, "common", "exec"), ns)  # our own test code, not user input
    torch = ns["torch"]
    net = ns["model"]()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99))
    mon = ns["monitor"](opt, net, accumulation_steps=2)
    x, y = ns["data"]()
    micro = ns["MICRO"]
    for s in range(ns["STEPS"]):
        opt.zero_grad()
        for r in range(2):
            lo = (2 * s + r) * micro
            (torch.nn.functional.cross_entropy(net(x[lo : lo + micro]), y[lo : lo + micro]) / 2).backward()
        opt.step()
    one = ns["numbers"](mon)
    ranks = [np.load(f"{out}.{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(ranks[0], ranks[1])  # merged: every rank reports the same
    assert one[2] == 4 and np.isfinite(one[1])  # small batches of 4 seen, a noise scale computed
    np.testing.assert_allclose(ranks[0], one, rtol=1e-4)
    np.testing.assert_allclose(np.load(f"{out}.0.rows.npy"), mon.recorder.rows.last()[0], rtol=1e-4, atol=1e-7)


LIGHTNING_WORKER = textwrap.dedent(
    """
    import os
    import sys
    import numpy as np
    import torch
    import lightning.pytorch as pl
    from adamcheck.torch import lightning_callback

    out = sys.argv[1]
    g = torch.Generator().manual_seed(3)
    x = torch.randn(160, 5, generator=g)
    y = (x[:, 0] - x[:, 1] > 0).long()

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))

        def training_step(self, batch, batch_idx):
            return torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2, betas=(0.9, 0.99))

    # each rank its own examples (every other one), in order: Lightning's distributed sampler shuffles
    rank = int(os.environ["LOCAL_RANK"])
    mine = torch.utils.data.Subset(torch.utils.data.TensorDataset(x, y), range(rank, len(x), 2))
    loader = torch.utils.data.DataLoader(mine, batch_size=4, shuffle=False)
    cb = lightning_callback(every=20, window=20, multiples=(1,), seed=1)
    trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=20, logger=False,
                         use_distributed_sampler=False,
                         callbacks=[cb], enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=out + ".logs")
    trainer.fit(Module(), loader)
    r = cb.monitor.report()
    np.save(f"{out}.{trainer.global_rank}.npy", np.array([np.nan if v is None else v for v in (
        r.grad_norm_sq, r.b_simple, r.small_batch, r.beta2_critical, r.drift_ratio_min, r.drift_ratio_median,
        r.direction_norm_last, r.informative, r.step, r.batch_size)], dtype=float))
    assert r.small_batch_source == "ranks", r
    """
)


def test_lightning_ddp_callback_installs_the_hook_and_matches_one_process(tmp_path):
    """The Lightning callback under the DDP strategy (two gloo ranks launched as Lightning's
    external processes) attaches the monitor's communication hook: the ranks are the small
    batches, as in one process that accumulates the same two micro-batches per step."""
    pytest.importorskip("lightning.pytorch", reason="lightning is not installed (extra adamcheck[lightning])")
    script = tmp_path / "lightning_worker.py"
    script.write_text(LIGHTNING_WORKER)
    port, out = str(_free_port()), str(tmp_path / "stats")
    procs = []
    for r in range(2):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), LOCAL_RANK=str(r),
                   NODE_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs.append(subprocess.Popen([sys.executable, str(script), out], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    _wait_for(procs)
    import torch

    from adamcheck.torch import GradientMonitor

    # one process: rank r's batches (every other example) as micro-batches r = 0, 1 of each step
    g = torch.Generator().manual_seed(3)
    x = torch.randn(160, 5, generator=g)
    y = (x[:, 0] - x[:, 1] > 0).long()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99))
    mon = GradientMonitor(opt, batch_size=8, every=20, window=20, multiples=(1,), seed=1, model=net,
                          accumulation_steps=2)
    for s in range(20):
        opt.zero_grad()
        for r in range(2):
            xr, yr = x[r::2][4 * s : 4 * s + 4], y[r::2][4 * s : 4 * s + 4]
            (torch.nn.functional.cross_entropy(net(xr), yr) / 2).backward()
        opt.step()
    rep = mon.report()
    one = np.array([np.nan if v is None else v for v in (
        rep.grad_norm_sq, rep.b_simple, rep.small_batch, rep.beta2_critical, rep.drift_ratio_min,
        rep.drift_ratio_median, rep.direction_norm_last, rep.informative, rep.step, rep.batch_size)], dtype=float)
    ranks = [np.load(f"{out}.{r}.npy") for r in range(2)]
    np.testing.assert_array_equal(ranks[0], ranks[1])
    assert one[2] == 4 and np.isfinite(one[1]) and one[-1] == 8
    np.testing.assert_allclose(ranks[0], one, rtol=1e-4)


FAILING_WORKER = COMMON + textwrap.dedent(
    """
    import sys
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    import adamcheck.monitor._host as monitor_module  # where the monitor calls the analysis

    rank, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if rank == 1:  # a bug on one rank only
        def broken(window, settings):
            raise MemoryError("planted on rank 1")
        monitor_module.analyse_window = broken
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    net = model()
    ddp = DDP(net)
    opt = torch.optim.Adam(ddp.parameters(), lr=1e-2, betas=(0.9, 0.99))
    mon = GradientMonitor(opt, batch_size=2 * MICRO, every=10, multiples=(1,), model=net, warn=False).attach_ddp(ddp)
    x, y = data()
    for s in range(STEPS):
        lo = (2 * s + rank) * MICRO
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ddp(x[lo : lo + MICRO]), y[lo : lo + MICRO]).backward()
        opt.step()
    r = mon.report()
    with open(f"{out}.{rank}.txt", "w") as f:
        f.write(f"{mon.step} {r.enabled} {mon.error}")
    dist.destroy_process_group()
    """
)


def test_one_rank_failing_switches_every_rank_off_and_training_finishes(tmp_path):
    """An error in one rank's analysis must not leave the other ranks waiting in the
    analysis's collectives: every rank switches its monitor off at that analysis, and
    training (DDP's own all-reduces) goes on to the end."""
    script = tmp_path / "failing.py"
    script.write_text(FAILING_WORKER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port, out = str(_free_port()), str(tmp_path / "state")
    procs = [subprocess.Popen([sys.executable, str(script), str(r), port, out], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    _wait_for(procs)
    states = [open(f"{out}.{r}.txt").read().split(" ", 2) for r in range(2)]
    assert [s[:2] for s in states] == [["10", "False"], ["10", "False"]]  # both off at the first analysis
    assert "another rank" in states[0][2] and "planted on rank 1" in states[1][2]
