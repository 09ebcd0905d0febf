"""SymPy-free theory: the papers' formulas, written once for numbers and SymPy.

Every formula that numeric code needs (the recommender, the simulator, the noise
and drift modules) lives here as a plain function of numbers that also accepts
SymPy symbols (pass ``lib=`` a SymPy namespace where ``sqrt``/``log`` appear).
:mod:`adamcheck.symbolic` builds its objects by calling these functions with
symbols, and ``proofs/`` checks the facts they rely on. Importing this package
imports neither SymPy nor NumPy, and nothing of adamcheck but its error classes and input
checks: it is the floor the other packages build on. :func:`shi_min_beta2` imports mpmath
on first use.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026); NeurIPS 2022, arXiv:2208.09632.
    Shi, Li, Hong, Sun, ICLR 2021.  Reddi, Kale, Kumar, ICLR 2018.
"""

from ._lib import MATH
from ._problems import (
    COUNTEREXAMPLE_REGION_N,
    COUNTEREXAMPLE_RUN_N,
    KINK,
    VERTEX,
    check_counterexample_n,
    counterexample_component_slopes,
    counterexample_default_a,
    counterexample_d1,
    counterexample_loss,
    counterexample_lower_bound,
    counterexample_minimiser,
    counterexample_piece_linear,
    counterexample_piece_quadratic,
    counterexample_slopes,
    reddi_online_slopes,
    reddi_stochastic_moments,
    reddi_stochastic_probability,
    reddi_theorem1_beta2,
    theorem23_class_holds,
    tight_d1,
    tight_d1_grouped,
)
from ._recurrence import (
    CONVENTIONS,
    AdamHyper,
    adam_direction,
    adam_moments,
    adam_update,
    bias_correction,
    ema,
    shi_initial_moments,
)
from ._shi import (
    CONSERVATIVE_NOTE,
    ShiThreshold,
    shi_adam_bound,
    shi_min_beta2,
    shi_t1,
    shi_t1_limit,
    shi_t2,
    shi_t2_bound,
)
from ._theorem22 import (
    THEOREM22_EXPONENTS,
    rate_blowup,
    theorem22_holds,
    theorem22_order_scale,
    theorem22_rate_terms,
    theorem22_threshold,
)

__all__ = [
    "MATH",
    "CONVENTIONS",
    "ema",
    "bias_correction",
    "adam_moments",
    "adam_direction",
    "adam_update",
    "AdamHyper",
    "shi_initial_moments",
    "THEOREM22_EXPONENTS",
    "theorem22_order_scale",
    "theorem22_threshold",
    "theorem22_holds",
    "theorem22_rate_terms",
    "rate_blowup",
    "shi_t1",
    "shi_t2",
    "shi_t1_limit",
    "shi_t2_bound",
    "shi_adam_bound",
    "shi_min_beta2",
    "ShiThreshold",
    "CONSERVATIVE_NOTE",
    "COUNTEREXAMPLE_RUN_N",
    "COUNTEREXAMPLE_REGION_N",
    "counterexample_slopes",
    "check_counterexample_n",
    "counterexample_default_a",
    "KINK",
    "VERTEX",
    "tight_d1",
    "tight_d1_grouped",
    "counterexample_component_slopes",
    "counterexample_piece_linear",
    "counterexample_piece_quadratic",
    "counterexample_loss",
    "counterexample_d1",
    "counterexample_minimiser",
    "counterexample_lower_bound",
    "theorem23_class_holds",
    "reddi_online_slopes",
    "reddi_theorem1_beta2",
    "reddi_stochastic_probability",
    "reddi_stochastic_moments",
]
