"""Near-exact drift ratio for laws with few atoms: the discretised second-moment chain.

Idea (docs/theory.md section 9). Under i.i.d. ``g ~ P`` the stationary second moment
``v`` is a Markov chain on its own, ``v' = b2 v + (1-b2) g^2``, and ``m`` is linear in
past gradients, ``m_0 = (1-b1) sum_k b1^k g_{-k}``. Hence

    N(b1, b2) = E_pi[m / (sqrt v + eps)] = (1-b1) sum_k b1^k h_k(b2),
    h_k = E[g_{-k} f(v_0)] = sum_a w_a x_a < pi, P_a P^k f >,

with ``f(v) = 1/(sqrt v + eps)``, ``P_a phi(v) = phi(b2 v + (1-b2) x_a^2)`` and
``P = sum_a w_a P_a``. The gradient at lag k is integrated out exactly (sum over
atoms), so only the law of ``v`` needs approximating, and one sequence
``f_k = P^k f`` serves every ``b1`` at once.

Discretisation: ``v`` lives in ``[min x^2, max x^2]`` (a convex combination of past
``g^2``); we put G nodes uniformly in ``log v`` (spacing ``delta``) and move mass to the
two neighbouring nodes with weights linear in ``v`` (mean preserving). ``pi`` is the
exact stationary vector of that finite chain (sparse LU). The scheme's error is
O(delta) (numerical diffusion when ``b2`` is near 1) and is estimated by repeating
the computation at ``2 delta``: ``err = |N_delta - N_2delta|``, which over-estimates a
first-order error and is conservative for faster convergence. The lag sum is cut at
``K`` once ``b1^K * max|x| * pi|f_K - pi f|`` falls below a tolerance; that quantity
bounds the cut tail because ``P`` contracts ``L1(pi)``.

Laws whose smallest ``|x|`` is 0 get a floor ``v >= floor * max x^2`` (mass below is
moved up): this only matters in the ``b1 > sqrt(b2)`` corner, where ``m/sqrt(v)`` is
unbounded.

Cost: one sparse LU of size G and K sparse mat-vecs with 2 nonzeros per atom per
row; G = ln(max x^2/min x^2)/delta. Use it for few atoms and ``1 - b2`` not tiny.
"""

from __future__ import annotations

import numpy as np

__all__ = ["markov_numerator", "merge_atoms"]


def merge_atoms(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge equal atoms of a 1-D law and drop zero weights."""
    keep = w > 0
    x, w = x[keep], w[keep]
    uniq, inv = np.unique(x, return_inverse=True)
    return uniq, np.bincount(inv, weights=w, minlength=uniq.size)


def _grid(y: np.ndarray, delta: float, floor: float) -> np.ndarray:
    vhi = float(y.max())
    vlo = max(float(y.min()), vhi * floor)
    if vhi <= vlo * (1 + 1e-12):
        return np.array([vhi])
    count = int(np.ceil(np.log(vhi / vlo) / delta)) + 1
    v = np.exp(np.linspace(np.log(vlo), np.log(vhi), count))
    v[0], v[-1] = vlo, vhi
    return v


def markov_numerator(
    x: np.ndarray,
    w: np.ndarray,
    beta1s: np.ndarray,
    beta2: float,
    *,
    eps: float = 0.0,
    delta: float = 0.01,
    tol: float = 1e-9,
    floor: float = 1e-12,
    max_lags: int = 200_000,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """``N(b1, b2) = E_pi[m/(sqrt v + eps)]`` for every ``b1`` in ``beta1s`` at one ``b2``.

    ``x``, ``w``: atoms and weights of a 1-D law. Returns ``(N, tail_bound, info)``
    where ``tail_bound`` bounds the error of cutting the lag sum (not the
    discretisation error, see the module docstring) and ``info`` has the grid size
    ``nodes`` and the number of lags ``lags``.

    Example:
        >>> import numpy as np
        >>> N, _, _ = markov_numerator(np.array([2.0, -1.0]), np.array([0.5, 0.5]), np.array([0.0]), 0.0)
        >>> float(N[0])   # E[g/|g|] at b1 = b2 = 0
        0.0
    """
    import scipy.sparse as sp  # lazy: keeps scipy off `from adamcheck import drift_ratio`
    import scipy.sparse.linalg as spl  # lazy: keeps scipy off `from adamcheck import drift_ratio`

    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    beta1s = np.asarray(beta1s, dtype=float)
    y = x * x
    mu = float(w @ x)
    v = _grid(y, delta, floor)
    f = 1.0 / (np.sqrt(v) + eps)
    nodes = v.size
    if nodes == 1:  # |g| constant: v is constant, the ratio is E m * f exactly
        return np.full(beta1s.shape, mu * f[0]), np.zeros(beta1s.shape), {"nodes": 1, "lags": 0}

    c = 1.0 - beta2
    rows, cols, vals, qcols, qvals = [], [], [], [], []
    idx = np.arange(nodes)
    for xa, ya, wa in zip(x, y, w):
        t = np.clip(beta2 * v + c * ya, v[0], v[-1])
        j = np.clip(np.searchsorted(v, t, side="right") - 1, 0, nodes - 2)
        lam = np.clip((t - v[j]) / (v[j + 1] - v[j]), 0.0, 1.0)
        rows += [idx, idx]
        cols += [j, j + 1]
        vals += [wa * (1 - lam), wa * lam]
        qcols += [j, j + 1]
        qvals += [wa * xa * (1 - lam), wa * xa * lam]
    rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
    P = sp.csr_matrix((np.concatenate(vals), (rows_a, cols_a)), shape=(nodes, nodes))

    # Stationary vector: (P^T - I) pi = 0 with the last equation replaced by sum(pi) = 1
    # (natural ordering: the dense row comes last, so the LU has little fill-in).
    A = (P.T - sp.identity(nodes, format="csr")).tocsr()
    A = sp.vstack([A[:-1], sp.csr_matrix(np.ones((1, nodes)))]).tocsc()
    rhs = np.zeros(nodes)
    rhs[-1] = 1.0
    pi = spl.spsolve(A, rhs, permc_spec="NATURAL")
    pi = np.clip(pi, 0.0, None)
    pi /= pi.sum()

    # q_i = sum_a w_a x_a (P_a^T pi)_i, so h_k = q . f_k.
    Q = sp.csr_matrix((np.concatenate(qvals), (rows_a, np.concatenate(qcols))), shape=(nodes, nodes))
    q = Q.T @ pi
    fbar = float(pi @ f)
    xmax = float(np.abs(x).max())
    b1max = float(beta1s.max()) if beta1s.size else 0.0

    hs = []
    fk = f
    bound = np.inf
    k = 0
    while True:
        hs.append(q @ fk)
        if k % 16 == 0:
            bound = xmax * float(pi @ np.abs(fk - fbar))
            if bound * b1max ** (k + 1) <= tol or bound <= tol or k >= max_lags:
                break
        fk = P @ fk
        k += 1
    h = np.asarray(hs)
    lags = h.size
    hinf = mu * fbar
    # Horner: sum_k b1^k h_k for every b1 at once
    acc = np.zeros_like(beta1s)
    for hk in h[::-1]:
        acc = acc * beta1s + hk
    N = (1 - beta1s) * acc + beta1s**lags * hinf
    tail = beta1s**lags * bound
    return N, tail, {"nodes": nodes, "lags": lags}
