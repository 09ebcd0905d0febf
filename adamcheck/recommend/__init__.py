"""Recommend (beta1, beta2) for a batch size: provable, calibrated, practice, and the choice;
the two-sided verdict shared with ``adamcheck check`` (published evidence as data).

The critical boundaries per beta1 (counterexample) and per batch size (your gradients)
live with the boundary search in :mod:`adamcheck.drift`; their names stay importable
from here.
"""

from ._plot import plot_beta2_against_batch
from ._recommend import (
    DEFAULT_BETA1,
    CalibratedLens,
    PracticeLens,
    ProvableLens,
    Recommendation,
    calibrated_prediction,
    recommend,
    recommend_with,
)
from ._settings import RecommendSettings, VerdictSettings
from ._verdict import (
    EVIDENCE,
    Edge,
    Evidence,
    Verdict,
    evidence_risk,
    judge_betas,
    lower_edge,
    measurements_from_meta,
    upper_edge,
    verdict,
)

__all__ = [
    "EVIDENCE",
    "CalibratedLens",
    "Edge",
    "Evidence",
    "PracticeLens",
    "ProvableLens",
    "Verdict",
    "calibrated_prediction",
    "evidence_risk",
    "lower_edge",
    "measurements_from_meta",
    "upper_edge",
    "verdict",
    "DEFAULT_BETA1",
    "Recommendation",
    "batch_size_boundary",
    "counterexample_boundary",
    "plot_beta2_against_batch",
    "recommend",
    "recommend_with",
    "RecommendSettings",
    "VerdictSettings",
    "judge_betas",
    "simulated_agreement",
]


#: names whose home is adamcheck.drift, loaded on first use: drift imports NumPy at the top,
#: and check / recommend --batch-size must not load it
_FROM_DRIFT = {"batch_size_boundary", "counterexample_boundary", "simulated_agreement"}


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _FROM_DRIFT:
        from .. import drift  # lazy: keeps numpy off `import adamcheck.configs`

        return getattr(drift, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ``adamcheck.recommend`` names both this subpackage and the function: once the
# subpackage is imported (the CLI does), Python's import system sets the package
# attribute to the module, so ``from adamcheck import recommend`` returned a module
# and calling it raised "'module' object is not callable". Calls go to the function.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return recommend(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
