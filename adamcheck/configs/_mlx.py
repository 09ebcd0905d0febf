"""Reader for mlx-lm fine-tuning YAML (``mlx_lm.lora --config lora_config.yaml``).

Keys read, with the defaults of mlx-lm 0.32.0 (``CONFIG_DEFAULTS`` in
``mlx_lm/lora.py``, ml-explore/mlx-lm commit d78bf58) and of MLX 0.32's optimizers
(``python/mlx/optimizers/optimizers.py``, ml-explore/mlx commit 846d176):
``optimizer`` (``adam``; ``adamw`` too; ``muon``, ``sgd``, ``adafactor`` are not
covered), ``optimizer_config.<name>.betas`` ([0.9, 0.999]), ``.eps`` (1e-8),
``.weight_decay`` (AdamW 0.01), ``.bias_correction`` (False: MLX's Adam runs without
bias correction unless asked), ``learning_rate`` (1e-5), ``batch_size`` (4),
``grad_accumulation_steps`` (1), ``iters`` (1000), ``max_seq_length`` (2048).

``batch_size`` is the batch of the whole run: with several processes,
``iterate_batches`` gives each ``batch_size / processes`` of it, so one optimizer
step sees ``batch_size x grad_accumulation_steps`` sequences whatever the process
count. ``iters`` counts micro-batches (``tuner/trainer.py`` updates every
``grad_accumulation_steps`` of them), so the optimizer steps are ``iters /
grad_accumulation_steps``. ``max_seq_length`` truncates; sequences are not packed.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._pick import Picker
from ._readutil import as_int
from ._setup import Sourced, TrainingSetup

__all__ = ["read_mlx_dict", "mlx_evidence"]

VERSION = "mlx-lm 0.32.0 (d78bf58) / MLX 0.32"
_ADAM = {"adam", "adamw"}
_NOT_ADAM = {"muon", "sgd", "adafactor"}
#: Keys mlx-lm's lora.py uses and TrainingArguments does not.
_MARKERS = ("iters", "fine_tune_type", "lora_parameters", "steps_per_report", "val_batches", "adapter_path",
            "resume_adapter_file", "test_batches", "grad_checkpoint", "optimizer_config", "lora_layers",
            "grad_accumulation_steps", "mask_prompt", "num_layers", "save_every")


def mlx_evidence(data: Any) -> list[str]:
    """mlx-lm keys (``iters``, ``fine_tune_type``, ``lora_parameters``...): two or more."""
    if not isinstance(data, dict):
        return []
    found = [k for k in _MARKERS if k in data]
    if "iters" in found and "batch_size" in data:  # mlx-lm's two training-length names
        found.append("batch_size")
    return found if len(found) >= 2 else []


def read_mlx_dict(data: Any, name: str) -> TrainingSetup:
    """Read an mlx-lm LoRA/full fine-tuning config mapping.

    Example:
        >>> s = read_mlx_dict({"optimizer": "adamw", "optimizer_config": {"adamw": {"betas": [0.9, 0.98]}},
        ...     "batch_size": 4, "iters": 1000, "grad_accumulation_steps": 2}, "lora.yaml")
        >>> s.get("beta2"), s.get("micro_batch") * s.get("grad_accum"), s.get("max_steps"), s.get("eps")
        (0.98, 8, 500, 1e-08)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not an mlx-lm config mapping")
    setup = TrainingSetup(format="mlx", files=[name])
    p = Picker(data, name, setup, VERSION)
    opt = (p.text("optimizer") or "adam").lower()
    if opt in _NOT_ADAM:
        raise not_covered(f"optimizer {opt!r}", p.where("optimizer"))
    if opt not in _ADAM:
        raise ConfigError(f"{p.where('optimizer')} = {opt!r} is not an mlx-lm optimizer (adam, adamw, muon, sgd, adafactor)")
    if p.has("optimizer"):
        setup.set("optimizer", opt, p.where("optimizer"))
    else:
        setup.optimizer = Sourced("adam", f"default of {VERSION} (optimizer: adam)", weak=True)
    cfg = f"optimizer_config.{opt}"
    config = p.get(cfg, {})
    if not isinstance(config, dict):
        raise ConfigError(f"{p.where(cfg)} = {config!r} must be a mapping of {opt} arguments: fix the file")
    unknown = sorted(set(config) - {"betas", "eps", "weight_decay", "bias_correction"})
    if unknown:  # mlx's optimizer constructor raises TypeError on them
        raise ConfigError(f"{p.where(cfg)}: {', '.join(map(str, unknown))} is not an argument of mlx {opt}: fix the key")
    p.number("beta1", f"{cfg}.betas", index=0, default=0.9)
    p.number("beta2", f"{cfg}.betas", index=1, default=0.999)
    p.number("eps", f"{cfg}.eps", default=1e-8)
    p.number("weight_decay", f"{cfg}.weight_decay", default=0.01 if opt == "adamw" else 0.0)
    p.number("lr", "learning_rate", default=1e-5)
    if p.has("lr_schedule"):
        setup.notes.append(f"{p.where('lr_schedule')} sets the learning-rate schedule; learning_rate is its peak only if the schedule says so")
    if config.get("bias_correction") is not True:
        setup.notes.append(
            f"{name}: MLX's {opt} runs without bias correction (bias_correction: false, MLX's default): the first "
            "steps' moments start from zero unscaled"
        )
    p.number("micro_batch", "batch_size", kind=int, default=4)
    accum = p.number("grad_accum", "grad_accumulation_steps", kind=int, default=1)
    # batch_size is the whole run's batch (each process loads its share), so the process
    # count does not multiply it: data-parallel size 1 in adamcheck's product.
    setup.set("data_parallel", 1, f"{name}: batch_size counts all processes together (mlx-lm splits it among them)")
    p.number("seq_len", "max_seq_length", kind=int, default=2048)
    setup.notes.append(f"{name}: max_seq_length truncates and mlx-lm does not pack: tokens per step are fewer")
    iters = p.get("iters", 1000)
    where = p.where("iters") if p.has("iters") else f"default of {VERSION} (iters = 1000)"
    iters = as_int(iters, where, strings=True)
    if iters < 1:
        raise ConfigError(f"{where} = {iters} must be at least 1: mlx-lm trains for iters micro-batches")
    if accum:
        setup.set("max_steps", iters // accum, f"{where} {iters} micro-batches / grad_accumulation_steps {accum}")
    tune = p.text("fine_tune_type") or "lora"
    if tune in ("lora", "dora"):
        setup.notes.append(f"{name}: fine_tune_type {tune}: Adam updates the adapter weights only")
    return setup
