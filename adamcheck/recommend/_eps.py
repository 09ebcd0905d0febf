"""Adam's eps judged without gradients: the precision of the optimizer state, and the gradient scale.

Adam divides m by sqrt(v) + eps. Two things can go wrong with eps before any gradient
is sampled:

* **It is not there** (divergence). In fp16 the smallest positive number is 2^-24
  (about 6.0e-8), so eps = 1e-8 held in fp16 rounds to 0; and v itself rounds to 0 while
  (1 - beta2) g^2 < 2^-25, i.e. |g| < 2^-12.5 / sqrt(1 - beta2) (5.5e-3 at beta2 = 0.999).
  A coordinate whose v is 0 then divides by 0: m/0 is
  inf, 0/0 is NaN, and the NaN spreads through every later step. This happens when the
  optimizer state is fp16 (pure fp16 training: the model cast to half, the optimizer
  built on half parameters), not under mixed precision, which keeps fp32 master weights
  and fp32 Adam state (torch autocast with a GradScaler, DeepSpeed/Megatron fp16, bf16
  autocast). bf16 keeps fp32's exponent range (smallest subnormal about 9e-41), so eps
  does not vanish there. Public reports: PyTorch issue 147437 (a BLIP-2 model trained in
  float16: NaN parameters after the first ``optimizer.step()``, because sqrt(v) was 0 and
  eps = 1e-8 does not exist in float16), optax issue 1754 (eps rounds to 0 in float16,
  0/0 = NaN on any zero-gradient step), PyTorch issue 26218. eps = 0 does the same in
  any precision for a coordinate whose gradient has been exactly 0.
* **It is too large** (efficiency). Where eps is not small against sqrt(v) (the
  gradient's RMS per coordinate), eps and not sqrt(v) sets the step, and Adam behaves
  like momentum SGD with learning rate lr/eps: Wortsman et al. 2023 (arXiv 2309.14322,
  section 3.4: gradient RMS falls with scale toward eps; a smaller eps restored the
  updates); OLMo 2 (arXiv 2501.00656) lowered AdamW's eps from 1e-5 to 1e-8. Judged
  only when the gradient scale is known (``grad_rms``, or sampled gradients through the
  ``eps_vs_sqrt_v`` rule of ``adamcheck check``).
"""

from __future__ import annotations

import math

from .._diagnostics import Diagnostic
from .._errors import InvalidParameterError

__all__ = [
    "DEFAULT_EPS_FRACTION",
    "FP16_SMALLEST",
    "STATE_DTYPES",
    "eps_diagnostics",
    "eps_in_dtype",
    "normal_state_dtype",
]

#: The precisions an optimizer state can have.
STATE_DTYPES = ("fp32", "bf16", "fp16")
_ALIASES = {
    "float32": "fp32", "32": "fp32", "single": "fp32", "float": "fp32",
    "bfloat16": "bf16", "bf16": "bf16",
    "float16": "fp16", "half": "fp16", "16": "fp16",
    # 8-bit optimizers (bitsandbytes) store m and v quantized but dequantize them and add
    # eps in fp32 for the update: for eps, an fp32 state
    "8bit": "fp32", "int8": "fp32", "8-bit": "fp32",
}
#: The smallest positive fp16 number (a subnormal), 2^-24; below half of it a value rounds to 0.
FP16_SMALLEST = 2.0 ** -24
#: The smallest normal fp16 number, 2^-14: eps at least this keeps its full precision in fp16.
FP16_SMALLEST_NORMAL = 2.0 ** -14
#: The smallest positive bf16 number, 2^-133.
BF16_SMALLEST = 2.0 ** -133
#: eps counts as too large beyond this fraction of the gradient's RMS per coordinate
#: (adamcheck's choice, not a paper's; the same as ``adamcheck check``'s eps_vs_sqrt_v rule).
DEFAULT_EPS_FRACTION = 0.1

SRC_UNDERFLOW = ("fp16 cannot hold numbers below 2^-24 (about 6e-8): PyTorch issue 147437 (float16 training, "
                 "NaN after the first step: sqrt(v) = 0 and eps = 1e-8 rounds to 0), optax issue 1754 (0/0 = NaN "
                 "on float16 zero-gradient steps), PyTorch issue 26218")
SRC_SCALE = ("eps against the gradient RMS per coordinate: Wortsman et al. 2023 (arXiv 2309.14322) section 3.4; "
             "OLMo 2 (arXiv 2501.00656) lowered AdamW eps from 1e-5 to 1e-8; threshold is adamcheck's choice")


