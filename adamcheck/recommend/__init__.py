"""Recommend (beta1, beta2) for a batch size: provable, calibrated, practice, and the choice;
critical boundaries per beta1 (counterexample) and per batch size (your gradients)."""

from ._boundary import batch_size_boundary, counterexample_boundary, simulated_agreement
from ._plot import plot_beta2_against_batch
from ._recommend import DEFAULT_BETA1, DEFAULT_MARGIN, Recommendation, recommend

__all__ = [
    "DEFAULT_BETA1",
    "DEFAULT_MARGIN",
    "Recommendation",
    "batch_size_boundary",
    "counterexample_boundary",
    "plot_beta2_against_batch",
    "recommend",
    "simulated_agreement",
]
