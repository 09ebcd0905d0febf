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
``maxtext``     ``adam_b1``/``adam_b2``/``per_device_batch_size``/``ici_*_parallelism``...
``mlx``         mlx-lm's ``iters``, ``fine_tune_type``, ``lora_parameters``... (two or more)
``foundry``     llm-foundry: ``optimizer.name: decoupled_*``, ``max_seq_len``, ``variables``...
``nemo``        ``model.optim`` with ``model.micro_batch_size``/``global_batch_size``, ``trainer``
``hf`` (.py)    a ``TrainingArguments(...)``/``SFTConfig(...)``/... call, parsed with :mod:`ast`
``launch``      text with TrainingArguments flags (``--per_device_train_batch_size``...)
                after ``torchrun``/``accelerate launch``/``deepspeed``/``python``/``trl``
=============== =====================================================================

A file that passes for Hugging Face TrainingArguments only by sharing a few generic
names (``learning_rate``, ``gradient_accumulation_steps``) is not taken for one: keys
of another framework (``adam_b2``, ``per_device_batch_size``, a top-level
``batch_size``, ``iters``...) or a majority of keys that are neither TrainingArguments
nor the model/data/TRL arguments that argument files carry mean a refusal that says
what the file looks like.

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
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from .._errors import ConfigError
from ._axolotl import axolotl_evidence, read_axolotl_dict
from ._deepspeed import deepspeed_evidence, read_deepspeed_dict
from ._foundry import foundry_evidence, read_foundry_dict
from ._hf import _HF_ONLY, hf_deepspeed_reference, hf_evidence, hf_unknown_keys, read_hf_dict
from ._hf_py import hf_python_calls, read_hf_python
from ._hfstate import (
    accelerate_evidence,
    read_accelerate_dict,
    read_trainer_state_dict,
    trainer_state_evidence,
    training_args_bin_error,
)
from ._launch import launch_evidence, read_launch_text
from ._levanter import levanter_evidence, read_levanter_dict
from ._litgpt import litgpt_evidence, read_litgpt_dict
from ._llamafactory import llamafactory_evidence, read_llamafactory_dict
from ._maxtext import maxtext_evidence, read_maxtext_dict
from ._megatron import looks_like_megatron, read_megatron_text
from ._mlx import mlx_evidence, read_mlx_dict
from ._nanogpt import NANOGPT_DEFAULTS, read_nanogpt_source
from ._nemo import nemo_evidence, read_nemo_dict
from ._olmo import olmo_evidence, read_olmo_dict
from ._precision import state_dtype_of
from ._readutil import parse_json, parse_python, parse_toml, parse_yaml, read_bytes_head, read_text
from ._setup import TrainingSetup, merge_setups
from ._titan_py import read_titan_python, titan_python_evidence
from ._torchtitan import read_torchtitan_dict
from ._torchtune import read_torchtune_dict, torchtune_evidence

__all__ = ["FORMATS", "read_config", "read_one", "detect_format"]

FORMATS = (
    "hf", "deepspeed", "nanogpt", "megatron", "torchtitan", "axolotl", "llamafactory", "torchtune",
    "litgpt", "olmo", "levanter", "trainer_state", "accelerate", "maxtext", "mlx", "foundry", "nemo", "launch",
)
_ALIASES = {
    "huggingface": "hf", "transformers": "hf", "trainingarguments": "hf", "training_args": "hf", "trl": "hf",
    "ds": "deepspeed", "megatron-lm": "megatron", "titan": "torchtitan", "llama-factory": "llamafactory",
    "llama_factory": "llamafactory", "lit-gpt": "litgpt", "trainer-state": "trainer_state",
    "mlx-lm": "mlx", "mlx_lm": "mlx", "llm-foundry": "foundry", "llmfoundry": "foundry", "composer": "foundry",
    "mosaicml": "foundry", "torchrun": "launch", "command": "launch", "shell": "launch",
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
    "maxtext": {"hf"},
    "mlx": {"hf", "axolotl"},
    "foundry": {"hf", "olmo", "deepspeed"},
    "nemo": {"hf", "deepspeed"},
}
#: Frameworks whose files never use TrainingArguments' own names: they outrank the
#: generic hf signature only when the file has none of those (per_device_train_batch_size,
#: adam_beta2...); with them, the file holds two frameworks' keys and is refused.
_OWN_NAMES = {"maxtext", "mlx", "foundry", "nemo", "olmo", "levanter", "litgpt"}


