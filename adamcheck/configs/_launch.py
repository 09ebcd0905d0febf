"""Reader for launch lines of Hugging Face / TRL training scripts: a shell script or a
one-line file such as ::

    torchrun --nproc_per_node 8 run_clm.py --per_device_train_batch_size 4 \\
        --gradient_accumulation_steps 8 --adam_beta2 0.98 --block_size 1024
    accelerate launch --num_processes 4 trl/scripts/sft.py --learning_rate 2e-5 ...
    deepspeed --num_gpus 8 train.py --deepspeed ds_config.json --per_device_train_batch_size 2 ...
    trl sft --model_name_or_path Qwen/Qwen2-0.5B --per_device_train_batch_size 2 ...

The text is split as bash splits it (:mod:`._shell`: ``--flag value`` and
``--flag=value``, quotes, line continuations, comments; ``$NAME`` from a plain
``NAME=literal`` in the same file, anything else unresolved). Script flags are
TrainingArguments (or TRL config) fields, with dashes or underscores, as
``HfArgumentParser`` accepts them; a bare flag (``--bf16``, ``--adafactor``) is True.
Values are read as :mod:`._hf` reads an argument file, with that class's defaults
(the TRL config named by ``trl sft``/``trl dpo``... or by a ``trl/scripts/sft.py``
path, else TrainingArguments).

The world size comes from the launcher: torchrun / ``torch.distributed.run``
``--nproc_per_node`` x ``--nnodes``; accelerate ``--num_processes`` (all machines
together; its ``--config_file`` is named, not read: pass that file too); deepspeed
``--num_gpus`` x ``--num_nodes`` or the GPUs of ``--include``. A launcher that takes
every GPU of the machine (deepspeed or accelerate without a count) leaves the world
size to ``--world-size``. A plain ``python script.py`` is one process.

A flag given twice with different values is refused (one script, several runs?).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from ._hf import _SEQ_KEYS, TRL_DEFAULTS, read_hf_dict
from ._hf_py import _FIELDS
from ._names import HF_SCRIPT_FIELDS, HF_TRAINING_ARGUMENTS_FIELDS
from ._readutil import as_int
from ._setup import TrainingSetup
from ._shell import expand, long_flags, shell_variables, shell_words

__all__ = ["read_launch_text", "launch_evidence"]

#: TrainingArguments flags no other launcher or framework uses.
_HF_FLAGS = {
    "per_device_train_batch_size", "per_gpu_train_batch_size", "gradient_accumulation_steps", "adam_beta1",
    "adam_beta2", "adam_epsilon", "num_train_epochs", "output_dir", "learning_rate", "lr_scheduler_type",
    "warmup_ratio", "per_device_eval_batch_size", "save_strategy", "eval_strategy", "evaluation_strategy",
    "logging_steps", "optim",
}
#: Launcher flags (torchrun, torch.distributed.launch, accelerate, deepspeed).
_LAUNCHER = {
    "nproc_per_node", "nnodes", "node_rank", "master_addr", "master_port", "rdzv_backend", "rdzv_endpoint",
    "rdzv_id", "rdzv_conf", "standalone", "max_restarts", "monitor_interval", "start_method", "role", "module",
    "no_python", "run_path", "log_dir", "redirects", "tee", "local_addr", "logs_specs", "local_rank",
    "use_env", "num_processes", "num_machines", "machine_rank", "main_process_ip", "main_process_port",
    "config_file", "mixed_precision", "multi_gpu", "use_deepspeed", "use_fsdp", "dynamo_backend",
    "num_cpu_threads_per_process", "gpu_ids", "same_network", "deepspeed_config_file", "zero_stage",
    "gradient_clipping", "offload_optimizer_device", "offload_param_device", "deepspeed_multinode_launcher",
    "fsdp_sharding_strategy", "fsdp_auto_wrap_policy", "num_gpus", "num_nodes", "include", "exclude",
    "hostfile", "master_addr", "launcher", "launcher_args", "force_multi", "autotuning", "elastic_training",
    "bind_cores_to_rank", "ssh_port", "no_local_rank", "tpu", "cpu", "debug", "quiet",
}
_TRL_COMMANDS = {"sft": "SFTConfig", "dpo": "DPOConfig", "grpo": "GRPOConfig", "kto": "KTOConfig",
                 "reward": "RewardConfig", "rloo": "RLOOConfig", "orpo": "ORPOConfig", "ppo": "PPOConfig"}
_TRL_SCRIPT = re.compile(r"(?:^|/)trl/(?:scripts|examples/scripts)/(sft|dpo|grpo|kto|reward|rloo|orpo|ppo)[a-z_0-9]*\.py$")
_KNOWN = HF_TRAINING_ARGUMENTS_FIELDS | HF_SCRIPT_FIELDS | set(_SEQ_KEYS)


def _key(flag: str) -> str:
    return flag[2:].replace("-", "_")


#: Dashed spellings that are Megatron-LM's own flags as well as HfArgumentParser aliases.
_MEGATRON_TWINS = {"adam-beta1", "adam-beta2"}


def launch_evidence(text: str) -> list[str]:
    """TrainingArguments flags (``--per_device_train_batch_size``...) in ``text``; the
    dashed ``--adam-beta2`` is Megatron-LM's spelling too and proves nothing."""
    found = re.findall(r"--([A-Za-z][A-Za-z0-9_-]*)", text)
    return sorted({f for f in found if f.replace("-", "_") in _HF_FLAGS and f not in _MEGATRON_TWINS})


