"""adamcheck: will Adam converge on your problem at your batch size?

The public API is re-exported here and imported lazily (PEP 562), so
``import adamcheck`` stays cheap: SymPy, SciPy's heavy modules, matplotlib and torch
load only when a feature that needs them is used.

References:
    Zhang, Li, Chen, Luo, Sun. "Adam Converges Without Any Modification On Update
    Rules", arXiv:2603.02092 (2026); NeurIPS 2022 version arXiv:2208.09632.
    Reddi, Kale, Kumar. "On the Convergence of Adam and Beyond", ICLR 2018.
    Shi, Li, Hong, Sun. "RMSprop converges with proper hyper-parameter", ICLR 2021.
"""

from __future__ import annotations

from ._errors import AdamCheckError, ConfigError, DataError, InvalidParameterError, ProblemError
from ._lazy import lazy_exports

__version__ = "0.1.0"

#: public name -> module (relative to this package) that defines it.
_LAZY: dict[str, str] = {}

__all__ = [
    "AdamCheckError",
    "ConfigError",
    "DataError",
    "InvalidParameterError",
    "ProblemError",
    "__version__",
]


def _register(module: str, *names: str) -> None:
    for name in names:
        _LAZY[name] = module
        __all__.append(name)


# --- public API, one line per module (kept sorted by module) -------------------------
_register("._laws", "GradientLaw")
_register(".problems", "Problem", "Counterexample", "LeastSquares", "LogisticRegression",
          "ReddiOnline", "ReddiStochastic", "counterexample_slopes", "load_xy")
_register(".simulator", "simulate", "phase_grid", "adam_step", "SimulationResult", "PhaseGrid",
          "CONVENTIONS", "RunRecords", "TrainingCriterion", "classify_training",
          "AdamSettings", "RunPlan", "run_simulation", "run_phase_grid")
_register(".configs", "CheckReport", "TrainingSetup", "check_config", "check_optimizer", "check_values",
          "check_setup", "hf_check_callback", "read_config")
_register(".drift", "CriticalBoundary", "DriftEstimate", "DriftGrid", "MarginRecommendation",
          "critical_beta2", "default_beta2_ladder", "drift_ratio", "drift_ratio_grid", "recommended_beta2")
_register(".recommend", "recommend", "Recommendation")
_register(".noise", "estimate", "minibatch_laws", "GradientScale", "NoiseEstimate", "EstimateSettings",
          "run_estimate")
_register(".theory", "shi_min_beta2", "theorem22_threshold", "theorem22_order_scale", "counterexample_d1")


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
