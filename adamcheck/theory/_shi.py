"""Shi et al. (2021)'s explicit sufficient conditions on beta2, and the smallest beta2 meeting them.

Shi, Li, Hong, Sun (ICLR 2021) analyse randomly reshuffled RMSprop/Adam on
``f = sum_{j<n} f_j`` in dimension d under ``sum_j |grad f_j|^2 <= D1 |grad f|^2 + D0``.
Writing ``b = beta2^n`` (docs/theory.md section 3, checked against the paper's text):

* Theorem 4.3 (RMSprop, beta1 = 0) requires

      T2(beta2) = sqrt(5d/b) d n^2 D1 ((1-beta2)(4n^2/b - 1)/2 + (1/sqrt(b) - 1))
                <= (sqrt(2) - 1)/(2 sqrt(2));

* Theorem 4.4 (Adam) requires ``T1 + T2 < 1 - 1/sqrt(2)`` with

      T1(beta1, beta2) = sqrt(5d/b) d n^2 D1 (beta1/b) ((1-beta1)/(1-beta1^n) + 1).

**These are extremely conservative sufficient conditions**: failing them says nothing
about divergence, and the thresholds they give (1 - beta2 of order n^-3.5 or far
smaller) are far above what training needs. The 2022 paper reads them as
``beta2 >= 1 - O(n^-3.5)`` and ``beta1 <= O(n^-2.5)``. Report them as such.

Facts used by :func:`shi_min_beta2`, each machine-checked in ``proofs/shi.py``:
T1 and T2 are strictly decreasing in beta2 on (0, 1); T2 -> 0 as beta2 -> 1;
but T1 -> sqrt(5d) d n^2 D1 beta1 ((1-beta1)/(1-beta1^n) + 1) > 0, which does *not*
vanish: for beta1 > 0, Theorem 4.4 can be met by some beta2 < 1 only if that limit
is below 1 - 1/sqrt(2), i.e. only for very small beta1.

Notes on the sources (differences from docs/theory.md section 3 are reported):

* Shi et al.'s objective is the *sum* ``f = sum_j f_j``; Assumption A2.2 (docs/theory.md section 2)
  (Zhang et al.) uses the *mean* ``l = f/n``. For the same components
  ``D1_mean = n^2 D1_sum``. The formulas above are the paper's, in the sum
  convention (``d1_convention="sum"``, the default, is the paper's statement taken
  literally). With a D1 measured for the mean (A2.2), pass ``d1_convention="mean"``:
  D1 is divided by n^2 first. Plugging a mean-convention D1 in unconverted is still
  a valid (n^2 times more conservative) test, never an invalid one.
* Theorem 4.3's bound is (1 - 1/sqrt(2))/2, half of Theorem 4.4's: at beta1 -> 0
  Theorem 4.4 asks less than Theorem 4.3. Following the 4.3/4.4 split, beta1 = 0 uses
  Theorem 4.3 unless ``theorem="4.4"`` is asked for.

References:
    Shi, Li, Hong, Sun, "RMSprop converges with proper hyper-parameter", ICLR 2021,
    eqs. (3)-(6), Theorems 4.3 and 4.4.
    Zhang, Chen, Shi, Sun, Luo, NeurIPS 2022 (arXiv:2208.09632), discussion of Shi et al.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Any

from .._errors import InvalidParameterError
from .._validate import check_positive_int
from ._lib import MATH

__all__ = [
    "shi_t1",
    "shi_t2",
    "shi_t2_bound",
    "shi_adam_bound",
    "shi_t1_limit",
    "ShiThreshold",
    "shi_min_beta2",
    "CONSERVATIVE_NOTE",
]

CONSERVATIVE_NOTE = (
    "Shi et al. (2021)'s explicit conditions are extremely conservative sufficient "
    "conditions: failing them does not mean Adam diverges (docs/theory.md section 3)"
)


def _prefactor(beta2: Any, n: Any, d: Any, d1: Any, lib: Any) -> Any:
    return lib.sqrt(5 * d / beta2**n) * d * n**2 * d1


def shi_t2(beta2: Any, n: Any, d: Any, d1: Any, *, lib: Any = MATH) -> Any:
    """Shi et al.'s ``T2(beta2)`` (Theorem 4.3, eq. 4), D1 in their sum convention.

    ``T2 = sqrt(5d/beta2^n) d n^2 D1 ((1-beta2)(4n^2/beta2^n - 1)/2 + 1/sqrt(beta2^n) - 1)``.

    Example:
        >>> shi_t2(1.0, n=10, d=3, d1=2.0)
        0.0
        >>> shi_t2(0.999, n=10, d=3, d1=2.0) > shi_t2(0.9999, n=10, d=3, d1=2.0)
        True
    """
    b = beta2**n
    bracket = (1 - beta2) * (4 * n**2 / b - 1) / 2 + (1 / lib.sqrt(b) - 1)
    return _prefactor(beta2, n, d, d1, lib) * bracket


def shi_t1(beta1: Any, beta2: Any, n: Any, d: Any, d1: Any, *, lib: Any = MATH) -> Any:
    """Shi et al.'s ``T1(beta1, beta2)`` (Theorem 4.4, eq. 6), D1 in their sum convention.

    ``T1 = sqrt(5d/beta2^n) d n^2 D1 (beta1/beta2^n) ((1-beta1)/(1-beta1^n) + 1)``.

    Example:
        >>> shi_t1(0.0, 0.99, n=10, d=3, d1=2.0)
        0.0
    """
    ratio = (1 - beta1) / (1 - beta1**n) if beta1 != 0 else 1
    return _prefactor(beta2, n, d, d1, lib) * (beta1 / beta2**n) * (ratio + 1)


def shi_t1_limit(beta1: Any, n: Any, d: Any, d1: Any, *, lib: Any = MATH) -> Any:
    """``lim_{beta2 -> 1} T1 = sqrt(5d) d n^2 D1 beta1 ((1-beta1)/(1-beta1^n) + 1)`` (> 0 if beta1 > 0).

    Example:
        >>> shi_t1_limit(0.5, n=1, d=1, d1=1.0) == shi_t1(0.5, 1.0, n=1, d=1, d1=1.0)
        True
    """
    return shi_t1(beta1, 1, n, d, d1, lib=lib)


def shi_t2_bound(*, lib: Any = MATH) -> Any:
    """Theorem 4.3's right-hand side ``(sqrt(2) - 1)/(2 sqrt(2))`` (about 0.1464).

    Example:
        >>> round(shi_t2_bound(), 6)
        0.146447
    """
    return (lib.sqrt(2) - 1) / (2 * lib.sqrt(2))


def shi_adam_bound(*, lib: Any = MATH) -> Any:
    """Theorem 4.4's right-hand side ``1 - 1/sqrt(2)`` (about 0.2929).

    Example:
        >>> round(shi_adam_bound(), 6)
        0.292893
    """
    return 1 - 1 / lib.sqrt(2)


# --- fast numeric solver -------------------------------------------------------------

_LN10 = math.log(10.0)
_UNDERFLOW = -700.0  # below this log(gap), exp(log gap) would lose precision or underflow


def _log_sum_exp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _log_expm1(y: float) -> float:
    # log(e^y - 1) for y > 0 without overflow or cancellation
    if y > 50.0:
        return y + math.log1p(-math.exp(-y))
    return math.log(math.expm1(y))


class _LogT:
    """log of the condition's left-hand side as a function of u = log(1 - beta2)."""

    def __init__(self, n: int, d: float, d1: float, beta1: float, with_t1: bool) -> None:
        self.n = n
        self.log_k0 = 0.5 * (math.log(5.0) + math.log(d)) + math.log(d) + 2 * math.log(n) + math.log(d1)
        self.log_4n2 = math.log(4.0) + 2 * math.log(n)
        self.with_t1 = with_t1 and beta1 > 0
        if self.with_t1:
            b1n = math.exp(n * math.log(beta1))
            ratio = (1.0 - beta1) / (-math.expm1(n * math.log(beta1))) if b1n < 1 else 1.0
            self.log_t1_const = math.log(beta1) + math.log(ratio + 1.0)

    def __call__(self, u: float) -> float:
        n = self.n
        if u > _UNDERFLOW:
            gap = math.exp(u)
            big_l = -n * math.log1p(-gap)  # log(beta2^-n) >= 0
            log_l = math.log(big_l) if big_l > 0 else math.log(n) + u
        else:
            big_l = 0.0  # beta2^-n == 1 to double precision; first-order terms kept below
            log_l = math.log(n) + u
        # log(4 n^2 e^L - 1)
        log_a = big_l + self.log_4n2 + math.log1p(-math.exp(-big_l - self.log_4n2))
        log_term1 = u - math.log(2.0) + log_a
        log_term2 = _log_expm1(big_l / 2) if big_l / 2 > 1e-300 else log_l - math.log(2.0)
        log_t2 = self.log_k0 + big_l / 2 + _log_sum_exp(log_term1, log_term2)
        if not self.with_t1:
            return log_t2
        log_t1 = self.log_k0 + big_l / 2 + big_l + self.log_t1_const
        return _log_sum_exp(log_t1, log_t2)


