"""Reader for torchtitan TOML train configs (``torchtitan/models/llama3/train_configs/*.toml``).

Keys read: ``[optimizer]`` ``name``, ``beta1``, ``beta2``, ``eps``, ``weight_decay``,
``lr``; ``[training]`` ``local_batch_size`` (``batch_size`` in older releases),
``global_batch_size`` (-1: local x data-parallel, otherwise torchtitan accumulates
gradients up to it), ``seq_len``, ``steps``; ``[parallelism]``
``data_parallel_replicate_degree`` and ``data_parallel_shard_degree`` (-1: all ranks
left after tensor/pipeline/context parallelism, so the world size is needed:
``--world-size``). Missing keys take torchtitan's JobConfig defaults (AdamW,
beta1 0.9, beta2 0.95, eps 1e-8, local batch 8, seq_len 2048, steps 10000);
releases before ``beta1``/``beta2`` were configurable hard-coded (0.9, 0.95) too.

Unknown keys, following torchtitan's ConfigManager (which raises "Invalid field
names" for keys its dataclasses do not declare): unknown keys in ``[optimizer]`` are
refused; in ``[training]`` a misspelling of a key adamcheck reads is refused and
other keys are accepted, since that section's fields change between releases.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import TORCHTITAN_ADAM, adam_name_or_raise
from ._readutil import as_int, as_number, near_miss
from ._setup import Sourced, TrainingSetup

__all__ = ["read_torchtitan_dict", "looks_like_torchtitan"]

#: [optimizer] fields across torchtitan releases.
OPTIMIZER_FIELDS = frozenset(
    {"name", "lr", "beta1", "beta2", "eps", "weight_decay", "implementation", "early_step_in_backward", "fused"}
)
_TRAINING_WATCHED = ("local_batch_size", "batch_size", "global_batch_size", "seq_len", "steps")
_TRAINING_KNOWN = frozenset(
    _TRAINING_WATCHED
    + (
        "dataset", "dataset_path", "max_norm", "warmup_steps", "data_parallel_degree",
        "data_parallel_replicate_degree", "data_parallel_shard_degree", "tensor_parallel_degree",
        "pipeline_parallel_degree", "mixed_precision_param", "mixed_precision_reduce", "compile",
        "gc_freq", "gc_debug", "seed", "deterministic", "enable_cpu_offload",
    )
)
_DEFAULTS = {"name": "AdamW", "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "lr": 8e-4}


def looks_like_torchtitan(data: Any) -> bool:
    return isinstance(data, dict) and ("optimizer" in data or "training" in data)


def read_torchtitan_dict(data: Any, name: str) -> TrainingSetup:
    """Read a parsed torchtitan TOML into a :class:`TrainingSetup`.

    Example:
        >>> s = read_torchtitan_dict({"optimizer": {"name": "AdamW", "lr": 3e-4},
        ...                           "training": {"local_batch_size": 1, "seq_len": 8192}}, "t.toml")
        >>> s.get("beta2"), s.beta2.source
        (0.95, 'default of torchtitan JobConfig ([optimizer] beta2)')
    """
    if not looks_like_torchtitan(data):
        raise ConfigError(f"{name} has no [optimizer] or [training] section: give a torchtitan train config")
    setup = TrainingSetup(format="torchtitan", files=[name])
    opt = data.get("optimizer", {})
    training = data.get("training", {})
    par = data.get("parallelism", {})
    for section, table in (("optimizer", opt), ("training", training), ("parallelism", par)):
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [{section}] must be a table")
    for key in opt:
        if key not in OPTIMIZER_FIELDS:
            guess = near_miss(key, tuple(OPTIMIZER_FIELDS), OPTIMIZER_FIELDS)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise ConfigError(
                f"{name}: [optimizer] has no field {key!r}{hint}; torchtitan refuses unknown fields too: fix the key"
            )
    for key in training:
        guess = near_miss(key, _TRAINING_WATCHED, _TRAINING_KNOWN)
        if guess is not None:
            raise ConfigError(
                f"{name}: [training] has no field {key!r} (did you mean {guess!r}?); "
                "torchtitan refuses unknown fields too: fix the key"
            )

    def opt_value(key: str) -> tuple[Any, str, bool]:
        if key in opt:
            return opt[key], f"{name}: [optimizer] {key}", False
        return _DEFAULTS[key], f"default of torchtitan JobConfig ([optimizer] {key})", True

    value, source, weak = opt_value("name")
    adam_name_or_raise(value, TORCHTITAN_ADAM, source)
    setup.optimizer = Sourced(value, source, weak=weak)
    for key, field in (("beta1", "beta1"), ("beta2", "beta2"), ("eps", "eps"), ("weight_decay", "weight_decay"), ("lr", "lr")):
        value, source, weak = opt_value(key)
        setattr(setup, field, Sourced(float(as_number(value, source)), source, weak=weak))

    def train_int(keys: tuple[str, ...], field: str, default: int | None) -> None:
        for key in keys:
            if key in training:
                where = f"{name}: [training] {key}"
                setup.set(field, as_int(training[key], where), where)
                return
        if default is not None:
            source = f"default of torchtitan JobConfig ([training] {keys[0]})"
            setattr(setup, field, Sourced(default, source, weak=True))

    train_int(("local_batch_size", "batch_size"), "micro_batch", 8)
    train_int(("seq_len",), "seq_len", 2048)
    train_int(("steps",), "max_steps", 10000)
    if "global_batch_size" in training:
        where = f"{name}: [training] global_batch_size"
        gbs = as_int(training["global_batch_size"], where)
        if gbs > 0:
            setup.set("global_batch", gbs, where)

    # Data-parallel degree: replicate x shard; shard = -1 takes the leftover ranks.
    replicate = par.get("data_parallel_replicate_degree", 1)
    shard = par.get("data_parallel_shard_degree", training.get("data_parallel_degree", -1))
    replicate = as_int(replicate, f"{name}: [parallelism] data_parallel_replicate_degree")
    shard = as_int(shard, f"{name}: [parallelism] data_parallel_shard_degree")
    others = 1
    other_src = []
    for key in ("tensor_parallel_degree", "pipeline_parallel_degree", "context_parallel_degree"):
        table = par if key in par else training
        if key in table:
            degree = as_int(table[key], f"{name}: {key}")
            others *= degree
            if degree != 1:
                other_src.append(f"{key} {degree}")
    if other_src:
        setup.set("model_parallel", others, f"{name}: [parallelism] " + " x ".join(other_src))
    if shard > 0:
        setup.set(
            "data_parallel",
            replicate * shard,
            f"{name}: [parallelism] data_parallel_replicate_degree {replicate} x data_parallel_shard_degree {shard}",
        )
    else:
        setup.notes.append(
            f"{name}: data_parallel_shard_degree = {shard} takes every rank left after "
            "tensor/pipeline/context parallelism, so the data-parallel size follows from --world-size"
        )
    return setup
