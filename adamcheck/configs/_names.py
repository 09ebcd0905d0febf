"""Optimizer names each format uses for Adam, and the field names of Hugging Face
``TrainingArguments`` (used to refuse unknown keys the way ``TrainingArguments(**d)``
and ``HfArgumentParser.parse_json_file`` do).

The TrainingArguments field list is the union of the ``init`` fields of transformers
4.36.2, 4.46.3, 4.57.1 and 5.23.0 (read from the released wheels), so a dump written
by any of those versions is accepted. A field added by a later release is reported as
unknown; add it here.
"""

from __future__ import annotations

from .._errors import ConfigError

__all__ = ["HF_ADAM", "HF_TRAINING_ARGUMENTS_FIELDS", "NotCoveredError", "adam_name_or_raise", "not_covered"]

class NotCoveredError(ConfigError):
    """The configuration runs an optimizer whose update is not Adam's (Lion, Adafactor,
    GaLore projections, 1-bit Adam, Muon/AdaMuon...): ``adamcheck check`` says it does
    not cover it instead of checking it as AdamW."""


def not_covered(what: str, where: str) -> NotCoveredError:
    """The error for a non-Adam optimizer: ``what`` names it, ``where`` says where it was read."""
    return NotCoveredError(
        f"{where}: {what} is not Adam: not covered by adamcheck check, whose rules hold for "
        "Adam/AdamW updates only; check the Adam part of such a setup with adamcheck recommend instead"
    )


#: TrainingArguments.optim values that run Adam/AdamW with adam_beta1/adam_beta2/adam_epsilon.
HF_ADAM = frozenset(
    {
        "adamw_hf", "adamw_torch", "adamw_torch_fused", "adamw_torch_xla",
        "adamw_torch_npu_fused", "adamw_apex_fused", "adamw_anyprecision",
        "adamw_torch_4bit", "adamw_torch_8bit", "adamw_bnb_8bit", "adamw_8bit",
        "paged_adamw_32bit", "paged_adamw_8bit",
    }
)

#: Names the formats use for optimizers that are *not* plain Adam (the betas mean
#: something else, or the update is projected, schedule-free, sign-based...).
NOT_ADAM_HINTS = (
    "lion", "sgd", "adafactor", "adagrad", "rmsprop", "lamb", "lomo", "ademamix", "galore",
    "apollo", "schedule_free", "grokadamw", "stable_adamw", "muon", "onebit", "zerooneadam",
    "radam", "nadam", "adamax", "shampoo", "soap", "dion", "adamuon", "came", "sinkgd", "adopt",
    "sophia", "kron", "mars", "scion", "adam_mini", "adammini", "badam",
)

#: DeepSpeed ``optimizer.type`` values (DeepSpeed lower-cases them) that build Adam.
DEEPSPEED_ADAM = frozenset({"adam", "adamw", "muadam", "muadamw"})

#: torchtitan ``[optimizer] name`` values that build torch.optim.Adam/AdamW (case-sensitive
#: in torchtitan's build_optimizers).
TORCHTITAN_ADAM = frozenset({"Adam", "AdamW"})

#: Megatron-LM ``--optimizer`` values that run Adam (decoupled weight decay).
MEGATRON_ADAM = frozenset({"adam"})


def adam_name_or_raise(name: object, allowed: frozenset[str], where: str, *, fold_case: bool = False) -> str:
    """Return ``name`` if it is an Adam-family name of this format, else raise ConfigError."""
    if not isinstance(name, str):
        raise ConfigError(f"{where} = {name!r} is not an optimizer name: write a string such as 'adamw'")
    key = name.lower() if fold_case else name
    if key in allowed:
        return name
    folded = {a.lower(): a for a in allowed}
    if name.lower() in folded:
        raise ConfigError(
            f"{where} = {name!r} is not a name this format accepts (names are case-sensitive): "
            f"write {folded[name.lower()]!r}"
        )
    known = ", ".join(sorted(allowed))
    lowered = name.lower()
    if any(h in lowered for h in NOT_ADAM_HINTS):
        raise NotCoveredError(
            f"{where} = {name!r} is not Adam: not covered by adamcheck check, which checks "
            f"Adam/AdamW only ({known})"
        )
    raise ConfigError(f"{where} = {name!r} is an unknown optimizer: adamcheck checks Adam/AdamW ({known})")