def _decimal_gap(u: float, digits: int, rounding: str) -> Decimal:
    """exp(u) as a Decimal with ``digits`` significant digits, rounded down or up."""
    log10 = u / _LN10
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)  # in [1, 10)
    ctx = Context(prec=digits, rounding=rounding)
    return ctx.create_decimal(Decimal(repr(mantissa))).scaleb(exponent)


def _interval_value(gap: Decimal, n: int, d: float, d1_sum: Any, beta1: float, with_t1: bool):
    """Interval enclosure of T2 (+ T1) at beta2 = 1 - gap with mpmath's interval arithmetic."""
    import mpmath  # lazy: keeps mpmath off `import adamcheck.configs`

    iv = mpmath.iv
    bits = int(64 + max(0.0, -float(gap.adjusted()) * 3.33) + 2 * math.log2(n + 1))
    old = iv.prec
    iv.prec = bits
    try:
        g = iv.mpf(str(gap))
        beta2 = 1 - g
        b = beta2**n
        n_iv = iv.mpf(n)
        pref = iv.sqrt(5 * iv.mpf(d) / b) * iv.mpf(d) * n_iv**2 * d1_sum
        bracket = (1 - beta2) * (4 * n_iv**2 / b - 1) / 2 + (1 / iv.sqrt(b) - 1)
        total = pref * bracket
        if with_t1 and beta1 > 0:
            b1 = iv.mpf(beta1)
            ratio = (1 - b1) / (1 - b1**n)
            total = total + pref * (b1 / b) * (ratio + 1)
        return total
    finally:
        iv.prec = old


