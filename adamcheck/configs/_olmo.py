"""Reader for OLMo training YAML (``configs/official-1124/OLMo2-7B-stage1.yaml``).

Keys read, defaults from OLMo 0.6 ``olmo/config.py`` (TrainConfig, OptimizerConfig):
``optimizer.name`` (default ``lionw``: a file without it trains with LionW, which is
not covered), ``optimizer.betas`` ((0.9, 0.95)), ``optimizer.eps`` (1e-5),
``optimizer.learning_rate`` (1e-4), ``optimizer.weight_decay`` (0.01),
``global_train_batch_size`` (512; sequences per optimizer step),
``device_train_microbatch_size`` (16; per GPU per forward pass; OLMo accumulates
global / world / micro), ``model.max_sequence_length`` (1024; OLMo packs documents
into full-length instances, so every sequence has this many tokens) and
``max_duration`` (10000: steps; ``"2e12T"``: tokens; ``"1ep"``: epochs).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._foundry import looks_like_foundry
from ._pick import Picker
from ._setup import TrainingSetup

__all__ = ["read_olmo_dict", "olmo_evidence"]

VERSION = "OLMo 0.6 TrainConfig"
_KEYS = ("global_train_batch_size", "device_train_microbatch_size", "device_train_batch_size", "max_duration",
         "device_eval_batch_size", "save_interval_unsharded", "sharded_checkpointer")


def olmo_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict) or looks_like_foundry(data):
        return []
    return [k for k in _KEYS if k in data]


def read_olmo_dict(data: Any, name: str) -> TrainingSetup:
    """Read an OLMo config mapping.

    Example:
        >>> s = read_olmo_dict({"optimizer": {"name": "adamw", "betas": [0.9, 0.95]},
        ...     "global_train_batch_size": 1024, "device_train_microbatch_size": 2,
        ...     "model": {"max_sequence_length": 4096}, "max_duration": "5e12T"}, "olmo.yaml")
        >>> s.get("global_batch"), s.get("beta2"), s.get("eps"), s.get("max_steps")
        (1024, 0.95, 1e-05, 1192093)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not an OLMo config mapping")
    setup = TrainingSetup(format="olmo", files=[name])
    p = Picker(data, name, setup, VERSION)
    opt_name = p.text("optimizer.name")
    if opt_name is None:
        raise not_covered("LionW (optimizer.name is not set and OLMo's default is lionw)", p.where("optimizer.name"))
    if opt_name.lower() != "adamw":
        raise not_covered(f"optimizer.name {opt_name!r}", p.where("optimizer.name"))
    setup.set("optimizer", opt_name, p.where("optimizer.name"))
    p.number("beta1", "optimizer.betas", index=0, default=0.9)
    p.number("beta2", "optimizer.betas", index=1, default=0.95)
    p.number("eps", "optimizer.eps", default=1e-5)
    p.number("lr", "optimizer.learning_rate", default=1e-4)
    p.number("weight_decay", "optimizer.weight_decay", default=0.01)
    gbs = p.number("global_batch", "global_train_batch_size", kind=int, default=512)
    p.number("micro_batch", "device_train_microbatch_size", kind=int, default=16)
    seq = p.number("seq_len", "model.max_sequence_length", kind=int, default=1024)
    duration = p.get("max_duration", 10000)
    where = p.where("max_duration") if p.has("max_duration") else f"default of {VERSION} (max_duration = 10000)"
    if isinstance(duration, int) and not isinstance(duration, bool):
        setup.set("max_steps", duration, where)
    elif isinstance(duration, str):
        text = duration.strip()
        match = re.fullmatch(r"([0-9.eE+]+)\s*(T|tok|ep)?", text)
        if not match:
            raise ConfigError(f"{where} = {duration!r} is not steps, tokens (2e12T) or epochs (1ep): fix the file")
        amount, unit = float(match.group(1)), match.group(2)
        if unit is None:
            setup.set("max_steps", int(amount), where)
        elif unit == "ep":
            setup.set("num_epochs", amount, where)
        elif gbs and seq:
            steps = math.ceil(amount / (gbs * seq))
            setup.set("max_steps", steps, f"{where} tokens / ({gbs} x {seq} tokens per step)")
    return setup
