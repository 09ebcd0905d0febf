"""Reader for Megatron-LM argument lists: a file of ``--flag value`` pairs, or a launch
script written the way Megatron's examples are (``examples/gpt3/train_gpt3_175b_distributed.sh``:
bash arrays of arguments, ``NAME=value`` variables, ``torchrun --nproc_per_node ...``).

The text is tokenised with :mod:`shlex` (comments and line continuations handled); it
is never run. ``$NAME``/``${NAME}`` take the value of a plain ``NAME=literal``
assignment in the same file; anything else that needs the shell (``$1``,
``$((...))``, command substitution) leaves that value unresolved.

Flags read: ``--adam-beta1``, ``--adam-beta2``, ``--adam-eps``, ``--weight-decay``,
``--lr``, ``--optimizer``, ``--micro-batch-size``, ``--global-batch-size``,
``--rampup-batch-size``, ``--seq-length``, ``--train-iters``, ``--train-samples``,
``--tensor-model-parallel-size``, ``--pipeline-model-parallel-size``,
``--context-parallel-size``, and torchrun's ``--nproc_per_node``/``--nnodes`` for the
world size. Defaults are Megatron's (``--adam-beta1 0.9 --adam-beta2 0.999
--adam-eps 1e-8``, global batch = micro batch x data-parallel size).

Unknown flags: Megatron's argparse refuses flags it does not define, but adamcheck
does not carry Megatron's several hundred options; it refuses a flag that is a
misspelling of one it reads (``--adam-beta-2``) and ignores the others.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .._errors import ConfigError
from ._names import MEGATRON_ADAM, adam_name_or_raise
from ._readutil import as_int, as_number, near_miss
from ._setup import Sourced, TrainingSetup
from ._shell import expand, long_flags, shell_variables, shell_words

__all__ = ["read_megatron_text", "looks_like_megatron"]

_FLOAT_FLAGS = {"--adam-beta1": "beta1", "--adam-beta2": "beta2", "--adam-eps": "eps", "--weight-decay": "weight_decay", "--lr": "lr"}
_INT_FLAGS = {
    "--micro-batch-size": "micro_batch",
    "--global-batch-size": "global_batch",
    "--seq-length": "seq_len",
    "--train-iters": "max_steps",
    "--train-samples": "train_samples",
}
_PARALLEL = ("--tensor-model-parallel-size", "--pipeline-model-parallel-size", "--context-parallel-size")
_WORLD = ("--nproc_per_node", "--nproc-per-node", "--nnodes")
_WATCHED = tuple(_FLOAT_FLAGS) + tuple(_INT_FLAGS) + _PARALLEL + ("--optimizer", "--rampup-batch-size")
_KNOWN_NEAR = frozenset(
    _WATCHED
    + _WORLD
    + (
        "--adam-beta", "--decoupled-lr", "--decoupled-min-lr", "--min-lr", "--lr-decay-iters",
        "--lr-decay-samples", "--lr-warmup-iters", "--lr-warmup-samples", "--lr-warmup-fraction",
        "--lr-decay-style", "--start-weight-decay", "--end-weight-decay", "--weight-decay-incr-style",
        "--sgd-momentum", "--decoder-seq-length", "--encoder-seq-length", "--max-position-embeddings",
        "--expert-model-parallel-size", "--expert-tensor-parallel-size", "--virtual-pipeline-model-parallel-size",
        "--train-data-path", "--seq-length-warmup", "--use-distributed-optimizer", "--optimizer-cpu-offload",
        "--num-layers-per-virtual-pipeline-stage", "--pipeline-model-parallel-split-rank",
    )
)
_NOT_TRAINING = re.compile(r"generat|inference|server|evaluat|export|convert", re.IGNORECASE)


def looks_like_megatron(text: str) -> bool:
    return bool(re.search(r"--(adam-beta[12]|micro-batch-size|global-batch-size)\b", text))


def read_megatron_text(text: str, name: str) -> TrainingSetup:
    """Read Megatron-LM arguments into a :class:`TrainingSetup`.

    Example:
        >>> s = read_megatron_text("--micro-batch-size 1 --global-batch-size 1536 "
        ...                        "--adam-beta1 0.9 --adam-beta2 0.95 --seq-length 2048", "args.txt")
        >>> s.get("global_batch"), s.get("beta2"), s.get("seq_len")
        (1536, 0.95, 2048)
    """
    tokens = shell_words(text, name)
    variables = shell_variables(tokens)
    flags = {flag: (values, line) for flag, values, line in long_flags(tokens)}  # argparse: the last wins
    _refuse_near_misses(flags, name)
    _refuse_non_training(tokens, flags, name)
    setup = TrainingSetup(format="megatron", files=[name])

    def first(flag: str) -> tuple[str | None, str]:
        values, line = flags[flag]
        where = f"{name} line {line}: {flag}"
        if not values:
            raise ConfigError(f"{where} has no value: write e.g. {flag} 8")
        return expand(values[0], variables, where)

    _numbers(setup, flags, first)
    _optimizer(setup, flags, first)
    _parallel_sizes(setup, flags, first, name)
    if "--rampup-batch-size" in flags:
        values, line = flags["--rampup-batch-size"]
        setup.notes.append(
            f"{name} line {line}: --rampup-batch-size {' '.join(values)}: the global batch starts "
            "smaller and grows to --global-batch-size; the checks use the final batch"
        )
    return setup


def _refuse_near_misses(flags: dict[str, Any], name: str) -> None:
    """A flag one typo away from a watched Megatron argument is refused (Megatron refuses it too)."""
    for flag, (_, line) in flags.items():
        if flag in _KNOWN_NEAR:
            continue
        guess = near_miss(flag, _WATCHED, _KNOWN_NEAR)
        if guess is not None:
            raise ConfigError(
                f"{name} line {line}: {flag} is not a Megatron-LM argument (did you mean {guess}?); "
                "Megatron would refuse it too: fix the flag"
            )


def _refuse_non_training(tokens: list[Any], flags: dict[str, Any], name: str) -> None:
    """A generation or evaluation entry point without training flags has no Adam to check."""
    entries = [w for w, _ in tokens if w.endswith(".py")]
    training = {"--train-iters", "--train-samples", "--train-data-path", "--data-path", "--lr"} & set(flags)
    if entries and not training and all(_NOT_TRAINING.search(e) for e in entries):
        raise ConfigError(
            f"{name} launches {', '.join(sorted(set(entries)))}, a generation/evaluation entry point, without "
            "training flags: not a training run, so there is no Adam setting to check"
        )


def _numbers(setup: TrainingSetup, flags: dict[str, Any], first: Callable[[str], tuple[str | None, str]]) -> None:
    """The float and int flags, then Megatron's Adam defaults for the betas and eps not given."""
    for flag, field in _FLOAT_FLAGS.items():
        if flag in flags:
            value, where = first(flag)
            if value is None:
                setup.unresolved[field] = where
            else:
                setup.set(field, float(as_number(value, where, strings=True)), where)
    for flag, field in _INT_FLAGS.items():
        if flag in flags:
            value, where = first(flag)
            if value is None:
                setup.unresolved[field] = where
            else:
                setup.set(field, as_int(value, where, strings=True), where)
    defaults = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    for field, value in defaults.items():
        if getattr(setup, field) is None and field not in setup.unresolved:
            flag = {"beta1": "--adam-beta1", "beta2": "--adam-beta2", "eps": "--adam-eps"}[field]
            setattr(setup, field, Sourced(value, f"default of Megatron-LM ({flag} {value:g}; as in 2023 and in core 0.20)", weak=True))


