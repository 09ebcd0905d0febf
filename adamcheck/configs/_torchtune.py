"""Reader for torchtune recipe configs (``recipes/configs/llama3_1/8B_full.yaml``).

Keys read (torchtune 0.7, 2026): ``optimizer._component_`` (a class path such as
``torch.optim.AdamW``, never imported) with ``lr``, ``betas``, ``eps``,
``weight_decay`` (missing ones: the class's defaults, :mod:`._torchclass`);
``batch_size`` (per device), ``gradient_accumulation_steps`` (the recipes require
it; the full-finetune recipe's docstring: total batch = batch_size x GPUs x
accumulation), ``epochs``, ``max_steps_per_epoch``, ``tokenizer.max_seq_len`` and
``dataset.packed``. A torchtune file is recognised by its ``_component_`` entries.
The GPU count comes from ``tune run --nproc_per_node``: pass ``--world-size``.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._pick import Picker
from ._setup import TrainingSetup
from ._torchclass import adam_class_defaults

__all__ = ["read_torchtune_dict", "torchtune_evidence"]

VERSION = "torchtune 0.7"


def torchtune_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    return [k for k, v in data.items() if isinstance(v, dict) and "_component_" in v]


def read_torchtune_dict(data: Any, name: str) -> TrainingSetup:
    """Read a torchtune config mapping.

    Example:
        >>> s = read_torchtune_dict({"batch_size": 2, "gradient_accumulation_steps": 8,
        ...     "optimizer": {"_component_": "torch.optim.AdamW", "lr": 2e-5, "fused": True}}, "8B_full.yaml")
        >>> s.get("micro_batch"), s.get("grad_accum"), s.get("beta2"), s.beta2.source
        (2, 8, 0.999, 'default of torch.optim.AdamW in torch 2.x (optimizer.betas[1] = 0.999)')
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a torchtune config mapping")
    setup = TrainingSetup(format="torchtune", files=[name])
    p = Picker(data, name, setup, VERSION)
    opt = data.get("optimizer")
    if not isinstance(opt, dict) or "_component_" not in opt:
        raise ConfigError(
            f"{name} has no optimizer._component_: a torchtune generation, evaluation or quantization config is "
            "not a training run (training recipes name one, e.g. torch.optim.AdamW)"
        )
    component = opt["_component_"]
    library, defaults = adam_class_defaults(component, p.where("optimizer._component_"))
    setup.set("optimizer", component, p.where("optimizer._component_"))
    lib = Picker(data, name, setup, f"{component} in {library}")
    lib.number("beta1", "optimizer.betas", index=0, default=defaults["beta1"])
    lib.number("beta2", "optimizer.betas", index=1, default=defaults["beta2"])
    lib.number("eps", "optimizer.eps", default=defaults["eps"])
    lib.number("weight_decay", "optimizer.weight_decay", default=defaults["weight_decay"])
    p.number("lr", "optimizer.lr")
    p.number("micro_batch", "batch_size", kind=int)
    p.number("grad_accum", "gradient_accumulation_steps", kind=int)
    epochs = p.number("num_epochs", "epochs")
    per_epoch = p.get("max_steps_per_epoch")
    if isinstance(per_epoch, int) and not isinstance(per_epoch, bool) and epochs:
        setup.set("max_steps", int(epochs * per_epoch), f"{p.where('epochs')} x max_steps_per_epoch {per_epoch}")
    p.number("seq_len", "tokenizer.max_seq_len", kind=int)
    packed = p.get("dataset.packed")
    if setup.seq_len is not None:
        setup.notes.append(
            f"{name}: tokenizer.max_seq_len is a maximum; "
            + ("dataset.packed = true fills it" if packed is True else "without dataset.packed tokens per step are fewer")
        )
    if data.get("optimizer_in_bwd") is True:
        setup.notes.append(f"{name}: optimizer_in_bwd = true steps the optimizer per parameter during backward (same Adam update)")
    return setup
