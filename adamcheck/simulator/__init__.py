"""Vectorised Adam simulator: many (beta1, beta2, lr, eps, seed) runs advanced together.

:func:`simulate` and :func:`phase_grid` take keywords; :func:`run_simulation` and
:func:`run_phase_grid` take the same settings as two checked objects,
:class:`AdamSettings` (which Adam) and :class:`RunPlan` (steps, seeds, sampling, start).
"""

from ._conventions import CONVENTIONS, adam_step, check_convention, uses_bias_correction
from ._outcomes import OUTCOMES, TrainingCriterion, classify, classify_training, classify_with_reasons, loss_trend_t
from ._phase import PhaseGrid, RunRecords, majority_outcome, phase_grid, run_phase_grid
from ._sampling import SAMPLINGS, sample_components
from ._schedules import SCHEDULES, schedule_factors
from ._settings import AdamSettings, RunPlan
from ._simulate import SimulationResult, run_simulation, simulate

__all__ = [
    "AdamSettings",
    "CONVENTIONS",
    "OUTCOMES",
    "SAMPLINGS",
    "SCHEDULES",
    "PhaseGrid",
    "RunPlan",
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
    "run_phase_grid",
    "run_simulation",
    "sample_components",
    "schedule_factors",
    "simulate",
    "uses_bias_correction",
]
