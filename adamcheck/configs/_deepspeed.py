"""Reader for DeepSpeed JSON configs (``ds_config.json``).

Keys read: ``train_batch_size`` (global sequences per step),
``train_micro_batch_size_per_gpu``, ``gradient_accumulation_steps``, and
``optimizer: {type, params: {lr, betas, eps, weight_decay}}``. DeepSpeed requires
``train_batch_size = micro x accumulation x world size``; given two of them and the
world size the third follows (see :mod:`._batch`).

``"auto"`` values only mean something when the Hugging Face Trainer fills them from
its TrainingArguments: give that file beside this one and they are resolved
(:func:`._setup.merge_setups`); otherwise they are reported as unresolved. Without
an ``optimizer`` section the training script builds the optimizer, so the betas come
from its TrainingArguments or are unresolved.

Unknown keys, following DeepSpeed: inside ``optimizer.params`` they are refused
(DeepSpeed passes the params to the optimizer's constructor, which raises
``TypeError`` on an unexpected keyword); unknown top-level keys give a warning
(DeepSpeed reads the keys it knows and ignores the rest, so a misspelt key silently
does nothing).
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import DEEPSPEED_ADAM, adam_name_or_raise
from ._readutil import as_int, as_number, near_miss
from ._setup import Sourced, TrainingSetup

__all__ = ["read_deepspeed_dict", "deepspeed_evidence"]

#: Top-level keys of DeepSpeed's config documentation (not exhaustive: unknown keys
#: only warn).
KNOWN_TOP_LEVEL = frozenset(
    {
        "train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
        "optimizer", "scheduler", "fp16", "bf16", "amp", "zero_optimization", "gradient_clipping",
        "steps_per_print", "wall_clock_breakdown", "zero_allow_untested_optimizer",
        "zero_force_ds_cpu_optimizer", "activation_checkpointing", "flops_profiler", "tensorboard",
        "wandb", "csv_monitor", "comet", "comms_logger", "aio", "communication_data_type",
        "prescale_gradients", "gradient_predivide_factor", "sparse_gradients", "dump_state",
        "data_types", "checkpoint", "elasticity", "curriculum_learning", "data_efficiency",
        "compression_training", "autotuning", "pipeline", "progressive_layer_drop",
        "memory_breakdown", "disable_allgather", "eigenvalue", "quantize_training",
        "seq_parallel_communication_data_type", "nebula", "weight_quantization", "hybrid_engine",
        "torch_autocast", "sparse_attention", "timers", "monitor_config", "graph_harvesting",
        "use_data_before_expert_parallelism", "zero_optimization_stage", "fp8",
        "gradient_accumulation_dtype", "load_universal_checkpoint", "use_node_local_storage",
        "compile", "tensor_parallel", "zenflow",
    }
)

#: Keyword arguments of the Adam constructors DeepSpeed builds (FusedAdam,
#: DeepSpeedCPUAdam, torch.optim.Adam/AdamW) plus the two keys DeepSpeed pops itself.
ADAM_PARAMS = frozenset(
    {
        "lr", "betas", "eps", "weight_decay", "bias_correction", "amsgrad", "adam_w_mode",
        "adamw_mode", "torch_adam", "fp32_optimizer_states", "set_grad_none", "foreach",
        "maximize", "capturable", "differentiable", "fused",
    }
)

_WATCHED_TOP = ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "optimizer")


def deepspeed_evidence(data: Any) -> list[str]:
    """DeepSpeed's own top-level keys, or an ``optimizer: {type, ...}`` section."""
    if not isinstance(data, dict):
        return []
    found = [k for k in ("train_micro_batch_size_per_gpu", "train_batch_size", "zero_optimization") if k in data]
    opt = data.get("optimizer")
    if isinstance(opt, dict) and "type" in opt:
        found.append("optimizer.type")
    return found


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


