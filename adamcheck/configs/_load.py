"""Read one or more configuration files into a :class:`TrainingSetup`.

The format comes from ``--format`` when given, else from the extension and content:

========== ======================================================================
``.py``    nanoGPT config (parsed with :mod:`ast`, never run)
``.toml``  torchtitan train config
``.json``  DeepSpeed config if it has DeepSpeed keys (``train_micro_batch_size_per_gpu``,
           ``train_batch_size``, ``zero_optimization``, ``optimizer.type``), else
           Hugging Face TrainingArguments
``.yaml``  the same test; trainers' YAML files are usually TrainingArguments
other      Megatron-LM arguments when the text has ``--adam-beta2``-style flags,
           else JSON/YAML/TOML by content
========== ======================================================================

Several files are merged (:func:`._setup.merge_setups`); a TrainingArguments file
whose ``deepspeed`` entry names a DeepSpeed config (a path that exists, or an inline
object) brings that config in too, as the Trainer does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from .._errors import ConfigError
from ._readutil import parse_json, parse_toml, parse_yaml, read_text
from ._setup import TrainingSetup, merge_setups

__all__ = ["FORMATS", "read_config", "read_one", "detect_format"]

FORMATS = ("hf", "deepspeed", "nanogpt", "megatron", "torchtitan")
_ALIASES = {
    "huggingface": "hf", "transformers": "hf", "trainingarguments": "hf", "training_args": "hf",
    "ds": "deepspeed", "nanogpt": "nanogpt", "megatron-lm": "megatron", "titan": "torchtitan",
}


def _normal_format(fmt: str | None) -> str | None:
    if fmt is None:
        return None
    key = fmt.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return key


def detect_format(path: str | Path, text: str) -> str:
    """The format of a config file, from its extension and content.

    Example:
        >>> detect_format("ds_config.json", '{"train_micro_batch_size_per_gpu": "auto"}')
        'deepspeed'
        >>> detect_format("run.sh", "torchrun pretrain_gpt.py --adam-beta2 0.95")
        'megatron'
    """
    from ._deepspeed import looks_like_deepspeed
    from ._hf import looks_like_hf
    from ._megatron import looks_like_megatron

    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix == ".py":
        return "nanogpt"
    if suffix == ".toml":
        return "torchtitan"
    if suffix in (".json", ".yaml", ".yml"):
        data = parse_json(text, name) if suffix == ".json" else parse_yaml(text, name)
        if looks_like_deepspeed(data):
            return "deepspeed"
        if looks_like_hf(data):
            return "hf"
        raise ConfigError(
            f"{name} looks like neither a DeepSpeed config nor TrainingArguments "
            f"(no known keys): pass fmt (CLI --format), one of {', '.join(FORMATS)}"
        )
    if looks_like_megatron(text):
        return "megatron"
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return detect_format(name + ".json", text)
    if stripped.startswith("["):
        return "torchtitan"
    raise ConfigError(f"cannot tell the format of {name}: pass fmt (CLI --format), one of {', '.join(FORMATS)}")


def _parse_data(fmt: str, text: str, name: str) -> Any:
    if fmt == "torchtitan":
        return parse_toml(text, name)
    if text.lstrip().startswith("{") or name.lower().endswith(".json"):
        return parse_json(text, name)
    return parse_yaml(text, name)


def read_one(path: str | Path, fmt: str | None = None, *, text: str | None = None) -> list[TrainingSetup]:
    """Read one file (plus the DeepSpeed config a TrainingArguments file names)."""
    name = str(path)
    if text is None:
        text = read_text(path)
    fmt = _normal_format(fmt) or detect_format(name, text)
    if fmt == "nanogpt":
        from ._nanogpt import read_nanogpt_source

        return [read_nanogpt_source(text, name)]
    if fmt == "megatron":
        from ._megatron import read_megatron_text

        return [read_megatron_text(text, name)]
    data = _parse_data(fmt, text, name)
    if fmt == "torchtitan":
        from ._torchtitan import read_torchtitan_dict

        return [read_torchtitan_dict(data, name)]
    if fmt == "deepspeed":
        from ._deepspeed import read_deepspeed_dict

        return [read_deepspeed_dict(data, name)]
    from ._hf import hf_deepspeed_reference, read_hf_dict

    is_yaml = not (text.lstrip().startswith("{") or name.lower().endswith(".json"))
    setups = [read_hf_dict(data, name, numeric_strings=is_yaml)]
    ref = hf_deepspeed_reference(data)
    if isinstance(ref, dict):
        from ._deepspeed import read_deepspeed_dict

        setups.append(read_deepspeed_dict(ref, f"{name}: deepspeed"))
    elif isinstance(ref, str):
        candidate = Path(ref) if Path(ref).is_absolute() else Path(name).parent / ref
        setups[0].notes.append(f"{name}: deepspeed = {ref!r} (that DeepSpeed config is read too)")
        setups[0].deepspeed_config = str(candidate)
    return setups


def read_config(paths: str | Path | Sequence[str | Path], fmt: str | None = None) -> TrainingSetup:
    """Read and merge configuration files into one :class:`TrainingSetup`.

    ``fmt`` forces the format of every file (``hf``, ``deepspeed``, ``nanogpt``,
    ``megatron``, ``torchtitan``); by default each file's format is detected.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "train.py").write_text("batch_size = 64\\nbeta2 = 0.99\\n")
        >>> read_config(d / "train.py").get("beta2")
        0.99
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise ConfigError("no configuration file was given: pass at least one file")
    setups: list[TrainingSetup] = []
    given = {Path(p).resolve() for p in paths}
    for path in paths:
        for setup in read_one(path, fmt):
            ds_path = setup.deepspeed_config
            setups.append(setup)
            if ds_path is not None and Path(ds_path).resolve() not in given:
                if Path(ds_path).is_file():
                    setups.extend(read_one(ds_path, "deepspeed"))
                    given.add(Path(ds_path).resolve())
                else:
                    setup.warnings.append(
                        f"{setup.files[0]} names the DeepSpeed config {str(ds_path)!r}, which was not "
                        "found; pass it as a second file to check it"
                    )
    return merge_setups(setups)
