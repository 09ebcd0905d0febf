"""Adam's update in each convention: the slow, obviously correct reference.

:func:`adam_step` takes one step of one convention on arrays shaped (runs, d) with
per-run hyper-parameters broadcastable to (runs, 1). The vectorised engine
(:mod:`adamcheck.simulator._engine`) is tested against it, and so is the symbolic
recurrence (:mod:`adamcheck.symbolic`). ``t`` is the 1-based index of the step being
taken and ``lr`` the learning rate of this step (the schedule is applied outside).

Conventions (docs/theory.md sections 1 and 6):

* ``torch``  - torch.optim.Adam / AdamW::

      g <- g + wd*x (coupled)     or   x <- x*(1 - lr*wd) (decoupled, AdamW)
      m <- lerp(m, g, 1-b1);  v <- b2*v + (1-b2)*g^2
      x <- x - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)

* ``paper``  - Zhang et al. 2026 (no bias correction, eps outside the root)::

      m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2;  x <- x - lr * m/(sqrt(v) + eps)

* ``shi2021`` - Shi et al. 2021 / Zhang et al. 2022 (eps inside the root)::

      same m, v;  x <- x - lr * m / sqrt(v + eps)

  (its initialisation of m and v is the engine's business, see ``initial_moments``).

* ``optax``  - optax.scale_by_adam (eps_root inside the root)::

      m_hat = m/(1-b1^t);  v_hat = v/(1-b2^t);  x <- x - lr * m_hat/(sqrt(v_hat + eps_root) + eps)

  with decoupled decay added to the update before the learning rate (optax.adamw).

* ``keras``  - Keras 3 Adam, whose epsilon is Kingma & Ba's eps-hat::

      alpha = lr*sqrt(1-b2^t)/(1-b1^t);  x <- x - alpha*m/(sqrt(v) + eps)

  i.e. the torch form with eps replaced by eps/sqrt(1-b2^t) (docs/theory.md section 6: eps_hat =
  eps*sqrt(1-b2^t)).

References:
    PyTorch ``torch/optim/adam.py`` (_single_tensor_adam); optax ``scale_by_adam``;
    Keras 3 ``keras/optimizers/adam.py``; Kingma & Ba, ICLR 2015, section 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..theory._recurrence import CONVENTIONS, AdamHyper, check_convention

__all__ = ["CONVENTIONS", "adam_step", "check_convention", "reference_step", "uses_bias_correction"]


def uses_bias_correction(convention: str) -> bool:
    """Whether the convention divides by 1 - beta^t (torch, optax, keras)."""
    return check_convention(convention) in ("torch", "optax", "keras")


def _torch_lerp(start: np.ndarray, end: np.ndarray, weight: Any) -> np.ndarray:
    # ATen's scalar lerp: two algebraically equal forms chosen by |weight| < 0.5.
    weight = np.asarray(weight, dtype=start.dtype)
    small = np.abs(weight) < 0.5
    return np.where(small, start + weight * (end - start), end - (end - start) * (1 - weight))


def adam_step(
    convention: str,
    x: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    g: np.ndarray,
    t: int,
    *,
    beta1: Any,
    beta2: Any,
    lr: Any,
    eps: Any,
    weight_decay: Any = 0.0,
    decoupled: bool = False,
    eps_root: Any = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Adam step in ``convention``; returns new ``(x, m, v)`` (inputs untouched).

    Args:
        convention: one of ``CONVENTIONS``.
        x, m, v, g: parameters, first and second moments, raw gradient (before
            weight decay), arrays of one shape (typically (runs, d)).
        t: 1-based index of this step (for bias corrections).
        beta1, beta2, lr, eps, weight_decay, eps_root: scalars or arrays
            broadcastable to ``x`` (per-run values shaped (runs, 1)).
        decoupled: AdamW-style decay ``x <- x*(1 - lr*wd)`` (optax: ``+ wd*x`` added
            to the update) instead of coupled L2 ``g <- g + wd*x``.

    Example:
        >>> import numpy as np
        >>> z = np.zeros((1, 1))
        >>> x, m, v = adam_step("paper", z, z, z, np.ones((1, 1)), 1,
        ...                     beta1=0.9, beta2=0.99, lr=0.1, eps=0.0)
        >>> float(np.round(x[0, 0], 6))  # -0.1 * 0.1 / sqrt(0.01)
        -0.1
    """
    hyper = AdamHyper(beta1=beta1, beta2=beta2, lr=lr, eps=eps, weight_decay=weight_decay, decoupled=decoupled,
                      eps_root=eps_root)
    return reference_step(convention, hyper, x, m, v, g, t)


def reference_step(convention: str, hyper: AdamHyper, x: np.ndarray, m: np.ndarray, v: np.ndarray,
                   g: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`adam_step` with its hyper-parameters as one :class:`~adamcheck.theory.AdamHyper`.

    Example:
        >>> import numpy as np
        >>> z = np.zeros((1, 1))
        >>> hyper = AdamHyper(beta1=0.9, beta2=0.99, lr=0.1, eps=0.0)
        >>> float(np.round(reference_step("paper", hyper, z, z, z, np.ones((1, 1)), 1)[0][0, 0], 6))
        -0.1
    """
    check_convention(convention)
    x = np.array(x, copy=True)
    dtype = x.dtype
    b1 = np.asarray(hyper.beta1, dtype=dtype)
    b2 = np.asarray(hyper.beta2, dtype=dtype)
    lr = np.asarray(hyper.lr, dtype=dtype)
    eps = np.asarray(hyper.eps, dtype=dtype)
    wd = np.asarray(hyper.weight_decay, dtype=dtype)
    decoupled = hyper.decoupled
    g = np.asarray(g, dtype=dtype)
    has_wd = bool(np.any(wd != 0))

    if has_wd and not decoupled:
        g = g + wd * x
    if has_wd and decoupled and convention != "optax":
        x = x * (1 - lr * wd)

    if convention == "torch":
        m = _torch_lerp(m, g, 1 - b1)
        v = v * b2 + ((1 - b2) * g) * g
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(v) / (1 - b2**t) ** 0.5 + eps
        x = x + ((-step_size) * m) / denom
    elif convention == "paper":
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * m / (np.sqrt(v) + eps)
    elif convention == "shi2021":
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * m / np.sqrt(v + eps)
    elif convention == "optax":
        root = np.asarray(hyper.eps_root, dtype=dtype)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g**2 + b2 * v
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        update = m_hat / (np.sqrt(v_hat + root) + eps)
        if has_wd and decoupled:
            update = update + wd * x
        x = x - lr * update
    else:  # keras
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        x = x - (m * alpha) / (np.sqrt(v) + eps)
    return x, np.asarray(m, dtype=dtype), np.asarray(v, dtype=dtype)
