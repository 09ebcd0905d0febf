"""The precision of Adam's m and v, as a configuration states it (for the eps rule).

Adam keeps m and v in the dtype of the parameters it updates (torch.optim, optax).
Mixed precision (autocast) keeps fp32 master weights, so m and v are fp32; pure
low-precision training casts the model itself, so they are fp16 or bf16. What each
framework's keys mean:

=============== ========================================================================
Trainer family  ``fp16: true`` / ``bf16: true`` (TrainingArguments, axolotl,
                LLaMA-Factory): autocast, fp32 state. axolotl ``float16: true`` /
                ``bfloat16: true`` ("use instead of fp16 when you don't want AMP"): the
                model in half, so the state too. LLaMA-Factory ``pure_bf16: true``: bf16.
litgpt          ``precision`` (Lightning Fabric): ``16-true`` fp16, ``bf16-true`` bf16,
                ``16-mixed``/``bf16-mixed``/``32-true`` fp32.
torchtune       ``dtype``: the model's (and so the optimizer state's) dtype.
DeepSpeed       ``fp16.enabled``/``bf16.enabled``: fp32 master weights and optimizer state.
OLMo            ``precision: amp_*``: autocast, fp32 state.
levanter        ``trainer.mp`` ``p=...``: the parameters' dtype.
=============== ========================================================================

Anything else is "not stated" (the eps rule then says so rather than guess).
"""

from __future__ import annotations

from typing import Any

__all__ = ["state_dtype_of"]

_LIGHTNING = {"16-true": "fp16", "16": "fp16", "bf16-true": "bf16", "16-mixed": "fp32", "bf16-mixed": "fp32",
              "32-true": "fp32", "32": "fp32", "64-true": "fp32"}
_DTYPES = {"fp32": "fp32", "float32": "fp32", "bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16",
           "float16": "fp16", "half": "fp16", "f32": "fp32", "f16": "fp16"}


def _true(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is True


def _trainer_family(data: dict[str, Any], name: str) -> tuple[str, str] | None:
    if _true(data, "float16"):
        return "fp16", f"{name}: float16 = true trains the model in fp16 without mixed precision"
    if _true(data, "bfloat16") or _true(data, "pure_bf16"):
        key = "bfloat16" if _true(data, "bfloat16") else "pure_bf16"
        return "bf16", f"{name}: {key} = true trains the model in bf16 without mixed precision"
    for key in ("fp16", "bf16"):
        if _true(data, key):
            return "fp32", f"{name}: {key} = true is mixed precision (fp32 master weights and Adam state)"
    return None


def state_dtype_of(fmt: str, data: Any, name: str) -> tuple[str, str] | None:
    """(``fp32``/``bf16``/``fp16``, where it was read) for a parsed config of format
    ``fmt``, or None when the file does not say.

    Example:
        >>> state_dtype_of("litgpt", {"precision": "16-true"}, "ft.yaml")[0]
        'fp16'
        >>> state_dtype_of("hf", {"fp16": True}, "args.json")[0], state_dtype_of("hf", {}, "args.json")
        ('fp32', None)
    """
    if not isinstance(data, dict):
        return None
    if fmt in ("hf", "axolotl", "llamafactory"):
        return _trainer_family(data, name)
    if fmt == "litgpt":
        value = str(data.get("precision", "")).strip().lower()
        if value in _LIGHTNING:
            return _LIGHTNING[value], f"{name}: precision = {value} (Lightning Fabric)"
        return None
    if fmt == "torchtune":
        value = str(data.get("dtype", "")).strip().lower()
        if value in _DTYPES:
            return _DTYPES[value], f"{name}: dtype = {value} (the model's dtype, so the optimizer state's)"
        return None
    if fmt == "deepspeed":
        for key in ("fp16", "bf16"):
            section = data.get(key)
            if isinstance(section, dict) and section.get("enabled") is True:
                return "fp32", f"{name}: {key}.enabled (DeepSpeed keeps fp32 master weights and optimizer state)"
        return None
    if fmt == "olmo":
        value = str(data.get("precision", "")).strip().lower()
        if value.startswith("amp_"):
            return "fp32", f"{name}: precision = {value} (autocast: fp32 parameters and optimizer state)"
        return None
    if fmt == "levanter":
        trainer = data.get("trainer")
        mp = str(trainer.get("mp", "")) if isinstance(trainer, dict) else ""
        for part in mp.replace(" ", "").split(","):
            if part.startswith("p="):
                dtype = _DTYPES.get(part[2:].lower())
                if dtype:
                    return dtype, f"{name}: trainer.mp {mp} (parameters, so the optimizer state, in {dtype})"
        return None
    return None
