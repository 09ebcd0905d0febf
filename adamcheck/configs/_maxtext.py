"""Reader for MaxText YAML configs (``src/maxtext/configs/base.yml`` and the files that
build on it with ``base_config: base.yml``).

Keys read, with the defaults of MaxText's own ``base.yml`` at maxtext-v0.2.4-10
(AI-Hypercomputer/maxtext commit e591f30, 2026-08-22), which every MaxText config
inherits: ``opt_type`` (``adamw``; ``adam_pax`` is Adam too; ``sgd`` and ``muon`` are
not covered), ``adam_b1`` (0.9), ``adam_b2`` (0.95), ``adam_eps`` (1e-8),
``adam_weight_decay`` (0.1), ``learning_rate`` (3e-5), ``per_device_batch_size``
(12.0; may be fractional), ``gradient_accumulation_steps`` (1), ``max_target_length``
(2048; ``packing: true`` by default fills every sequence), ``steps`` (150,001; -1
means ``learning_rate_schedule_steps``).

The batch is ``int(devices x per_device_batch_size) x gradient_accumulation_steps``
(``calculate_global_batch_sizes`` in ``configs/types.py``), over *every* device, the
tensor- and FSDP-parallel ones included. The device count is rarely in the file:
``base.yml`` leaves ``ici_fsdp_parallelism`` and ``dcn_data_parallelism`` at -1 ("fill
the devices you run on"). Only when every ``ici_*``/``dcn_*_parallelism`` is a
positive number is the count their product; otherwise the batch is not guessed and
``--world-size`` is asked for.

``base_config`` is followed as MaxText follows it (relative to the including file,
``_load_config`` in ``configs/pyconfig.py``); when the named base is not beside the
file, the pinned ``base.yml`` defaults above are used and a note says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ._names import not_covered
from ._pick import Picker
from ._readutil import parse_yaml, read_text
from ._setup import Sourced, TrainingSetup

__all__ = ["read_maxtext_dict", "maxtext_evidence", "MAXTEXT_DEFAULTS"]

VERSION = "MaxText base.yml (maxtext-v0.2.4, e591f30)"
#: base.yml values of the keys adamcheck reads, at the pinned commit.
MAXTEXT_DEFAULTS: dict[str, Any] = {
    "opt_type": "adamw", "adam_b1": 0.9, "adam_b2": 0.95, "adam_eps": 1e-8, "adam_weight_decay": 0.1,
    "learning_rate": 3e-5, "per_device_batch_size": 12.0, "gradient_accumulation_steps": 1,
    "max_target_length": 2048, "steps": 150_001, "learning_rate_schedule_steps": -1,
    "ici_fsdp_parallelism": -1, "dcn_data_parallelism": -1,
}
_ADAM = {"adamw", "adam_pax"}
#: Keys only MaxText uses (Hugging Face spells them adam_beta2, per_device_train_batch_size).
_MARKERS = ("adam_b1", "adam_b2", "adam_eps", "adam_eps_root", "adam_weight_decay", "per_device_batch_size",
            "opt_type", "decoder_block", "base_emb_dim", "base_num_decoder_layers", "max_target_length")
_TRAINING = ("adam_b1", "adam_b2", "adam_eps", "opt_type", "per_device_batch_size", "steps", "learning_rate",
             "gradient_accumulation_steps", "max_target_length", "base_config")
MAX_BASE_DEPTH = 8


def maxtext_evidence(data: Any) -> list[str]:
    """MaxText keys (``adam_b2``, ``per_device_batch_size``, ``ici_*_parallelism``...)."""
    if not isinstance(data, dict):
        return []
    keys = [k for k in data if isinstance(k, str)]
    found = [k for k in keys if k in _MARKERS[:-1] or (k.startswith(("ici_", "dcn_")) and k.endswith("_parallelism"))]
    base = data.get("base_config")
    if isinstance(base, str) and base.endswith((".yml", ".yaml")) and (found or "model_name" in data):
        found.append("base_config")
    if "max_target_length" in keys and found:
        found.append("max_target_length")
    return found


def _with_bases(data: dict[str, Any], name: str, setup: TrainingSetup, depth: int = 0) -> dict[str, Any]:
    """``data`` merged over the files its ``base_config`` chain names (the file wins)."""
    base = data.get("base_config")
    if not isinstance(base, str) or not base:
        return data
    if depth >= MAX_BASE_DEPTH:
        raise ConfigError(f"{name}: base_config nests more than {MAX_BASE_DEPTH} deep: fix the chain")
    path = Path(base) if Path(base).is_absolute() else Path(name).parent / base
    if not path.is_file():
        if Path(base).name == "base.yml":
            setup.notes.append(
                f"{name}: base_config {base!r} is not beside the file: the values it leaves out are those of {VERSION}"
            )
        else:
            setup.warnings.append(
                f"{name}: base_config {base!r} was not found beside the file; values it would set are taken from "
                f"{VERSION} instead: pass the file's folder as MaxText has it"
            )
        return data
    parent = parse_yaml(read_text(path), str(path))
    if not isinstance(parent, dict):
        raise ConfigError(f"{path} (base_config of {name}) holds a {type(parent).__name__}, not a mapping")
    setup.notes.append(f"{name}: base_config {base!r} read from {path}")
    merged = dict(_with_bases(parent, str(path), setup, depth + 1))
    merged.update({k: v for k, v in data.items() if k != "base_config"})
    return merged


def _device_count(data: dict[str, Any], name: str) -> tuple[int | None, str]:
    """Product of every ici_*/dcn_* parallelism when none is -1 (auto), else None."""
    axes = {k: v for k, v in data.items() if isinstance(k, str) and k.startswith(("ici_", "dcn_"))
            and k.endswith("_parallelism")}
    for key in ("ici_fsdp_parallelism", "dcn_data_parallelism"):
        axes.setdefault(key, MAXTEXT_DEFAULTS[key])
    auto = sorted(k for k, v in axes.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1)
    if auto:
        return None, ", ".join(f"{k} = {axes[k]!r}" for k in auto[:3])
    product = math.prod(axes.values())
    parts = " x ".join(f"{k} {v}" for k, v in sorted(axes.items()) if v != 1) or "every axis 1"
    return product, f"{name}: product of the ici_*/dcn_* parallelism axes ({parts})"


def read_maxtext_dict(data: Any, name: str) -> TrainingSetup:
    """Read a MaxText config mapping (its ``base_config`` chain followed).

    Example:
        >>> s = read_maxtext_dict({"adam_b2": 0.98, "per_device_batch_size": 4, "max_target_length": 4096}, "m.yml")
        >>> s.get("beta2"), s.get("beta1"), s.get("micro_batch"), s.get("seq_len")
        (0.98, 0.9, 4, 4096)
        >>> s.world_size_required is not None   # devices: ici_fsdp_parallelism is -1 (auto)
        True
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{name} holds a {type(data).__name__}, not a MaxText config mapping")
    setup = TrainingSetup(format="maxtext", files=[name])
    own = data
    if not any(k in own for k in _TRAINING):
        raise ConfigError(
            f"{name}: a MaxText model definition (no optimizer, batch or step keys): check the config you train "
            "with (base.yml or a file with base_config: base.yml)"
        )
    data = _with_bases(data, name, setup)
    p = Picker(data, name, setup, VERSION)
    opt = p.text("opt_type") or MAXTEXT_DEFAULTS["opt_type"]
    if opt not in _ADAM:
        raise not_covered(f"opt_type {opt!r}", p.where("opt_type"))
    if p.has("opt_type"):
        setup.set("optimizer", opt, p.where("opt_type"))
    else:
        setup.optimizer = Sourced(opt, f"default of {VERSION} (opt_type: adamw)", weak=True)
    p.number("beta1", "adam_b1", default=MAXTEXT_DEFAULTS["adam_b1"])
    p.number("beta2", "adam_b2", default=MAXTEXT_DEFAULTS["adam_b2"])
    p.number("eps", "adam_eps", default=MAXTEXT_DEFAULTS["adam_eps"])
    p.number("weight_decay", "adam_weight_decay", default=MAXTEXT_DEFAULTS["adam_weight_decay"])
    p.number("lr", "learning_rate", default=MAXTEXT_DEFAULTS["learning_rate"])
    per_device = p.number("micro_batch", "per_device_batch_size", default=MAXTEXT_DEFAULTS["per_device_batch_size"])
    if per_device is not None and float(per_device).is_integer():
        item = setup.micro_batch
        setup.micro_batch = Sourced(int(per_device), item.source, item.weak)  # type: ignore[union-attr]
    elif per_device is not None:
        setup.notes.append(
            f"{p.where('per_device_batch_size')} = {per_device:g} is fractional: MaxText trains int(devices x "
            f"{per_device:g}) sequences per micro-step"
        )
    p.number("grad_accum", "gradient_accumulation_steps", kind=int, default=MAXTEXT_DEFAULTS["gradient_accumulation_steps"])
    p.number("seq_len", "max_target_length", kind=int, default=MAXTEXT_DEFAULTS["max_target_length"])
    if p.get("packing", True) is False:
        setup.notes.append(f"{p.where('packing')} = false: sequences are padded, so tokens per step are fewer")
    steps = p.get("steps", MAXTEXT_DEFAULTS["steps"])
    if steps == -1:
        p.number("max_steps", "learning_rate_schedule_steps", kind=int)
        if setup.get("max_steps") is not None and setup.get("max_steps") < 1:
            setup.max_steps = None
    else:
        p.number("max_steps", "steps", kind=int, default=MAXTEXT_DEFAULTS["steps"])
    # Every device holds per_device_batch_size sequences: the data-parallel size is
    # the device count itself, not devices / model-parallel ranks.
    devices, how = _device_count(data, name)
    if devices is not None:
        setup.set("data_parallel", devices, how)
    else:
        setup.world_size_required = (
            f"MaxText multiplies per_device_batch_size by the number of devices, which {name} leaves to the "
            f"hardware ({how}): pass --world-size with the total device count"
        )
    if p.get("enable_rampup_batch_size") is True:
        setup.notes.append(
            f"{p.where('enable_rampup_batch_size')}: the batch starts at per_device_batch_size_start and grows; the "
            "checks use the final batch"
        )
    model = p.text("model_name")
    if model not in (None, "default"):
        setup.notes.append(
            f"{p.where('model_name')} = {model!r}: MaxText also loads configs/models/{model}.yml, not read here "
            "(the gpt3-* ones set opt_type adam_pax and the same betas as base.yml)"
        )
    return setup
