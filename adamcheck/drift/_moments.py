"""Closed forms used by the drift-ratio engines and their tests.

Everything here is exact for a discrete law (no sampling):

* the drift ratio's denominator ``E g / sqrt(E g^2)`` (docs/theory.md section 9);
* the sign-versus-mean closed form at ``beta1 = beta2 = 0``:
  ``rho(0, 0) = E[g/(|g|+eps)] * sqrt(E g^2) / E g`` (``E[sign g] sqrt(E g^2)/E g`` at eps = 0);
* stationary moments of the ``paper``-convention filters
  ``m = (1-b1) sum_i b1^i g_i``, ``v = (1-b2) sum_j b2^j g_j^2`` of an i.i.d. sequence,
  used as control variates with known means by the Monte Carlo engine:

  - ``E m = mu``, ``E v = s`` (``mu = E g``, ``s = E g^2``);
  - ``Var v = (1-b2)/(1+b2) * Var(g^2)``;
  - ``Cov(m, v) = (1-b1)(1-b2)/(1-b1 b2) * (E g^3 - mu s)``;
  - ``E[(m-mu)(v-s)^2] = (1-b1)(1-b2)^2/(1-b1 b2^2) * E[(g-mu)(g^2-s)^2]``.

  (Only equal lags survive in the triple sums because the centred terms are
  independent with mean zero.)

* the small-(1-b2) expansion of the drift ratio (eps = 0): with ``u = v/s - 1``,
  ``E[m/sqrt v] = s^{-1/2} (E m - E[m u]/2 + 3 E[m u^2]/8 - ...)``, so to first order
  ``rho ~ 1 - (1-b1)(1-b2)/(2(1-b1 b2)) * (E g^3 - mu s)/(mu s)``.  Its zero crossing at
  ``b1 = 0`` is ``1 - b2* ~ 2 mu s/(E g^3 - mu s)`` (about 2/n for the counterexample).

References:
    docs/theory.md sections 4 and 9 (adamcheck's own drift ratio, not a paper's result).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LawMoments",
    "law_moments",
    "sign_closed_form",
    "control_means",
    "expansion_rho",
]


class LawMoments:
    """Raw and mixed moments of each coordinate of a discrete law (arrays of shape (d,))."""

    def __init__(self, values: np.ndarray, weights: np.ndarray) -> None:
        x = np.asarray(values, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        w = np.asarray(weights, dtype=float)
        self.mu = w @ x
        self.s = w @ x**2
        self.m3 = w @ x**3
        self.m4 = w @ x**4
        self.m5 = w @ x**5
        centred = x - self.mu
        self.e_q2 = w @ (centred * (x**2 - self.s) ** 2)  # E[(g-mu)(g^2-s)^2]
        self.var_g2 = np.maximum(self.m4 - self.s**2, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.denominator = np.where(self.s > 0, self.mu / np.sqrt(np.where(self.s > 0, self.s, 1.0)), 0.0)


def law_moments(values: np.ndarray, weights: np.ndarray) -> LawMoments:
    """Moments of every coordinate of the discrete law ``(values (K, d), weights (K,))``."""
    return LawMoments(values, weights)


def sign_closed_form(values: np.ndarray, weights: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """``rho(0, 0) = E[g/(|g|+eps)] sqrt(E g^2)/E g`` per coordinate (sign(0) = 0 at eps = 0).

    Example:
        >>> import numpy as np
        >>> float(sign_closed_form(np.array([[3.0], [-1.0]]), np.array([0.5, 0.5]))[0])
        0.0
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    w = np.asarray(weights, dtype=float)
    if eps == 0.0:
        step = np.sign(x)
    else:
        step = x / (np.abs(x) + eps)
    mom = LawMoments(x, w)
    return (w @ step) / mom.denominator


def control_means(mom: LawMoments, b1: np.ndarray, b2: np.ndarray) -> dict[str, np.ndarray]:
    """Stationary means of the control variates, broadcast over ``b1`` and ``b2``.

    Keys: ``m``, ``v``, ``mv``, ``v2``, ``mv2`` for ``E m``, ``E v``, ``E[m v]``,
    ``E[v^2]``, ``E[m v^2]`` (all at the same time index). ``mom`` fields must
    broadcast against ``b1`` and ``b2``.
    """
    mu, s = mom.mu, mom.s
    cov_mv = (1 - b1) * (1 - b2) / (1 - b1 * b2) * (mom.m3 - mu * s)
    var_v = (1 - b2) / (1 + b2) * mom.var_g2
    third = (1 - b1) * (1 - b2) ** 2 / (1 - b1 * b2**2) * mom.e_q2
    return {
        "m": mu + 0 * b1,
        "v": s + 0 * b2,
        "mv": mu * s + cov_mv,
        "v2": s**2 + var_v,
        "mv2": mu * (s**2 + var_v) + 2 * s * cov_mv + third,
    }


def expansion_rho(mom: LawMoments, b1: np.ndarray, b2: np.ndarray, order: int = 2) -> np.ndarray:
    """Small-(1-b2) expansion of rho at eps = 0, to ``order`` 1 or 2 in ``u = v/s - 1``.

    ``rho ~ (E m - E[m u]/2 + 3 E[m u^2]/8) / mu`` with the exact stationary moments of
    :func:`control_means`; the neglected terms are O(E|m u^3|), i.e. O((1-b2)^{3/2}).
    """
    cm = control_means(mom, b1, b2)
    s, mu = mom.s, mom.mu
    e_mu = (cm["mv"] - mu * s) / s
    out = mu - 0.5 * e_mu
    if order >= 2:
        e_mu2 = (cm["mv2"] - 2 * s * cm["mv"] + s**2 * mu) / s**2
        out = out + 0.375 * e_mu2
    return out / mu


def beta2_zero_row(values: np.ndarray, weights: np.ndarray, beta1s: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Exact ``rho(b1, b2 = 0)`` per coordinate, shape (d, len(beta1s)).

    At ``b2 = 0``, ``v_t = g_t^2`` and ``m_{t-1}`` is independent of ``g_t``, so
    ``E[m_t/(|g_t|+eps)] = (1-b1) E[g/(|g|+eps)] + b1 E[g] E[1/(|g|+eps)]``.
    With an atom at 0 and eps = 0 the second term is infinite (rho = +-inf for b1 > 0;
    at b1 = 0 the convention sign(0) = 0 is used).

    Example:
        >>> import numpy as np
        >>> row = beta2_zero_row(np.array([[3.0], [-1.0]]), np.array([0.5, 0.5]), np.array([0.0, 0.5]))
        >>> [round(float(r), 6) for r in row[0]]
        [0.0, 0.745356]
    """
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    w = np.asarray(weights, dtype=float)
    b1 = np.asarray(beta1s, dtype=float)[None, :]
    mom = LawMoments(x, w)
    ax = np.abs(x) + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where(ax > 0, x / np.where(ax > 0, ax, 1.0), 0.0)
        inv = np.where(ax > 0, 1.0 / np.where(ax > 0, ax, 1.0), np.inf)
        e_step = w @ step
        e_inv = np.where((w[:, None] * np.isinf(inv)).any(axis=0), np.inf, w @ np.where(np.isinf(inv), 0.0, inv))
        num = (1 - b1) * e_step[:, None] + np.where(b1 > 0, b1 * (mom.mu * e_inv)[:, None], 0.0)
        return num / mom.denominator[:, None]