@dataclass(frozen=True)
class ShiThreshold:
    """The smallest beta2 meeting Shi et al.'s condition, as a verified bracket.

    Attributes:
        theorem: "4.3" (T2 <= (sqrt2-1)/(2 sqrt2), beta1 = 0) or "4.4" (T1 + T2 < 1 - 1/sqrt2).
        feasible: whether some beta2 < 1 meets the condition.
        beta2_lower, beta2_upper: exact decimal strings with
            beta2_lower < beta2* <= beta2_upper, where the admissible set is
            [beta2*, 1) (Theorem 4.3) or (beta2*, 1) (Theorem 4.4, strict);
            None when infeasible.
        gap_lower, gap_upper: floats bracketing 1 - beta2* outward
            (gap_lower <= 1 - beta2_upper, gap_upper >= 1 - beta2_lower); they may
            underflow to 0.0 below 1e-308, see log10_gap.
        log10_gap: log10(1 - beta2*) from the float solve (never rounded to 0).
        t1_limit: T1 as beta2 -> 1 (0 for RMSprop).
        bound: the right-hand side of the condition.
        d1_sum: the D1 used, in Shi et al.'s sum convention.
        verified_by: how the bracket was certified ("interval arithmetic (mpmath.iv)").
        note: the conservativeness caveat, or why no beta2 < 1 works.
    """

    theorem: str
    condition: str
    feasible: bool
    strict: bool
    beta2_lower: str | None
    beta2_upper: str | None
    gap_lower: float | None
    gap_upper: float | None
    log10_gap: float | None
    t1_limit: float
    bound: float
    n: int
    d: int
    d1: float
    d1_convention: str
    d1_sum: float
    beta1: float
    verified_by: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_inputs(n: Any, d: Any, d1: Any, beta1: Any) -> tuple[int, int, float, float]:
    n, d = check_positive_int(n, "n"), check_positive_int(d, "d")  # whole numbers up to 2**63 - 1
    try:
        d1 = float(d1)
        beta1 = float(beta1)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError("D1 and beta1 must be finite numbers") from None
    if not (math.isfinite(d1) and d1 >= 0):
        raise InvalidParameterError(f"D1 = {d1!r} must be a finite number >= 0")
    if not (math.isfinite(beta1) and 0 <= beta1 < 1):
        raise InvalidParameterError(f"beta1 = {beta1!r} is outside [0, 1): use a value in [0, 1)")
    return int(n), int(d), d1, beta1


