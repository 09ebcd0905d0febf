"""Reader for litgpt YAML configs (``config_hub/pretrain/*.yaml``, ``config_hub/finetune/*/full.yaml``).

Keys read (litgpt 0.5.13, ``litgpt/args.py`` TrainArgs): ``train.global_batch_size``
(64; sequences per optimizer step over all data-parallel ranks),
``train.micro_batch_size`` (4; per rank), ``train.max_seq_length``,
``train.max_steps``, ``train.epochs``, ``train.max_tokens``; ``devices``
(``auto`` = every visible GPU; pretrain defaults to ``auto``, finetune scripts to 1)
and ``num_nodes`` (1); ``optimizer`` as a name (``AdamW`` -> ``torch.optim.AdamW``) or
``{class_path, init_args: {lr, betas, eps, weight_decay}}``. litgpt accumulates
``global_batch_size // (devices x num_nodes) // micro_batch_size`` micro-batches.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._pick import Picker
from ._setup import Sourced, TrainingSetup
from ._torchclass import adam_class_defaults

__all__ = ["read_litgpt_dict", "litgpt_evidence"]

VERSION = "litgpt 0.5.13 TrainArgs"
_TRAIN = ("global_batch_size", "micro_batch_size", "lr_warmup_steps", "max_tokens", "max_seq_length", "save_interval",
          "beta1", "beta2")


def litgpt_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    found = []
    train = data.get("train")
    if isinstance(train, dict):
        found += [f"train.{k}" for k in _TRAIN if k in train]
    opt = data.get("optimizer")
    if isinstance(opt, dict) and "class_path" in opt:
        found.append("optimizer.class_path")
    if found and any(k in data for k in ("devices", "num_nodes", "out_dir", "precision", "checkpoint_dir", "model_name")):
        return found
    return found if len(found) >= 2 else []


def read_litgpt_dict(data: Any, name: str) -> TrainingSetup:
    """Read a litgpt config mapping.

    Example:
        >>> s = read_litgpt_dict({"devices": 8, "train": {"global_batch_size": 512, "micro_batch_size": 4},
        ...     "optimizer": {"class_path": "torch.optim.AdamW", "init_args": {"betas": [0.9, 0.95]}}}, "p.yaml")
        >>> s.get("global_batch"), s.get("micro_batch"), s.get("world_size"), s.get("beta2")
        (512, 4, 8, 0.95)
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a litgpt config mapping")
    setup = TrainingSetup(format="litgpt", files=[name])
    p = Picker(data, name, setup, VERSION)
    train = data.get("train") if isinstance(data.get("train"), dict) else {}
    old = [k for k in _OLD_OPTIMIZER_KEYS if k in train]
    if old:
        return _read_old_optimizer(data, name, setup, old)
    opt = data.get("optimizer", "AdamW")
    if isinstance(opt, str):
        path, args, where = (opt if "." in opt else f"torch.optim.{opt}"), {}, "optimizer"
    elif isinstance(opt, dict) and "class_path" in opt:
        path, args, where = opt["class_path"], opt.get("init_args") or {}, "optimizer.class_path"
    else:
        raise ConfigError(f"{p.where('optimizer')} must be a name such as AdamW or a class_path/init_args mapping")
    library, defaults = adam_class_defaults(path, p.where(where))
    if "optimizer" in data:
        setup.set("optimizer", path, p.where(where))
    else:
        setup.optimizer = Sourced(path, f"default of {VERSION} (optimizer: AdamW)", weak=True)
    lib = Picker({"optimizer": {"init_args": args}}, name, setup, f"{path} in {library}")
    lib.number("beta1", "optimizer.init_args.betas", index=0, default=defaults["beta1"])
    lib.number("beta2", "optimizer.init_args.betas", index=1, default=defaults["beta2"])
    lib.number("eps", "optimizer.init_args.eps", default=defaults["eps"])
    lib.number("weight_decay", "optimizer.init_args.weight_decay", default=defaults["weight_decay"])
    lib.number("lr", "optimizer.init_args.lr")
    return _read_batch(data, name, setup, p)


#: TrainArgs fields of litgpt before its ``optimizer`` argument (config_hub files at commit
#: e7a23cf3 still carry them): AdamW's settings lived in ``train``.
_OLD_OPTIMIZER_KEYS = ("beta1", "beta2", "learning_rate", "weight_decay")
#: Their defaults, as litgpt's generated config comments state them at e7a23cf3
#: ("beta1 (type: float, default: 0.9)", "beta2 ... default: 0.95").
_OLD_VERSION = "litgpt TrainArgs before the optimizer argument (config_hub at e7a23cf3)"
_OLD_DEFAULTS = {"beta1": 0.9, "beta2": 0.95}


def _read_old_optimizer(data: dict, name: str, setup: TrainingSetup, old: list[str]) -> TrainingSetup:
    """Older litgpt configs: AdamW with betas in ``train.beta1``/``train.beta2``, no eps key."""
    p = Picker(data, name, setup, VERSION)
    if "optimizer" in data:
        raise ConfigError(
            f"{name} sets both optimizer and train.{old[0]}: litgpt read the optimizer's settings from one "
            "of them depending on its version; keep the one your litgpt version reads"
        )
    setup.optimizer = Sourced("torch.optim.AdamW", f"{_OLD_VERSION}: AdamW with train.beta1/beta2", weak=True)
    old_p = Picker(data, name, setup, _OLD_VERSION)
    old_p.number("beta1", "train.beta1", default=_OLD_DEFAULTS["beta1"])
    old_p.number("beta2", "train.beta2", default=_OLD_DEFAULTS["beta2"])
    old_p.number("weight_decay", "train.weight_decay")
    old_p.number("lr", "train.learning_rate")
    _, defaults = adam_class_defaults("torch.optim.AdamW", p.where("train"))
    setup.eps = Sourced(defaults["eps"], f"default of torch.optim.AdamW (the file sets no eps; {_OLD_VERSION})",
                        weak=True)
    return _read_batch(data, name, setup, p)


def _read_batch(data: dict, name: str, setup: TrainingSetup, p: Picker) -> TrainingSetup:
    p.number("global_batch", "train.global_batch_size", kind=int, default=64)
    p.number("micro_batch", "train.micro_batch_size", kind=int, default=4)
    p.number("seq_len", "train.max_seq_length", kind=int)
    p.number("max_steps", "train.max_steps", kind=int)
    p.number("num_epochs", "train.epochs")
    devices = data.get("devices")
    nodes = data.get("num_nodes", 1)
    if isinstance(devices, int) and not isinstance(devices, bool) and isinstance(nodes, int):
        setup.set("world_size", devices * nodes, f"{p.where('devices')} {devices} x num_nodes {nodes}")
    else:
        shown = "not set" if devices is None else f"{devices!r}"
        setup.world_size_required = (
            f"{p.where('devices')} is {shown} (auto = every visible GPU; the scripts' defaults differ): "
            "pass --world-size with the GPU count"
        )
    if setup.seq_len is not None:
        setup.notes.append(f"{name}: train.max_seq_length is a maximum; tokens per step are fewer unless every sample fills it")
    if p.has("train.max_tokens"):
        setup.notes.append(f"{p.where('train.max_tokens')} = {p.get('train.max_tokens')} bounds the run in tokens")
    return setup
