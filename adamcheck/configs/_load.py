"""Read one or more configuration files into a :class:`TrainingSetup`.

Detection by signature: a file is read as a format only when its keys say so.

=============== =====================================================================
format          signature
=============== =====================================================================
``nanogpt``     ``.py`` with top-level literal assignments of train.py globals, no
                ``def``/``class``/torchtitan import
``torchtitan``  ``.toml`` with ``[optimizer]``/``[training]``, or ``.py`` importing
                torchtitan (a Python config registry, parsed with :mod:`ast`)
``megatron``    text with ``--micro-batch-size``/``--global-batch-size``/``--adam-beta2``
``deepspeed``   ``train_micro_batch_size_per_gpu``, ``train_batch_size``,
                ``zero_optimization``, or ``optimizer: {type, params}``
``hf``          TrainingArguments keys (``per_device_train_batch_size``, ``adam_beta2``...)
``axolotl``     ``base_model`` with axolotl names (``micro_batch_size``, ``sequence_len``...)
``llamafactory`` ``stage``/``finetuning_type``/``cutoff_len``... (v0), ``dist_config``/
                ``optim_config``/``micro_batch_size`` + ``cutoff_len`` (v1)
``torchtune``   sections with ``_component_``
``litgpt``      ``train: {global_batch_size, micro_batch_size}``, ``optimizer.class_path``
``olmo``        ``global_train_batch_size``, ``device_train_microbatch_size``, ``max_duration``
``levanter``    ``trainer: {train_batch_size, per_device_parallelism, mp...}``
``trainer_state`` ``log_history`` and ``global_step`` (a Trainer checkpoint's state)
``accelerate``  ``compute_environment``/``distributed_type`` with ``num_processes``...
=============== =====================================================================

A framework's signature outranks the generic ones it overlaps (axolotl and
LLaMA-Factory files also hold TrainingArguments names; ``trainer_state.json`` has
``train_batch_size``; an Accelerate config has ``debug``). Two framework signatures
at once, or none, is refused: "unrecognised configuration (looks like X): pass
--format". ``training_args.bin`` (a pickle) is refused without being opened as one.

A TrainingArguments-style file (HF, axolotl, LLaMA-Factory) whose ``deepspeed`` entry
is a path brings that DeepSpeed config in too. The path is resolved against the
current working directory, as the Trainer resolves it (``HfTrainerDeepSpeedConfig``
opens it relative to the process), and the report says where it was found; a file
of that name given on the command line is used instead of looking it up.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from .._errors import ConfigError
from ._readutil import parse_json, parse_toml, parse_yaml, read_bytes_head, read_text
from ._setup import TrainingSetup, merge_setups

__all__ = ["FORMATS", "read_config", "read_one", "detect_format"]

FORMATS = (
    "hf", "deepspeed", "nanogpt", "megatron", "torchtitan", "axolotl", "llamafactory", "torchtune",
    "litgpt", "olmo", "levanter", "trainer_state", "accelerate",
)
_ALIASES = {
    "huggingface": "hf", "transformers": "hf", "trainingarguments": "hf", "training_args": "hf",
    "ds": "deepspeed", "megatron-lm": "megatron", "titan": "torchtitan", "llama-factory": "llamafactory",
    "llama_factory": "llamafactory", "lit-gpt": "litgpt", "trainer-state": "trainer_state",
}
#: Framework signatures that outrank the generic formats they overlap with.
_OUTRANKS = {
    "trainer_state": {"hf", "deepspeed"},
    "accelerate": {"hf", "deepspeed"},
    "axolotl": {"hf"},
    "llamafactory": {"hf"},
    "torchtune": {"hf"},
    "levanter": {"deepspeed", "hf"},
    "deepspeed": {"hf"},
    "olmo": {"hf"},
    "litgpt": {"hf"},
}
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")


def _normal_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    key = fmt.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return key


def _signatures() -> dict[str, Callable[[Any], list[str]]]:
    from ._axolotl import axolotl_evidence
    from ._deepspeed import deepspeed_evidence
    from ._hf import hf_evidence
    from ._hfstate import accelerate_evidence, trainer_state_evidence
    from ._levanter import levanter_evidence
    from ._litgpt import litgpt_evidence
    from ._llamafactory import llamafactory_evidence
    from ._olmo import olmo_evidence
    from ._torchtune import torchtune_evidence

    return {
        "trainer_state": trainer_state_evidence, "accelerate": accelerate_evidence,
        "axolotl": axolotl_evidence, "llamafactory": llamafactory_evidence, "torchtune": torchtune_evidence,
        "litgpt": litgpt_evidence, "olmo": olmo_evidence, "levanter": levanter_evidence,
        "deepspeed": deepspeed_evidence, "hf": hf_evidence,
    }


def _unrecognised(name: str, looks: str) -> ConfigError:
    return ConfigError(
        f"{name}: unrecognised configuration (looks like {looks}): pass fmt (CLI --format), one of "
        f"{', '.join(FORMATS)}, if it is one of these, else adamcheck cannot read it"
    )


def detect_mapping(data: Any, name: str) -> str:
    """The format of a parsed JSON/YAML mapping, by signature (see the module docstring).

    Example:
        >>> detect_mapping({"optimizer": {"name": "adamw"}, "global_train_batch_size": 1024}, "c.yaml")
        'olmo'
        >>> detect_mapping({"trainer": {"train_batch_size": 1024}, "optimizer": {"type": "adam"}}, "c.yaml")
        'levanter'
    """
    if not isinstance(data, dict):
        raise _unrecognised(name, f"a {type(data).__name__}, not a mapping of settings")
    matches = {fmt: ev for fmt, sig in _signatures().items() if (ev := sig(data))}
    for fmt in list(matches):
        for lower in _OUTRANKS.get(fmt, ()):
            matches.pop(lower, None)
    if len(matches) == 1:
        return next(iter(matches))
    if len(matches) > 1:
        looks = " or ".join(f"{fmt} ({', '.join(ev[:3])})" for fmt, ev in matches.items())
        raise _unrecognised(name, looks)
    from ._olmo import looks_like_foundry

    if looks_like_foundry(data):
        raise _unrecognised(name, "a MosaicML llm-foundry/Composer config, which adamcheck does not read")
    keys = [str(k) for k in list(data)[:6]]
    raise _unrecognised(name, f"none of the known formats; keys {', '.join(keys) or '(none)'}")


def _detect_python(text: str, name: str) -> str:
    try:
        tree = ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise ConfigError(f"{name} line {exc.lineno}: not valid Python ({exc.msg}): fix the file") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{name}: an expression is nested too deeply for a config: write the value literally") from None
    from ._nanogpt import NANOGPT_DEFAULTS
    from ._titan_py import titan_python_evidence

    if titan_python_evidence(tree):
        return "torchtitan"
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    if defs:
        raise _unrecognised(name, f"a Python module or training script (it defines {defs[0].name} on line {defs[0].lineno}), not a nanoGPT config")
    if assigned & set(NANOGPT_DEFAULTS):
        return "nanogpt"
    if not assigned:
        # An empty file would mean "all of train.py's defaults" to nanoGPT, but an empty
        # __init__.py is far more common: say so rather than check 600,000 default steps.
        raise _unrecognised(name, "a Python file that assigns nothing; fmt='nanogpt' (CLI --format nanogpt) reads it as train.py's defaults")
    raise _unrecognised(name, "Python without nanoGPT train.py settings")


def detect_format(path: str | Path, text: str) -> str:
    """The format of a config file, from its extension and its keys (see the module docstring).

    Example:
        >>> detect_format("ds_config.json", '{"train_micro_batch_size_per_gpu": "auto"}')
        'deepspeed'
        >>> detect_format("run.sh", "torchrun pretrain_gpt.py --adam-beta2 0.95")
        'megatron'
    """
    from ._megatron import looks_like_megatron

    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix == ".py":
        return _detect_python(text, name)
    if suffix == ".toml":
        data = parse_toml(text, name)
        if isinstance(data.get("optimizer"), dict) or isinstance(data.get("training"), dict):
            return "torchtitan"
        raise _unrecognised(name, "TOML without torchtitan's [optimizer] or [training] tables")
    if suffix in (".json", ".yaml", ".yml"):
        data = parse_json(text, name) if suffix == ".json" else parse_yaml(text, name, Path(name).parent)
        return detect_mapping(data, name)
    if looks_like_megatron(text):
        return "megatron"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return detect_mapping(parse_json(text, name), name)
    if stripped.startswith("["):
        return detect_format(name + ".toml", text)
    raise _unrecognised(name, "no known format (no Megatron flags, not JSON, YAML or TOML by its extension)")


def _parse_data(fmt: str, text: str, name: str) -> Any:
    if fmt == "torchtitan":
        return parse_toml(text, name)
    if text.lstrip().startswith("{") or name.lower().endswith(".json"):
        return parse_json(text, name)
    return parse_yaml(text, name, Path(name).parent)


def _readers() -> dict[str, Callable[[Any, str], TrainingSetup]]:
    from ._axolotl import read_axolotl_dict
    from ._deepspeed import read_deepspeed_dict
    from ._hfstate import read_accelerate_dict, read_trainer_state_dict
    from ._levanter import read_levanter_dict
    from ._litgpt import read_litgpt_dict
    from ._llamafactory import read_llamafactory_dict
    from ._olmo import read_olmo_dict
    from ._torchtitan import read_torchtitan_dict
    from ._torchtune import read_torchtune_dict

    return {
        "deepspeed": read_deepspeed_dict, "axolotl": read_axolotl_dict, "llamafactory": read_llamafactory_dict,
        "torchtune": read_torchtune_dict, "litgpt": read_litgpt_dict, "olmo": read_olmo_dict,
        "levanter": read_levanter_dict, "trainer_state": read_trainer_state_dict,
        "accelerate": read_accelerate_dict, "torchtitan": read_torchtitan_dict,
    }


def read_one(
    path: str | Path, fmt: str | None = None, *, text: str | None = None, preset: str | None = None,
    accumulation: str | None = None,
) -> TrainingSetup:
    """Read one file as ``fmt`` (detected when None)."""
    name = str(path)
    if text is None:
        if Path(name).suffix.lower() in (".bin", ".pt", ".pkl", ".pickle") or read_bytes_head(name).startswith(_PICKLE_MAGIC):
            if Path(name).exists():
                from ._hfstate import training_args_bin_error

                raise training_args_bin_error(name)
        text = read_text(path)
    fmt = _normal_format(fmt) or detect_format(name, text)
    if fmt == "nanogpt":
        from ._nanogpt import read_nanogpt_source

        return read_nanogpt_source(text, name, accumulation=accumulation)
    if fmt == "megatron":
        from ._megatron import read_megatron_text

        return read_megatron_text(text, name)
    if fmt == "torchtitan" and Path(name).suffix.lower() == ".py":
        from ._titan_py import read_titan_python

        return read_titan_python(text, name, preset)
    data = _parse_data(fmt, text, name)
    if fmt == "hf":
        from ._hf import hf_deepspeed_reference, read_hf_dict

        is_yaml = not (text.lstrip().startswith("{") or name.lower().endswith(".json"))
        setup = read_hf_dict(data, name, numeric_strings=is_yaml)
        setup.deepspeed_reference = hf_deepspeed_reference(data)
    else:
        setup = _readers()[fmt](data, name)
    return _with_state_dtype(setup, fmt, data, name)


def _with_state_dtype(setup: TrainingSetup, fmt: str, data: Any, name: str) -> TrainingSetup:
    """The precision of Adam's state, where the file states it (:mod:`._precision`)."""
    from ._precision import state_dtype_of

    found = state_dtype_of(fmt, data, name)
    if found is not None and setup.state_dtype is None:
        setup.set("state_dtype", *found)
    return setup