def _hf_only_keys(data: dict[str, Any]) -> list[str]:
    return [k for k in data if k in _HF_ONLY]


#: Keys that are not Hugging Face TrainingArguments but another framework's: a file
#: holding them is not read as TrainingArguments (a silent misread otherwise: MaxText's
#: base.yml has learning_rate and gradient_accumulation_steps too).
_FOREIGN_TO_HF = {
    "adam_b1": "MaxText", "adam_b2": "MaxText", "adam_eps": "MaxText", "per_device_batch_size": "MaxText",
    "opt_type": "MaxText", "iters": "mlx-lm", "fine_tune_type": "mlx-lm", "lora_parameters": "mlx-lm",
    "batch_size": "a trainer with a single batch_size (mlx-lm, nanoGPT, axolotl...)",
    "micro_batch_size": "axolotl, NeMo or LLaMA-Factory v1", "global_batch_size": "NeMo, litgpt or torchtitan",
    "global_train_batch_size": "OLMo or llm-foundry", "device_train_microbatch_size": "OLMo or llm-foundry",
    "train_micro_batch_size_per_gpu": "DeepSpeed", "max_duration": "OLMo or llm-foundry (Composer)",
    "betas": "a config with an optimizer betas list", "beta1": "a config with bare beta1/beta2",
    "beta2": "a config with bare beta1/beta2", "lr": "a config with a bare lr",
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
    return {
        "trainer_state": trainer_state_evidence, "accelerate": accelerate_evidence,
        "axolotl": axolotl_evidence, "llamafactory": llamafactory_evidence, "torchtune": torchtune_evidence,
        "litgpt": litgpt_evidence, "olmo": olmo_evidence, "levanter": levanter_evidence,
        "maxtext": maxtext_evidence, "mlx": mlx_evidence, "foundry": foundry_evidence, "nemo": nemo_evidence,
        "deepspeed": deepspeed_evidence, "hf": hf_evidence,
    }


def _unrecognised(name: str, looks: str) -> ConfigError:
    return ConfigError(
        f"{name}: unrecognised configuration (looks like {looks}): pass --format with one of "
        f"{', '.join(FORMATS)} if it is one of these, else adamcheck cannot read it"
    )


def detect_mapping(data: Any, name: str) -> str:
    """The format of a parsed JSON/YAML mapping, by signature (see the module docstring).

    Example:
        >>> detect_mapping({"optimizer": {"name": "adamw"}, "global_train_batch_size": 1024}, "c.yaml")
        'olmo'
        >>> detect_mapping({"trainer": {"train_batch_size": 1024}, "optimizer": {"type": "adam"}}, "c.yaml")
        'levanter'
    """
    if data is None:  # YAML reads an empty file (or one of comments only) as None
        raise ConfigError(f"{name}: the file is empty (or holds only comments): no settings to check; "
                          "pass the configuration file your training reads")
    if not isinstance(data, dict):
        raise _unrecognised(name, f"a {type(data).__name__}, not a mapping of settings")
    matches = {fmt: ev for fmt, sig in _signatures().items() if (ev := sig(data))}
    hf_own = _hf_only_keys(data)
    for fmt in list(matches):
        for lower in _OUTRANKS.get(fmt, ()):
            if lower == "hf" and hf_own and fmt in _OWN_NAMES:
                continue  # TrainingArguments-only keys beside another framework's: two signatures
            matches.pop(lower, None)
    if len(matches) == 1:
        fmt = next(iter(matches))
        if fmt == "hf":
            _refuse_foreign_to_hf(data, name)
        return fmt
    if len(matches) > 1:
        looks = " or ".join(f"{fmt} ({', '.join(ev[:3])})" for fmt, ev in matches.items())
        raise _unrecognised(name, looks)
    keys = [str(k) for k in list(data)[:6]]
    raise _unrecognised(name, f"none of the known formats; keys {', '.join(keys) or '(none)'}")


def _refuse_foreign_to_hf(data: dict[str, Any], name: str) -> None:
    """A TrainingArguments signature is refused when the file also holds another
    framework's keys, or when most of its keys are unknown to Hugging Face."""
    foreign = [k for k in data if k in _FOREIGN_TO_HF]
    if foreign:
        looks = _FOREIGN_TO_HF[foreign[0]]
        raise _unrecognised(
            name, f"{looks}: it has {', '.join(foreign[:4])}, which Hugging Face TrainingArguments do not"
        )
    unknown = hf_unknown_keys(data)
    if len(unknown) * 2 > len(data):
        raise _unrecognised(
            name, f"another framework's config: {len(unknown)} of its {len(data)} keys are not Hugging Face "
            f"TrainingArguments or TRL/model/data arguments ({', '.join(unknown[:5])}...)"
        )


#: Imports that mark a NeMo 2.0 recipe script (Python builders of run.Config objects).
_NEMO2 = ("nemo.collections.llm", "nemo_run", "nemo.lightning")
_ARGPARSERS = ("HfArgumentParser", "TrlParser", "ArgumentParser")


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _detect_python(text: str, name: str) -> str:
    tree = parse_python(text, name)
    if titan_python_evidence(tree):
        return "torchtitan"
    imports = _imports(tree)
    nemo = [m for m in imports if m.startswith(_NEMO2)]
    if nemo:
        raise _unrecognised(
            name, f"a NeMo 2.0 recipe (it imports {nemo[0]}), Python that builds its settings in NeMo's recipe "
            "functions, which adamcheck does not run; print the recipe's optim.config and data settings and check "
            "them with adamcheck check --batch-size B --beta1 X --beta2 Y"
        )
    if hf_python_calls(tree):
        return "hf"
    calls = {n.func.id if isinstance(n.func, ast.Name) else n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute))}
    parsers = [c for c in _ARGPARSERS if c in calls]
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assigned = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    if parsers:
        raise _unrecognised(
            name, f"a training script that takes its arguments from the command line ({parsers[0]}): check the "
            "launch line (a .sh file or a one-line file) or the YAML/JSON argument file instead"
        )
    if defs:
        raise _unrecognised(
            name, f"a Python module or training script (it defines {defs[0].name} on line {defs[0].lineno}) with no "
            "TrainingArguments(...)/SFTConfig(...) call and no nanoGPT settings"
        )
    if assigned & set(NANOGPT_DEFAULTS):
        return "nanogpt"
    if not assigned:
        # An empty file would mean "all of train.py's defaults" to nanoGPT, but an empty
        # __init__.py is far more common: say so rather than check 600,000 default steps.
        raise _unrecognised(name, "a Python file that assigns nothing; --format nanogpt reads it as train.py's defaults")
    raise _unrecognised(name, "Python without nanoGPT train.py settings or a TrainingArguments(...) call")


