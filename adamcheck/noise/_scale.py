"""What the stored per-example gradients mean, and the one canonical scale used inside.

Per-example gradient files are a classic source of wrong noise scales: a loss that is
averaged over a batch before ``backward()`` divides every per-example term by the batch
size, a loss scale (mixed precision) multiplies it, and a summed training loss makes the
mini-batch gradient B times larger than a mean one. adamcheck therefore asks how the
rows were made and converts them to one canonical scale.

Definitions. Let ``ell_j(theta)`` be the unscaled loss of example j. The stored row
``r_j`` is the gradient of example j's term in the loss that was differentiated,
``L = s * R_{j in S} ell_j`` over a group S of ``M = mean_over`` examples, where ``s`` is
``loss_scale`` and ``R`` is the reduction:

* ``reduction="sum"``:  ``L = s * sum_j ell_j``        so ``r_j = s * grad ell_j``;
* ``reduction="mean"``: ``L = s * (1/M) sum_j ell_j``  so ``r_j = (s/M) * grad ell_j``.

``M = 1`` (the default) means each example's gradient was taken on its own, as
``torch.func.vmap(grad(...))``, per-example loops and Opacus' ``grad_sample`` (which
undoes the mean) produce; then "mean" and "sum" store the same rows. Set ``M`` to the
batch you back-propagated through when the rows come from a batched mean loss, e.g.
BackPACK's ``BatchGrad`` (which keeps the 1/M factor).

Canonical scale: ``grad ell_j = r_j / factor`` with ``factor = s`` (sum) or ``s/M``
(mean), and the objective of docs/theory.md section 1 with mean-reduced mini-batches,
``ell = (1/N) sum_j ell_j`` and ``ell_i = (1/B) sum_{j in batch i} ell_j``. Every
estimate adamcheck reports is on this scale. D1 and B_simple do not depend on it;
gradient norms, trace(Sigma) and D0 do: multiply D0 by ``s**2`` if your training loss
is ``s`` times a batch mean, by ``(s*B)**2`` if it is ``s`` times a batch sum.

Example:
    >>> scale = GradientScale("mean", loss_scale=1024.0, mean_over=32)
    >>> scale.factor
    32.0
    >>> GradientScale("sum", loss_scale=2.0).factor
    2.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import InvalidParameterError
from .._validate import check_positive_float, check_positive_int

__all__ = ["GradientScale", "REDUCTIONS", "ScaleOptions"]

REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class GradientScale:
    """How stored per-example gradient rows relate to the canonical ``grad ell_j``.

    Attributes:
        reduction: ``"mean"`` or ``"sum"``, the reduction of the loss that was
            differentiated to produce the rows.
        loss_scale: the factor ``s`` the loss was multiplied by (1 without scaling).
        mean_over: ``M``, the number of examples the mean was taken over when the rows
            were computed (1 when each example was differentiated on its own).
    """

    reduction: str = "mean"
    loss_scale: float = 1.0
    mean_over: int = 1

    def __post_init__(self) -> None:
        reduction = str(self.reduction).strip().lower()
        if reduction not in REDUCTIONS:
            raise InvalidParameterError(
                f"reduction {self.reduction!r} is unknown: use 'mean' or 'sum' "
                "(the reduction of the loss whose per-example gradients you stored)"
            )
        object.__setattr__(self, "reduction", reduction)
        object.__setattr__(self, "loss_scale", check_positive_float(self.loss_scale, "loss scale"))
        object.__setattr__(self, "mean_over", check_positive_int(self.mean_over, "mean-over"))
        factor = self.factor
        # Rows are divided by the factor and then squared: outside [1e-100, 1e100] the canonical
        # squares of ordinary rows overflow (or lose every digit) in float64.
        if not 1e-100 <= factor <= 1e100:
            raise InvalidParameterError(
                f"loss scale / mean-over = {factor:g} is outside [1e-100, 1e100], where the rescaled squares "
                "overflow float64: "
                "give the loss scale the rows were made with (e.g. 1, 1024 or 65536)"
            )

    @property
    def factor(self) -> float:
        """Stored row = ``factor`` * canonical per-example gradient."""
        if self.reduction == "sum":
            return self.loss_scale
        return self.loss_scale / self.mean_over

    def to_dict(self) -> dict[str, Any]:
        return {
            "reduction": self.reduction,
            "loss_scale": self.loss_scale,
            "mean_over": self.mean_over,
            "stored_row_factor": self.factor,
            "canonical": "gradients of the unscaled per-example loss; mean-reduced batches",
        }


@dataclass(frozen=True)
class ScaleOptions:
    """How the caller says the rows were made (None: the file's metadata, else the default),
    each value checked at construction; :func:`adamcheck.noise._estimate.resolve_scale`
    combines them with the file's into a :class:`GradientScale`.

    Example:
        >>> ScaleOptions(reduction="SUM").reduction
        'sum'
        >>> ScaleOptions(loss_scale=0)
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: loss scale = 0 must be positive
    """

    reduction: str | None = None
    loss_scale: float | None = None
    mean_over: int | None = None

    def __post_init__(self) -> None:
        if self.reduction is not None:
            object.__setattr__(self, "reduction", GradientScale(reduction=self.reduction).reduction)
        if self.loss_scale is not None:
            object.__setattr__(self, "loss_scale", check_positive_float(self.loss_scale, "loss scale"))
        if self.mean_over is not None:
            object.__setattr__(self, "mean_over", check_positive_int(self.mean_over, "mean-over"))
