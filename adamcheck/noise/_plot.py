"""Pictures of an estimate: the (D0, D1) frontier and the per-coordinate sign agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._plotting import pyplot, save_figure

__all__ = ["plot_estimate"]


def plot_estimate(est: Any, path: str | Path) -> Path:
    """Left: each sampled point's constraint D0 >= S_p - D1 g_p and the feasible frontier
    (expected partition, plus the corners of actual partitions if computed). Right: the
    per-coordinate P(sign g_B = sign E g) at batch B, for coordinates resolved from zero."""
    plt = pyplot()
    c = est.constants
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    n = c.n
    S = n * np.asarray(c.minibatch_second_moment, dtype=float)
    g = np.asarray(c.grad_norm_sq, dtype=float)
    d1_star = c.d1_at_d0_zero
    right = d1_star * 1.15 if np.isfinite(d1_star) else max(2.0 * n, float(np.nanmax(S / np.maximum(g, 1e-300))))
    xs = np.linspace(0.0, right, 200)
    for p in range(S.size):
        ax.plot(xs, np.maximum(S[p] - xs * g[p], 0.0), lw=0.8, alpha=0.6, label=f"point {p}")
    fx = [v[0] for v in c.frontier] + ([right] if c.frontier else [])
    fy = [v[1] for v in c.frontier] + ([c.frontier[-1][1]] if c.frontier else [])
    ax.plot(fx, fy, color="k", lw=2.2, label="frontier (expected partition)")
    ax.axvline(n, color="grey", ls=":", lw=1)
    ax.plot([n], [c.d0_at_d1_n], "o", color="#1f77b4", label=f"D1 = n = {n}: D0 = {c.d0_at_d1_n:.3g}")
    if np.isfinite(d1_star):
        ax.plot([d1_star], [0.0], "s", color="#d62728", label=f"D0 = 0: D1 = {d1_star:.4g}")
    for pc in est.partitions:
        ax.plot(pc.d1_at_d0_zero, np.zeros_like(pc.d1_at_d0_zero), "x", color="#d62728", alpha=0.6,
                label=f"{pc.kind} partitions: D1 at D0 = 0")
    ax.set_xlabel("D1")
    ax.set_ylabel("smallest feasible D0")
    ax.set_title(f"(D0, D1) condition at B = {c.batch_size} (n = {n})")
    ax.set_xlim(0, right)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    for law in est.laws:
        se = law.mean_se
        resolved = np.abs(law.mean()) > 2 * se
        if resolved.any():
            bx.hist(law.sign_agreement()[resolved], bins=20, range=(0, 1), alpha=0.5,
                    label=f"point {law.meta['point']} ({int(resolved.sum())} coords)")
    bx.axvline(0.5, color="grey", ls=":", lw=1)
    bx.set_xlabel("P(sign g_B = sign E g) per coordinate")
    bx.set_ylabel("coordinates")
    bx.set_title(f"mini-batch sign agreement at B = {c.batch_size}")
    bx.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)