def _entry(words: list[tuple[str, int]]) -> tuple[str | None, str | None]:
    """(the training entry point, the TRL config class it implies)."""
    texts = [w for w, _ in words]
    for i, word in enumerate(texts):
        if word == "trl" and i + 1 < len(texts) and texts[i + 1] in _TRL_COMMANDS:
            return f"trl {texts[i + 1]}", _TRL_COMMANDS[texts[i + 1]]
    scripts = [w for w in texts if w.endswith(".py") and not w.startswith("-")]
    for script in scripts:
        match = _TRL_SCRIPT.search(script)
        if match:
            return script, _TRL_COMMANDS[match.group(1)]
    return (scripts[0] if scripts else None), None


def read_launch_text(text: str, name: str) -> TrainingSetup:
    """Read a Hugging Face / TRL launch line (or a script of them).

    Example:
        >>> s = read_launch_text("torchrun --nproc_per_node 8 run_clm.py --per_device_train_batch_size 4 "
        ...                      "--gradient_accumulation_steps=8 --adam_beta2 0.98 --block_size 1024", "run.sh")
        >>> s.get("micro_batch"), s.get("grad_accum"), s.get("world_size"), s.get("beta2"), s.get("seq_len")
        (4, 8, 8, 0.98, 1024)
        >>> s.beta2.source
        'run.sh line 1: --adam_beta2'
    """
    words = shell_words(text, name)
    variables = shell_variables(words)
    entry, config_class = _entry(words)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    unresolved: dict[str, str] = {}
    launcher: dict[str, tuple[str | None, str]] = {}
    seen: dict[str, tuple[str, str]] = {}
    unknown: list[str] = []
    for flag, raw_values, line in long_flags(words):
        key = _key(flag)
        where = f"{name} line {line}: {flag}"
        if raw_values:
            value, where_v = expand(raw_values[0], variables, where)
        else:
            value, where_v = "true", where  # a bare flag: HfArgumentParser's store_true
        shown = value if value is not None else raw_values[0]
        if key in seen and seen[key][0] != shown:
            raise ConfigError(
                f"{name}: {flag} is given twice with different values ({seen[key][1]}: {seen[key][0]}, line {line}: "
                f"{shown}): several runs in one script? pass the one command line to check"
            )
        seen[key] = (shown, f"line {line}")
        if key in _LAUNCHER and key not in _KNOWN:
            launcher[key] = (value, where_v)
            continue
        if key not in _KNOWN:
            # argparse (HfArgumentParser) accepts a unique prefix of a flag: --num_train_epoch
            prefixed = [k for k in HF_TRAINING_ARGUMENTS_FIELDS | set(_SEQ_KEYS) if k.startswith(key)]
            if len(prefixed) != 1:
                unknown.append(flag)
                continue
            key = prefixed[0]
            where_v += f" (argparse takes it as --{key})"
        if value is None:
            unresolved[key] = where_v
            continue
        values[key] = _scalar(value)
        sources[key] = where_v
    setup = read_hf_dict(values, name, numeric_strings=True, sources=sources, config_class=config_class or "TrainingArguments",
                         fmt="launch")
    for key, why in unresolved.items():
        for field in _FIELDS.get(key, ()):
            setattr(setup, field, None)
            setup.unresolved[field] = why
    if unknown:
        setup.warnings.append(
            f"{name}: flags that are not TrainingArguments fields were ignored: {', '.join(sorted(set(unknown))[:12])} "
            "(fine if the script defines them)"
        )
    if entry is None:
        setup.warnings.append(f"{name}: no training script (.py) named; the flags are read as TrainingArguments")
    elif config_class is None:
        setup.notes.append(
            f"{name}: {entry} is read as a script that parses TrainingArguments (HfArgumentParser): its defaults apply "
            "to flags it is not given; a script with its own optimizer code may differ"
        )
    else:
        setup.notes.append(f"{name}: {entry} trains with TRL's {config_class}: its defaults apply to flags not given")
    ds = values.get("deepspeed")
    if isinstance(ds, str) and ds and ds != "true":
        setup.deepspeed_reference = ds
    for key in ("config", "config_file"):
        if key in values or key in launcher:
            ref = values.get(key) or launcher[key][0]
            setup.warnings.append(
                f"{name}: --{key} {ref} holds more settings, read only when that file is passed too (it can set the "
                "process count, the batch or the betas)"
            )
    positional = [w for w, _ in words if w.endswith((".yaml", ".yml", ".json")) and not w.startswith("-")
                  and w not in (str(ds),) and all(w != str(v[0]) for v in launcher.values())]
    if positional:
        setup.warnings.append(
            f"{name}: {positional[0]} is passed to the script and may hold training arguments not read here: pass "
            "it too, or check it on its own"
        )
    _world(setup, launcher, [w for w, _ in words], name)
    return setup