def shi_min_beta2(
    n: int,
    d: int,
    d1: float,
    beta1: float = 0.0,
    *,
    d1_convention: str = "sum",
    theorem: str = "auto",
    rel_width: float = 1e-9,
) -> ShiThreshold:
    """Smallest beta2 meeting Shi et al.'s explicit condition, bracketed and verified.

    Solves ``T2(beta2) = (sqrt2-1)/(2 sqrt2)`` (Theorem 4.3, used for beta1 = 0) or
    ``T1 + T2 = 1 - 1/sqrt2`` (Theorem 4.4, beta1 > 0) for beta2 in (0, 1). The
    left-hand sides are strictly decreasing in beta2 (``proofs/shi.py``), so the
    admissible betas form [beta2*, 1) (or (beta2*, 1)), and the answer is beta2*.

    Method: a float bisection in ``u = log(1 - beta2)`` on log T, written with
    log1p/expm1 so thresholds like 1 - 1e-40 are not rounded to 1; then both ends of
    a bracket of relative width ``rel_width`` in 1 - beta2 are certified with
    mpmath interval arithmetic: T <= bound at ``beta2_upper`` (admissible) and
    T > bound at ``beta2_lower`` (not admissible). With monotonicity, beta2* lies in
    (beta2_lower, beta2_upper].

    For beta1 > 0, T1 does not vanish as beta2 -> 1 (its limit ``t1_limit`` is
    positive); when that limit is not below 1 - 1/sqrt2 no beta2 < 1 satisfies
    Theorem 4.4 and the result says so (``feasible=False``).

    These are extremely conservative sufficient conditions (see the module docstring
    and docs/theory.md section 3): a beta2 below the threshold is not shown to diverge.

    Args:
        n: number of mini-batches (components f_j).
        d: dimension of the parameter.
        d1: the affine-variance constant D1.
        beta1: first-moment coefficient in [0, 1).
        d1_convention: "sum" (Shi et al.'s f = sum f_j; default, the paper taken literally)
            or "mean" (A2.2 of docs/theory.md section 2 with l = mean; divided by n^2 here).
        theorem: "auto" (4.3 if beta1 == 0 else 4.4), "4.3" (needs beta1 = 0) or "4.4".
        rel_width: relative width of the certified bracket on 1 - beta2.

    Example:
        >>> r = shi_min_beta2(n=10, d=1, d1=1.0)
        >>> r.theorem, r.feasible
        ('4.3', True)
        >>> r.gap_lower <= r.gap_upper, round(r.log10_gap, 2)   # 1 - beta2* ~ 3.2e-6
        (True, -5.49)
        >>> shi_min_beta2(n=10, d=1, d1=1.0, beta1=0.9).feasible   # T1 stays > 0.29
        False

    References:
        Shi, Li, Hong, Sun, ICLR 2021, Theorems 4.3 and 4.4; docs/theory.md section 3.
    """
    n, d, d1, beta1 = _check_inputs(n, d, d1, beta1)
    theorem = _check_options(beta1, d1_convention, theorem, rel_width)
    d1_sum = d1 / n**2 if d1_convention == "mean" else d1
    with_t1 = theorem == "4.4"
    bound = shi_t2_bound() if theorem == "4.3" else shi_adam_bound()
    condition = (
        "T2(beta2) <= (sqrt(2)-1)/(2*sqrt(2))" if theorem == "4.3" else "T1(beta1,beta2) + T2(beta2) < 1 - 1/sqrt(2)"
    )
    t1_lim = float(shi_t1_limit(beta1, n, d, d1_sum)) if with_t1 else 0.0
    common = dict(
        theorem=theorem,
        condition=condition,
        strict=with_t1,
        t1_limit=t1_lim,
        bound=bound,
        n=n,
        d=d,
        d1=d1,
        d1_convention=d1_convention,
        d1_sum=d1_sum,
        beta1=beta1,
    )
    if d1_sum == 0:
        return ShiThreshold(
            feasible=True, beta2_lower="0", beta2_upper="0", gap_lower=1.0, gap_upper=1.0,
            log10_gap=0.0, verified_by="exact (D1 = 0 makes T1 = T2 = 0)",
            note=CONSERVATIVE_NOTE, **common,
        )
    if with_t1 and not _limit_below_bound(beta1, n, d, d1, d1_convention):
        return ShiThreshold(
            feasible=False, beta2_lower=None, beta2_upper=None, gap_lower=None, gap_upper=None,
            log10_gap=None, verified_by="interval arithmetic (mpmath.iv) on the beta2 -> 1 limit of T1",
            note=(
                f"no beta2 < 1 satisfies Theorem 4.4: T1 -> {t1_lim:.4g} as beta2 -> 1, "
                f"not below 1 - 1/sqrt(2) = {bound:.4g}; T1 does not vanish for beta1 > 0, "
                "so only a much smaller beta1 can pass (Theorem 4.3 covers beta1 = 0). "
                + CONSERVATIVE_NOTE
            ),
            **common,
        )
    u_star = _float_solve(_LogT(n, float(d), d1_sum, beta1, with_t1), math.log(bound))
    gap_lo, gap_hi = _certified_bracket(u_star, rel_width, common)
    ctx = Context(prec=max(40, 20 - gap_hi.adjusted()))
    beta2_lower = ctx.subtract(Decimal(1), gap_hi)
    beta2_upper = ctx.subtract(Decimal(1), gap_lo)
    return ShiThreshold(
        feasible=True,
        beta2_lower=str(beta2_lower),
        beta2_upper=str(beta2_upper),
        gap_lower=_float_down(gap_lo),
        gap_upper=_float_up(gap_hi),
        log10_gap=u_star / _LN10,
        verified_by="interval arithmetic (mpmath.iv) at both ends; monotonicity proved in proofs/shi.py",
        note=CONSERVATIVE_NOTE,
        **common,
    )


