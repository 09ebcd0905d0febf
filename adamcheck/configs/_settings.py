"""``adamcheck check``'s options as frozen objects, validated once (black's ``Mode``).

:class:`CheckSettings` holds how a setup is judged (the half-life rule's reference, the
large-batch ratio, your domain, your own measurements, the gradient RMS);
:class:`ConfigOverrides` the flags that fill or override what configuration files state;
:class:`BareValues` the values of a check without files. Each checks its values at
construction, so :func:`~adamcheck.configs.check_config`, :func:`~adamcheck.configs.check_values`
and :func:`~adamcheck.configs.check_setup` (keyword wrappers kept for notebooks) and the
``check`` command build one and pass it down.

Example:
    >>> s = CheckSettings(reference="0.95@512", reference_seq_len=2048)
    >>> s.reference.beta2, s.reference.seq_len, s.upper_ratio
    (0.95, 2048, 5.0)
    >>> ConfigOverrides(world_size=0)
    Traceback (most recent call last):
    ...
    adamcheck._errors.InvalidParameterError: world size = 0 must be a positive integer (1 or more)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from .._errors import InvalidParameterError
from .._halflife import DEFAULT_REFERENCE, BetaReference, parse_reference
from .._measurement import Measurement
from .._validate import (
    check_beta,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seq_len,
)
from ..recommend._eps import normal_state_dtype
from ..recommend._verdict import DEFAULT_UPPER_RATIO
from ._setup import TrainingSetup, apply_overrides

__all__ = ["BareValues", "CheckSettings", "ConfigOverrides"]


def _optional(value: Any, check: Callable[[Any, str], Any], name: str) -> Any:
    return None if value is None else check(value, name)


@dataclass(frozen=True)
class CheckSettings:
    """How a setup is judged (:func:`~adamcheck.configs.check_setup`'s options but the gradients).

    Attributes:
        reference: the half-life rule's reference, a BetaReference or ``"BETA2@BATCH"``
            (default :data:`~adamcheck._halflife.DEFAULT_REFERENCE`); with
            ``reference_seq_len`` its batch counts sequences of that many tokens.
        upper_ratio: the large-batch memory advice's multiple (None: the verdict's default).
        domain: your kind of training (None: from the config, else not known).
        measurements: your own :class:`~adamcheck._measurement.Measurement`.
        grad_rms: the gradient RMS per coordinate, when known.
    """

    reference: BetaReference = DEFAULT_REFERENCE
    reference_seq_len: int | None = None
    upper_ratio: float = DEFAULT_UPPER_RATIO
    domain: str | None = None
    measurements: tuple[Measurement, ...] = ()
    grad_rms: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        reference: Any = self.reference
        if isinstance(reference, str):
            reference = parse_reference(reference)
        reference = reference or DEFAULT_REFERENCE
        if self.reference_seq_len is not None:
            put(self, "reference_seq_len", check_seq_len(self.reference_seq_len, "reference sequence length"))
            # the reference's own sequence length: batches are then compared in tokens, and the
            # verdict and the recommended betas both use it
            reference = replace(reference, seq_len=self.reference_seq_len)
        put(self, "reference", reference)
        put(self, "upper_ratio", DEFAULT_UPPER_RATIO if self.upper_ratio is None
            else check_positive_float(self.upper_ratio, "upper_ratio"))
        put(self, "measurements", tuple(self.measurements))
        put(self, "grad_rms", _optional(self.grad_rms, check_positive_float, "grad_rms"))


@dataclass(frozen=True)
class ConfigOverrides:
    """How to read configuration files, and the flags that fill or override what they state
    (``adamcheck check``'s ``--format``, ``--preset``, ``--accumulation``, ``--world-size``...)."""

    format: str | None = None
    preset: str | None = None
    accumulation: str | None = None
    world_size: int | None = None
    seq_len: int | None = None
    micro_batch_size: int | None = None
    grad_accum: int | None = None
    global_batch_size: int | None = None
    max_steps: int | None = None
    dataset_size: int | None = None
    state_dtype: str | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name, words in (("world_size", "world size"), ("seq_len", "sequence length"),
                            ("micro_batch_size", "micro batch size"), ("grad_accum", "gradient accumulation"),
                            ("global_batch_size", "global batch size"), ("max_steps", "max steps"),
                            ("dataset_size", "dataset size")):
            check = check_seq_len if name == "seq_len" else check_positive_int
            put(self, name, _optional(getattr(self, name), check, words))
        put(self, "state_dtype", normal_state_dtype(self.state_dtype))

    def apply(self, setup: TrainingSetup) -> TrainingSetup:
        """``setup`` with these flags applied (:func:`~adamcheck.configs._setup.apply_overrides`)."""
        return apply_overrides(
            setup,
            world_size=(self.world_size, "--world-size"),
            seq_len=(self.seq_len, "--seq-len"),
            micro_batch=(self.micro_batch_size, "--micro-batch-size"),
            grad_accum=(self.grad_accum, "--grad-accum"),
            global_batch=(self.global_batch_size, "--global-batch-size"),
            max_steps=(self.max_steps, "--max-steps"),
            dataset_size=(self.dataset_size, "--dataset-size"),
            state_dtype=(self.state_dtype, "--state-dtype"),
        )


@dataclass(frozen=True)
class BareValues:
    """The values of a check without configuration files (None: not given).

    Raises:
        InvalidParameterError: a beta outside [0, 1), a negative eps, a size below 1.
    """

    batch_size: int | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    seq_len: int | None = None
    max_steps: int | None = None
    dataset_size: int | None = None
    state_dtype: str | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "beta1", _optional(self.beta1, check_beta, "beta1"))
        put(self, "beta2", _optional(self.beta2, check_beta, "beta2"))
        put(self, "eps", _optional(self.eps, check_nonnegative_float, "eps"))
        for name in ("batch_size", "seq_len", "max_steps", "dataset_size"):
            check = check_seq_len if name == "seq_len" else check_positive_int
            put(self, name, _optional(getattr(self, name), check, name))
        put(self, "state_dtype", normal_state_dtype(self.state_dtype))

    def setup(self, stated: dict[str, str]) -> TrainingSetup:
        """A :class:`TrainingSetup` of these values; ``stated`` names the ones a file stated.

        Raises:
            InvalidParameterError: neither (batch_size, beta1, beta2) nor eps given.
        """
        core = {"batch_size": self.batch_size, "beta1": self.beta1, "beta2": self.beta2}
        missing = [k for k, v in core.items() if v is None]
        if missing and self.eps is None:
            raise InvalidParameterError(
                f"{', '.join(missing)} not given: give batch_size, beta1 and beta2 (CLI --batch-size, --beta1, "
                "--beta2), or eps alone (--eps, with --state-dtype) to judge eps on its own")
        setup = TrainingSetup(format="values", files=[])
        given = {"beta1": (self.beta1, "--beta1"), "beta2": (self.beta2, "--beta2"), "eps": (self.eps, "--eps"),
                 "global_batch": (self.batch_size, "--batch-size"), "seq_len": (self.seq_len, "--seq-len"),
                 "max_steps": (self.max_steps, "--max-steps"), "dataset_size": (self.dataset_size, "--dataset-size"),
                 "state_dtype": (self.state_dtype, "--state-dtype")}
        for name, (value, flag) in given.items():
            if value is not None:
                setup.set(name, float(value) if name in ("beta1", "beta2", "eps") else value,
                          stated.get(name, f"flag {flag}"))
        return setup