def _scalar(value: str) -> Any:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


def _world(setup: TrainingSetup, launcher: dict[str, tuple[str | None, str]], texts: list[str], name: str) -> None:
    """The world size the launcher starts, or why it cannot be known from the line."""
    def number(key: str) -> int | None:
        value, where = launcher[key]
        if value is None:
            setup.unresolved["world_size"] = where
            setup.world_size_required = f"{where}: pass --world-size with the process count"
            return None
        if not re.fullmatch(r"[0-9]+", value):
            setup.world_size_required = f"{where} = {value} is decided at launch: pass --world-size"
            return None
        return as_int(value, where, strings=True)

    if "nproc_per_node" in launcher or "nnodes" in launcher:
        per = number("nproc_per_node") if "nproc_per_node" in launcher else 1
        nodes = number("nnodes") if "nnodes" in launcher else 1
        if per is not None and nodes is not None:
            setup.set("world_size", per * nodes, f"{name}: torchrun --nproc_per_node {per} x --nnodes {nodes}")
        return
    if "num_processes" in launcher:  # accelerate: the total over every machine
        total = number("num_processes")
        if total is not None:
            setup.set("world_size", total, f"{launcher['num_processes'][1]} (accelerate counts every machine's processes)")
        return
    if "num_gpus" in launcher or "include" in launcher:  # the deepspeed launcher
        nodes = number("num_nodes") if "num_nodes" in launcher else 1
        if "num_gpus" in launcher:
            per = number("num_gpus")
            how = f"--num_gpus {per}"
        else:
            value = launcher["include"][0] or ""
            hosts = value.split("@")
            per = sum(len(h.split(":", 1)[1].split(",")) for h in hosts if ":" in h) or None
            how = f"--include {value}"
            if len(hosts) > 1:
                nodes = 1
        if per is not None and nodes is not None:
            setup.set("world_size", per * nodes, f"{name}: deepspeed {how} x {nodes} node(s)")
        return
    if _launched_by(texts, "deepspeed"):
        setup.world_size_required = (
            f"{name}: the deepspeed launcher without --num_gpus starts one process per GPU of the machine: "
            "pass --world-size"
        )
        return
    if _launched_by(texts, "accelerate"):
        setup.world_size_required = (
            f"{name}: accelerate launch without --num_processes takes the count from its config file: pass "
            "--world-size"
        )
        return
    if _launched_by(texts, "torchrun") or any("torch.distributed" in t for t in texts):
        setup.set("world_size", 1, f"{name}: torchrun without --nproc_per_node starts one process")
        return
    setup.notes.append(
        f"{name}: a plain python launch is one process; with several visible GPUs the Trainer wraps the model in "
        "nn.DataParallel and the batch per step grows with their count (pass --world-size then)"
    )


def _launched_by(texts: list[str], launcher: str) -> bool:
    """Whether a command word (not a flag or a path part) is ``launcher``."""
    return any(Path(t).name == launcher for t in texts if not t.startswith("-"))
