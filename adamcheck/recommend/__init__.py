"""Recommend (beta1, beta2) for a batch size: provable, calibrated, practice, and the choice."""

from ._recommend import DEFAULT_BETA1, DEFAULT_MARGIN, Recommendation, recommend

__all__ = ["DEFAULT_BETA1", "DEFAULT_MARGIN", "Recommendation", "recommend"]
