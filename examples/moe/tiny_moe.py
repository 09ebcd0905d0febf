"""A tiny mixture of experts whose router neglects one expert: beta2* per group, and what real training shows.

The task: points from E = 4 clusters in 8 dimensions, each cluster with its own linear
4-class teacher; cluster e is drawn with probability SHARE[e] = (0.40, 0.30, 0.27, 0.03).
The model: a dense input layer, a learned top-1 router (softmax gate), one small MLP
expert per cluster, a dense head. The router starts aligned with the clusters, so expert 3
receives about 3% of the 64 tokens of a step (about 2 tokens; none at about 1 step in 6).

    python examples/moe/tiny_moe.py            # monitored run: beta2* per group (seconds)
    python examples/moe/tiny_moe.py --sweep    # real runs over beta2 at beta1 = 0: per-cluster loss (minutes)
    python examples/moe/tiny_moe.py --sweep 0.9 0.9,0.999

Both are in docs/guide.md ("Parameter groups") and docs/theory.md section 11, with the figures.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

E, D, H, C = 4, 8, 16, 4
SHARE = (0.40, 0.30, 0.27, 0.03)
BATCH = 64


def make_task(seed: int = 0):
    """Cluster centres (E, D) and teachers (E, D, C), fixed by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(E, D, generator=g) * 3, torch.randn(E, D, C, generator=g)


def draw(task, n: int, rng: np.random.Generator, share=SHARE):
    """n points: inputs (n, D), labels (n,), clusters (n,)."""
    centres, teachers = task
    c = torch.as_tensor(rng.choice(E, size=n, p=np.asarray(share) / np.sum(share)))
    x = centres[c] + torch.as_tensor(rng.standard_normal((n, D)), dtype=torch.float32)
    y = torch.einsum("nd,ndc->nc", x, teachers[c]).argmax(-1)
    return x, y, c


class TinyMoE(torch.nn.Module):
    """Dense input layer, top-1 router with a softmax gate, E MLP experts, dense head."""

    def __init__(self, task) -> None:
        super().__init__()
        self.inp = torch.nn.Linear(D, D)
        self.router = torch.nn.Linear(D, E)
        self.experts = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, D)) for _ in range(E))
        self.head = torch.nn.Linear(D, C)
        centres, _ = task
        with torch.no_grad():  # the router starts aligned with the clusters (nearest centre)
            self.router.weight.copy_(2.0 * centres)
            self.router.bias.copy_(-(centres**2).sum(1))

    def forward(self, x):
        h = self.inp(x)
        gate = self.router(x).softmax(-1)
        top = gate.argmax(-1)
        out = torch.zeros_like(h)
        for e, expert in enumerate(self.experts):
            sel = top == e
            if sel.any():
                out[sel] = expert(h[sel]) * gate[sel, e : e + 1]
        return self.head(h + out), top


def groups():
    """The monitor's groups: the dense layers (every token) and each expert (the router's counts)."""
    from adamcheck.monitor import GroupSpec

    out = {"dense": GroupSpec(["inp", "head"], tokens_per_step=BATCH)}
    out.update({f"expert.{e}": GroupSpec(f"experts.{e}") for e in range(E)})
    return out


def train(beta1: float, beta2: float, *, steps: int, seed: int = 0, lr: float = 3e-3, monitor: dict | None = None):
    """Train with torch.optim.Adam; returns (model, monitor or None, router counts per step (steps, E))."""
    task = make_task(0)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 100)
    model = TinyMoE(task)
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, beta2))
    mon = None
    if monitor is not None:
        from adamcheck.torch import GradientMonitor

        mon = GradientMonitor(opt, batch_size=BATCH, model=model, groups=groups(), **monitor)
    counts = np.zeros((steps, E), dtype=np.int64)
    for step in range(steps):
        x, y, _ = draw(task, BATCH, rng)
        logits, top = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        routed = torch.bincount(top, minlength=E)
        counts[step] = routed.numpy()
        if mon is not None:
            mon.observe_loss(loss)
            mon.observe_tokens({f"expert.{e}": routed[e] for e in range(E)})
        opt.step()
    return model, mon, counts


def cluster_losses(model, n: int = 4000, seed: int = 1) -> np.ndarray:
    """Held-out cross-entropy per cluster (E,), on balanced clusters."""
    task = make_task(0)
    x, y, c = draw(task, n, np.random.default_rng(seed), share=(1, 1, 1, 1))
    with torch.no_grad():
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    return np.array([float(loss[c == e].mean()) for e in range(E)])


def sweep(beta1: float, beta2s, steps: int = 1500, seeds=(0, 1, 2)):
    """Per-cluster held-out loss after ``steps`` real steps, mean over seeds, for each beta2: yields (beta2, (E,))."""
    for b2 in beta2s:
        yield b2, np.mean([cluster_losses(train(beta1, b2, steps=steps, seed=s)[0]) for s in seeds], axis=0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    if "--sweep" in sys.argv:  # --sweep [beta1 [beta2,beta2,...]]
        args = sys.argv[sys.argv.index("--sweep") + 1 :]
        beta1 = float(args[0]) if args else 0.0
        beta2s = [float(b) for b in args[1].split(",")] if len(args) > 1 else (0.3, 0.8, 0.95, 0.999)
        for b2, losses in sweep(beta1, beta2s):
            print(f"beta1 {beta1:g} beta2 {b2:g}: held-out loss per cluster " +
                  " ".join(f"{v:.3f}" for v in losses) + f"  (cluster 3 / mean of 0-2: "
                  f"{losses[3] / losses[:3].mean():.2f})", flush=True)
    else:
        _, mon, counts = train(0.0, 0.9, steps=400, monitor={"every": 400, "warn": False})
        print(mon.report())
        for g in mon.report().groups:
            print(f"{g.name:9s} tokens/step {g.tokens_per_step:6.2f}  beta2* {g.beta2_critical}")
