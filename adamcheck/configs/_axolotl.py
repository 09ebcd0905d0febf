"""Reader for axolotl YAML configs (``examples/llama-3/fft-8b.yaml`` style).

Keys read, with axolotl's defaults (``src/axolotl/utils/schemas``, axolotl 0.18, 2026):
``micro_batch_size`` (1; sequences per GPU), ``gradient_accumulation_steps`` (1; when
absent and ``batch_size`` is set, ``normalize_config`` takes ``batch_size //
micro_batch_size``, so ``batch_size`` is the batch *per GPU*), ``optimizer``
(``adamw_torch_fused``; a TrainingArguments ``optim`` name or one of axolotl's own),
``adam_beta1``/``adam_beta2``/``adam_epsilon`` (unset: the TrainingArguments defaults
0.9/0.999/1e-8, which axolotl passes through), ``learning_rate``, ``weight_decay`` (0),
``num_epochs`` (1), ``max_steps``, ``sequence_len`` (512), ``sample_packing``,
``tensor_parallel_size``/``context_parallel_size`` (data-parallel size = world size
/ both, as ``normalize_config`` computes it), and ``deepspeed`` (a path resolved
against the working directory, as the Trainer resolves it).

The world size comes from the launcher (``WORLD_SIZE``), never from the file: pass
``--world-size``. Keys adamcheck does not read are not reported: axolotl's schema
has hundreds.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import HF_ADAM, adam_name_or_raise, not_covered
from ._pick import Picker
from ._setup import Sourced, TrainingSetup

__all__ = ["read_axolotl_dict", "axolotl_evidence"]

FRAMEWORK = "axolotl 0.18"
#: axolotl's own optimizer names that run an Adam update with adam_beta1/adam_beta2.
AXOLOTL_ADAM = frozenset({"optimi_adamw", "ao_adamw_4bit", "ao_adamw_8bit", "ao_adamw_fp8", "flash_adamw", "flash_adam"})
_STRONG = ("base_model", "sequence_len", "sample_packing", "micro_batch_size", "val_set_size", "num_epochs",
           "pad_to_sequence_len", "lora_model_dir", "load_in_8bit", "load_in_4bit", "adapter")


def axolotl_evidence(data: Any) -> list[str]:
    """Keys that mark an axolotl config (``base_model`` with axolotl's batch/sequence names)."""
    if not isinstance(data, dict):
        return []
    found = [k for k in _STRONG if k in data]
    if "base_model" not in data and len(found) < 2:
        return []
    return found


def read_axolotl_dict(data: Any, name: str) -> TrainingSetup:
    """Read an axolotl config mapping.

    Example:
        >>> s = read_axolotl_dict({"base_model": "m", "micro_batch_size": 2,
        ...     "gradient_accumulation_steps": 4, "optimizer": "adamw_torch_fused", "adam_beta2": 0.95}, "a.yaml")
        >>> s.get("micro_batch"), s.get("grad_accum"), s.get("beta2"), s.get("beta1")
        (2, 4, 0.95, 0.9)
        >>> s.beta1.source
        'default of axolotl 0.18 (adam_beta1 = 0.9: unset, so the TrainingArguments default)'
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not an axolotl config mapping")
    setup = TrainingSetup(format="axolotl", files=[name])
    p = Picker(data, name, setup, FRAMEWORK)
    optimizer = p.text("optimizer")
    if optimizer is None:
        setup.optimizer = Sourced("adamw_torch_fused", f"default of {FRAMEWORK} (optimizer)", weak=True)
    else:
        if optimizer not in AXOLOTL_ADAM:
            adam_name_or_raise(optimizer, HF_ADAM | AXOLOTL_ADAM, p.where("optimizer"))
        setup.set("optimizer", optimizer, p.where("optimizer"))
    if p.get("lisa_n_layers") not in (None, 0) and p.has("lisa_n_layers"):
        raise not_covered("LISA (Adam on a few sampled layers at a time)", p.where("lisa_n_layers"))
    tf = ": unset, so the TrainingArguments default"
    p.number("beta1", "adam_beta1", default=0.9, note=tf)
    p.number("beta2", "adam_beta2", default=0.999, note=tf)
    p.number("eps", "adam_epsilon", default=1e-8, note=tf)
    p.number("lr", "learning_rate")
    p.number("weight_decay", "weight_decay", default=0.0)
    micro = p.number("micro_batch", "micro_batch_size", kind=int, default=1)
    if p.has("gradient_accumulation_steps"):
        p.number("grad_accum", "gradient_accumulation_steps", kind=int)
    elif p.has("batch_size"):
        # batch_size counts one GPU's sequences (micro x accumulation), not the global batch.
        per_gpu = p.get("batch_size")
        if not isinstance(per_gpu, int) or isinstance(per_gpu, bool) or per_gpu < 1:
            raise ConfigError(f"{p.where('batch_size')} = {per_gpu!r} must be a positive integer: fix the file")
        setup.set("grad_accum", max(per_gpu // micro, 1),
                  f"{p.where('batch_size')} {per_gpu} // micro_batch_size {micro} (axolotl normalize_config)")
    else:
        p.number("grad_accum", "gradient_accumulation_steps", kind=int, default=1)
    p.number("seq_len", "sequence_len", kind=int, default=512)
    if p.get("sample_packing") is True:
        setup.notes.append(f"{p.where('sample_packing')} = true: sequences are packed to sequence_len, so tokens per step are close to the count shown")
    else:
        setup.notes.append(f"{name}: sequence_len is a maximum; without sample_packing tokens per step are fewer")
    p.number("max_steps", "max_steps", kind=int)
    p.number("num_epochs", "num_epochs", default=1.0)
    parallel = 1
    parts = []
    for key in ("tensor_parallel_size", "context_parallel_size"):
        value = p.get(key)
        if isinstance(value, int) and value > 1:
            parallel *= value
            parts.append(f"{key} {value}")
    if parts:
        setup.set("model_parallel", parallel, f"{name}: " + " x ".join(parts))
    ds = p.get("deepspeed")
    if isinstance(ds, (str, dict)):
        setup.deepspeed_reference = ds
    return setup
