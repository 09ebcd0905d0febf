"""The options of the verdict and the recommender as frozen objects, validated once.

:class:`VerdictSettings` holds what :func:`adamcheck.recommend._verdict.verdict` needs
besides the betas and the batch (the reference, the run's length, the edge rule's ratios,
your domain and measurements, eps and its precision); :class:`RecommendSettings` what
:func:`adamcheck.recommend.recommend` needs besides the batch and the gradients. Both
check every value at construction (black's ``Mode``): the keyword functions build one and
pass it down, so a bad value is an :class:`~adamcheck.InvalidParameterError` before any
work, and the functions below them take one object instead of a dozen keywords.

Example:
    >>> s = RecommendSettings(beta1=0.95, reference="0.999@32", planned_steps=1000)
    >>> s.beta1, s.reference.beta2, s.planned_steps
    (0.95, 0.999, 1000)
    >>> RecommendSettings(eps=-1.0)
    Traceback (most recent call last):
    ...
    adamcheck._errors.InvalidParameterError: eps = -1 must be zero or positive
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .._errors import InvalidParameterError
from .._halflife import DEFAULT_REFERENCE, BetaReference, parse_reference
from .._measurement import Measurement
from .._shown import shown_repr
from .._validate import check_beta, check_nonnegative_float, check_positive_int, check_seed, check_seq_len
from ._edges import DEFAULT_INTERPOLATION, DEFAULT_LOWER_RATIO, DEFAULT_UPPER_RATIO
from ._eps import normal_state_dtype
from ._evidence import EVIDENCE, Evidence, normal_domain

__all__ = ["RecommendSettings", "VerdictSettings", "as_reference"]


def as_reference(reference: BetaReference | str | None, default: BetaReference | None = DEFAULT_REFERENCE
                 ) -> BetaReference | None:
    """A :class:`~adamcheck._halflife.BetaReference` from itself, ``"BETA2@BATCH"`` or None (``default``)."""
    if isinstance(reference, str):
        reference = parse_reference(reference)
    if reference is not None and not isinstance(reference, BetaReference):
        raise InvalidParameterError(
            f"reference = {shown_repr(reference)} is a {type(reference).__name__}: give a BetaReference or "
            "the text 'BETA2@BATCH', such as '0.999@32'"
        )
    return reference or default


def _optional(value: Any, check: Callable[[Any, str], Any], name: str) -> Any:
    return None if value is None else check(value, name)


@dataclass(frozen=True)
class VerdictSettings:
    """Everything :func:`~adamcheck.recommend._verdict.verdict` weighs besides (batch, beta1, beta2).

    Attributes:
        reference: the half-life rule's reference (required).
        tokens_per_sample: tokens per sample; then batches are compared in tokens.
        planned_steps: the run's optimizer steps (the upper edge).
        beta2_critical, critical_source: a beta2* from gradients, as a gradients measurement.
        interpolation: the edge rule's t in [0, 1] (adamcheck's choice, module docstring of
            :mod:`adamcheck.recommend._verdict`).
        upper_ratio, lower_ratio: the efficiency advice's multiples of the rule's memory.
        domain (normalised), domain_how; measurements; evidence: the published table.
        eps, state_dtype (normalised), state_source, grad_rms: eps's judgement.
    """

    reference: BetaReference
    tokens_per_sample: int | None = None
    planned_steps: int | None = None
    beta2_critical: float | None = None
    critical_source: str = ""
    interpolation: float = DEFAULT_INTERPOLATION
    upper_ratio: float = DEFAULT_UPPER_RATIO
    lower_ratio: float = DEFAULT_LOWER_RATIO
    domain: str | None = None
    domain_how: str = ""
    measurements: tuple[Measurement, ...] = ()
    evidence: tuple[Evidence, ...] = EVIDENCE
    eps: float | None = None
    state_dtype: str | None = None
    state_source: str = ""
    grad_rms: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.interpolation <= 1.0:
            raise InvalidParameterError(f"interpolation = {self.interpolation!r} must lie in [0, 1]")
        put = object.__setattr__
        put(self, "reference", as_reference(self.reference))
        put(self, "domain", normal_domain(self.domain))
        put(self, "state_dtype", normal_state_dtype(self.state_dtype))
        put(self, "measurements", tuple(self.measurements))
        put(self, "evidence", tuple(self.evidence))


@dataclass(frozen=True)
class RecommendSettings:
    """Everything :func:`~adamcheck.recommend.recommend` takes besides the batch and the gradients.

    Each value is the caller's, checked here; None is "not given" (a gradient file's own
    value, then the default, fills it: :meth:`filled`). ``reference`` is parsed from
    ``"BETA2@BATCH"`` and defaults to :data:`adamcheck._halflife.DEFAULT_REFERENCE`.

    Raises:
        InvalidParameterError: a value out of range (the same messages as ``recommend``).
    """

    dataset_size: int | None = None
    beta1: float | None = None
    reference: BetaReference | None = None
    tokens_per_sample: int | None = None
    eps: float | None = None
    planned_steps: int | None = None
    seed: int = 0
    beta2: float | None = None
    domain: str | None = None
    domain_how: str = ""
    measurements: tuple[Measurement, ...] = ()
    state_dtype: str | None = None
    grad_rms: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "dataset_size", _optional(self.dataset_size, check_positive_int, "dataset size"))
        put(self, "reference", as_reference(self.reference))
        put(self, "tokens_per_sample", _optional(self.tokens_per_sample, check_seq_len, "tokens per sample"))
        put(self, "beta1", _optional(self.beta1, check_beta, "beta1"))
        put(self, "eps", _optional(self.eps, check_nonnegative_float, "eps"))
        put(self, "planned_steps", _optional(self.planned_steps, check_positive_int, "planned steps"))
        put(self, "seed", check_seed(self.seed))
        put(self, "beta2", _optional(self.beta2, check_beta, "beta2"))
        put(self, "measurements", tuple(self.measurements))
        normal_domain(self.domain)  # refuse an unknown domain before any work; kept as given
        normal_state_dtype(self.state_dtype)  # refuse a bad value whether or not a beta2 is judged
