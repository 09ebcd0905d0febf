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
import shlex
from .._errors import ConfigError
from ._names import MEGATRON_ADAM, adam_name_or_raise
from ._readutil import as_int, as_number, near_miss
from ._setup import Sourced, TrainingSetup

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
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([^\s()]*)\s*(?:#.*)?$")
_NOT_TRAINING = re.compile(r"generat|inference|server|evaluat|export|convert", re.IGNORECASE)
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def looks_like_megatron(text: str) -> bool:
    return bool(re.search(r"--(adam-beta[12]|micro-batch-size|global-batch-size)\b", text))


def _continuations(text: str) -> str:
    """Bash line continuations made harmless for :mod:`shlex`, line numbers kept.

    Outside quotes and inside double quotes, bash drops backslash-newline. Here it
    becomes a space plus the newline (outside quotes a newline only separates words;
    inside a double-quoted value that is word-split later it is whitespace too), so
    shlex's line count stays the file's. Inside single quotes nothing changes.
    """
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote != "'" and ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "\n":
                out.append(" \n")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if ch in "'\"" and (not quote or quote == ch):
            quote = "" if quote else ch
        elif ch == "#" and not quote and (i == 0 or text[i - 1] in " \t\n;"):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out.append(" " * (end - i))  # comments may hold unbalanced quotes: blank them
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _blank_heredocs(text: str) -> str:
    """Here-document bodies (``<<EOF`` ... ``EOF``) are data for another program (often
    Python with its own quotes): blank them, keeping the line count."""
    lines = text.split("\n")
    out = []
    end: str | None = None
    for line in lines:
        if end is not None:
            out.append("")
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        match = _HEREDOC.search(line)
        if match and "#" not in line[: match.start()]:
            end = match.group(2)
    return "\n".join(out)


def _tokens(text: str, name: str) -> list[tuple[str, int]]:
    """Words with their line numbers, split as bash splits them (quotes spanning lines
    included); a variable assignment whose quoted value holds flags
    (``GPT_ARGS="--micro-batch-size 4 ..."``, used later as ``$GPT_ARGS``) is word-split
    into those flags, as bash splits an unquoted expansion."""
    import io

    prepared = _continuations(_blank_heredocs(text))
    stream = io.StringIO(prepared)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[tuple[str, int]] = []
    try:
        while True:
            word = lexer.get_token()
            if word is None or word == lexer.eof:
                break
            # The stream stands one character past the word (its terminator, often a newline).
            end = max(stream.tell() - 1, 0)
            end_line = prepared.count("\n", 0, end) + 1
            match = re.match(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=(.*)$", word, re.S)
            if match and "--" in match.group(1) and re.search(r"\s", match.group(1)):
                value = match.group(1)
                line = end_line - value.count("\n")
                for piece in re.split(r"(\s+)", value):
                    if piece.strip():
                        out.append((piece, line))
                    line += piece.count("\n")
                continue
            out.append((word, end_line))
    except ValueError as exc:
        raise ConfigError(f"{name} line {lexer.lineno}: cannot split the arguments ({exc}): fix the quoting") from None
    return out


def read_megatron_text(text: str, name: str) -> TrainingSetup:
    """Read Megatron-LM arguments into a :class:`TrainingSetup`.

    Example:
        >>> s = read_megatron_text("--micro-batch-size 1 --global-batch-size 1536 "
        ...                        "--adam-beta1 0.9 --adam-beta2 0.95 --seq-length 2048", "args.txt")
        >>> s.get("global_batch"), s.get("beta2"), s.get("seq_len")
        (1536, 0.95, 2048)
    """
    tokens = _tokens(text, name)
    variables: dict[str, str] = {}
    for word, _ in tokens:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=([^\s()]*)$", word)
        if match and "$" not in match.group(2) and "`" not in match.group(2):
            variables[match.group(1)] = match.group(2)

    flags: dict[str, tuple[list[str], int]] = {}
    i = 0
    while i < len(tokens):
        word, line = tokens[i]
        i += 1
        if not word.startswith("--") or len(word) < 3 or word.endswith(")"):
            continue  # "--flag)" is a bash case pattern, not an argument
        flag, _, inline = word.partition("=")
        values: list[str] = [inline] if inline else []
        while not inline and i < len(tokens):
            nxt = tokens[i][0]
            if nxt.startswith("--") or nxt.endswith("=(") or nxt in (")", "\\", "&&", "|", ";"):
                break
            values.append(nxt)
            i += 1
        flags[flag] = (values, line)  # argparse: the last occurrence wins

    for flag, (_, line) in flags.items():
        if flag in _KNOWN_NEAR:
            continue
        guess = near_miss(flag, _WATCHED, _KNOWN_NEAR)
        if guess is not None:
            raise ConfigError(
                f"{name} line {line}: {flag} is not a Megatron-LM argument (did you mean {guess}?); "
                "Megatron would refuse it too: fix the flag"
            )

    entries = [w for w, _ in tokens if w.endswith(".py")]
    training = {"--train-iters", "--train-samples", "--train-data-path", "--data-path", "--lr"} & set(flags)
    if entries and not training and all(_NOT_TRAINING.search(e) for e in entries):
        raise ConfigError(
            f"{name} launches {', '.join(sorted(set(entries)))}, a generation/evaluation entry point, without "
            "training flags: not a training run, so there is no Adam setting to check"
        )
    setup = TrainingSetup(format="megatron", files=[name])

    def first(flag: str) -> tuple[str | None, str]:
        values, line = flags[flag]
        where = f"{name} line {line}: {flag}"
        if not values:
            raise ConfigError(f"{where} has no value: write e.g. {flag} 8")
        raw = values[0]
        unresolved = False

        def sub(m: re.Match) -> str:
            nonlocal unresolved
            var = m.group(1) or m.group(2)
            if var in variables:
                return variables[var]
            unresolved = True
            return m.group(0)

        value = _VAR.sub(sub, raw)
        if unresolved or "$" in value or "`" in value:
            return None, f"{where} = {raw} needs the shell to expand it"
        if value != raw:
            where += f" (= {value} via {raw})"
        return value, where

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

    if "--optimizer" in flags:
        value, where = first("--optimizer")
        if value is None:
            setup.unresolved["optimizer"] = where
        else:
            adam_name_or_raise(value, MEGATRON_ADAM, where)
            setup.set("optimizer", value, where)
    else:
        setup.optimizer = Sourced("adam", "default of Megatron-LM (--optimizer adam, decoupled weight decay; core 0.20)", weak=True)

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

    if "--rampup-batch-size" in flags:
        values, line = flags["--rampup-batch-size"]
        setup.notes.append(
            f"{name} line {line}: --rampup-batch-size {' '.join(values)}: the global batch starts "
            "smaller and grows to --global-batch-size; the checks use the final batch"
        )
    return setup

