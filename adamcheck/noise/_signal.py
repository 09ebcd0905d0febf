"""How far a file resolves the mean gradient from its noise: the rule for |G|^2 and B_simple.

The squared norm of the true gradient is estimated without bias by subtracting the noise
from the mean mini-batch norm (McCandlish et al. 2018, appendix A.1):

    |G|^2 ~ |gbar|^2 - tr(Sigma)/N_s            (N_s examples, one draw of the mean)
    |G|^2 ~ (B_b |G_b|^2 - B_s |G_s|^2) / (B_b - B_s)   (two batch sizes)

Both are differences of noisy positive numbers. When the signal |G|^2 is small against
the noise tr(Sigma)/N_s the difference is often negative: the file does not resolve the
mean gradient from zero. A negative number is then not an estimate of a squared norm,
and B_simple = tr(Sigma)/|G|^2 (McCandlish et al.'s gradient noise scale, which
approximates the critical batch B_crit) has no finite estimate. What the file does say
is a bound: |G|^2 is at most the upper end X of its confidence interval, so B_simple is
at least the lower end of its own interval (the bootstrap draws give both).

:func:`read_signal` applies that rule point by point:

* unbiased |G|^2 > 0 (``resolved``): the estimate and B_simple = tr(Sigma)/|G|^2 are
  reported; B_simple's interval may still be open above (its upper end is then None:
  "no upper bound at this level", since |G|^2 = 0 lies in |G|^2's interval);
* unbiased |G|^2 <= 0: |G|^2 and B_simple are None with a ``reason``; |G|^2 <= X and
  B_simple >= its interval's lower end when an interval exists, else "cannot tell".

Intervals of |G|^2 are intersected with [0, inf) (a squared norm is not negative). A
reading notes when an estimate lies outside its own interval (a percentile interval of a
skewed bootstrap distribution need not contain the estimate) rather than hiding it.

Reference:
    McCandlish, Kaplan, Amodei et al. "An Empirical Model of Large-Batch Training",
    arXiv:1812.06162 (2018), section 2.2 and appendix A.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["nonnegative", "nonnegative_intervals", "read_signal"]


def nonnegative(x: Any) -> Any:
    """``x`` with negative entries as NaN (null in JSON): a negative unbiased |G|^2 is no squared norm.

    Example:
        >>> nonnegative([0.5, -0.1]).tolist()
        [0.5, nan]
    """
    x = np.asarray(x, dtype=float)
    return np.where(x < 0, np.nan, x)


def nonnegative_intervals(pairs: Sequence[Sequence[Any]]) -> list[list[float | None]]:
    """|G|^2's (low, high) intervals met with [0, inf): no end below 0 (a missing end stays None).

    Example:
        >>> nonnegative_intervals([(-0.2, 0.3), (None, 1.0)])
        [[0.0, 0.3], [None, 1.0]]
    """
    return [[None if v is None else max(float(v), 0.0) for v in pair] for pair in pairs]


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if not math.isnan(x) else None


def _pair(ci: Any, p: int) -> tuple[float | None, float | None] | None:
    if ci is None:
        return None
    pair = ci[p]
    if not pair or pair[0] is None and pair[1] is None:
        return None
    return _num(pair[0]), _num(pair[1])


def read_signal(
    grad_norm_sq: Sequence[float],
    trace_sigma: Sequence[float],
    *,
    grad_ci: Sequence[Any] | None = None,
    b_simple_ci: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """Read each point's unbiased |G|^2 and tr(Sigma) as resolved values or bounds.

    Args:
        grad_norm_sq: unbiased estimates of |G|^2, one per point (may be negative).
        trace_sigma: estimates of tr(Sigma), one per point.
        grad_ci, b_simple_ci: the intervals ``[lo, hi]`` of |G|^2 and of B_simple from
            the same draws as the estimates (None: no intervals; an end may be None or
            inf when open).

    Returns:
        One dict per point: ``resolved`` (bool), ``grad_norm_sq`` and ``b_simple`` (the
        estimates, None when not resolved), ``grad_norm_sq_interval`` (``[lo, hi]``, lo
        clipped at 0; None without intervals), ``b_simple_interval`` (``[lo, hi]``, hi
        None when open above), ``grad_norm_sq_upper`` and ``b_simple_lower`` (the bounds
        a reader may quote when not resolved, None when the file gives none), ``reason``
        (why a value is None; None when resolved) and ``outside`` (names of estimates
        that lie outside their own interval). No entry is negative or infinite.

    Example:
        >>> r = read_signal([-1e-4, 2.0], [0.3, 8.0], grad_ci=[[-3e-4, 5e-5], [1.5, 2.5]],
        ...                 b_simple_ci=[[6000.0, float("inf")], [3.2, 5.3]])
        >>> r[0]["resolved"], r[0]["grad_norm_sq"], r[0]["grad_norm_sq_upper"], r[0]["b_simple_lower"]
        (False, None, 5e-05, 6000.0)
        >>> r[1]["grad_norm_sq"], r[1]["b_simple"], r[1]["grad_norm_sq_interval"]
        (2.0, 4.0, [1.5, 2.5])

    Reference:
        McCandlish et al., arXiv:1812.06162 (2018), section 2.2 and appendix A.
    """
    out = []
    for p, (g2, tr) in enumerate(zip(grad_norm_sq, trace_sigma)):
        g2, tr = _num(g2), _num(tr)
        gpair, bpair = _pair(grad_ci, p), _pair(b_simple_ci, p)
        g_iv = None
        if gpair is not None and gpair[1] is not None:
            g_iv = [max(gpair[0], 0.0) if gpair[0] is not None else 0.0, max(gpair[1], 0.0)]
        b_iv = None
        if bpair is not None and bpair[0] is not None and math.isfinite(bpair[0]):
            b_iv = [bpair[0], bpair[1] if bpair[1] is not None and math.isfinite(bpair[1]) else None]
        resolved = g2 is not None and g2 > 0 and tr is not None
        entry: dict[str, Any] = {
            "resolved": resolved,
            "grad_norm_sq": g2 if resolved else None,
            "b_simple": tr / g2 if resolved else None,
            "grad_norm_sq_interval": g_iv,
            "b_simple_interval": b_iv,
            "grad_norm_sq_upper": g_iv[1] if g_iv is not None and g_iv[1] > 0 else None,
            "b_simple_lower": b_iv[0] if b_iv is not None else None,
            "reason": None,
            "outside": [],
        }
        if not resolved:
            shown = "undefined" if g2 is None else f"{g2:.4g}"
            bound = (f"|grad|^2 <= {entry['grad_norm_sq_upper']:.4g}" if entry["grad_norm_sq_upper"] is not None
                     else "no upper bound on |grad|^2 from this file" if g_iv is None else "|grad|^2 ~ 0")
            entry["reason"] = (
                f"not resolved from this file: signal below noise (unbiased |grad|^2 = {shown} <= 0; {bound}); "
                + ("B_simple >= " + f"{entry['b_simple_lower']:.4g}" if entry["b_simple_lower"] is not None
                   else "B_simple: cannot tell")
            )
        else:
            if g_iv is not None and not g_iv[0] <= g2 <= g_iv[1]:
                entry["outside"].append("grad_norm_sq")
            b = entry["b_simple"]
            if b_iv is not None and not (b_iv[0] <= b and (b_iv[1] is None or b <= b_iv[1])):
                entry["outside"].append("b_simple")
        out.append(entry)
    return out
