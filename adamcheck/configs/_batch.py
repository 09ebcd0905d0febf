"""Effective batch size of a training setup, with the computation written out.

The batch one Adam step sees is

    B = micro batch x gradient-accumulation steps x data-parallel size   (sequences)
    tokens per step = B x sequence length,

where the data-parallel size is the world size divided by the ranks that hold one
model replica (tensor x pipeline x context parallel). Frameworks that state the
global batch directly (DeepSpeed ``train_batch_size``, Megatron
``--global-batch-size``, torchtitan ``global_batch_size``) fix B and imply the
accumulation; they also require the product to match exactly, and so does adamcheck.
nanoGPT counts ``gradient_accumulation_steps`` over all ranks (train.py divides it by
the world size), so there B = batch_size x gradient_accumulation_steps whatever the
GPU count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigError
from ._setup import TrainingSetup

__all__ = ["EffectiveBatch", "effective_batch"]


@dataclass(frozen=True)
class EffectiveBatch:
    """Sequences and tokens per optimizer step, and how they were obtained.

    ``sequences`` is ``None`` when the setup does not determine it (missing micro
    batch): the check reports that as an error. ``computation`` lists the steps in
    words; ``assumptions`` the values adamcheck had to assume (shown as warnings).
    """

    sequences: int | None
    tokens: int | None
    seq_len: int | None
    micro_batch: int | None
    grad_accum: int | None
    data_parallel: int | None
    computation: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    missing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequences": self.sequences,
            "tokens": self.tokens,
            "seq_len": self.seq_len,
            "micro_batch": self.micro_batch,
            "grad_accum": self.grad_accum,
            "data_parallel": self.data_parallel,
            "computation": list(self.computation),
            "assumptions": list(self.assumptions),
            "missing": self.missing,
        }


def _seqs(n: int) -> str:
    return f"{n} sequence{'' if n == 1 else 's'}"


def _src(setup: TrainingSetup, name: str) -> str:
    item = getattr(setup, name)
    return "" if item is None else f" ({item.source})"


def effective_batch(setup: TrainingSetup) -> EffectiveBatch:
    """Compute the batch per optimizer step of ``setup``.

    Example:
        >>> from adamcheck.configs._setup import Sourced
        >>> s = TrainingSetup(micro_batch=Sourced(8, "a"), grad_accum=Sourced(4, "b"),
        ...                   data_parallel=Sourced(16, "c"), seq_len=Sourced(2048, "d"))
        >>> b = effective_batch(s)
        >>> b.sequences, b.tokens
        (512, 1048576)
        >>> s = TrainingSetup(micro_batch=Sourced(0.5, "a"), world_size=Sourced(16, "b"))  # MaxText, fractional
        >>> effective_batch(s).sequences
        8
    """
    w = _read(setup)
    _data_parallel(w, setup)
    if setup.accum_is_global:
        _global_accumulation(w, setup)
    elif w.gbs is not None:
        _from_global_batch(w, setup)
    else:
        _from_parts(w, setup)
    tokens = None
    if w.sequences is not None:
        if w.seq_len is not None:
            tokens = w.sequences * w.seq_len
            w.steps.append(
                f"tokens per step = {w.sequences} x {w.seq_len} tokens per sequence{_src(setup, 'seq_len')} = "
                f"{tokens:,}"
            )
        else:
            w.steps.append("tokens per step unknown: the file states no sequence length (pass --seq-len)")
    return EffectiveBatch(
        sequences=w.sequences,
        tokens=tokens,
        seq_len=w.seq_len,
        micro_batch=w.micro,
        grad_accum=w.accum,
        data_parallel=w.dp,
        computation=w.steps,
        assumptions=w.assumed,
        missing=w.missing,
    )


@dataclass
class _Work:
    """The numbers of a setup as the computation fills them in, with its steps in words."""

    micro: Any
    accum: int | None
    dp: int | None
    world: int | None
    mp: int | None
    gbs: int | None
    seq_len: int | None
    fractional: bool
    steps: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)
    sequences: int | None = None
    missing: str | None = None


def _read(setup: TrainingSetup) -> _Work:
    """The setup's values, each refused below 1 (a fractional MaxText micro batch excepted)."""
    micro, accum = setup.get("micro_batch"), setup.get("grad_accum")
    dp, world, mp = setup.get("data_parallel"), setup.get("world_size"), setup.get("model_parallel")
    gbs, seq_len = setup.get("global_batch"), setup.get("seq_len")
    # MaxText allows a fractional per-device batch (0.25: one sequence per four devices).
    fractional = isinstance(micro, float) and not float(micro).is_integer() and micro > 0
    for name, value in (("micro batch", micro), ("gradient accumulation", accum), ("global batch", gbs),
                        ("world size", world), ("data-parallel size", dp), ("sequence length", seq_len),
                        ("planned optimizer steps", setup.get("max_steps"))):
        if value is not None and value < 1 and not (fractional and value is micro):
            raise ConfigError(f"{name} = {value} must be at least 1: fix the configuration or the flag")
    if isinstance(micro, float) and not fractional:
        micro = int(micro)
    w = _Work(micro=micro, accum=accum, dp=dp, world=world, mp=mp, gbs=gbs, seq_len=seq_len, fractional=fractional)
    if micro is not None:
        w.steps.append(f"micro batch = {_seqs(micro)} per device{_src(setup, 'micro_batch')}")
    if accum is not None:
        w.steps.append(f"gradient accumulation = {accum}{_src(setup, 'grad_accum')}")
    return w


