"""Vectorised Adam simulator: many (beta1, beta2, lr, eps, seed) runs advanced together."""

from ._conventions import CONVENTIONS, adam_step, check_convention, uses_bias_correction

__all__ = ["CONVENTIONS", "adam_step", "check_convention", "uses_bias_correction"]