#: Union of TrainingArguments init fields, transformers 4.36.2 .. 5.23.0.
HF_TRAINING_ARGUMENTS_FIELDS = frozenset(
    {
    "accelerator_config", "activation_checkpointing", "activation_checkpointing_kwargs",
    "adafactor", "adam_beta1", "adam_beta2", "adam_epsilon", "auto_find_batch_size",
    "average_tokens_across_devices", "batch_eval_metrics", "bf16", "bf16_full_eval",
    "data_seed", "dataloader_drop_last", "dataloader_in_order",
    "dataloader_multiprocessing_context", "dataloader_num_workers",
    "dataloader_persistent_workers", "dataloader_pin_memory", "dataloader_prefetch_factor",
    "ddp_backend", "ddp_broadcast_buffers", "ddp_bucket_cap_mb", "ddp_find_unused_parameters",
    "ddp_static_graph", "ddp_timeout", "debug", "deepspeed", "disable_tqdm",
    "dispatch_batches", "do_eval", "do_predict", "do_train", "enable_jit_checkpoint",
    "eval_accumulation_steps", "eval_delay", "eval_do_concat_batches", "eval_on_start",
    "eval_steps", "eval_strategy", "eval_use_gather_object", "evaluation_strategy", "fp16",
    "fp16_backend", "fp16_full_eval", "fp16_opt_level", "fsdp", "fsdp_config",
    "fsdp_min_num_params", "fsdp_transformer_layer_cls_to_wrap", "full_determinism",
    "gradient_accumulation_steps", "gradient_checkpointing", "gradient_checkpointing_kwargs",
    "greater_is_better", "group_by_length", "half_precision_backend", "hub_always_push",
    "hub_model_id", "hub_private_repo", "hub_revision", "hub_strategy", "hub_token",
    "ignore_data_skip", "include_for_metrics", "include_inputs_for_metrics",
    "include_num_input_tokens_seen", "include_tokens_per_second", "jit_mode_eval",
    "label_names", "label_smoothing_factor", "learning_rate", "length_column_name",
    "liger_kernel_config", "load_best_model_at_end", "local_rank", "log_level",
    "log_level_replica", "log_on_each_node", "logging_dir", "logging_first_step",
    "logging_nan_inf_filter", "logging_steps", "logging_strategy", "lr_scheduler_kwargs",
    "lr_scheduler_type", "max_grad_norm", "max_steps", "metric_for_best_model",
    "mp_parameters", "neftune_noise_alpha", "no_cuda", "num_train_epochs", "optim",
    "optim_args", "optim_target_modules", "output_dir", "overwrite_output_dir",
    "parallelism_config", "past_index", "per_device_eval_batch_size",
    "per_device_train_batch_size", "per_gpu_eval_batch_size", "per_gpu_train_batch_size",
    "prediction_loss_only", "project", "push_to_hub", "push_to_hub_model_id",
    "push_to_hub_organization", "push_to_hub_token", "ray_scope", "remove_unused_columns",
    "report_to", "restore_callback_states_from_checkpoint", "resume_from_checkpoint",
    "run_name", "save_on_each_node", "save_only_model", "save_safetensors", "save_steps",
    "save_strategy", "save_total_limit", "seed", "skip_memory_metrics", "split_batches",
    "tf32", "torch_compile", "torch_compile_backend", "torch_compile_mode",
    "torch_empty_cache_steps", "torchdynamo", "tpu_metrics_debug", "tpu_num_cores",
    "trackio_bucket_id", "trackio_space_id", "trackio_static_space_id",
    "train_sampling_strategy", "use_cache", "use_cpu", "use_ipex",
    "use_legacy_prediction_loop", "use_liger_kernel", "use_mps_device", "warmup_ratio",
    "warmup_steps", "weight_decay",
    }
)
