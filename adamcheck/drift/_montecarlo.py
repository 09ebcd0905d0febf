"""Monte Carlo drift ratio on a whole (beta1, beta2) grid from one gradient sequence.

Estimator (docs/theory.md section 9), for every coordinate and every grid cell at once:

* **Common random numbers.** Given a gradient sequence, ``m`` depends only on ``b1``
  and ``v`` only on ``b2``; one sequence drives every cell. ``m`` and ``v`` rows are
  first-order filters (``scipy.signal.lfilter``) and the cell averages are matrix
  products ``M_prev @ F.T`` (BLAS).
* **Conditioning on the fresh gradient** (Rao-Blackwell). With ``m_t = b1 m_{t-1} +
  (1-b1) g_t`` and ``v_t = b2 v_{t-1} + (1-b2) g_t^2`` we average, instead of
  ``m_t f(v_t)``, its conditional mean given the past,
  ``(1-b1) sum_a w_a x_a f(b2 v_{t-1} + (1-b2) x_a^2) + b1 m_{t-1} sum_a w_a f(...)``,
  exactly over the atoms when the law has at most ``rb_atoms`` of them, otherwise over
  ``strata`` stratified draws (one per quantile band, an unbiased estimate). At
  ``b1 = b2 = 0`` this is exact; near ``b2 = 0`` it removes most of the variance.
* **Control variates with exactly known means**: ``m``, ``v``, ``m v``, ``v^2``,
  ``m v^2`` (at lag 1), whose stationary means are closed forms
  (:func:`adamcheck.drift._moments.control_means`). They carry the second-order
  expansion of ``f`` around ``E v = E g^2``, so as ``b2 -> 1`` only the (tiny)
  remainder is left to Monte Carlo: the semi-analytic shortcut for long memories.
  Coefficients are fitted per cell by least squares on batch means.
* **Honest standard errors**: batch means (batches of ``batch_len`` steps) of the
  control-corrected estimator, inflated by ``(1+r)/(1-r)`` where ``r`` is the lag-1
  autocorrelation of the batch means, at least ``max(b1, b2)^batch_len`` (AR(1)
  correction for memories longer than a batch). Rounds of batches are added until the largest standard error on
  ``rho`` is at most ``target_se`` or ``max_steps`` is reached.

The chain starts at ``m = E g``, ``v = E g^2`` and runs ``burn`` unrecorded steps
(only the cheap filters), ``burn = min(6/(1 - max b2), 200000)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._limits import check_work
from ._moments import LawMoments, control_means

__all__ = ["MCBudget", "MCResult", "mc_grid", "reference_ratio", "run_mc_grid"]

_CONTROLS = ("m", "v", "mv", "v2", "mv2")


@dataclass
class MCResult:
    rho: np.ndarray  # (d, n2, n1)
    se: np.ndarray  # (d, n2, n1)
    steps: int
    batches: int


_BLOCK = 32


def _ema_kernels(betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block kernels of :func:`_ema`: (L, n*L) in-block filter and (n, L) powers b^(i+1)."""
    L = _BLOCK
    lag = np.arange(L)[:, None] - np.arange(L)[None, :]  # i - j
    with np.errstate(under="ignore"):
        kern = np.where(lag >= 0, (1 - betas)[:, None, None] * betas[:, None, None] ** np.maximum(lag, 0), 0.0)
        powers = betas[:, None] ** np.arange(1, L + 1)[None, :]
    return np.ascontiguousarray(kern.transpose(2, 0, 1).reshape(L, -1)), powers  # kern[b, i, j] -> [j, b, i]


