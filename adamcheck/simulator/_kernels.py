"""In-place Adam kernels for many runs at once (the engine's hot path).

Each function updates state arrays shaped (runs, d) in place with per-run
hyper-parameters shaped (runs, 1), allocating nothing per step: on this kind of
machine a fresh 0.5 MB temporary costs more than the arithmetic on it (page
faults), which is most of why a straightforward NumPy loop is slow. They follow the
reference :func:`adamcheck.simulator.adam_step` formula by formula (same association,
so results agree to rounding; tests/simulator/test_simulator_kernels.py checks them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "ema_scan",
    "RunParams",
    "Scratch",
    "update_first_moment",
    "update_second_moment",
    "update_moments",
    "apply_update",
    "update_factors",
]

_FIELDS = ("beta1", "beta2", "lr", "eps", "weight_decay", "eps_root")
_DERIVED = ("omb1", "omb2", "lerp_coef", "lerp_small")


def _uniform(column: np.ndarray) -> Any:
    """The common value of a column as a 0-d array of its dtype, or None."""
    if column.size and np.all(column == column.flat[0]):
        return column.dtype.type(column.flat[0])
    return None


class RunParams:
    """Per-run hyper-parameters as (runs, 1) columns plus derived constants.

    ``omb1 = 1 - beta1`` and ``omb2 = 1 - beta2`` are computed once (with the same
    rounding as the reference's ``1 - beta``); ``lerp_coef``/``lerp_small`` encode
    which of torch's two lerp forms each run uses. ``lr_u`` / ``eps_u`` hold the
    common value when every run shares it (kernels then use a scalar operand).
    """

    def __init__(self, beta1, beta2, lr, eps, weight_decay, eps_root, *, _derived=None, _parent=None):
        self.beta1, self.beta2, self.lr = beta1, beta2, lr
        self.eps, self.weight_decay, self.eps_root = eps, weight_decay, eps_root
        if _derived is None:
            self.omb1 = 1 - beta1
            self.omb2 = 1 - beta2
            # torch's lerp picks one of two algebraically equal forms by |1 - beta1| < 0.5.
            self.lerp_small = np.abs(self.omb1[:, 0]) < 0.5
            self.lerp_coef = np.where(self.lerp_small[:, None], self.omb1, 1 - self.omb1)
        else:
            for name, value in zip(_DERIVED, _derived):
                setattr(self, name, value)
        # Rows of a table inherit what holds for every row of it (no re-scan).
        p = _parent
        self.has_wd = bool(np.any(weight_decay != 0)) if p is None or p.has_wd else False
        self.lr_u = p.lr_u if p is not None and p.lr_u is not None else _uniform(lr)
        self.eps_u = p.eps_u if p is not None and p.eps_u is not None else _uniform(eps)
        self.eps_op = self.eps if self.eps_u is None else self.eps_u
        self._lerp_mixed = False if p is not None and p._lerp_mixed is False else None

    @property
    def lerp_mixed(self) -> bool:
        """Whether runs use both of torch's lerp forms (only the torch kernel asks)."""
        if self._lerp_mixed is None:
            small = self.lerp_small
            self._lerp_mixed = bool(small.any() and not small.all())
        return self._lerp_mixed

    def take(self, idx: Any) -> "RunParams":
        """Rows ``idx`` (an index array or a slice; slices give views)."""
        return RunParams(
            *(getattr(self, f)[idx] for f in _FIELDS),
            _derived=tuple(getattr(self, f)[idx] for f in _DERIVED),
            _parent=self,
        )

    def write(self, rows: slice, other: "RunParams") -> None:
        """Copy ``other`` into rows ``rows`` of this (capacity) table."""
        for f in _FIELDS + _DERIVED:
            getattr(self, f)[rows] = getattr(other, f)

    def lr_at(self, s_t: float, out: np.ndarray) -> Any:
        """The per-run learning rate lr * s_t of a step: a scalar when lr is uniform."""
        if self.lr_u is not None:
            return self.lr_u * s_t
        np.multiply(self.lr, s_t, out=out)
        return out

    def __len__(self) -> int:
        return int(self.beta1.shape[0])


class Scratch:
    """Work arrays for kernels on state shaped (rows, d): ``tmp``, ``den``, ``num``,
    ``grad`` and the per-run rate ``lr_t`` (rows, 1).

    Built once with a capacity; :meth:`view` gives the first ``rows`` rows, so a
    growing table of runs never reallocates.
    """

    def __init__(self, capacity: int, d: int, dtype: np.dtype) -> None:
        self._tmp = np.empty((capacity, d), dtype=dtype)
        self._den = np.empty((capacity, d), dtype=dtype)
        self._num = np.empty((capacity, d), dtype=dtype)
        self._grad = np.empty((capacity, d), dtype=dtype)
        self._lr = np.empty((capacity, 1), dtype=dtype)
        self.view(capacity)

    def view(self, rows: int) -> "Scratch":
        self.tmp, self.den, self.num = self._tmp[:rows], self._den[:rows], self._num[:rows]
        self.grad, self.lr_t = self._grad[:rows], self._lr[:rows]
        return self


def update_first_moment(convention: str, m: np.ndarray, g: np.ndarray, p: RunParams, scratch: Scratch) -> None:
    """m <- the convention's moving average of g (in place)."""
    tmp = scratch.tmp
    if convention == "torch":
        # m.lerp_(g, 1 - b1): m + w (g - m) if w < 0.5 else g - (g - m)(1 - w)
        np.subtract(g, m, out=tmp)
        tmp *= p.lerp_coef
        if p.lerp_mixed:
            small, big = p.lerp_small, ~p.lerp_small
            m[small] += tmp[small]
            m[big] = g[big] - tmp[big]
        elif p.lerp_small.size and p.lerp_small[0]:
            m += tmp
        else:
            np.subtract(g, tmp, out=m)
    elif convention == "keras":
        np.subtract(g, m, out=tmp)
        tmp *= p.omb1
        m += tmp
    else:  # paper, shi2021, optax: b1*m + (1-b1)*g
        m *= p.beta1
        np.multiply(p.omb1, g, out=tmp)
        m += tmp


def update_second_moment(convention: str, v: np.ndarray, g: np.ndarray, p: RunParams, scratch: Scratch) -> None:
    """v <- the convention's moving average of g^2 (in place)."""
    tmp = scratch.tmp
    if convention == "optax":
        np.multiply(g, g, out=tmp)
        tmp *= p.omb2
        v *= p.beta2
        v += tmp
    elif convention == "keras":
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= p.omb2
        v += tmp
    else:  # torch, paper, shi2021: b2*v + ((1-b2)*g)*g
        v *= p.beta2
        np.multiply(p.omb2, g, out=tmp)
        tmp *= g
        v += tmp


def update_moments(
    convention: str, m: np.ndarray, v: np.ndarray, g: np.ndarray, p: RunParams, scratch: Scratch
) -> None:
    """m, v <- the convention's moving averages of g and g^2 (in place)."""
    update_first_moment(convention, m, g, p, scratch)
    update_second_moment(convention, v, g, p, scratch)


def _bias_corrections(p: RunParams, t: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    # np.power is libm's pow, the same function Python's float ** int uses (torch does
    # `1 - beta1 ** step` in Python), so bias corrections agree bit for bit.
    tt = dtype.type(t)
    return 1 - np.power(p.beta1, tt), 1 - np.power(p.beta2, tt)


def apply_update(
    convention: str,
    x: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    lr_t: Any,
    t: int,
    p: RunParams,
    scratch: Scratch,
) -> None:
    """x <- x - (the convention's step), in place; lr_t is the rate of this step
    (a scalar, or per-run (runs, 1))."""
    den, num = scratch.den, scratch.num
    if convention == "paper":
        np.sqrt(v, out=den)
        den += p.eps_op
        np.multiply(lr_t, m, out=num)
        num /= den
        x -= num
    elif convention == "shi2021":
        np.add(v, p.eps_op, out=den)
        np.sqrt(den, out=den)
        np.multiply(lr_t, m, out=num)
        num /= den
        x -= num
    elif convention == "torch":
        bc1, bc2 = _bias_corrections(p, t, x.dtype)
        step_size = lr_t / bc1
        np.sqrt(v, out=den)
        den /= np.power(bc2, x.dtype.type(0.5))
        den += p.eps_op
        np.multiply(-step_size, m, out=num)
        num /= den
        x += num
    elif convention == "optax":
        bc1, bc2 = _bias_corrections(p, t, x.dtype)
        np.divide(v, bc2, out=den)
        den += p.eps_root
        np.sqrt(den, out=den)
        den += p.eps_op
        np.divide(m, bc1, out=num)
        num /= den
        num *= lr_t
        x -= num
    elif convention == "keras":
        bc1, bc2 = _bias_corrections(p, t, x.dtype)
        alpha = lr_t * np.sqrt(bc2) / bc1
        np.multiply(m, alpha, out=num)
        np.sqrt(v, out=den)
        den += p.eps_op
        num /= den
        x -= num
    else:  # pragma: no cover - validated upstream
        raise AssertionError(convention)


def update_factors(
    convention: str,
    m: np.ndarray,
    v: np.ndarray,
    s_t: Any,
    t: Any,
    pm: RunParams,
    pv: RunParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Factor the step as lr * A(m) * B(v): returns (A, B) for moment slots.

    Used by the shared-moment fast path, where m depends only on beta1 (slot rows of
    ``pm``) and v only on (beta2, eps, eps_root) (slot rows of ``pv``); s_t is the
    schedule factor of step t. x_{t+1} = x_t - lr * A * B. ``s_t`` and ``t`` may be
    arrays shaped (K, 1, 1) against moments shaped (K, slots, d) (a whole block).
    """
    dtype = m.dtype
    tt = np.asarray(t, dtype=dtype)
    if convention == "paper":
        return s_t * m, 1 / (np.sqrt(v) + pv.eps)
    if convention == "shi2021":
        return s_t * m, 1 / np.sqrt(v + pv.eps)
    bc1 = 1 - np.power(pm.beta1, tt)
    bc2 = 1 - np.power(pv.beta2, tt)
    if convention == "torch":
        return s_t * m / bc1, 1 / (np.sqrt(v) / np.power(bc2, dtype.type(0.5)) + pv.eps)
    if convention == "optax":
        return s_t * m / bc1, 1 / (np.sqrt(v / bc2 + pv.eps_root) + pv.eps)
    if convention == "keras":
        return s_t * m / bc1, np.sqrt(bc2) / (np.sqrt(v) + pv.eps)
    raise AssertionError(convention)  # pragma: no cover


def ema_scan(first: np.ndarray, inputs: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """All states of y_k = decay * y_{k-1} + inputs_k, k = 1..K, in log2(K) passes.

    ``first`` is y_0 (slots, d), ``inputs`` (K, slots, d), ``decay`` (slots, 1).
    Returns y (K + 1, slots, d) with y[0] = first. A Hillis-Steele scan: after the pass
    with shift s every y_k holds its window of 2s terms, sum_i decay^i x_{k-i}; equal to
    the step-by-step recurrence up to rounding (the sums are reassociated).

    Example:
        >>> import numpy as np
        >>> y = ema_scan(np.zeros((1, 1)), np.ones((3, 1, 1)), np.array([[0.5]]))
        >>> y[:, 0, 0].tolist()
        [0.0, 1.0, 1.5, 1.75]
    """
    K = inputs.shape[0]
    y = np.empty((K + 1,) + first.shape, dtype=first.dtype)
    y[0] = first
    y[1:] = inputs
    power = np.array(decay, dtype=first.dtype, copy=True)
    shift = 1
    while shift <= K:
        y[shift:] += power * y[:-shift]  # the product is formed before y changes
        power = power * power
        shift *= 2
    return y
