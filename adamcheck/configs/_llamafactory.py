"""Reader for LLaMA-Factory training YAML (``examples/train_full/*.yaml``, ``examples/v1/...``).

LLaMA-Factory 0.9.x ("v0") parses the YAML with ``HfArgumentParser`` into its model,
data, finetuning and (Seq2Seq)TrainingArguments dataclasses, so the Adam and batch
keys are TrainingArguments' (read by :mod:`._hf`, defaults of transformers'
TrainingArguments, which LLaMA-Factory keeps) plus its own:

* ``cutoff_len`` (2048): tokens per sequence at most; ``packing`` (default: on for
  ``stage: pt`` only) fills sequences up to it;
* ``use_galore``, ``use_apollo``, ``use_badam``, ``use_adam_mini``, ``use_muon``: the
  update is not plain Adam -> not covered;
* Megatron-Core training (``use_mca: true`` or ``tensor_model_parallel_size``,
  ``pipeline_model_parallel_size``, ``context_parallel_size``): ranks per replica =
  TP x PP x CP, the data-parallel size = world size / that (expert parallelism
  splits the experts inside the data-parallel group, it does not divide it).

The ``v1`` trainer (``llamafactory/v1``, 0.9.6.dev, 2026) has its own
TrainingArguments: ``micro_batch_size`` (1), ``global_batch_size`` (unset: data-parallel
size x micro batch), ``cutoff_len`` (2048), ``learning_rate`` (1e-4),
``num_train_epochs`` (3), ``max_steps``, ``dp_size`` (world / ``cp_size``),
``optim_config`` (unset: ``torch.optim.AdamW(params, lr=learning_rate)``, so torch's
betas (0.9, 0.999), eps 1e-8, weight decay 0.01; ``name: muon`` -> not covered).
v1 files are told apart by ``dist_config``, ``optim_config``, ``model_class``,
``train_dataset`` or ``micro_batch_size``.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._hf import read_hf_dict
from ._names import HF_TRAINING_ARGUMENTS_FIELDS, not_covered
from ._pick import Picker
from ._setup import Sourced, TrainingSetup

__all__ = ["read_llamafactory_dict", "llamafactory_evidence", "is_v1"]

VERSION = "LLaMA-Factory 0.9.6"
_V0 = ("stage", "finetuning_type", "cutoff_len", "template", "lora_target", "use_galore", "use_badam",
       "use_apollo", "use_mca", "use_muon", "use_adam_mini", "packing", "neat_packing", "pref_beta", "plot_loss",
       "infer_backend", "export_dir")
_V1 = ("dist_config", "optim_config", "model_class", "train_dataset", "kernel_config", "quant_config",
       "sample_backend", "batching_strategy", "lr_scheduler_config")
_NOT_ADAM = {
    "use_galore": "GaLore (Adam on low-rank gradient projections)",
    "use_apollo": "APOLLO (approximated, projected Adam)",
    "use_badam": "BAdam (block-coordinate Adam)",
    "use_adam_mini": "Adam-mini (one second moment per block)",
    "use_muon": "Muon (orthogonalised momentum; Adam only for some parameters)",
}
_MCORE = ("tensor_model_parallel_size", "pipeline_model_parallel_size", "context_parallel_size")


def is_v1(data: dict[str, Any]) -> bool:
    return any(k in data for k in _V1) or ("micro_batch_size" in data and "cutoff_len" in data)


def llamafactory_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    v0 = [k for k in _V0 if k in data]
    v1 = [k for k in _V1 if k in data]
    # "template"/"packing" alone are too generic; need a key only LLaMA-Factory uses.
    if v1 and ("model" in data or "micro_batch_size" in data or "cutoff_len" in data):
        return v1
    strong = [k for k in v0 if k not in ("template", "packing", "plot_loss")]
    return v0 if strong else []


def read_llamafactory_dict(data: Any, name: str) -> TrainingSetup:
    """Read a LLaMA-Factory YAML mapping (v0 or v1 keys).

    Example:
        >>> s = read_llamafactory_dict({"stage": "sft", "finetuning_type": "full", "cutoff_len": 4096,
        ...     "per_device_train_batch_size": 1, "gradient_accumulation_steps": 8}, "lf.yaml")
        >>> s.get("micro_batch"), s.get("grad_accum"), s.get("seq_len"), s.get("beta2")
        (1, 8, 4096, 0.999)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a LLaMA-Factory config mapping")
    if is_v1(data):
        return _read_v1(data, name)
    if "stage" not in data and ("infer_backend" in data or "export_dir" in data):
        raise ConfigError(
            f"{name} is a LLaMA-Factory {'inference' if 'infer_backend' in data else 'export'} config: not a "
            "training run, so there is no Adam setting to check"
        )
    for key, what in _NOT_ADAM.items():
        if data.get(key) is True:
            raise not_covered(what, f"{name}: {key}")
    hf_part = {k: v for k, v in data.items() if k in HF_TRAINING_ARGUMENTS_FIELDS}
    setup = read_hf_dict(hf_part, name, numeric_strings=True)
    setup.format = "llamafactory"
    setup.warnings = [w for w in setup.warnings if "not TrainingArguments fields" not in w]
    for field in ("beta1", "beta2", "eps", "weight_decay", "lr", "micro_batch", "grad_accum", "optimizer", "num_epochs"):
        item = getattr(setup, field)
        if item is not None and item.source.startswith("default of TrainingArguments"):
            setattr(setup, field, Sourced(item.value, item.source.replace(
                "default of TrainingArguments", f"default of {VERSION} (transformers TrainingArguments)"), weak=item.weak))
    p = Picker(data, name, setup, VERSION)
    p.number("seq_len", "cutoff_len", kind=int, default=2048)
    packing = data.get("packing")
    if packing is None:
        packing = data.get("stage") == "pt" or data.get("neat_packing") is True
    setup.notes.append(
        f"{name}: cutoff_len is a maximum; "
        + ("sequences are packed up to it, so tokens per step are close to the count shown"
           if packing else "without packing tokens per step are fewer")
    )
    _read_mcore(data, name, setup)
    ds = data.get("deepspeed")
    if isinstance(ds, (str, dict)):
        setup.deepspeed_reference = ds
    return setup


