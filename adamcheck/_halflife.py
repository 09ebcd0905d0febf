"""Practice rules for beta2 across batch sizes (docs/theory.md section 7).

The second-moment EMA forgets with half-life ``ln(1/2)/ln(beta2)`` steps. Keeping
that half-life fixed in *samples* (or tokens) when the batch size changes from B to
B' gives the rule of Marek et al. 2025 (arXiv 2507.07101):

    beta2' = beta2 ** (B' / B).

One public training recipe clamps it as ``clip(0.999 ** (B / 32), 0.95, 0.9999)``;
that recipe is the default reference here and is named wherever it is used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._errors import InvalidParameterError
from ._shown import shown_repr
from ._validate import check_beta, check_positive_float

__all__ = [
    "BetaReference",
    "DEFAULT_REFERENCE",
    "PRACTICE_CLAMP",
    "half_life_beta2",
    "half_life_steps",
    "memory_steps",
    "parse_reference",
]

#: Range of beta2 used in practice by the recipe above (lower, upper).
PRACTICE_CLAMP = (0.95, 0.9999)


@dataclass(frozen=True)
class BetaReference:
    """A configuration known to work: ``beta2`` at batch size ``batch_size``.

    ``unit`` is ``"samples"`` (sequences; the default) or ``"tokens"`` (the batch is a
    token count; compare with a run only through its tokens per sample). ``seq_len``:
    tokens per sequence of a batch counted in samples, when known (then a run whose
    sequence length is known is compared in tokens).
    """

    beta2: float
    batch_size: float
    source: str
    unit: str = "samples"
    seq_len: int | None = None

    def __post_init__(self) -> None:
        check_beta(self.beta2, "reference beta2")
        check_positive_float(self.batch_size, "reference batch size")
        if self.unit not in ("samples", "tokens"):
            raise InvalidParameterError(f"reference unit {self.unit!r} must be 'samples' or 'tokens'")

    def in_samples(self, tokens_per_sample: float | None) -> "BetaReference":
        """The same reference with its batch in samples (needs tokens per sample if in tokens)."""
        if self.unit == "samples":
            return self
        if not tokens_per_sample:
            raise InvalidParameterError(
                f"the reference batch {self.batch_size:g} is in tokens: give tokens_per_sample (CLI --seq-len) to compare"
            )
        return BetaReference(self.beta2, self.batch_size / tokens_per_sample, self.source, "samples",
                             int(tokens_per_sample))


#: The default reference: beta2 = 0.999 at batch 32 sequences of 4096 tokens (131,072
#: tokens), the clamped public recipe clip(0.999**(B/32), 0.95, 0.9999) of Marin's MoE
#: sweep (docs/theory.md section 7, whose sequences are 4096 tokens), after Marek et al. 2025.
DEFAULT_REFERENCE = BetaReference(
    beta2=0.999,
    batch_size=32,
    source="beta2 = 0.999 at batch 32 x 4096 tokens, from the Marin MoE recipe's clip(0.999**(B/32), "
    "0.95, 0.9999) (docs/theory.md section 7); the rule itself is Marek et al. 2025 (arXiv 2507.07101)",
    seq_len=4096,
)


def half_life_beta2(reference: BetaReference, batch_size: float) -> float:
    """beta2' = beta2_ref ** (B' / B_ref): the same half-life in samples at batch B'.

    Example:
        >>> round(half_life_beta2(DEFAULT_REFERENCE, 64), 6)
        0.998001
    """
    batch_size = check_positive_float(batch_size, "batch size")
    return reference.beta2 ** (batch_size / reference.batch_size)


def half_life_steps(beta2: float) -> float:
    """Steps after which the EMA weight of a gradient halves: ln(1/2)/ln(beta2)."""
    beta2 = check_beta(beta2, "beta2")
    if beta2 == 0.0:
        return 0.0
    return math.log(0.5) / math.log(beta2)


def memory_steps(beta2: float) -> float:
    """Effective memory 1/(1-beta2) of the second-moment EMA, in steps."""
    beta2 = check_beta(beta2, "beta2")
    return 1.0 / (1.0 - beta2)


def parse_reference(text: str) -> BetaReference:
    """Parse ``"BETA2@BATCH"`` such as ``"0.95@512"``, or ``"0.95@4194304tok"`` for a batch in tokens.

    Raises :class:`InvalidParameterError` with the expected form on anything else.

    Example:
        >>> parse_reference("0.95@2048tok").unit
        'tokens'
    """
    parts = str(text).split("@")
    unit = "samples"
    try:
        if len(parts) != 2:
            raise ValueError
        batch_text = parts[1].strip()
        for suffix in ("tokens", "tok"):
            if batch_text.endswith(suffix):
                batch_text, unit = batch_text[: -len(suffix)], "tokens"
                break
        beta2, batch = float(parts[0]), float(batch_text)
    except ValueError:
        raise InvalidParameterError(
            f"reference {shown_repr(str(text))} is malformed: write BETA2@BATCH, e.g. 0.95@512 (or 0.95@4194304tok)"
        ) from None
    return BetaReference(beta2=beta2, batch_size=batch, source=f"user reference {text}", unit=unit)