def read_deepspeed_dict(data: Any, name: str) -> TrainingSetup:
    """Read a DeepSpeed config mapping into a :class:`TrainingSetup`.

    Example:
        >>> s = read_deepspeed_dict({"train_micro_batch_size_per_gpu": "auto",
        ...     "optimizer": {"type": "AdamW", "params": {"betas": [0.9, 0.95]}}}, "ds.json")
        >>> s.get("beta2"), s.get("micro_batch")
        (0.95, None)
        >>> s.unresolved["micro_batch"]
        '"auto" in ds.json (train_micro_batch_size_per_gpu)'
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a DeepSpeed config object")
    setup = TrainingSetup(format="deepspeed", files=[name])
    _top_level(data, setup, name)
    opt = data.get("optimizer")
    if opt is None:
        why = (
            f"{name} has no optimizer section (the training script builds the optimizer): "
            "give its TrainingArguments file too"
        )
        for field in ("optimizer", "beta1", "beta2", "eps"):
            setup.unresolved[field] = why
        return setup
    kind, params = _optimizer_section(opt, setup, name)
    _betas(params, setup, name, kind)
    _params(params, setup, name, kind)
    return setup


def _top_level(data: dict[str, Any], setup: TrainingSetup, name: str) -> None:
    """Warn of unknown top-level keys; read the batch sizes ("auto" leaves them unresolved)."""
    unknown = []
    for key in data:
        if key in KNOWN_TOP_LEVEL:
            continue
        guess = near_miss(key, _WATCHED_TOP, KNOWN_TOP_LEVEL)
        unknown.append(f"{key} (did you mean {guess}?)" if guess else key)
    if unknown:
        setup.warnings.append(
            f"{name}: DeepSpeed ignores unknown top-level keys: {', '.join(unknown)}"
        )

    def read_int(key: str, field: str) -> None:
        if key not in data:
            return
        value = data[key]
        if _is_auto(value):
            setup.unresolved[field] = f'"auto" in {name} ({key})'
            if key == "train_batch_size":
                setup.unresolved[field] += "; the Trainer sets it to micro x accumulation x world size"
            return
        setup.set(field, as_int(value, f"{name}: {key}"), f"{name}: {key}")

    read_int("train_batch_size", "global_batch")
    read_int("train_micro_batch_size_per_gpu", "micro_batch")
    read_int("gradient_accumulation_steps", "grad_accum")


def _optimizer_section(opt: Any, setup: TrainingSetup, name: str) -> tuple[Any, dict[str, Any]]:
    """The optimizer's type (an Adam, or refused) and its params, whose keys the constructor must know."""
    if not isinstance(opt, dict):
        raise ConfigError(f"{name}: optimizer must be an object with type and params")
    extra = set(opt) - {"type", "params"}
    if extra:
        setup.warnings.append(f"{name}: DeepSpeed ignores optimizer keys {', '.join(sorted(extra))}")
    kind = opt.get("type")
    if kind is None:
        raise ConfigError(f"{name}: optimizer has no type: write e.g. \"type\": \"AdamW\"")
    adam_name_or_raise(kind, DEEPSPEED_ADAM, f"{name}: optimizer.type", fold_case=True)
    setup.set("optimizer", kind, f"{name}: optimizer.type")

    params = opt.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{name}: optimizer.params must be an object")
    bad = sorted(set(params) - ADAM_PARAMS)
    if bad:
        guess = near_miss(bad[0], ("betas", "eps", "lr", "weight_decay"), ADAM_PARAMS)
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise ConfigError(
            f"{name}: optimizer.params has unknown key {bad[0]!r}{hint}; DeepSpeed passes params "
            f"to the {kind} constructor, which would raise TypeError: remove or fix it"
        )
    return kind, params


def _betas(params: dict[str, Any], setup: TrainingSetup, name: str, kind: Any) -> None:
    """beta1 and beta2 from params.betas (the optimizer's defaults when absent)."""
    betas = params.get("betas")
    where = f"{name}: optimizer.params.betas"
    if betas is None:
        # FusedAdam, DeepSpeedCPUAdam and torch.optim.Adam all default to (0.9, 0.999).
        default = f"default of DeepSpeed's {kind} (no betas in {name})"
        setup.beta1 = Sourced(0.9, default, weak=True)
        setup.beta2 = Sourced(0.999, default, weak=True)
    elif _is_auto(betas):
        setup.unresolved["beta1"] = setup.unresolved["beta2"] = f'"auto" in {where}'
    else:
        if not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise ConfigError(f"{where} = {betas!r} must be a list of two numbers, e.g. [0.9, 0.999]")
        for i, field in enumerate(("beta1", "beta2")):
            if _is_auto(betas[i]):
                setup.unresolved[field] = f'"auto" in {where}[{i}]'
            else:
                setup.set(field, float(as_number(betas[i], f"{where}[{i}]")), f"{where}[{i}]")


def _params(params: dict[str, Any], setup: TrainingSetup, name: str, kind: Any) -> None:
    """eps (with the optimizer's default), weight decay, lr, and the flags that change the algorithm."""
    for key, field, default in (("eps", "eps", 1e-8), ("weight_decay", "weight_decay", None), ("lr", "lr", None)):
        value = params.get(key)
        if value is None:
            if default is not None:
                setup.eps = Sourced(default, f"default of DeepSpeed's {kind} (no eps in {name})", weak=True)
            continue
        if _is_auto(value):
            setup.unresolved[field] = f'"auto" in {name}: optimizer.params.{key}'
            continue
        setup.set(field, float(as_number(value, f"{name}: optimizer.params.{key}")), f"{name}: optimizer.params.{key}")
    if params.get("bias_correction") is False:
        setup.notes.append(f"{name}: bias_correction = false (Adam without bias correction, as in Zhang et al.'s analysis)")
    if params.get("amsgrad") is True:
        setup.warnings.append(f"{name}: amsgrad = true runs AMSGrad, whose convergence story differs from Adam's")