def _ema(x: np.ndarray, kernels: tuple[np.ndarray, np.ndarray], last: np.ndarray) -> np.ndarray:
    """``y_t = b y_{t-1} + (1-b) x_t`` for every ``b``; x (d, T), last (d, n) -> (d, n, T).

    Blocked: inside blocks of ``_BLOCK`` steps the filter is one matrix product
    (BLAS); a short loop carries the state across blocks. Avoids importing
    scipy.signal (over a second of start-up). ``kernels`` from :func:`_ema_kernels`.
    """
    kern, powers = kernels
    d, T = x.shape
    n, L = powers.shape
    nb = -(-T // L)
    pad = nb * L - T
    xp = np.concatenate([x, np.zeros((d, pad))], axis=1) if pad else x
    part = (xp.reshape(d * nb, L) @ kern).reshape(d, nb, n, L)
    carry = np.empty((d, nb, n))
    c = last
    bL = powers[:, -1]
    ends = part[..., -1]
    for k in range(nb):
        carry[:, k] = c
        c = ends[:, k] + bL * c
    part += carry[..., None] * powers[None, None]
    return part.transpose(0, 2, 1, 3).reshape(d, n, nb * L)[..., :T]


def _ema_last(x: np.ndarray, betas: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Final state of :func:`_ema` only: ``b^T last + sum_t (1-b) b^(T-1-t) x_t`` as one GEMM."""
    T = x.shape[1]
    with np.errstate(under="ignore"):
        decay = betas[:, None] ** np.arange(T - 1, -1, -1)[None, :]  # (n, T)
        return x @ ((1 - betas)[:, None] * decay).T + last * betas[None, :] ** T


class _Sampler:
    """Draws the chain's gradient and the atoms the fresh gradient is averaged over."""

    def __init__(self, values: np.ndarray, weights: np.ndarray, rng: np.random.Generator, rb_atoms: int, strata: int):
        self.values = values  # (K, d)
        self.weights = weights
        self.rng = rng
        self.K, self.d = values.shape
        self.exact = self.K <= rb_atoms
        self.equal = bool(np.all(weights == weights[0]))
        self.strata = strata
        self.cum = np.cumsum(weights)
        self.cum[-1] = 1.0
        if not self.exact:
            order = np.argsort(values, axis=0, kind="stable")  # per coordinate
            self.sorted_vals = np.take_along_axis(values, order, axis=0).T  # (d, K)
            self.sorted_cum = np.cumsum(weights[order], axis=0).T  # (d, K)
            self.sorted_cum[:, -1] = 1.0

    def draw_chain(self, n: int) -> np.ndarray:
        """Chain gradients only (d, n), for the burn-in."""
        idx = np.searchsorted(self.cum, self.rng.random(n), side="right")
        return self.values[np.minimum(idx, self.K - 1)].T

    def draw(self, n: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Chain gradients (d, n) and [(weight, values (d, n) or (d, 1))] for the fresh-gradient average."""
        if self.exact:
            idx = np.searchsorted(self.cum, self.rng.random(n), side="right")
            g = self.values[np.minimum(idx, self.K - 1)].T
            atoms = [(float(w), self.values[a][:, None]) for a, w in enumerate(self.weights) if w > 0]
            return g, atoms
        J = self.strata
        u = (np.arange(J)[None, :, None] + self.rng.random((self.d, J, n))) / J
        if self.equal:  # inverse CDF of K equal atoms is floor(u K)
            k = np.minimum((u * self.K).astype(np.intp), self.K - 1).reshape(self.d, J * n)
            vals = np.take_along_axis(self.sorted_vals, k, axis=1).reshape(self.d, J, n)
        else:
            vals = np.empty((self.d, J, n))
            for j in range(self.d):
                k = np.searchsorted(self.sorted_cum[j], u[j].ravel(), side="right")
                vals[j] = self.sorted_vals[j][np.minimum(k, self.K - 1)].reshape(J, n)
        pick = self.rng.integers(0, J, size=n)
        g = vals[:, pick, np.arange(n)]
        return g, [(1.0 / J, vals[:, j, :]) for j in range(J)]


@dataclass(frozen=True)
class MCBudget:
    """The Monte Carlo route's budget and variance reduction (checked by the public callers).

    Attributes:
        target_se: wanted standard error on rho in every cell.
        min_batches, round_batches: batches of the first round and of each later one.
        max_steps, batch_len: the most steps, and the steps of one batch.
        rb_atoms: laws with at most this many atoms average the fresh gradient exactly.
        strata: otherwise, how many stratified draws it is averaged over.
        decide: ``(level, z)``: a cell is also done once ``|rho - level| >= z * se``.
    """

    target_se: float = 0.01
    min_batches: int = 40
    round_batches: int = 20
    max_steps: int = 2_000_000
    batch_len: int = 2048
    rb_atoms: int = 16
    strata: int = 8
    decide: tuple[float, float] | None = None


def mc_grid(
    values: np.ndarray,
    weights: np.ndarray,
    beta1s: np.ndarray,
    beta2s: np.ndarray,
    *,
    eps: float = 0.0,
    seed: int = 0,
    target_se: float = 0.01,
    min_batches: int = 40,
    round_batches: int = 20,
    max_steps: int = 2_000_000,
    batch_len: int = 2048,
    rb_atoms: int = 16,
    strata: int = 8,
    decide: tuple[float, float] | None = None,
    progress=None,
) -> MCResult:
    """Drift ratio for every coordinate of the law and every (b2, b1) cell, by Monte Carlo.

    ``values`` (K, d), ``weights`` (K,). Returns :class:`MCResult` with ``rho`` and
    ``se`` shaped (d, len(beta2s), len(beta1s)); coordinates with ``E g = 0`` are NaN.
    ``decide = (level, z)``: a cell also counts as done once ``|rho - level| >= z * se``
    (its side of ``level`` is settled), so searches stop adding steps early. The
    keyword form of :func:`run_mc_grid` (the budget as one :class:`MCBudget`).
    """
    budget = MCBudget(target_se=target_se, min_batches=min_batches, round_batches=round_batches,
                      max_steps=max_steps, batch_len=batch_len, rb_atoms=rb_atoms, strata=strata, decide=decide)
    return run_mc_grid(values, weights, beta1s, beta2s, budget, eps=eps, seed=seed, progress=progress)


class _Chain:
    """One gradient sequence driving every (b1, b2) cell: the m and v filters' states and
    the per-batch statistics (the control-corrected estimator and its controls)."""

    def __init__(self, values: np.ndarray, weights: np.ndarray, b1s: np.ndarray, b2s: np.ndarray, eps: float,
                 sampler: _Sampler):
        self.b1s, self.b2s, self.eps, self.sampler = b1s, b2s, eps, sampler
        d, n1, n2 = values.shape[1], b1s.size, b2s.size
        mom = LawMoments(values, weights)
        self.mom = mom
        # known control means, (d, n1, n2, 5)
        bm = LawMoments.__new__(LawMoments)
        for name in ("mu", "s", "m3", "m4", "m5", "e_q2", "var_g2"):
            setattr(bm, name, getattr(mom, name)[:, None, None])
        cm = control_means(bm, b1s[None, :, None], b2s[None, None, :])
        self.EY = np.stack([np.broadcast_to(cm[k], (d, n1, n2)) for k in _CONTROLS], axis=-1)
        self.k1, self.k2 = _ema_kernels(b1s), _ema_kernels(b2s)
        self.m_last = np.repeat(mom.mu[:, None], n1, axis=1)  # (d, n1)
        self.v_last = np.repeat(mom.s[:, None], n2, axis=1)  # (d, n2)

    def burn(self, batch_len: int) -> None:
        """``min(6/(1 - max b2), 200000)`` unrecorded steps (only the cheap filters)."""
        burn = int(min(6.0 / max(1.0 - float(self.b2s.max()), 1e-12), 200_000))
        done = 0
        while done < burn:
            n = min(batch_len * 8, burn - done)
            g = self.sampler.draw_chain(n)
            g2 = g * g
            self.m_last = _ema_last(g, self.b1s, self.m_last)
            self.v_last = _ema_last(g2, self.b2s, self.v_last)
            done += n

    def batch(self, batch_len: int) -> np.ndarray:
        """The next ``batch_len`` steps' means, (d, n1, n2, 1 + controls), controls centred."""
        b1c = self.b1s[None, :, None]
        b2r = self.b2s[None, :, None]
        cr = (1.0 - self.b2s)[None, :, None]
        g, atoms = self.sampler.draw(batch_len)
        g2 = g * g
        y = _ema(g, self.k1, self.m_last)
        M = np.concatenate([self.m_last[..., None], y[..., :-1]], axis=-1)  # m_{t-1}
        self.m_last = y[..., -1]
        y = _ema(g2, self.k2, self.v_last)
        V = np.concatenate([self.v_last[..., None], y[..., :-1]], axis=-1)  # v_{t-1}
        self.v_last = y[..., -1]
        A, F = _fresh_average(b2r * V, cr, atoms, self.eps)
        V2 = V * V
        Mt = M / batch_len
        MF = np.matmul(Mt, F.transpose(0, 2, 1))
        MV = np.matmul(Mt, V.transpose(0, 2, 1))
        MV2 = np.matmul(Mt, V2.transpose(0, 2, 1))
        X = (1.0 - b1c) * A.mean(-1)[:, None, :] + b1c * MF
        mbar = M.mean(-1)[:, :, None]
        vbar = V.mean(-1)[:, None, :]
        v2bar = V2.mean(-1)[:, None, :]
        Z = np.stack(
            [X, *np.broadcast_arrays(mbar, vbar, MV, v2bar, MV2)], axis=-1
        )  # (d, n1, n2, nz)
        Z[..., 1:] -= self.EY
        return Z


def _fresh_average(W: np.ndarray, cr: np.ndarray, atoms: list, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Over the fresh gradient's atoms x_a (weights w_a), with f(u) = 1/(sqrt(u) + eps):
    ``A = sum_a w_a x_a f(W + cr x_a^2)`` and ``F = sum_a w_a f(W + cr x_a^2)``."""
    A = np.zeros_like(W)
    F = np.zeros_like(W)
    buf = np.empty_like(W)
    for wa, xa in atoms:
        xa3 = xa[:, None, :]
        np.multiply(cr, xa3 * xa3, out=buf)
        buf += W
        np.sqrt(buf, out=buf)
        if eps:
            buf += eps
        np.reciprocal(buf, out=buf)  # f(b2 v + (1-b2) x_a^2)
        F += buf if wa == 1.0 else wa * buf
        buf *= wa * xa3
        A += buf
    return A, F


class _BatchMeans:
    """Running sums of the batch statistics: second moments at lag 0 and 1, first and last."""

    def __init__(self, shape: tuple[int, ...]):
        nz = shape[-1]
        self.S0 = np.zeros(shape + (nz,))
        self.S1 = np.zeros(shape + (nz,))
        self.Zsum = np.zeros(shape)
        self.Zfirst = None
        self.Zprev = None
        self.batches = 0

    def add(self, Z: np.ndarray) -> None:
        self.S0 += Z[..., :, None] * Z[..., None, :]
        if self.Zprev is not None:
            self.S1 += Z[..., :, None] * self.Zprev[..., None, :]
        else:
            self.Zfirst = Z
        self.Zsum += Z
        self.Zprev = Z
        self.batches += 1

    def estimate(self, slowest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _regress(self.S0, self.S1, self.Zsum, self.Zfirst, self.Zprev, self.batches, slowest)


def run_mc_grid(values: np.ndarray, weights: np.ndarray, beta1s: np.ndarray, beta2s: np.ndarray,
                budget: MCBudget, *, eps: float = 0.0, seed: int = 0, progress=None) -> MCResult:
    """:func:`mc_grid` with its budget as one :class:`MCBudget`: rounds of batches until
    every cell's standard error reaches ``target_se`` (or is decided) or ``max_steps``."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    b1s = np.asarray(beta1s, dtype=float)
    b2s = np.asarray(beta2s, dtype=float)
    rng = np.random.default_rng(seed)
    chain = _Chain(values, weights, b1s, b2s, eps, _Sampler(values, weights, rng, budget.rb_atoms, budget.strata))
    den = chain.mom.denominator  # (d,)
    batch_len = budget.batch_len
    chain.burn(batch_len)
    sums = _BatchMeans((values.shape[1], b1s.size, b2s.size, 1 + len(_CONTROLS)))
    max_batches = max(budget.min_batches, budget.max_steps // batch_len)
    slowest = np.maximum(b1s[:, None], b2s[None, :]) ** batch_len  # (n1, n2)
    while True:
        goal = budget.min_batches if sums.batches == 0 else min(sums.batches + budget.round_batches, max_batches)
        while sums.batches < goal:
            sums.add(chain.batch(batch_len))
            if progress is not None:
                progress(batch_len)
        rho_n, se_n = sums.estimate(slowest[None])
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(den != 0, den, np.nan)[:, None, None]
            rho = rho_n / dd
            se = se_n / np.abs(dd)
        pending = se > budget.target_se
        if budget.decide is not None:
            pending &= np.abs(rho - budget.decide[0]) < budget.decide[1] * se
        if not pending.any() or sums.batches >= max_batches:
            break
    return MCResult(
        rho=rho.transpose(0, 2, 1), se=se.transpose(0, 2, 1), steps=sums.batches * batch_len, batches=sums.batches
    )


def _regress(S0, S1, Zsum, Zfirst, Zlast, B, r_floor=0.0):
    """Control-variate estimate and AR(1)-inflated batch-means standard error per cell.

    The lag-1 correlation of the batch means is taken as the larger of its estimate
    and ``r_floor = max(b1, b2)^batch_len``, the correlation the slowest mode of the
    (m, v) chain leaves between neighbouring batches (estimates from few batches are
    biased low exactly when batches are shorter than the memory).
    """
    zbar = Zsum / B
    C = S0 / B - zbar[..., :, None] * zbar[..., None, :]
    p = C.shape[-1] - 1
    Cyy = C[..., 1:, 1:]
    Cyx = C[..., 1:, 0]
    scale = np.sqrt(np.clip(np.diagonal(Cyy, axis1=-2, axis2=-1), 0, None))
    scale = np.where(scale > 0, scale, 1.0)
    Cn = Cyy / (scale[..., :, None] * scale[..., None, :])
    ridge = 1e-9 * np.eye(p)
    coef = np.linalg.solve(Cn + ridge, (Cyx / scale)[..., None])[..., 0] / scale
    est = zbar[..., 0] - np.einsum("...k,...k->...", coef, zbar[..., 1:])
    a = np.concatenate([np.ones(coef.shape[:-1] + (1,)), -coef], axis=-1)
    var = np.einsum("...i,...ij,...j->...", a, C, a)
    var = np.clip(var, 0, None) * B / max(B - p - 1, 1)
    # lag-1 autocovariance of the residual batch means
    S1c = (S1 - zbar[..., :, None] * (Zsum - Zfirst)[..., None, :] - (Zsum - Zlast)[..., :, None] * zbar[..., None, :]) / (B - 1)
    S1c = S1c + zbar[..., :, None] * zbar[..., None, :]
    gam1 = np.einsum("...i,...ij,...j->...", a, S1c, a)
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = np.where(var > 0, gam1 / var, 0.0)
    r1 = np.clip(np.maximum(r1, r_floor), 0.0, 0.999)
    se = np.sqrt(var * (1 + r1) / (1 - r1) / B)
    return est, se


def reference_ratio(
    values: np.ndarray,
    weights: np.ndarray,
    beta1: float,
    beta2: float,
    *,
    eps: float = 0.0,
    steps: int = 2_000_000,
    burn: int | None = None,
    batches: int = 100,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The slow, obviously correct route: one long chain, plain average of ``m/(sqrt v+eps)``.

    Per coordinate ``(rho, se)``; ``se`` from non-overlapping batch means. No
    conditioning, no control variates, no shared randomness with the fast engines
    (its own seed stream).
    """
    from scipy.signal import lfilter  # lazy: keeps scipy off `from adamcheck import drift_ratio`

    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    weights = np.asarray(weights, dtype=float)
    mom = LawMoments(values, weights)
    rng = np.random.default_rng([seed, 7919])
    if burn is None:
        burn = int(min(20.0 / max(1.0 - beta2, 1e-12), 10 * steps))
    # The chain is held whole: (burn + steps) draws x d coordinates, a few float64 copies.
    total = float(burn) + float(steps)
    check_work(f"steps + burn = {total:,.0f} chain steps over d = {values.shape[1]:,}",
               nbytes=40.0 * total * values.shape[1], ops=20.0 * total * values.shape[1],
               fix="lower steps (or burn; beta2 very near 1 needs a long burn-in)")
    idx = rng.choice(values.shape[0], size=burn + steps, p=weights)
    g = values[idx].T  # (d, T)
    m = lfilter([1 - beta1], [1, -beta1], g, axis=-1)
    v = lfilter([1 - beta2], [1, -beta2], g * g, axis=-1)
    step = (m / (np.sqrt(v) + eps))[:, burn:]
    bl = steps // batches
    means = step[:, : bl * batches].reshape(values.shape[1], batches, bl).mean(-1)
    rho = means.mean(-1) / mom.denominator
    se = means.std(-1, ddof=1) / np.sqrt(batches) / np.abs(mom.denominator)
    return rho, se
