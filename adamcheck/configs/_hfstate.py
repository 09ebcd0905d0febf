"""Files that sit beside a training run but are not its training configuration:
``trainer_state.json`` (Hugging Face Trainer checkpoints), Accelerate launcher
configs (``accelerate config`` -> ``default_config.yaml``) and ``training_args.bin``.

``trainer_state.json`` (``TrainerState.save_to_json``) records ``train_batch_size``
(the Trainer's ``_train_batch_size``: sequences per process per forward pass, *not*
the batch per optimizer step), ``global_step``, ``max_steps``,
``num_train_epochs`` and ``log_history``; it records no optimizer, betas or
accumulation. Those come from ``training_args.json`` beside it (give both files).

An Accelerate config holds the launch: ``num_processes`` (the total over all
machines), ``num_machines``, ``distributed_type``, ``mixed_precision``. It is read for
the world size (and mixed precision, as a note); the optimizer and batch live in the
training script's arguments.

``training_args.bin`` is ``torch.save(TrainingArguments)``: a pickle. adamcheck never
unpickles (loading a pickle runs code from the file), so it refuses it and says how
to dump it as JSON where the file is trusted.
"""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError
from ._pick import Picker
from ._setup import TrainingSetup

__all__ = [
    "read_trainer_state_dict", "trainer_state_evidence", "read_accelerate_dict", "accelerate_evidence",
    "training_args_bin_error",
]

_ACCELERATE = ("compute_environment", "distributed_type", "num_processes", "num_machines", "machine_rank",
               "main_training_function", "use_cpu", "rdzv_backend", "same_network", "downcast_bf16")


def trainer_state_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict) or not {"log_history", "global_step"} <= set(data):
        return []
    return [k for k in ("log_history", "global_step", "train_batch_size", "best_metric", "is_world_process_zero") if k in data]


def accelerate_evidence(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    found = [k for k in _ACCELERATE if k in data]
    return found if ("compute_environment" in found or "distributed_type" in found) and len(found) >= 2 else []


def read_trainer_state_dict(data: Any, name: str) -> TrainingSetup:
    """Read what a ``trainer_state.json`` holds.

    Example:
        >>> s = read_trainer_state_dict({"global_step": 500, "max_steps": 1000, "train_batch_size": 8,
        ...     "num_train_epochs": 3, "log_history": []}, "trainer_state.json")
        >>> s.get("micro_batch"), s.get("max_steps"), s.get("beta2"), "beta2" in s.unresolved
        (8, 1000, None, True)
    """
    setup = TrainingSetup(format="trainer_state", files=[name])
    p = Picker(data, name, setup, "transformers TrainerState")
    p.number("micro_batch", "train_batch_size", kind=int)
    steps = p.get("max_steps")
    if isinstance(steps, int) and steps > 0:
        setup.set("max_steps", steps, p.where("max_steps"))
    p.number("num_epochs", "num_train_epochs")
    step = p.get("global_step")
    setup.notes.append(
        f"{name} is a Hugging Face Trainer checkpoint state (global_step {step}), not a training configuration: "
        "its train_batch_size is sequences per process per forward pass; it records no optimizer, betas or "
        "gradient accumulation"
    )
    setup.world_size_required = (
        f"{name} records neither the gradient accumulation nor the number of processes: give the run's "
        "training_args.json beside it and world_size (CLI --world-size)"
    )
    why = f"{name} records no optimizer settings: give the run's training_args.json beside it"
    for field in ("optimizer", "beta1", "beta2", "eps"):
        setup.unresolved[field] = why
    return setup


def read_accelerate_dict(data: Any, name: str) -> TrainingSetup:
    """Read the world size (and mixed precision) of an Accelerate launcher config.

    Example:
        >>> s = read_accelerate_dict({"compute_environment": "LOCAL_MACHINE", "distributed_type": "MULTI_GPU",
        ...     "num_processes": 8, "num_machines": 1, "mixed_precision": "bf16"}, "default_config.yaml")
        >>> s.get("world_size"), s.world_size.source
        (8, 'default_config.yaml: num_processes')
    """
    setup = TrainingSetup(format="accelerate", files=[name])
    p = Picker(data, name, setup, "Accelerate")
    p.number("world_size", "num_processes", kind=int)
    precision = p.text("mixed_precision")
    setup.notes.append(
        f"{name} is an Accelerate launcher config: it gives the world size"
        + (f" and mixed precision {precision}" if precision else "")
        + "; the optimizer and batch are set by the training script and its arguments (give that file too)"
    )
    why = f"{name} is a launcher config (the optimizer and batch are the training script's arguments): give that file too"
    for field in ("optimizer", "beta1", "beta2", "eps", "micro_batch"):
        setup.unresolved[field] = why
    return setup


def training_args_bin_error(name: str) -> ConfigError:
    return ConfigError(
        f"{name} is a pickled TrainingArguments (torch.save) and adamcheck never unpickles files, since loading "
        "a pickle runs code from it: where you trust the file, dump it as JSON with "
        "python -c \"import torch; print(torch.load('training_args.bin', weights_only=False).to_json_string())\" "
        "> training_args.json and check training_args.json"
    )