def _resolve_deepspeed(setup: TrainingSetup, given: dict[Path, str], fmt_given: dict[str, str]) -> list[TrainingSetup]:
    """The DeepSpeed setup(s) a TrainingArguments-style file names, resolved as the Trainer does."""
    from ._deepspeed import read_deepspeed_dict

    ref = setup.deepspeed_reference
    owner = setup.files[0]
    if isinstance(ref, dict):
        setup.notes.append(f"{owner}: deepspeed is an inline config (read too)")
        return [read_deepspeed_dict(ref, f"{owner}: deepspeed")]
    if not isinstance(ref, str) or not ref:
        return []
    candidate = Path(ref) if Path(ref).is_absolute() else Path.cwd() / ref
    resolved = candidate.resolve()
    if resolved in given:
        setup.notes.append(f"{owner}: deepspeed = {ref!r} is {given[resolved]}, given on the command line")
        return []
    same_name = [f for f, fmt in fmt_given.items() if fmt == "deepspeed" and Path(f).name == Path(ref).name]
    if same_name:
        setup.notes.append(
            f"{owner}: deepspeed = {ref!r}; {same_name[0]}, given on the command line, is taken as that file"
        )
        return []
    if candidate.is_file():
        setup.notes.append(
            f"{owner}: deepspeed = {ref!r} read from {resolved} (relative paths are resolved against the working "
            "directory, as the Trainer does)"
        )
        return [read_one(candidate, "deepspeed")]
    beside = Path(owner).parent / ref
    hint = f"; a file of that name exists at {beside}, pass it as a second file if it is the one" if beside.is_file() else ""
    setup.warnings.append(
        f"{owner} names the DeepSpeed config {ref!r}, not found in the working directory {Path.cwd()} (the Trainer "
        f"resolves it there, so run the check from where you launch training, or pass the file){hint}"
    )
    return []