_MEGATRON_ONLY = re.compile(r"--(micro-batch-size|global-batch-size|train-iters|train-samples|seq-length|"
                            r"tensor-model-parallel-size|pipeline-model-parallel-size)\b")
_MAXTEXT_LAUNCH = re.compile(r"(MaxText|maxtext)[./](train|trainers)\b|\.yml\s+\S*(per_device_batch_size|adam_b2|steps)=")
_MLX_LAUNCH = re.compile(r"\bmlx_lm[. ](lora|tuner)\b|-m\s+mlx_lm\b")


def _detect_text(text: str, name: str) -> str:
    """A launch line or script: Hugging Face flags, Megatron flags, or what it looks like."""
    hf = launch_evidence(text)
    megatron = _MEGATRON_ONLY.findall(text)
    if hf and megatron:
        raise _unrecognised(
            name, f"both Hugging Face flags (--{hf[0]}) and Megatron-LM flags (--{megatron[0]}): pass --format "
            "launch or --format megatron, or split the runs into two files"
        )
    if _MAXTEXT_LAUNCH.search(text):
        raise _unrecognised(
            name, "a MaxText launch line (key=value overrides of a YAML): write the overrides into a YAML with "
            "base_config: base.yml and check it with --world-size"
        )
    if _MLX_LAUNCH.search(text) and not hf:
        raise _unrecognised(name, "an mlx-lm command line: write its flags into a YAML config (mlx_lm.lora --config) and check that")
    if hf:
        return "launch"
    if looks_like_megatron(text):
        return "megatron"
    return ""


