"""Reader for Hugging Face ``TrainingArguments``: a JSON dump
(``TrainingArguments.to_json_string()``, ``training_args.json``) or the YAML/JSON
argument files trainers pass to ``HfArgumentParser`` (TRL, alignment-handbook,
``run_clm.py args.json``).

Keys read: ``adam_beta1``, ``adam_beta2``, ``adam_epsilon``, ``weight_decay``,
``learning_rate``, ``per_device_train_batch_size`` (``per_gpu_train_batch_size`` when
set, as transformers 4.x does), ``gradient_accumulation_steps``, ``optim``,
``adafactor``, ``max_steps``, ``num_train_epochs``, and a sequence length from
``max_seq_length``/``max_length``/``block_size``/``model_max_length`` when the file has one (TRL and
``run_clm.py`` keep it beside the training arguments). Keys the file leaves out take
the TrainingArguments defaults, named as such in the report.

Unknown keys: a key that is a misspelling of one adamcheck reads (``adam_beta_2``)
is refused, as ``HfArgumentParser`` refuses keys no dataclass declares; other keys
that are not TrainingArguments fields give a warning, because argument files
legitimately carry the model and data arguments of the script's other dataclasses,
which adamcheck cannot know.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._names import HF_ADAM, HF_SCRIPT_FIELDS, HF_TRAINING_ARGUMENTS_FIELDS, adam_name_or_raise, not_covered
from ._readutil import as_int, as_number, near_miss
from ._setup import TrainingSetup

__all__ = ["read_hf_dict", "HF_DEFAULTS", "TRL_DEFAULTS", "hf_evidence", "hf_deepspeed_reference", "hf_unknown_keys"]

#: TrainingArguments defaults for the keys adamcheck reads. ``optim`` defaulted to
#: "adamw_torch" in transformers 4.x and "adamw_torch_fused" in 5.x: both are AdamW.
HF_DEFAULTS: dict[str, Any] = {
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "adam_epsilon": 1e-8,
    "weight_decay": 0.0,
    "learning_rate": 5e-5,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "max_steps": -1,
    "num_train_epochs": 3.0,
    "optim": "adamw_torch",
}

TRL_VERSION = "TRL 1.9.0, f2cd577"
#: The TrainingArguments defaults that TRL's config classes replace, among the keys
#: adamcheck reads (trl/trainer/*_config.py and trl/experimental/*/*_config.py at TRL
#: 1.9.0, commit f2cd577). No TRL config changes the betas, eps or batch defaults.
TRL_DEFAULTS: dict[str, dict[str, Any]] = {
    "SFTConfig": {"learning_rate": 2e-5}, "GKDConfig": {"learning_rate": 2e-5},
    "DPOConfig": {"learning_rate": 1e-6}, "GRPOConfig": {"learning_rate": 1e-6},
    "KTOConfig": {"learning_rate": 1e-6}, "RLOOConfig": {"learning_rate": 1e-6},
    "ORPOConfig": {"learning_rate": 1e-6}, "CPOConfig": {"learning_rate": 1e-6},
    "RewardConfig": {"learning_rate": 1e-4}, "PRMConfig": {"learning_rate": 1e-5},
    "BCOConfig": {"learning_rate": 5e-7}, "OnlineDPOConfig": {"learning_rate": 5e-7},
    "XPOConfig": {"learning_rate": 5e-7}, "NashMDConfig": {"learning_rate": 5e-7},
    "PPOConfig": {"learning_rate": 3e-6}, "AsyncGRPOConfig": {"learning_rate": 1e-6},
    "TrainingArguments": {}, "Seq2SeqTrainingArguments": {}, "UnslothTrainingArguments": {},
}

_FIELD_OF = {
    "adam_beta1": "beta1",
    "adam_beta2": "beta2",
    "adam_epsilon": "eps",
    "weight_decay": "weight_decay",
    "learning_rate": "lr",
    "per_device_train_batch_size": "micro_batch",
    "gradient_accumulation_steps": "grad_accum",
}
#: Sequence-length keys, first found wins: TRL/run_clm names, and model_max_length of the
#: Alpaca-family scripts (FastChat, LLaVA, stanford_alpaca), a tokenizer maximum.
_SEQ_KEYS = ("max_seq_length", "max_length", "block_size", "model_max_length")
_WATCHED = tuple(HF_DEFAULTS) + ("per_gpu_train_batch_size", "adafactor") + _SEQ_KEYS
#: Keys that mark a dict as TrainingArguments (for format detection).
_MARKERS = {
    "adam_beta1", "adam_beta2", "adam_epsilon", "per_device_train_batch_size",
    "gradient_accumulation_steps", "output_dir", "optim", "num_train_epochs", "learning_rate", "adafactor",
}


#: Keys only TrainingArguments-style files use; learning_rate, weight_decay,
#: gradient_accumulation_steps or output_dir alone are shared with other frameworks.
_HF_ONLY = {
    "adam_beta1", "adam_beta2", "adam_epsilon", "per_device_train_batch_size", "per_gpu_train_batch_size",
    "optim", "num_train_epochs", "adafactor", "lr_scheduler_type", "warmup_ratio", "eval_strategy",
    "evaluation_strategy", "save_strategy", "logging_steps", "per_device_eval_batch_size", "do_train",
}


def hf_evidence(data: Any) -> list[str]:
    """TrainingArguments keys that mark a file as TrainingArguments: one only they use,
    or three TrainingArguments fields (``seed``, ``learning_rate``, ``weight_decay`` and
    the like are shared with other frameworks, so one or two prove nothing). Misspellings
    of keys adamcheck reads count, so that the reader can refuse them."""
    if not isinstance(data, dict):
        return []
    keys = [k for k in data if isinstance(k, str)]
    only = [k for k in keys if k in _HF_ONLY]
    if only:
        return only
    fields = [k for k in keys if k in HF_TRAINING_ARGUMENTS_FIELDS]
    if len(fields) >= 3 and set(fields) & _MARKERS:
        return fields
    return [k for k in keys if k not in HF_TRAINING_ARGUMENTS_FIELDS and near_miss(k, _WATCHED, HF_TRAINING_ARGUMENTS_FIELDS)]


def read_hf_dict(data: Any, name: str, *, numeric_strings: bool = False, sources: dict[str, str] | None = None,
                 config_class: str | None = None, fmt: str = "hf") -> TrainingSetup:
    """Read a TrainingArguments mapping into a :class:`TrainingSetup`.

    ``numeric_strings`` accepts ``"1e-8"`` for numeric keys (YAML 1.1 reads ``1e-8``
    without a dot as a string). ``sources`` gives a key's provenance when it is not
    ``"FILE: key"`` (a Python call's line, a launch flag). ``config_class`` names the
    TRL config the values feed (``SFTConfig``...): its own defaults
    (:data:`TRL_DEFAULTS`) replace TrainingArguments' and its fields are not unknown keys.

    Example:
        >>> s = read_hf_dict({"adam_beta2": 0.95, "per_device_train_batch_size": 4}, "args.json")
        >>> s.get("beta2"), s.get("micro_batch"), s.get("beta1")
        (0.95, 4, 0.9)
        >>> s.beta1.source
        'default of TrainingArguments (adam_beta1; the same in transformers 4.36 to 5.23)'
    """
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name} holds a {type(data).__name__}, not a mapping of TrainingArguments keys: "
            "give the JSON/YAML dump of TrainingArguments"
        )
    setup = TrainingSetup(format=fmt, files=[name])
    unknown = []
    own = TRL_DEFAULTS.get(config_class or "", {})
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"{name} has a non-string key {key!r}: keys must be argument names")
        if key in HF_TRAINING_ARGUMENTS_FIELDS or key in _SEQ_KEYS or (config_class and key in HF_SCRIPT_FIELDS):
            continue
        guess = near_miss(key, _WATCHED, HF_TRAINING_ARGUMENTS_FIELDS)
        if guess is not None:
            raise ConfigError(
                f"{name}: {key!r} is not a TrainingArguments field (did you mean {guess!r}?); "
                "HfArgumentParser would refuse it too: fix the key"
            )
        unknown.append(key)
    if unknown:
        setup.warnings.append(
            f"{name}: keys that are not TrainingArguments fields were ignored: {', '.join(unknown)} "
            "(fine if they belong to the script's model or data arguments)"
        )

    def where(key: str) -> str:
        return (sources or {}).get(key, f"{name}: {key}")

    def take(key: str) -> tuple[Any, str, bool]:
        if key in data and data[key] is not None:
            return data[key], where(key), False
        if key in own:
            return own[key], f"default of {config_class} ({key}; {TRL_VERSION})", True
        return HF_DEFAULTS[key], f"default of TrainingArguments ({key}; the same in transformers 4.36 to 5.23)", True

    for key in ("adam_beta1", "adam_beta2", "adam_epsilon", "weight_decay", "learning_rate"):
        value, source, _ = take(key)
        setup.set(_FIELD_OF[key], float(as_number(value, source, strings=numeric_strings)), source)

    micro_key = "per_device_train_batch_size"
    if data.get("per_gpu_train_batch_size") is not None:
        micro_key = "per_gpu_train_batch_size"
        setup.warnings.append(
            f"{name}: per_gpu_train_batch_size is set; transformers 4.x uses it instead of "
            "per_device_train_batch_size (it was removed in 5.x)"
        )
        value, source = data[micro_key], where(micro_key)
    elif config_class in ("GRPOConfig", "RLOOConfig", "AsyncGRPOConfig"):
        value, source, _ = take(micro_key)
        setup.notes.append(
            f"{config_class}: per_device_train_batch_size counts completions (num_generations of them per prompt), "
            "and each optimizer step averages over them"
        )
    else:
        value, source, _ = take(micro_key)
    micro = as_int(value, source, strings=numeric_strings)
    setup.set("micro_batch", micro, source)
    value, source, _ = take("gradient_accumulation_steps")
    setup.set("grad_accum", as_int(value, source, strings=numeric_strings), source)

    if data.get("adafactor") is True:
        raise not_covered("Adafactor (adafactor = true selects it)", f"{name}: adafactor")
    value, source, defaulted = take("optim")
    if isinstance(value, dict):  # to_dict() of an enum-valued field in some versions
        value = value.get("value", value)
    value = getattr(value, "value", value)
    adam_name_or_raise(value, HF_ADAM, source)
    if defaulted:
        source = "default of TrainingArguments (optim: adamw_torch in 4.x, adamw_torch_fused in 5.x)"
    setup.set("optimizer", value, source)

    value, source, _ = take("max_steps")
    steps = as_int(value, source, strings=numeric_strings)
    if steps > 0:
        setup.set("max_steps", steps, source)
    value, source, _ = take("num_train_epochs")
    setup.set("num_epochs", float(as_number(value, source, strings=numeric_strings)), source)

    for key in _SEQ_KEYS:
        if data.get(key) is not None:
            seq = as_int(data[key], where(key), strings=numeric_strings)
            setup.set("seq_len", seq, where(key))
            setup.notes.append(
                f"{where(key)} = {seq} is a maximum length: tokens per step are fewer unless sequences are packed"
            )
            break
    if data.get("auto_find_batch_size") is True:
        setup.warnings.append(
            f"{name}: auto_find_batch_size = true: the Trainer halves the batch on out-of-memory, "
            "so the batch checked here may not be the one that runs"
        )
    return setup


def hf_deepspeed_reference(data: dict[str, Any]) -> Any:
    """The ``deepspeed`` entry of TrainingArguments (a path or an inline dict), or None."""
    value = data.get("deepspeed") if isinstance(data, dict) else None
    return value or None


def hf_unknown_keys(data: dict[str, Any]) -> list[str]:
    """Top-level keys that are neither TrainingArguments fields nor the model/data/TRL
    arguments that argument files carry beside them (:data:`~._names.HF_SCRIPT_FIELDS`),
    nor misspellings of the keys adamcheck reads (the reader refuses those by name)."""
    return [str(k) for k in data if k not in HF_TRAINING_ARGUMENTS_FIELDS and k not in HF_SCRIPT_FIELDS
            and k not in _SEQ_KEYS and not (isinstance(k, str) and near_miss(k, _WATCHED, HF_TRAINING_ARGUMENTS_FIELDS))]
