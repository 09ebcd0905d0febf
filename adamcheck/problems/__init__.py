"""Optimisation problems the simulator runs: counterexamples, data-driven losses, user problems."""

from ._counterexample import counterexample_slopes

__all__ = ["counterexample_slopes"]
