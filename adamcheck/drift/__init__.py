"""Drift ratio and critical boundary (docs/theory.md section 9).

Public API:

* :func:`drift_ratio`, :func:`drift_ratio_grid` -> :class:`DriftEstimate`, :class:`DriftGrid`
* :func:`critical_beta2` -> :class:`CriticalBoundary` (strict and lenient beta2*)
* :func:`recommended_beta2` -> :class:`MarginRecommendation`
* :func:`default_beta2_ladder`, :func:`informative_mask`
* :func:`plot_drift_grid`: the phase map with the rho = 0 contour and beta2*(beta1)
* :func:`training_boundary` -> :class:`TrainingBoundary`: beta2*(B) for real training
  (aggregate sign drift and update growth), from per-example gradients read once;
  :func:`gradient_measurements`: its decided cells and abstentions as ``Measurement`` objects;
  :func:`run_training_boundary` takes its settings as one :class:`TrainingSettings`
* :func:`counterexample_boundary` (beta2*(beta1) of eq. 2.5), :func:`simulated_agreement`
  (against a phase grid) and :func:`batch_size_boundary` (beta2*(B) in examples, also for
  GradientMonitor files); also importable from :mod:`adamcheck.recommend`
* :func:`reference_ratio`: the slow plain long-chain Monte Carlo every fast route is tested against

Everything heavy (SciPy sparse) is imported inside the functions that need it.
"""

from ._boundary import (
    CriticalBoundary,
    MarginRecommendation,
    Setter,
    counterexample_boundary,
    critical_beta2,
    default_beta2_ladder,
    informative_mask,
    recommended_beta2,
    simulated_agreement,
)
from ._montecarlo import reference_ratio
from ._plot import plot_drift_grid
from ._training import (
    ColumnSample,
    TrainingBoundary,
    TrainingStatistics,
    batch_size_boundary,
    gradient_measurements,
    run_training_boundary,
    run_training_statistics,
    sample_coordinates,
    training_boundary,
    training_statistics,
)
from ._training_settings import TrainingSettings
from ._validity import BoundaryScore, real_boundary, score_boundary
from ._ratio import DriftEstimate, DriftGrid, drift_ratio, drift_ratio_grid

__all__ = [
    "BoundaryScore",
    "real_boundary",
    "score_boundary",
    "ColumnSample",
    "TrainingBoundary",
    "TrainingStatistics",
    "sample_coordinates",
    "training_boundary",
    "training_statistics",
    "run_training_boundary",
    "run_training_statistics",
    "TrainingSettings",
    "batch_size_boundary",
    "counterexample_boundary",
    "simulated_agreement",
    "gradient_measurements",
    "CriticalBoundary",
    "DriftEstimate",
    "DriftGrid",
    "MarginRecommendation",
    "Setter",
    "critical_beta2",
    "default_beta2_ladder",
    "drift_ratio",
    "drift_ratio_grid",
    "informative_mask",
    "plot_drift_grid",
    "recommended_beta2",
    "reference_ratio",
]