def _optimizer(setup: TrainingSetup, flags: dict[str, Any], first: Callable[[str], tuple[str | None, str]]) -> None:
    if "--optimizer" in flags:
        value, where = first("--optimizer")
        if value is None:
            setup.unresolved["optimizer"] = where
        else:
            adam_name_or_raise(value, MEGATRON_ADAM, where)
            setup.set("optimizer", value, where)
    else:
        setup.optimizer = Sourced("adam", "default of Megatron-LM (--optimizer adam, decoupled weight decay; core 0.20)", weak=True)


def _parallel_sizes(setup: TrainingSetup, flags: dict[str, Any], first: Callable[[str], tuple[str | None, str]],
                    name: str) -> None:
    """Ranks per model replica (tensor x pipeline x context...) and the torchrun world size."""
    parallel = 1
    sources = []
    for flag in _PARALLEL:
        if flag in flags:
            value, where = first(flag)
            if value is None:
                setup.unresolved["model_parallel"] = where
                break
            parallel *= as_int(value, where, strings=True)
            sources.append(f"{flag} {value}")
    else:
        if sources:
            setup.set("model_parallel", parallel, f"{name}: " + " x ".join(sources))
    world: int | None = 1
    world_sources = []
    for flag in ("--nproc_per_node", "--nproc-per-node", "--nnodes"):
        if flag in flags:
            value, where = first(flag)
            if value is None:
                world = None
                setup.unresolved.setdefault("world_size", where)
                break
            world *= as_int(value, where, strings=True)
            world_sources.append(f"{flag} {value}")
    if world is not None and world_sources:
        setup.set("world_size", world, f"{name}: torchrun " + " x ".join(world_sources))