def read_config(
    paths: str | Path | Sequence[str | Path], fmt: str | None = None, *, preset: str | None = None,
    accumulation: str | None = None,
) -> TrainingSetup:
    """Read and merge configuration files into one :class:`TrainingSetup`.

    ``fmt`` forces the format of every file (one of :data:`FORMATS`); by default each
    file's format is detected by signature. ``preset`` picks a torchtitan Python
    preset; ``accumulation`` (``per-rank`` or ``global``) the nanoGPT convention.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "train.py").write_text("batch_size = 64\\nbeta2 = 0.99\\n")
        >>> read_config(d / "train.py").get("beta2")
        0.99
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise ConfigError(
            f"paths must be a path or a list of paths (str or pathlib.Path), got {type(paths).__name__}"
        )
    if not paths:
        raise ConfigError("no configuration file was given: pass at least one file")
    setups = [read_one(p, fmt, preset=preset, accumulation=accumulation) for p in paths]
    if preset is not None and not any(s.format == "torchtitan" and "[preset " in s.files[0] for s in setups):
        raise ConfigError("preset applies to torchtitan Python config registries only: drop preset (CLI --preset)")
    if accumulation is not None and not any(s.format == "nanogpt" for s in setups):
        raise ConfigError("accumulation applies to nanoGPT configs only: drop accumulation (CLI --accumulation)")
    given = {Path(p).resolve(): str(p) for p in paths}
    fmt_given = {str(p): s.format for p, s in zip(paths, setups)}
    extra: list[TrainingSetup] = []
    for setup in setups:
        extra.extend(_resolve_deepspeed(setup, given, fmt_given))
    return merge_setups(setups + extra)
