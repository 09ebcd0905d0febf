"""Laws of a coordinate's mini-batch gradient: the hand-off between the noise
estimator (``adamcheck estimate``) and the drift-ratio / critical-boundary code.

A :class:`GradientLaw` is a discrete joint law of a d-dimensional mini-batch
gradient ``g_B`` at a frozen point: K atoms ``values[k]`` (shape (K, d)) with
probabilities ``weights[k]`` (shape (K,), summing to 1). Per-coordinate marginals
are what docs/theory.md section 9 needs; the joint layout keeps one representation for
"samples" (K equal weights) and exact laws (the section-4 two-point law).

Example:
    >>> law = GradientLaw.two_point(n=10, a=1 / 81)
    >>> law.dim, law.n_atoms
    (1, 2)
    >>> float(law.mean()[0]) > 0
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import DataError, InvalidParameterError
from ._validate import check_finite_array, check_positive_float
from .theory import check_counterexample_n, counterexample_slopes

__all__ = ["GradientLaw"]


@dataclass(frozen=True)
class GradientLaw:
    """Discrete law of a mini-batch gradient: atoms ``values`` (K, d), ``weights`` (K,).

    Attributes:
        values: atom locations, float64, shape (K, d).
        weights: atom probabilities, shape (K,), non-negative, summing to 1.
        batch_size: the batch size B the law describes (None if not applicable).
        label: free text saying where the law came from.
        meta: extra provenance (reduction, loss scale, point index...). The key
            ``"mean_se"`` is the storage behind :attr:`mean_se` (kept writable so code
            that fills ``meta`` keeps working); read it through :attr:`mean_se`.
    """

    values: np.ndarray
    weights: np.ndarray
    batch_size: int | None = None
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = check_finite_array(self.values, "law values", ndim=(1, 2))
        if values.ndim == 1:
            values = values[:, None]
        weights = check_finite_array(self.weights, "law weights", ndim=1)
        if weights.shape[0] != values.shape[0]:
            raise DataError(
                f"law has {values.shape[0]} atoms but {weights.shape[0]} weights: give one weight per atom"
            )
        if (weights < 0).any():
            raise DataError("law weights must be non-negative")
        total = weights.sum()
        if not np.isclose(total, 1.0, rtol=0, atol=1e-9):
            raise DataError(f"law weights sum to {total:.6g}, not 1: normalise them")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "weights", weights / total)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def two_point(cls, n: int, a: float) -> "GradientLaw":
        """Law of a component gradient of the section-4 counterexample in its linear piece.

        g = 1 + (n-1)a with probability 1/n, g = -a otherwise (docs/theory.md sections 4, 9).
        The slopes come from :func:`adamcheck.theory.counterexample_slopes`, the one
        place they are defined.
        """
        n = check_counterexample_n(n)
        a = check_positive_float(a, "a")
        big, small = counterexample_slopes(n, a)
        return cls(
            values=np.array([[float(big)], [float(small)]]),
            weights=np.array([1.0 / n, (n - 1.0) / n]),
            batch_size=1,
            label=f"counterexample two-point law (n={n}, a={a:g})",
            meta={"n": n, "a": a},
        )

    @classmethod
    def from_samples(
        cls, samples: Any, batch_size: int | None = None, label: str = "samples"
    ) -> "GradientLaw":
        """Empirical law of ``samples`` (S, d) or (S,): S atoms of weight 1/S."""
        samples = check_finite_array(samples, "gradient samples", ndim=(1, 2))
        if samples.ndim == 1:
            samples = samples[:, None]
        s = samples.shape[0]
        return cls(values=samples, weights=np.full(s, 1.0 / s), batch_size=batch_size, label=label)

    # -- typed provenance -------------------------------------------------------------------
    @property
    def mean_se(self) -> np.ndarray | None:
        """Standard error of E[g] per coordinate, shape (d,), or None when unknown.

        Set by the estimator (from its bootstrap groups) and read by the boundary code
        to drop coordinates whose mean cannot be told from zero (docs/theory.md section 9).
        A single value is broadcast to every coordinate.

        Raises:
            InvalidParameterError: the stored value has the wrong size or a negative
                or non-finite entry.
        """
        se = self.meta.get("mean_se") if isinstance(self.meta, dict) else None
        if se is None:
            return None
        arr = np.asarray(se, dtype=float).reshape(-1)
        if arr.size == 1 and self.dim > 1:
            arr = np.full(self.dim, float(arr[0]))
        if arr.size != self.dim or not np.isfinite(arr).all() or (arr < 0).any():
            raise InvalidParameterError(
                f"law.meta['mean_se'] has {arr.size} entries for {self.dim} coordinates or bad values: "
                "give one non-negative standard error per coordinate"
            )
        return arr

    # -- moments --------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_atoms(self) -> int:
        return int(self.values.shape[0])

    def mean(self) -> np.ndarray:
        """E[g] per coordinate, shape (d,)."""
        return self.weights @ self.values

    def second_moment(self) -> np.ndarray:
        """E[g^2] per coordinate, shape (d,)."""
        return self.weights @ (self.values**2)

    def variance(self) -> np.ndarray:
        return np.maximum(self.second_moment() - self.mean() ** 2, 0.0)

    def skewness(self) -> np.ndarray:
        """E[(g-mu)^3]/sd^3 per coordinate (0 where the variance is 0)."""
        mu = self.mean()
        centred = self.values - mu
        m2 = self.weights @ centred**2
        m3 = self.weights @ centred**3
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(m2 > 0, m3 / np.where(m2 > 0, m2, 1.0) ** 1.5, 0.0)
        return out

    def sign_agreement(self) -> np.ndarray:
        """P(sign g = sign E[g]) per coordinate (ties at g = 0 count as disagreement)."""
        s = np.sign(self.mean())
        return self.weights @ (np.sign(self.values) == s).astype(float)

    def normalised_mean(self) -> np.ndarray:
        """E[g]/sqrt(E[g^2]): the drift ratio's denominator (docs/theory.md section 9)."""
        m2 = self.second_moment()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(m2 > 0, self.mean() / np.sqrt(np.where(m2 > 0, m2, 1.0)), 0.0)

    def coordinate(self, j: int) -> "GradientLaw":
        """The marginal law of coordinate ``j`` as a 1-D law (its :attr:`mean_se` entry kept)."""
        meta = dict(self.meta)
        se = self.mean_se
        if se is not None:
            meta["mean_se"] = se[[j]]
        return GradientLaw(
            values=self.values[:, [j]],
            weights=self.weights,
            batch_size=self.batch_size,
            label=f"{self.label} [coordinate {j}]",
            meta=meta,
        )
