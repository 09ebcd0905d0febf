"""torch.optim.Adam / AdamW on the simulator's data problems, one configuration at a time.

The independent route for parity: the gradient comes from torch autograd, the
update from torch.optim. Used live by tests/simulator/test_simulator_torch.py (when torch is
importable) and by tests/golden/record_torch.py to record golden trajectories.
"""

from __future__ import annotations

import numpy as np


def torch_trajectory(kind, X, y, batch_size, comps, *, beta1, beta2, lr, eps, weight_decay=0.0,
                     decoupled=False, x0=None):
    """Iterates (steps + 1, d) of torch Adam/AdamW following the component sequence ``comps``."""
    import torch
    import torch.nn.functional as F

    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    d = X.shape[1]
    w = torch.zeros(d, dtype=torch.float64) if x0 is None else torch.tensor(x0, dtype=torch.float64)
    w.requires_grad_(True)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls([w], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, foreach=False)
    out = np.empty((len(comps) + 1, d))
    out[0] = w.detach().numpy()
    N = X.shape[0]
    for k, c in enumerate(comps):
        lo, hi = int(c) * batch_size, min((int(c) + 1) * batch_size, N)
        opt.zero_grad()
        z = Xt[lo:hi] @ w
        if kind == "lsq":
            loss = 0.5 * torch.mean((z - yt[lo:hi]) ** 2)
        else:
            loss = F.binary_cross_entropy_with_logits(z, yt[lo:hi])
        loss.backward()
        opt.step()
        out[k + 1] = w.detach().numpy()
    return out


def parity_cases(seed: int = 0, count: int = 8):
    """Random (beta1, beta2, lr, eps, weight decay, decoupled) settings, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        cases.append(
            dict(
                beta1=float(rng.uniform(0.0, 0.99)),
                beta2=float(rng.uniform(0.5, 0.9999)),
                lr=float(10 ** rng.uniform(-3, -1)),
                eps=float(10 ** rng.uniform(-10, -4)),
                weight_decay=0.0 if i % 4 < 2 else float(10 ** rng.uniform(-3, -1)),
                decoupled=bool(i % 2),
            )
        )
    return cases


def parity_data(kind: str, seed: int = 0, N: int = 40, d: int = 5):
    rng = np.random.default_rng(100 + seed)
    X = rng.normal(size=(N, d))
    w = rng.normal(size=d)
    if kind == "lsq":
        y = X @ w + 0.3 * rng.normal(size=N)
    else:
        y = (rng.random(N) < 1 / (1 + np.exp(-(X @ w)))).astype(float)
    return X, y
