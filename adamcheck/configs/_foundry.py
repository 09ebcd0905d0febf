"""Reader for MosaicML llm-foundry / Composer training YAML
(``scripts/train/yamls/pretrain/mpt-125m.yaml``, ``.../finetune/mpt-7b_dolly_sft.yaml``).

Keys read, with llm-foundry's rules (mosaicml/llm-foundry commit 8c8dd48, v0.7.0+542:
``TrainConfig`` and ``calculate_batch_size_info`` in ``llmfoundry/utils/config_utils.py``)
and Composer's ``DecoupledAdamW`` defaults (mosaicml/composer commit 6405188,
``composer/optim/decoupled_weight_decay.py``): ``optimizer.name`` (required;
``decoupled_adamw`` is the registered Adam; the Lion variants are not covered),
``optimizer.betas`` ((0.9, 0.95)), ``optimizer.eps`` (1e-8), ``optimizer.lr`` (1e-3),
``optimizer.weight_decay`` (1e-5, decoupled: not scaled by the learning rate),
``global_train_batch_size`` (required: sequences per optimizer step, whatever the GPU
count; llm-foundry requires it divisible by the GPU count), ``device_train_microbatch_size``
(per GPU per pass, or ``auto``: it only sets the accumulation, never the batch), ``max_seq_len`` (required), ``max_duration`` (Composer time: ``ba``
batches = optimizer steps, ``tok`` tokens, ``sp`` samples, ``ep`` epochs; a bare
integer is epochs). ``${variables.x}`` references are followed.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._pick import MISSING, Picker
from ._readutil import as_number
from ._setup import TrainingSetup

__all__ = ["read_foundry_dict", "foundry_evidence", "looks_like_foundry"]

VERSION = "llm-foundry 0.7 (8c8dd48) / Composer DecoupledAdamW (6405188)"
_ADAM = {"decoupled_adamw"}
_LION = {"decoupled_lionw", "clip_lion", "adalr_lion"}
#: Keys of llm-foundry's TrainConfig that OLMo's trainer does not use.
_FOUNDRY = ("max_seq_len", "icl_tasks", "variables", "eval_first", "autoresume", "eval_gauntlet", "train_loader",
            "eval_subset_num_batches", "icl_subset_num_batches")
_TIME = re.compile(r"^\s*([0-9][0-9_.eE+]*)\s*(ba|tok|sp|ep|iter|dur|sec)\s*$", re.IGNORECASE)


def looks_like_foundry(data: Any) -> bool:
    """An llm-foundry/Composer config: ``decoupled_*`` optimizers or foundry's own keys."""
    if not isinstance(data, dict):
        return False
    opt = data.get("optimizer")
    name = str(opt.get("name", "")) if isinstance(opt, dict) else ""
    return name.startswith("decoupled_") or name in _LION or any(k in data for k in _FOUNDRY)


def foundry_evidence(data: Any) -> list[str]:
    if not looks_like_foundry(data):
        return []
    keys = [k for k in _FOUNDRY if k in data]
    opt = data.get("optimizer")
    if isinstance(opt, dict) and str(opt.get("name", "")).startswith("decoupled_"):
        keys.insert(0, f"optimizer.name {opt['name']}")
    batch = [k for k in ("global_train_batch_size", "device_train_microbatch_size", "max_duration") if k in data]
    return keys + batch if (batch or "optimizer" in data) else []