def _data_parallel(w: _Work, setup: TrainingSetup) -> None:
    """The data-parallel size: stated, or the world size over the ranks of one model replica."""
    dp, world, mp = w.dp, w.world, w.mp
    if dp is None and world is not None and not setup.accum_is_global:
        parts = mp or 1
        if world % parts:
            w.assumed.append(
                f"world size {world} is not a multiple of the {parts} ranks per model replica; "
                "data-parallel size unknown (pass --world-size with the real GPU count)"
            )
        else:
            w.dp = world // parts
            how = f"world size {world}{_src(setup, 'world_size')}"
            if mp:
                how += f" / {mp} ranks per model replica{_src(setup, 'model_parallel')}"
            w.steps.append(f"data-parallel size = {how} = {w.dp}")
    elif dp is not None:
        w.steps.append(f"data-parallel size = {dp}{_src(setup, 'data_parallel')}")
        if world is not None and not setup.accum_is_global and dp * (mp or 1) != world:
            w.assumed.append(
                f"data-parallel size {dp} x {mp or 1} ranks per model replica != world size {world}; "
                f"the file's data-parallel size {dp} is used"
            )


def _global_accumulation(w: _Work, setup: TrainingSetup) -> None:
    """nanoGPT: gradient_accumulation_steps counts over all ranks, B = batch_size x accumulation."""
    micro, accum, world, gbs = w.micro, w.accum, w.world, w.gbs
    if micro is None or accum is None:
        w.missing = "batch_size or gradient_accumulation_steps"
        return
    if world is not None and accum % world:
        raise ConfigError(
            f"gradient_accumulation_steps = {accum} is not divisible by the world size {world}: "
            "nanoGPT's train.py asserts it is; change one of them"
        )
    w.sequences = micro * accum
    if gbs is not None and gbs != w.sequences:
        raise ConfigError(
            f"global batch {gbs}{_src(setup, 'global_batch')} conflicts with batch_size {micro} x "
            f"gradient_accumulation_steps {accum} = {w.sequences}{_src(setup, 'grad_accum')} under nanoGPT's "
            "global accumulation convention: drop one of them, change grad_accum (CLI --grad-accum), or pass "
            "accumulation='per-rank' (CLI --accumulation per-rank) if the file was written for the older per-GPU train.py"
        )
    w.steps.append(
        f"batch = batch_size {micro} x gradient_accumulation_steps {accum} = {_seqs(w.sequences)} "
        "(nanoGPT divides gradient_accumulation_steps by the world size, so the GPU count "
        "does not change the batch per step)"
    )


def _from_global_batch(w: _Work, setup: TrainingSetup) -> None:
    """A stated global batch fixes B; the other numbers must agree with it (or are implied)."""
    micro, accum, dp, gbs = w.micro, w.accum, w.dp, w.gbs
    w.sequences = gbs
    w.steps.append(f"global batch = {_seqs(gbs)}{_src(setup, 'global_batch')}")
    if micro is not None and dp is not None:
        if accum is not None:
            if micro * accum * dp != gbs:
                raise ConfigError(
                    f"global batch {gbs}{_src(setup, 'global_batch')} != micro batch {micro} x accumulation "
                    f"{accum}{_src(setup, 'grad_accum')} x data-parallel {dp} = {micro * accum * dp}: "
                    "the framework refuses this too; make them agree"
                )
            w.steps.append(f"check: {micro} x {accum} x {dp} = {gbs}")
        elif gbs % (micro * dp):
            raise ConfigError(
                f"global batch {gbs} is not divisible by micro batch {micro} x data-parallel {dp}: "
                "the framework refuses this too; make them agree"
            )
        else:
            w.accum = gbs // (micro * dp)
            w.steps.append(f"implied accumulation = {gbs} / ({micro} x {dp}) = {w.accum}")
    elif micro is not None and accum is not None and dp is None:
        if gbs % (micro * accum):
            # no whole number of processes gives this global batch: a typo or a misread, never B
            raise ConfigError(
                f"global batch {gbs}{_src(setup, 'global_batch')} is not a multiple of micro batch {micro} x "
                f"accumulation {accum} = {micro * accum}: no data-parallel size gives it; make them agree"
            )
        w.dp = gbs // (micro * accum)
        w.steps.append(f"implied data-parallel size = {gbs} / ({micro} x {accum}) = {w.dp}")


def _from_parts(w: _Work, setup: TrainingSetup) -> None:
    """B = micro x accumulation x data-parallel, assuming 1 for what is not stated (and saying so)."""
    if w.micro is None:
        w.missing = "micro batch size"
        return
    if w.dp is None and setup.world_size_required:
        w.missing = f"world size ({setup.world_size_required})"
        return
    if w.accum is None and "grad_accum" in setup.unresolved:
        # A value the file gives but adamcheck cannot resolve is not "not stated": never assume 1.
        w.missing = f"gradient accumulation ({setup.unresolved['grad_accum']})"
        return
    if w.accum is None:
        w.accum = 1
        w.assumed.append("gradient accumulation not stated: 1 assumed")
    if w.dp is None:
        w.dp = 1
        w.assumed.append(
            "data-parallel size not stated: 1 assumed (one process); pass --world-size "
            "for multi-GPU runs, the batch per step grows with it"
        )
    micro, accum, dp = w.micro, w.accum, w.dp
    if w.fractional:
        per_step = int(micro * dp)  # MaxText: int(devices x per_device_batch_size)
        if per_step < 1:
            raise ConfigError(
                f"per-device batch {micro:g} x {dp} devices = {micro * dp:g} is less than one sequence: "
                "fix the configuration or --world-size"
            )
        w.sequences = per_step * accum
        w.steps.append(f"batch = int({micro:g} per device x {dp} devices) {per_step} x accumulation {accum} = "
                       f"{_seqs(w.sequences)}")
    else:
        w.sequences = micro * accum * dp
        w.steps.append(f"batch = micro {micro} x accumulation {accum} x data-parallel {dp} = {_seqs(w.sequences)}")