def _read_mcore(data: dict[str, Any], name: str, setup: TrainingSetup) -> None:
    sizes = [(k, data[k]) for k in _MCORE if isinstance(data.get(k), int) and not isinstance(data.get(k), bool)]
    if not sizes and data.get("use_mca") is not True:
        return
    ranks = 1
    for _, size in sizes:
        ranks *= size
    if sizes:
        setup.set("model_parallel", ranks, f"{name}: " + " x ".join(f"{k} {v}" for k, v in sizes))
    setup.notes.append(
        f"{name}: Megatron-Core training: data-parallel size = world size / (tensor x pipeline x context "
        "parallel); expert_model_parallel_size splits experts inside the data-parallel group and does not "
        "change the batch"
    )


def _read_v1(data: dict[str, Any], name: str) -> TrainingSetup:
    setup = TrainingSetup(format="llamafactory", files=[name])
    version = f"{VERSION} v1 trainer"
    p = Picker(data, name, setup, version)
    optim = data.get("optim_config")
    if isinstance(optim, dict) and optim.get("name") not in (None, "adamw", "AdamW"):
        raise not_covered(f"optim_config name {optim.get('name')!r}", f"{name}: optim_config")
    torch_note = ": no optim_config, so torch.optim.AdamW's default"
    setup.optimizer = Sourced("AdamW", f"default of {version} (no optim_config: torch.optim.AdamW)", weak=True)
    p.number("beta1", "optim_config.betas", index=0, default=0.9, note=torch_note)
    p.number("beta2", "optim_config.betas", index=1, default=0.999, note=torch_note)
    p.number("eps", "optim_config.eps", default=1e-8, note=torch_note)
    p.number("weight_decay", "optim_config.weight_decay", default=0.01, note=torch_note)
    p.number("lr", "learning_rate", default=1e-4)
    p.number("micro_batch", "micro_batch_size", kind=int, default=1)
    p.number("global_batch", "global_batch_size", kind=int)
    if setup.global_batch is None:
        setup.grad_accum = Sourced(1, f"default of {version} (global_batch_size unset: data-parallel size x micro batch)", weak=True)
    p.number("seq_len", "cutoff_len", kind=int, default=2048)
    p.number("max_steps", "max_steps", kind=int)
    p.number("num_epochs", "num_train_epochs", default=3.0)
    p.number("data_parallel", "dp_size", kind=int)
    cp = p.get("cp_size")
    if isinstance(cp, int) and cp > 1:
        setup.set("model_parallel", cp, p.where("cp_size"))
    return setup