def detect_format(path: str | Path, text: str) -> str:
    """The format of a config file, from its extension and its keys (see the module docstring).

    Example:
        >>> detect_format("ds_config.json", '{"train_micro_batch_size_per_gpu": "auto"}')
        'deepspeed'
        >>> detect_format("run.sh", "torchrun pretrain_gpt.py --adam-beta2 0.95")
        'megatron'
        >>> detect_format("run.sh", "accelerate launch sft.py --per_device_train_batch_size 4")
        'launch'
    """
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
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return detect_mapping(parse_json(text, name), name)
    found = _detect_text(text, name)
    if found:
        return found
    if stripped.startswith("["):
        return detect_format(name + ".toml", text)
    raise _unrecognised(
        name, "no known format (no Hugging Face or Megatron flags, not JSON, YAML or TOML by its extension)"
    )


def _parse_data(fmt: str, text: str, name: str, notes: list[str]) -> Any:
    if fmt == "torchtitan":
        return parse_toml(text, name)
    if text.lstrip().startswith("{") or name.lower().endswith(".json"):
        return parse_json(text, name, notes)
    return parse_yaml(text, name, Path(name).parent, notes)


def _readers() -> dict[str, Callable[[Any, str], TrainingSetup]]:
    return {
        "deepspeed": read_deepspeed_dict, "axolotl": read_axolotl_dict, "llamafactory": read_llamafactory_dict,
        "torchtune": read_torchtune_dict, "litgpt": read_litgpt_dict, "olmo": read_olmo_dict,
        "levanter": read_levanter_dict, "trainer_state": read_trainer_state_dict,
        "accelerate": read_accelerate_dict, "torchtitan": read_torchtitan_dict, "maxtext": read_maxtext_dict,
        "mlx": read_mlx_dict, "foundry": read_foundry_dict, "nemo": read_nemo_dict,
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
                raise training_args_bin_error(name)
        text = read_text(path)
    forced = _normal_format(fmt)
    fmt = forced or detect_format(name, text)
    if fmt == "nanogpt":
        return read_nanogpt_source(text, name, accumulation=accumulation)
    if fmt == "megatron":
        return read_megatron_text(text, name)
    if fmt == "launch":
        return read_launch_text(text, name)
    if fmt == "torchtitan" and Path(name).suffix.lower() == ".py":
        return read_titan_python(text, name, preset)
    if fmt == "hf" and Path(name).suffix.lower() == ".py":
        return read_hf_python(text, name)
    notes: list[str] = []
    data = _parse_data(fmt, text, name, notes)
    if fmt == "hf":
        is_yaml = not (text.lstrip().startswith("{") or name.lower().endswith(".json"))
        setup = read_hf_dict(data, name, numeric_strings=is_yaml)
        setup.deepspeed_reference = hf_deepspeed_reference(data)
    else:
        setup = _readers()[fmt](data, name)
    setup.warnings.extend(notes)
    if forced and forced == "hf" and isinstance(data, dict):
        foreign = [k for k in data if k in _FOREIGN_TO_HF]
        if foreign:
            setup.warnings.append(
                f"{name} is read as TrainingArguments because --format hf was given, but it has "
                f"{', '.join(foreign[:4])}, keys of {_FOREIGN_TO_HF[foreign[0]]}: check that the format is right"
            )
    return _with_state_dtype(setup, fmt, data, name)


def _with_state_dtype(setup: TrainingSetup, fmt: str, data: Any, name: str) -> TrainingSetup:
    """The precision of Adam's state, where the file states it (:mod:`._precision`)."""
    found = state_dtype_of(fmt, data, name)
    if found is not None and setup.state_dtype is None:
        setup.set("state_dtype", *found)
    return setup


def _resolve_deepspeed(setup: TrainingSetup, given: dict[Path, str], fmt_given: dict[str, str]) -> list[TrainingSetup]:
    """The DeepSpeed setup(s) a TrainingArguments-style file names, resolved as the Trainer does."""
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
