"""Adam's recurrence in each framework convention, written once for numbers and SymPy.

The moment recursions are the same exponential moving averages in every convention
(docs/theory.md sections 1 and 6)::

    m_t = beta1 m_{t-1} + (1 - beta1) g_t,        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2

and unroll to the closed forms (proved for symbolic t in ``proofs/recurrence.py``)::

    m_t = beta1^t m_0 + (1 - beta1) sum_{s=1}^t beta1^(t-s) g_s
    v_t = beta2^t v_0 + (1 - beta2) sum_{s=1}^t beta2^(t-s) g_s^2 .

They differ in the step taken from (m_t, v_t)::

    torch    x -= lr/(1-beta1^t) * m_t / (sqrt(v_t)/sqrt(1-beta2^t) + eps)
    paper    x -= lr * m_t / (sqrt(v_t) + eps)                       (Zhang et al. 2026)
    shi2021  x -= lr * m_t / sqrt(v_t + eps)                         (Shi et al. 2021)
    optax    x -= lr * m_hat / (sqrt(v_hat + eps_root) + eps),  m_hat = m_t/(1-beta1^t), ...
    keras    x -= lr*sqrt(1-beta2^t)/(1-beta1^t) * m_t / (sqrt(v_t) + eps)

The functions take a ``lib`` namespace for ``sqrt`` (:data:`~adamcheck.theory._lib.MATH`
by default); :mod:`adamcheck.symbolic` calls them with SymPy symbols. They mirror
:func:`adamcheck.simulator.adam_step` (the simulator's reference), and the test
suite checks that the two agree numerically in every convention.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), Algorithm 1.
    Shi, Li, Hong, Sun, "RMSprop converges with proper hyper-parameter", ICLR 2021, Alg. 1.
    PyTorch ``torch/optim/adam.py``; optax ``scale_by_adam``; Keras 3 ``optimizers/adam.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .._errors import InvalidParameterError
from ._lib import MATH

__all__ = [
    "AdamHyper",
    "CONVENTIONS",
    "check_convention",
    "ema",
    "bias_correction",
    "adam_moments",
    "adam_direction",
    "adam_update",
    "shi_initial_moments",
]

#: The conventions, defined once here; :mod:`adamcheck.simulator` and the CLI import them.
CONVENTIONS = ("torch", "paper", "shi2021", "optax", "keras")


def check_convention(convention: str) -> str:
    """Return ``convention`` if known, else raise InvalidParameterError."""
    if not isinstance(convention, str):  # an array or tensor would fail the lookup itself
        raise InvalidParameterError(
            f"convention must be a name, got {type(convention).__name__}: choose one of {', '.join(CONVENTIONS)}")
    if convention not in CONVENTIONS:
        raise InvalidParameterError(
            f"unknown convention {convention[:80]!r}: choose one of {', '.join(CONVENTIONS)}"
        )
    return convention


def ema(previous: Any, value: Any, beta: Any) -> Any:
    """One exponential-moving-average step ``beta * previous + (1 - beta) * value``.

    Example:
        >>> ema(0.0, 2.0, 0.75)
        0.5
    """
    return beta * previous + (1 - beta) * value


def bias_correction(beta: Any, t: Any) -> Any:
    """Kingma & Ba's bias-correction factor ``1 - beta**t`` (t is the 1-based step).

    Example:
        >>> bias_correction(0.5, 2)
        0.75
    """
    return 1 - beta**t


def adam_moments(
    m: Any, v: Any, g: Any, *, beta1: Any, beta2: Any, convention: str | None = None
) -> tuple[Any, Any]:
    """``(m_t, v_t)`` from ``(m_{t-1}, v_{t-1})`` and the gradient ``g_t``.

    Every convention computes the same moving averages; ``convention`` selects the
    algebraic form its framework writes (torch's ``lerp``, Keras's ``m + (g-m)(1-b)``,
    optax's ``(1-b) g + b m``), so the symbolic closed-form proof covers each form.

    Example:
        >>> adam_moments(0.0, 0.0, 2.0, beta1=0.5, beta2=0.75)
        (1.0, 1.0)
        >>> adam_moments(0.0, 0.0, 2.0, beta1=0.5, beta2=0.75, convention="keras")
        (1.0, 1.0)
    """
    if convention == "torch":
        return m + (1 - beta1) * (g - m), v * beta2 + (1 - beta2) * g * g
    if convention == "keras":
        return m + (g - m) * (1 - beta1), v + (g * g - v) * (1 - beta2)
    if convention == "optax":
        return (1 - beta1) * g + beta1 * m, (1 - beta2) * g**2 + beta2 * v
    if convention is not None:
        check_convention(convention)
    return ema(m, g, beta1), ema(v, g * g, beta2)


def adam_direction(
    convention: str,
    m: Any,
    v: Any,
    t: Any,
    *,
    beta1: Any,
    beta2: Any,
    eps: Any,
    eps_root: Any = 0,
    lib: Any = MATH,
) -> Any:
    """The step ``(x_{t-1} - x_t) / lr`` taken from the *new* moments ``(m_t, v_t)``.

    Without weight decay the update is ``x_t = x_{t-1} - lr * adam_direction(...)``;
    see the module docstring for each convention's formula.

    Example:
        >>> adam_direction("paper", 0.1, 0.01, 1, beta1=0.9, beta2=0.99, eps=0.0)
        1.0
    """
    check_convention(convention)
    if convention == "paper":
        return m / (lib.sqrt(v) + eps)
    if convention == "shi2021":
        return m / lib.sqrt(v + eps)
    c1 = bias_correction(beta1, t)
    c2 = bias_correction(beta2, t)
    if convention == "torch":
        return (m / c1) / (lib.sqrt(v) / lib.sqrt(c2) + eps)
    if convention == "optax":
        return (m / c1) / (lib.sqrt(v / c2 + eps_root) + eps)
    # keras: alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t), eps outside, uncorrected v
    return lib.sqrt(c2) / c1 * m / (lib.sqrt(v) + eps)


@dataclass(frozen=True)
class AdamHyper:
    """Adam's hyper-parameters of one step formula, stated once.

    Numbers, NumPy arrays (per-run values broadcastable to the iterate) or SymPy symbols:
    the formulas are generic, so nothing is checked here (the simulator's
    :class:`~adamcheck.simulator.AdamSettings` checks numbers before a run).

    Attributes:
        beta1, beta2, lr, eps: Adam's; ``lr`` is this step's learning rate.
        weight_decay: coupled L2 unless ``decoupled`` (AdamW; optax adds it to the update).
        eps_root: optax's eps_root.

    Example:
        >>> x, m, v = AdamHyper(beta1=0.9, beta2=0.99, lr=0.1, eps=0.0).update("paper", 0.0, 0.0, 0.0, 1.0, 1)
        >>> round(x, 12)
        -0.1
    """

    beta1: Any
    beta2: Any
    lr: Any
    eps: Any
    weight_decay: Any = 0
    decoupled: bool = False
    eps_root: Any = 0

    def update(self, convention: str, x: Any, m: Any, v: Any, g: Any, t: Any, *,
               lib: Any = MATH) -> tuple[Any, Any, Any]:
        """:func:`adam_update` with these hyper-parameters."""
        check_convention(convention)
        wd, lr, decoupled = self.weight_decay, self.lr, self.decoupled
        if wd != 0 and not decoupled:
            g = g + wd * x
        x_decay = x
        if wd != 0 and decoupled and convention != "optax":
            x = x * (1 - lr * wd)
        m, v = adam_moments(m, v, g, beta1=self.beta1, beta2=self.beta2, convention=convention)
        step = adam_direction(
            convention, m, v, t, beta1=self.beta1, beta2=self.beta2, eps=self.eps, eps_root=self.eps_root, lib=lib
        )
        if wd != 0 and decoupled and convention == "optax":
            step = step + wd * x_decay
        return x - lr * step, m, v


def adam_update(
    convention: str,
    x: Any,
    m: Any,
    v: Any,
    g: Any,
    t: Any,
    *,
    beta1: Any,
    beta2: Any,
    lr: Any,
    eps: Any,
    weight_decay: Any = 0,
    decoupled: bool = False,
    eps_root: Any = 0,
    lib: Any = MATH,
) -> tuple[Any, Any, Any]:
    """One Adam step ``(x, m, v) -> (x', m', v')`` in ``convention``, for numbers or SymPy.

    Weight decay follows :func:`adamcheck.simulator.adam_step`: coupled L2
    ``g <- g + wd*x``; decoupled ``x <- x*(1 - lr*wd)`` before the step, except optax,
    which adds ``wd*x`` to the update before the learning rate (optax.adamw). The
    keyword form of :meth:`AdamHyper.update`.

    Example:
        >>> x, m, v = adam_update("paper", 0.0, 0.0, 0.0, 1.0, 1,
        ...                       beta1=0.9, beta2=0.99, lr=0.1, eps=0.0)
        >>> round(x, 12), round(m, 12), round(v, 12)
        (-0.1, 0.1, 0.01)
    """
    hyper = AdamHyper(beta1=beta1, beta2=beta2, lr=lr, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                      eps_root=eps_root)
    return hyper.update(convention, x, m, v, g, t, lib=lib)


def shi_initial_moments(
    component_grads: Iterable[Any], *, beta1: Any, beta2: Any
) -> tuple[Any, Any]:
    """Shi et al.'s initialisation ``m_{1,-1} = grad f(x0)/(1-beta1)``, ``v_{1,-1} = max_j g_j^2/(1-beta2)``.

    One coordinate. In Shi et al. (2021, Algorithm 1) the objective is the *sum*
    ``f = sum_j f_j``, so ``grad f(x0)`` is the sum of the component gradients
    ``g_j = grad f_j(x0)`` (n times their mean); docs/theory.md section 1 quotes the same
    template for the 2022 paper.

    Example:
        >>> shi_initial_moments([1.0, -3.0], beta1=0.5, beta2=0.75)
        (-4.0, 36.0)
    """
    grads = list(component_grads)
    if not grads:
        raise InvalidParameterError("no component gradients given: pass one gradient per f_j")
    total = grads[0]
    for value in grads[1:]:
        total = total + value
    squares = [value * value for value in grads]
    biggest = squares[0]
    for value in squares[1:]:
        biggest = value if value > biggest else biggest
    return total / (1 - beta1), biggest / (1 - beta2)
