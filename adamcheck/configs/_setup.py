"""The normalised training setup every config reader produces.

A :class:`TrainingSetup` holds the handful of numbers the Adam checks need, each as a
:class:`Sourced` value that remembers where it came from (file and key, line, flag, or
the framework default that applies when the file is silent). Readers fill what their
format says; :func:`merge_setups` combines several files (a DeepSpeed config beside the
TrainingArguments that resolve its ``"auto"`` values); :func:`apply_overrides` adds the
command-line flags.

Units: batch sizes are in *sequences* (samples); ``seq_len`` is tokens per sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ConfigError
from .._shown import shown_repr

__all__ = ["Sourced", "TrainingSetup", "SETUP_FIELDS", "merge_setups", "apply_overrides"]


@dataclass(frozen=True)
class Sourced:
    """A value with its provenance, e.g. ``Sourced(0.99, "train.py line 35: beta2")``."""

    value: Any
    source: str
    #: A default that gives way to any value another file states (e.g. the optimizer's
    #: own default betas when a DeepSpeed file names no betas). TrainingArguments
    #: defaults are *not* weak: the Trainer compares them with the DeepSpeed file.
    weak: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


#: Field name -> what it means (shown in reports and the JSON schema).
SETUP_FIELDS: dict[str, str] = {
    "optimizer": "optimizer name as the framework spells it",
    "beta1": "Adam beta1 (first-moment EMA)",
    "beta2": "Adam beta2 (second-moment EMA)",
    "eps": "Adam epsilon",
    "weight_decay": "weight decay",
    "lr": "peak learning rate",
    "micro_batch": "sequences per device per forward/backward pass",
    "grad_accum": "micro-batches accumulated per optimizer step (per data-parallel rank)",
    "data_parallel": "data-parallel size (ranks that each see a different micro-batch)",
    "world_size": "total number of processes/GPUs",
    "model_parallel": "ranks per model replica (tensor x pipeline x context parallel)",
    "global_batch": "sequences per optimizer step, stated directly by the file",
    "seq_len": "tokens per sequence",
    "max_steps": "planned optimizer steps",
    "train_samples": "planned training samples (Megatron --train-samples)",
    "num_epochs": "planned epochs",
    "dataset_size": "training samples (sequences) in one epoch",
    "state_dtype": "precision of Adam's m and v: fp32 (also under mixed precision), bf16 or fp16",
}


@dataclass
class TrainingSetup:
    """What a training configuration says about Adam and the batch, with provenance.

    Every numeric field is a :class:`Sourced` or ``None`` (not stated anywhere).

    Attributes:
        format: the reader that produced it (``hf``, ``deepspeed``, ``nanogpt``,
            ``megatron``, ``torchtitan``, ``torch`` or several joined by ``+``).
        files: the files read, in order.
        accum_is_global: nanoGPT semantics: ``gradient_accumulation_steps`` counts
            micro-batches over *all* ranks (train.py divides it by the world size).
        unresolved: field -> why it could not be resolved (DeepSpeed ``"auto"``...).
        warnings: things a person should read (unknown keys, assumptions).
        notes: facts about the batch (e.g. Megatron's batch-size ramp-up).
    """

    format: str = ""
    files: list[str] = field(default_factory=list)
    optimizer: Sourced | None = None
    beta1: Sourced | None = None
    beta2: Sourced | None = None
    eps: Sourced | None = None
    weight_decay: Sourced | None = None
    lr: Sourced | None = None
    micro_batch: Sourced | None = None
    grad_accum: Sourced | None = None
    data_parallel: Sourced | None = None
    world_size: Sourced | None = None
    model_parallel: Sourced | None = None
    global_batch: Sourced | None = None
    seq_len: Sourced | None = None
    max_steps: Sourced | None = None
    train_samples: Sourced | None = None
    num_epochs: Sourced | None = None
    dataset_size: Sourced | None = None
    state_dtype: Sourced | None = None
    accum_is_global: bool = False
    #: The DeepSpeed config a TrainingArguments-style file names (``deepspeed`` key): a
    #: path as written in the file, or an inline mapping; resolved by :mod:`._load`.
    deepspeed_reference: Any = None
    #: Why the batch cannot be computed without the world size (e.g. nanoGPT's per-rank
    #: accumulation, litgpt ``devices: auto``); None when assuming one process is right.
    world_size_required: str | None = None
    unresolved: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> Any:
        """The value of field ``name`` or ``None``."""
        item = getattr(self, name)
        return None if item is None else item.value

    def set(self, name: str, value: Any, source: str) -> None:
        setattr(self, name, Sourced(value, source))
        self.unresolved.pop(name, None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in SETUP_FIELDS:
            item = getattr(self, name)
            out[name] = None if item is None else item.to_dict()
        return out


def merge_setups(setups: list[TrainingSetup]) -> TrainingSetup:
    """Combine the setups read from several files into one.

    Rules, following what the Hugging Face Trainer does when it is given a DeepSpeed
    config (``HfTrainerDeepSpeedConfig.trainer_config_process``): a DeepSpeed ``"auto"``
    takes the TrainingArguments value it maps to; two files giving *different* values
    for one field is an error, as the Trainer's "mismatch" error is (TrainingArguments
    defaults count: the Trainer compares them too); only a weak default (one the
    framework applies when a key is absent) gives way to another file's value.
    """
    if not setups:
        raise ConfigError("no configuration file was given: pass at least one file")
    if len(setups) == 1:
        return setups[0]
    merged = TrainingSetup(
        format="+".join(s.format for s in setups),
        files=[f for s in setups for f in s.files],
        accum_is_global=any(s.accum_is_global for s in setups),
        world_size_required=next((s.world_size_required for s in setups if s.world_size_required), None),
    )
    for s in setups:
        merged.warnings.extend(s.warnings)
        merged.notes.extend(s.notes)
    for name in SETUP_FIELDS:
        chosen: Sourced | None = None
        for s in setups:
            item = getattr(s, name)
            if item is None:
                continue
            if chosen is None or (chosen.weak and not item.weak):
                chosen = item
            elif name == "optimizer" and not _same(chosen.value, item.value):
                # Names differ between formats ("adamw_torch" vs "AdamW"); when a
                # DeepSpeed file has an optimizer section, the Trainer uses it and
                # ignores TrainingArguments.optim.
                if s.format == "deepspeed":
                    merged.notes.append(
                        f"{item.source} = {shown_repr(item.value)} is used; {chosen.source} = {shown_repr(chosen.value)} "
                        "is ignored (DeepSpeed's optimizer section takes precedence)"
                    )
                    chosen = item
            elif not item.weak and not _same(chosen.value, item.value):
                raise ConfigError(
                    f"{name} is {shown_repr(chosen.value)} in {chosen.source} but {shown_repr(item.value)} in "
                    f"{item.source}: make the files agree (or write \"auto\" in the DeepSpeed file)"
                )
        autos = [s for s in setups if name in s.unresolved and getattr(s, name) is None]
        if autos and chosen is not None:
            chosen = Sourced(chosen.value, f"{autos[0].unresolved[name]}, resolved from {chosen.source}")
        elif autos:
            merged.unresolved[name] = autos[0].unresolved[name]
        if chosen is not None:
            setattr(merged, name, chosen)
    return merged


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def apply_overrides(setup: TrainingSetup, **flags: Any) -> TrainingSetup:
    """Fill or override fields from command-line flags (``None`` means not given).

    A flag that changes a value stated in a file wins, and a warning says so: the person
    running the check knows the launch (e.g. the real world size) better than the file.
    """
    out = replace(setup, warnings=list(setup.warnings), unresolved=dict(setup.unresolved))
    for name, (value, flag) in flags.items():
        if value is None:
            continue
        if name not in SETUP_FIELDS:
            raise ConfigError(f"unknown setup field {name!r}")
        old = getattr(out, name)
        if old is not None and not old.weak and not _same(old.value, value):
            out.warnings.append(f"{flag} {value} overrides {name} = {shown_repr(old.value)} from {old.source}")
        out.set(name, value, f"flag {flag}")
    return out