def _check_options(beta1: float, d1_convention: str, theorem: str, rel_width: float) -> str:
    """Refuse bad options; the theorem, with ``auto`` resolved (4.3 for beta1 = 0, else 4.4)."""
    if not 0 < rel_width < 0.01:
        raise InvalidParameterError(f"rel_width = {rel_width!r} must be in (0, 0.01), e.g. 1e-9")
    if d1_convention not in ("sum", "mean"):
        raise InvalidParameterError(
            f"d1_convention = {d1_convention!r}: use 'sum' (Shi et al.) or 'mean' (A2.2, docs/theory.md section 2)"
        )
    if theorem == "auto":
        theorem = "4.3" if beta1 == 0 else "4.4"
    if theorem not in ("4.3", "4.4"):
        raise InvalidParameterError(f"theorem = {theorem!r}: use 'auto', '4.3' or '4.4'")
    if theorem == "4.3" and beta1 != 0:
        raise InvalidParameterError(
            f"Theorem 4.3 is for RMSprop (beta1 = 0), got beta1 = {beta1:g}: use theorem='4.4'"
        )
    return theorem


def _float_solve(log_t: Any, target: float) -> float:
    """u* = log(1 - beta2*) where ``log_t(u) = target``, by bisection (log T increases with u)."""
    # bracket u* = log(1 - beta2*) in [lo, hi]
    hi = math.log1p(-1e-15)  # beta2 = 1e-15
    if log_t(hi) <= target:
        raise InvalidParameterError(
            "the condition holds even at beta2 = 1e-15: D1 is implausibly small for this n and d"
        )
    lo = min(target - log_t(math.log(1e-300)) + math.log(1e-300) - 1.0, -1.0)
    while log_t(lo) > target:
        lo = 2 * lo - 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if log_t(mid) > target:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-14 * max(1.0, abs(lo)):
            break
    return 0.5 * (lo + hi)


