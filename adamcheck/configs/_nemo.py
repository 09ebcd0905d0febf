"""Reader for NeMo 1.x Hydra YAML (``examples/nlp/language_modeling/conf/megatron_gpt_config.yaml``,
``.../tuning/conf/megatron_gpt_finetuning_config.yaml``).

Keys read, with NeMo's rules at NVIDIA/NeMo commit 8cfedd7 (v2.5.0rc0+113, where the
1.x Megatron configs still live): ``model.optim.name`` (``fused_adam``, ``adam``,
``adamw``, ``distributed_fused_adam``, ``megatron_fused_adam``,
``mcore_distributed_optim`` run Adam; others such as ``lamb``, ``novograd``,
``adafactor`` are not covered; ``nemo/core/optim/optimizers.py``),
``model.optim.betas`` ((0.9, 0.999), the torch/apex default: NeMo's ``AdamParams``
sets none), ``model.optim.eps`` (1e-8), ``model.optim.lr``, ``model.optim.weight_decay``,
``model.global_batch_size`` (sequences per optimizer step: NeMo accumulates global /
(micro x data-parallel) micro-batches), ``model.micro_batch_size`` (without them, as in
the BERT configs, ``model.train_ds.batch_size`` per GPU x
``trainer.accumulate_grad_batches``, Lightning's DDP),
``model.tensor_model_parallel_size`` / ``pipeline_model_parallel_size`` /
``context_parallel_size`` (data-parallel = devices / their product),
``trainer.devices`` x ``trainer.num_nodes`` (the world size), a sequence length from
``model.encoder_seq_length``, ``model.data.seq_length`` or
``model.data.train_ds.max_seq_length`` (fine-tuning: a maximum), and
``trainer.max_steps``. ``${model.x}`` references are followed; Hydra resolvers
(``${multiply:...}``) and the ``defaults:`` list are not, and a value needing them is
reported as unresolved.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._pick import Picker
from ._setup import Sourced, TrainingSetup

__all__ = ["read_nemo_dict", "nemo_evidence"]

VERSION = "NeMo 1.x configs (NVIDIA/NeMo 8cfedd7)"
_ADAM = {"fused_adam", "adam", "adamw", "distributed_fused_adam", "megatron_fused_adam", "mcore_distributed_optim"}
_NOT_ADAM = {"sgd", "adadelta", "adamax", "adagrad", "rmsprop", "rprop", "novograd", "adafactor", "adan", "lamb"}


def nemo_evidence(data: Any) -> list[str]:
    """``model.optim`` with NeMo's ``model.micro_batch_size``/``global_batch_size`` or
    ``trainer``/``exp_manager`` sections."""
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        return []
    model = data["model"]
    found = [f"model.{k}" for k in ("optim", "micro_batch_size", "global_batch_size", "tensor_model_parallel_size")
             if k in model]
    found += [k for k in ("trainer", "exp_manager") if isinstance(data.get(k), dict)]
    if "model.optim" not in found or len(found) < 3:
        return []
    return found


def read_nemo_dict(data: Any, name: str) -> TrainingSetup:
    """Read a NeMo 1.x training config mapping.

    Example:
        >>> s = read_nemo_dict({"trainer": {"devices": 8, "num_nodes": 2, "max_steps": 1000},
        ...     "model": {"micro_batch_size": 4, "global_batch_size": 256, "tensor_model_parallel_size": 2,
        ...               "encoder_seq_length": 4096, "optim": {"name": "fused_adam", "betas": [0.9, 0.95]}}}, "n.yaml")
        >>> s.get("global_batch"), s.get("world_size"), s.get("model_parallel"), s.get("beta2"), s.get("eps")
        (256, 16, 2, 0.95, 1e-08)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a NeMo config mapping")
    setup = TrainingSetup(format="nemo", files=[name])
    p = Picker(data, name, setup, VERSION)
    opt = p.text("model.optim.name") or "fused_adam"
    if opt.lower() in _NOT_ADAM:
        raise not_covered(f"model.optim.name {opt!r}", p.where("model.optim.name"))
    if opt not in _ADAM:
        raise ConfigError(f"{p.where('model.optim.name')} = {opt!r} is not a NeMo Adam optimizer ({', '.join(sorted(_ADAM))})")
    if p.has("model.optim.name"):
        setup.set("optimizer", opt, p.where("model.optim.name"))
    else:  # megatron_base_model reads cfg.optim.get('name', 'fused_adam')
        setup.optimizer = Sourced(opt, f"default of {VERSION} (model.optim.name: fused_adam)", weak=True)
    if opt == "mcore_distributed_optim" and not p.has("model.optim.betas"):
        raise ConfigError(f"{p.where('model.optim.betas')} is required by mcore_distributed_optim (NeMo reads betas[0], betas[1])")
    note = ": torch/apex Adam default, NeMo sets none"
    p.number("beta1", "model.optim.betas", index=0, default=0.9, note=note)
    p.number("beta2", "model.optim.betas", index=1, default=0.999, note=note)
    p.number("eps", "model.optim.eps", default=1e-8, note=note)
    p.number("lr", "model.optim.lr")
    p.number("weight_decay", "model.optim.weight_decay")
    p.number("global_batch", "model.global_batch_size", kind=int)
    p.number("micro_batch", "model.micro_batch_size", kind=int)
    if setup.global_batch is None and setup.micro_batch is None and p.has("model.train_ds.batch_size"):
        # Non-Megatron NeMo models (BERT, ASR...) train with Lightning's DDP: the loader's
        # batch is per GPU and trainer.accumulate_grad_batches accumulates it.
        p.number("micro_batch", "model.train_ds.batch_size", kind=int)
        p.number("grad_accum", "trainer.accumulate_grad_batches", kind=int, default=1,
                 note=": PyTorch Lightning's default")
    parallel, parts = 1, []
    for key in ("tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size"):
        value = p.get(f"model.{key}")
        if isinstance(value, int) and not isinstance(value, bool) and value > 1:
            parallel *= value
            parts.append(f"{key} {value}")
    if parts:
        setup.set("model_parallel", parallel, f"{name}: model." + " x ".join(parts))
    devices, nodes = p.get("trainer.devices", 1), p.get("trainer.num_nodes", 1)
    if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (devices, nodes)):
        setup.set("world_size", devices * nodes, f"{name}: trainer.devices {devices} x trainer.num_nodes {nodes}")
    else:
        setup.world_size_required = (
            f"{name}: trainer.devices = {devices!r}, trainer.num_nodes = {nodes!r} leave the GPU count to the machine: "
            "pass --world-size"
        )
    for path in ("model.encoder_seq_length", "model.data.seq_length", "model.seq_length",
                 "model.data.train_ds.max_seq_length", "model.max_seq_length", "model.train_ds.max_seq_length"):
        if p.has(path):
            p.number("seq_len", path, kind=int)
            if path.endswith("max_seq_length"):
                setup.notes.append(f"{p.where(path)} is a maximum: tokens per step are fewer unless sequences are packed")
            break
    steps = p.get("trainer.max_steps")
    if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0:
        p.number("max_steps", "trainer.max_steps", kind=int)
    if p.get("model.rampup_batch_size") not in (None,) and p.has("model.rampup_batch_size"):
        setup.notes.append(
            f"{p.where('model.rampup_batch_size')} = {p.get('model.rampup_batch_size')}: the global batch grows to "
            "model.global_batch_size; the checks use the final batch"
        )
    defaults = data.get("defaults")
    if isinstance(defaults, list) and any(d != "_self_" for d in defaults):
        setup.notes.append(f"{name}: the Hydra defaults list is not followed (it can add or override keys)")
    return setup
