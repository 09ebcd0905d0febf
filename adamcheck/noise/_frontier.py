"""The feasible (D0, D1) frontier of the affine-variance condition across sampled points.

docs/theory.md section 2 (Zhang et al. 2026, assumption A2.2): with ``ell = (1/n) sum_i ell_i``
over the n mini-batches of a partition,

    sum_{i<n} ||grad ell_i(theta)||^2  <=  D1 ||grad ell(theta)||^2 + D0     for all theta.

At each sampled point p write ``S_p = sum_i ||grad ell_i||^2`` and
``g_p = ||grad ell||^2``. The pairs (D0, D1) >= 0 that satisfy every sampled point are
those above the convex, piecewise-linear, non-increasing frontier

    D0(D1) = max_p max(0, S_p - D1 g_p).

Its two corners: the smallest D1 with D0 = 0 (strong growth), ``max_p S_p / g_p``; and
the smallest D0 with D1 = n (bounded variance), ``max_p (S_p - n g_p)``, which is
n times the largest mini-batch variance since ``S_p - n g_p = sum_i ||grad ell_i -
grad ell||^2``. Sampled points give lower bounds on the constants of the whole problem:
a point not sampled can only push the frontier up.

Example:
    >>> f = d_frontier([10.0, 12.0], [1.0, 2.0], n=4)
    >>> f["d1_at_d0_zero"], f["d0_at_d1_n"]
    (10.0, 6.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["d_frontier", "corners"]


def corners(S: Any, g: Any, n: float) -> tuple[np.ndarray, np.ndarray]:
    """Both corners for stacked inputs: ``S``, ``g`` of shape (..., P); returns two (...,) arrays.

    ``d1_at_d0_zero`` is inf when a point has g_p = 0 < S_p (a stationary point with noise:
    strong growth fails); a point with S_p = g_p = 0 constrains nothing.
    """
    S = np.asarray(S, dtype=float)
    g = np.asarray(g, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g > 0, S / np.where(g > 0, g, 1.0), np.where(S > 0, np.inf, 0.0))
    d1 = ratio.max(axis=-1)
    d0 = np.maximum(S - n * g, 0.0).max(axis=-1)
    return d1, d0


def d_frontier(S: Any, g: Any, n: float) -> dict[str, Any]:
    """The frontier D0(D1) for D1 from n to its zero, with both corners.

    Args:
        S: ``sum_i ||grad ell_i||^2`` at each sampled point (P,).
        g: ``||grad ell||^2`` at each point (P,).
        n: number of mini-batches.

    Returns:
        dict with ``d1_at_d0_zero`` (float, inf if strong growth fails),
        ``d0_at_d1_n`` and ``vertices``, the frontier's corner points ``[D1, D0]``
        from D1 = n to the first D1 where D0 = 0 (if finite); between vertices the
        frontier is linear, beyond the last one it is constant.

    References:
        Zhang, Li, Chen, Luo, Sun (2026), arXiv:2603.02092, Assumption A2.2.
    """
    S = np.atleast_1d(np.asarray(S, dtype=float))
    g = np.atleast_1d(np.asarray(g, dtype=float))
    d1_star, d0_n = (float(v) for v in corners(S, g, n))

    def d0_at(d1: float) -> float:
        return float(np.maximum(S - d1 * g, 0.0).max())

    hi = d1_star
    cand = {float(n)}
    with np.errstate(divide="ignore", invalid="ignore"):
        for p in range(S.size):
            if g[p] > 0:
                cand.add(float(S[p] / g[p]))
            for q in range(p + 1, S.size):
                if g[p] != g[q]:
                    cand.add(float((S[p] - S[q]) / (g[p] - g[q])))
    finite = [c for c in cand if math.isfinite(c) and c >= n]
    if math.isfinite(hi):
        finite = [c for c in finite if c <= hi] + [hi]
    xs = sorted(set(finite))
    pts = [(x, d0_at(x)) for x in xs]
    # keep only points where the slope changes
    vertices: list[list[float]] = []
    for i, (x, y) in enumerate(pts):
        if 0 < i < len(pts) - 1:
            (x0, y0), (x1, y1) = pts[i - 1], pts[i + 1]
            if x1 > x0 and abs((y - y0) * (x1 - x0) - (y1 - y0) * (x - x0)) <= 1e-12 * max(1.0, abs(y0), abs(y1)) * (x1 - x0):
                continue
        vertices.append([x, y])
    return {"d1_at_d0_zero": d1_star, "d0_at_d1_n": d0_n, "vertices": vertices}