def _certified_bracket(u_star: float, rel_width: float, common: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """Decimal gaps 1 - beta2 around ``exp(u_star)``, each end certified by interval arithmetic:
    the condition holds at ``gap_lo`` and fails at ``gap_hi`` (the bracket widens until both do)."""
    import mpmath  # lazy: keeps mpmath off `import adamcheck.configs` (only this certification needs it)

    n, d, d1, beta1, theorem = common["n"], common["d"], common["d1"], common["beta1"], common["theorem"]
    with_t1 = common["strict"]
    d1_iv = mpmath.iv.mpf(d1) / mpmath.iv.mpf(n) ** 2 if common["d1_convention"] == "mean" else mpmath.iv.mpf(d1)
    width = math.log1p(rel_width)
    for _attempt in range(8):
        gap_lo = _decimal_gap(u_star - width, 12, ROUND_FLOOR)
        gap_hi = _decimal_gap(u_star + width, 12, ROUND_CEILING)
        if gap_hi >= 1:
            gap_hi = Decimal("0.999999999999999")
        at_lo = _interval_value(gap_lo, n, d, d1_iv, beta1, with_t1)
        at_hi = _interval_value(gap_hi, n, d, d1_iv, beta1, with_t1)
        sq2 = mpmath.iv.sqrt(2)
        bound_iv = (sq2 - 1) / (2 * sq2) if theorem == "4.3" else 1 - 1 / sq2
        ok_lo = at_lo.b < bound_iv.a if with_t1 else at_lo.b <= bound_iv.a
        ok_hi = at_hi.a > bound_iv.b
        if ok_lo and ok_hi:
            return gap_lo, gap_hi
        width *= 16
    raise RuntimeError("could not certify the Shi et al. threshold bracket")  # pragma: no cover - float solve off


def _limit_below_bound(beta1: float, n: int, d: int, d1: float, d1_convention: str) -> bool:
    """Certified test of ``lim_{beta2->1} T1 < 1 - 1/sqrt(2)``; T2 -> 0 there.

    Returns False when the limit is certainly >= the bound, or too close to tell.
    """
    import mpmath  # lazy: keeps mpmath off `import adamcheck.configs`

    iv = mpmath.iv
    old = iv.prec
    iv.prec = 200
    try:
        d1_iv = iv.mpf(d1) / iv.mpf(n) ** 2 if d1_convention == "mean" else iv.mpf(d1)
        b1 = iv.mpf(beta1)
        ratio = (1 - b1) / (1 - b1**n)
        limit = iv.sqrt(5 * iv.mpf(d)) * iv.mpf(d) * iv.mpf(n) ** 2 * d1_iv * b1 * (ratio + 1)
        bound = 1 - 1 / iv.sqrt(2)
        return bool(limit.b < bound.a)
    finally:
        iv.prec = old


def _float_down(x: Decimal) -> float:
    f = float(x)
    return math.nextafter(f, 0.0) if Decimal(f) > x else f


def _float_up(x: Decimal) -> float:
    f = float(x)
    return math.nextafter(f, math.inf) if Decimal(f) < x else f
