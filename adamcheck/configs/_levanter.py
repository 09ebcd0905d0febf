"""Reader for levanter YAML configs (``config/gpt2_small.yaml``, ``config/llama2_7b.yaml``).

``!include PATH`` (``data: !include data/openwebtext_source.yaml``) is resolved
relative to the including file, as levanter's draccus does, by a safe YAML loader
(:func:`._readutil.parse_yaml`); no other tag is accepted.

Keys read, defaults from levanter 1.2 (``src/levanter/trainer.py`` TrainerConfig,
``src/levanter/optim/config.py`` AdamConfig): ``optimizer.type`` (default ``adam``;
others such as lion, sophia, kron, muon, soap, mars are not covered),
``optimizer.beta1`` (0.9), ``optimizer.beta2`` (0.95), ``optimizer.epsilon`` (1e-8),
``optimizer.learning_rate`` (6e-4), ``optimizer.weight_decay`` (0.1);
``trainer.train_batch_size`` (512; global sequences per step; a schedule list uses
its last value, as the run ends with it), ``trainer.per_device_parallelism`` (-1:
train_batch_size / devices, no accumulation), ``trainer.num_train_steps`` (400,000);
``model.seq_len`` (the model type's default: gpt2 1024, llama 2048; without
``model.type`` train_lm builds a LlamaConfig).
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._pick import Picker
from ._setup import Sourced, TrainingSetup

__all__ = ["read_levanter_dict", "levanter_evidence"]

VERSION = "levanter 1.2"
_TRAINER = ("train_batch_size", "per_device_parallelism", "num_train_steps", "mp", "model_axis_size",
            "tracker", "per_device_eval_parallelism", "steps_per_eval")
_SEQ_DEFAULTS = {"gpt2": 1024, "llama": 2048}


def levanter_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("trainer"), dict):
        return []
    return [f"trainer.{k}" for k in _TRAINER if k in data["trainer"]]


def read_levanter_dict(data: Any, name: str) -> TrainingSetup:
    """Read a levanter config mapping (includes already resolved).

    Example:
        >>> s = read_levanter_dict({"optimizer": {"type": "adam", "beta2": 0.95},
        ...     "trainer": {"train_batch_size": 1024}, "model": {"type": "llama", "seq_len": 4096}}, "l.yaml")
        >>> s.get("global_batch"), s.get("beta2"), s.get("seq_len"), s.get("max_steps")
        (1024, 0.95, 4096, 400000)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a levanter config mapping")
    setup = TrainingSetup(format="levanter", files=[name])
    p = Picker(data, name, setup, VERSION)
    kind = p.text("optimizer.type")
    if kind is not None and kind.lower() not in ("adam", "adamw"):
        raise not_covered(f"optimizer.type {kind!r}", p.where("optimizer.type"))
    if kind is None:
        setup.optimizer = Sourced("adam", f"default of {VERSION} (optimizer.type: adam, AdamConfig)", weak=True)
    else:
        setup.set("optimizer", kind, p.where("optimizer.type"))
    p.number("beta1", "optimizer.beta1", default=0.9)
    p.number("beta2", "optimizer.beta2", default=0.95)
    p.number("eps", "optimizer.epsilon", default=1e-8)
    p.number("lr", "optimizer.learning_rate", default=6e-4)
    p.number("weight_decay", "optimizer.weight_decay", default=0.1)
    batch = p.get("trainer.train_batch_size")
    if isinstance(batch, list):
        last = batch[-1] if batch and isinstance(batch[-1], dict) else None
        value = None if last is None else last.get("value")
        if not isinstance(value, int):
            raise ConfigError(f"{p.where('trainer.train_batch_size')} schedule must be a list of {{start, value}} entries")
        setup.set("global_batch", value, f"{p.where('trainer.train_batch_size')} (last entry of the schedule)")
        setup.notes.append(f"{p.where('trainer.train_batch_size')} is a schedule: the checks use its last batch, {value}")
    elif batch == -1:
        # levanter's own configs use -1 for "per_device_parallelism x devices, no accumulation".
        setup.set("grad_accum", 1, f"{p.where('trainer.train_batch_size')} = -1 (no accumulation)")
        setup.world_size_required = (
            f"{p.where('trainer.train_batch_size')} = -1 makes the batch per_device_parallelism x the device "
            "count: pass --world-size"
        )
    else:
        p.number("global_batch", "trainer.train_batch_size", kind=int, default=512)
    micro = p.get("trainer.per_device_parallelism")
    if isinstance(micro, int) and not isinstance(micro, bool) and micro > 0:
        setup.set("micro_batch", micro, p.where("trainer.per_device_parallelism"))
    elif batch == -1:
        raise ConfigError(
            f"{p.where('trainer.train_batch_size')} = -1 needs trainer.per_device_parallelism > 0: set one of them"
        )
    p.number("max_steps", "trainer.num_train_steps", kind=int, default=400_000)
    # levanter.main.train_lm defaults to LlamaConfig when the file names no model type.
    model_type = p.text("model.type") or "llama"
    p.number("seq_len", "model.seq_len", kind=int, default=_SEQ_DEFAULTS.get(model_type),
             note=f" for model.type {model_type}")
    if setup.seq_len is None:
        setup.unresolved["seq_len"] = f"{name} sets no model.seq_len and adamcheck does not know {model_type}'s default"
    return setup