def normal_state_dtype(dtype: str | None) -> str | None:
    """``"fp32"``, ``"bf16"`` or ``"fp16"`` (None stays None: not known).

    Raises:
        InvalidParameterError: a name that is not one of them.

    Example:
        >>> normal_state_dtype("float16"), normal_state_dtype("bf16"), normal_state_dtype(None)
        ('fp16', 'bf16', None)
    """
    if dtype is None:
        return None
    key = str(dtype).strip().lower().replace("torch.", "")
    key = _ALIASES.get(key, key)
    if key not in STATE_DTYPES:
        raise InvalidParameterError(
            f"optimizer-state precision {dtype!r} is not one of {', '.join(STATE_DTYPES)} (CLI --state-dtype)")
    return key


def eps_in_dtype(eps: float, dtype: str) -> float:
    """eps as the optimizer state's precision holds it (round to nearest; 0 when it underflows).

    Example:
        >>> eps_in_dtype(1e-8, "fp16"), eps_in_dtype(1e-4, "fp16") > 0, eps_in_dtype(1e-8, "bf16") > 0
        (0.0, True, True)
    """
    if dtype == "fp16":
        import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

        return float(np.float16(eps))
    if dtype == "bf16":
        return 0.0 if eps < BF16_SMALLEST / 2 else eps
    return eps


def eps_diagnostics(
    eps: float | None,
    state_dtype: str | None,
    *,
    state_source: str = "",
    beta2: float | None = None,
    grad_rms: float | None = None,
    eps_fraction: float = DEFAULT_EPS_FRACTION,
) -> list[Diagnostic]:
    """The eps rules without gradients (module docstring).

    ``eps_precision`` (divergence axis): RISK when the optimizer state is fp16 and eps
    rounds to 0 there; advice for eps = 0 in any precision; not checked when the
    precision is not stated. ``beta2`` (when known) sizes the gradients whose v rounds to
    0 in fp16. ``eps_vs_grad`` (efficiency axis, only with ``grad_rms``):
    advice when eps > ``eps_fraction`` x ``grad_rms``.

    Example:
        >>> [d.level.value for d in eps_diagnostics(1e-8, "fp16")]
        ['risk']
        >>> [d.level.value for d in eps_diagnostics(1e-8, "fp32", grad_rms=1e-8)]
        ['ok', 'advice']
    """
    out: list[Diagnostic] = []
    where = f" ({state_source})" if state_source else ""
    if eps is None:
        out.append(Diagnostic("not_checked", "eps_precision", "not checked: eps unknown", SRC_UNDERFLOW,
                              axis="divergence", lens="theory"))
    elif state_dtype == "fp16" and eps_in_dtype(eps, "fp16") == 0.0:
        small = 2.0 ** -12.5 / math.sqrt(1.0 - beta2) if beta2 is not None and beta2 < 1 else 2.0 ** -12.5
        out.append(Diagnostic(
            "risk", "eps_precision",
            f"eps = {eps:g} rounds to 0 in the fp16 optimizer state, and so does v for gradients below "
            f"{small:.2g}: those coordinates divide by 0 and go NaN; keep Adam's state in fp32 (mixed "
            f"precision) or raise eps to at least {FP16_SMALLEST_NORMAL:.2g}",
            SRC_UNDERFLOW, axis="divergence", lens="theory"))
    elif eps == 0.0:
        out.append(Diagnostic(
            "advice", "eps_precision",
            "eps = 0: a coordinate whose gradient has been exactly 0 (padding rows, dead units) divides 0 by 0 "
            "and goes NaN; use a small positive eps such as 1e-8",
            SRC_UNDERFLOW, axis="divergence", lens="theory"))
    elif state_dtype is None:
        out.append(Diagnostic(
            "not_checked", "eps_precision",
            "not checked: the precision of the optimizer state is not stated (pass --state-dtype fp32/bf16/fp16; "
            "mixed precision keeps it in fp32)", SRC_UNDERFLOW, axis="divergence", lens="theory"))
    else:
        held = eps_in_dtype(eps, state_dtype)
        out.append(Diagnostic(
            "ok", "eps_precision",
            f"eps = {eps:g} is held as {held:.3g} in the {state_dtype} optimizer state{where}: never 0",
            SRC_UNDERFLOW, axis="divergence", lens="theory"))
    if grad_rms is not None and eps is not None:
        if not (grad_rms > 0 and math.isfinite(grad_rms)):
            raise InvalidParameterError(f"grad_rms = {grad_rms!r} must be a positive number (CLI --grad-rms)")
        if eps > eps_fraction * grad_rms:
            out.append(Diagnostic(
                "advice", "eps_vs_grad",
                f"eps = {eps:g} is {eps / grad_rms:.3g}x the gradient RMS {grad_rms:.3g}: eps, not sqrt(v), sets "
                f"the step, so Adam acts like momentum SGD; lower eps below {eps_fraction * grad_rms:.2g}",
                SRC_SCALE, axis="efficiency", lens="theory"))
        else:
            out.append(Diagnostic(
                "ok", "eps_vs_grad", f"eps = {eps:g} <= {eps_fraction:g} x the gradient RMS {grad_rms:.3g}",
                SRC_SCALE, axis="efficiency", lens="theory"))
    return out
