"""Vectorised Adam simulator: many (beta1, beta2, lr, eps, seed) runs advanced together."""

from ._conventions import CONVENTIONS, adam_step, check_convention, uses_bias_correction
from ._outcomes import OUTCOMES, TrainingCriterion, classify, classify_training, classify_with_reasons, loss_trend_t
from ._phase import PhaseGrid, RunRecords, majority_outcome, phase_grid
from ._sampling import SAMPLINGS, sample_components
from ._schedules import SCHEDULES, schedule_factors
from ._simulate import SimulationResult, simulate

__all__ = [
    "CONVENTIONS",
    "OUTCOMES",
    "SAMPLINGS",
    "SCHEDULES",
    "PhaseGrid",
    "RunRecords",
    "SimulationResult",
    "TrainingCriterion",
    "adam_step",
    "check_convention",
    "classify",
    "classify_training",
    "classify_with_reasons",
    "loss_trend_t",
    "majority_outcome",
    "phase_grid",
    "sample_components",
    "schedule_factors",
    "simulate",
    "uses_bias_correction",
]