def read_foundry_dict(data: Any, name: str) -> TrainingSetup:
    """Read an llm-foundry training config mapping.

    Example:
        >>> s = read_foundry_dict({"variables": {"max_seq_len": 2048}, "max_seq_len": "${variables.max_seq_len}",
        ...     "optimizer": {"name": "decoupled_adamw", "lr": 6e-4, "betas": [0.9, 0.95]},
        ...     "global_train_batch_size": 256, "device_train_microbatch_size": 16, "max_duration": "4800ba"}, "f.yaml")
        >>> s.get("global_batch"), s.get("beta2"), s.get("eps"), s.get("seq_len"), s.get("max_steps")
        (256, 0.95, 1e-08, 2048, 4800)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not an llm-foundry config mapping")
    setup = TrainingSetup(format="foundry", files=[name])
    p = Picker(data, name, setup, VERSION)
    opt = p.text("optimizer.name")
    if opt is None:
        raise ConfigError(f"{p.where('optimizer.name')} is missing; llm-foundry requires it: name the optimizer")
    if opt in _LION:
        raise not_covered(f"optimizer.name {opt!r} (a Lion variant)", p.where("optimizer.name"))
    if opt not in _ADAM:
        raise ConfigError(
            f"{p.where('optimizer.name')} = {opt!r} is not an optimizer llm-foundry registers with Adam's update "
            "(decoupled_adamw): adamcheck checks Adam only"
        )
    setup.set("optimizer", opt, p.where("optimizer.name"))
    p.number("beta1", "optimizer.betas", index=0, default=0.9)
    p.number("beta2", "optimizer.betas", index=1, default=0.95)
    p.number("eps", "optimizer.eps", default=1e-8)
    p.number("lr", "optimizer.lr", default=1e-3)
    p.number("weight_decay", "optimizer.weight_decay", default=1e-5)
    gbs = p.number("global_batch", "global_train_batch_size", kind=int)
    if gbs is None and "global_batch" not in setup.unresolved:
        setup.unresolved["global_batch"] = f"{name} has no global_train_batch_size, which llm-foundry requires"
    micro = p.get("device_train_microbatch_size", "auto")
    if micro == "auto":
        setup.notes.append(
            f"{name}: device_train_microbatch_size auto: Composer picks the micro-batch (and so the accumulation) "
            "at run time; the batch per step is global_train_batch_size either way"
        )
    elif micro is not MISSING:
        # Not held as the micro batch: llm-foundry lowers it to global / GPUs when larger
        # and rounds the accumulation up, so it never changes the batch per step.
        setup.notes.append(
            f"{p.where('device_train_microbatch_size')} = {micro}: sequences per GPU per pass; it sets the "
            "accumulation (ceil(global / GPUs / micro)), not the batch per step"
        )
    seq = p.number("seq_len", "max_seq_len", kind=int)
    _duration(p, setup, gbs, seq)
    return setup


def _duration(p: Picker, setup: TrainingSetup, gbs: int | None, seq: int | None) -> None:
    raw = p.get("max_duration")
    if raw is MISSING:
        return
    where = p.where("max_duration")
    if isinstance(raw, bool):
        raise ConfigError(f"{where} = {raw!r} is not a Composer time: write e.g. 4800ba")
    if isinstance(raw, (int, float)):  # Composer reads a bare number as epochs
        setup.set("num_epochs", float(raw), f"{where} (a bare number is epochs in Composer)")
        return
    match = _TIME.match(str(raw))
    if not match:
        raise ConfigError(f"{where} = {raw!r} is not a Composer time (4800ba, 2.5e9tok, 2ep...): fix the file")
    amount, unit = float(as_number(match.group(1).replace("_", ""), where, strings=True)), match.group(2).lower()
    if not 0 < amount < 2**63:
        raise ConfigError(f"{where} = {raw!r} is out of range: write a positive duration such as 4800ba")
    if unit in ("ba", "iter"):
        setup.set("max_steps", int(amount), where)
    elif unit == "ep":
        setup.set("num_epochs", amount, where)
    elif unit == "tok" and gbs and seq:
        setup.set("max_steps", math.ceil(amount / (gbs * seq)), f"{where} / ({gbs} x {seq} tokens per step)")
    elif unit == "sp" and gbs:
        setup.set("max_steps", math.ceil(amount / gbs), f"{where} / {gbs} samples per step")
