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

__all__ = ["HF_ADAM", "HF_SCRIPT_FIELDS", "HF_TRAINING_ARGUMENTS_FIELDS", "NotCoveredError", "adam_name_or_raise",
           "not_covered"]

class NotCoveredError(ConfigError):
    """The configuration runs an optimizer whose update is not Adam's (Lion, Adafactor,
    GaLore projections, 1-bit Adam, Muon/AdaMuon...): ``adamcheck check`` says it does
    not cover it instead of checking it as AdamW."""

    error_kind = "not_covered"


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


#: Keys that Hugging Face argument files and TRL configs carry beside TrainingArguments:
#: the fields of every TRL config, ScriptArguments and ModelConfig dataclass of TRL
#: 0.9.4, 0.12.2, 0.15.2, 0.19.1 and 1.9.0 (read from huggingface/trl at those tags and
#: commit f2cd577), and the ModelArguments/DataTrainingArguments of transformers'
#: ``examples/pytorch/*/run_*.py`` and alignment-handbook. Recognising them keeps a TRL
#: recipe from looking like "mostly unknown keys". TRL's PPO ``batch_size`` and A2PO's
#: loss ``beta1``/``beta2`` are left out: in a YAML file they mean another framework's
#: batch and Adam betas far more often.
HF_SCRIPT_FIELDS = frozenset(
    {
    "accelerator_kwargs", "activation_offloading", "adap_kl_ctrl", "allow_tf32", "alpha",
    "assistant_only_loss", "async_reward_computation", "attn_implementation",
    "auto_insert_empty_system_msg", "backward_batch_size", "base_model", "base_model_attribute_name",
    "beta", "block_size", "bnb_4bit_quant_storage", "bnb_4bit_quant_type", "cache_dir",
    "cache_implementation", "callbacks", "cast_lm_head_to_fp32", "center_rewards_coefficient",
    "chars_per_token", "chat_template", "chat_template_kwargs", "chat_template_path", "cliprange",
    "cliprange_value", "columns", "compare_steps", "completion_only_loss", "config_name",
    "config_overrides", "cpo_alpha", "data_dir", "data_files", "dataset_batch_size", "dataset_config",
    "dataset_config_name", "dataset_kwargs", "dataset_mixer", "dataset_name", "dataset_num_proc",
    "dataset_splits", "dataset_streaming", "dataset_test_split", "dataset_text_field",
    "dataset_train_split", "datasets", "delta", "desirable_weight", "diagnostics_flat_tolerance",
    "diagnostics_warning_interval", "disable_dropout", "discopop_tau", "distillation_add_tail",
    "distillation_alpha", "distillation_is_clip", "distillation_mode", "distillation_objective",
    "distillation_topk", "distillation_weight", "dont_reprompt_on_self_success",
    "ds3_gather_for_generation", "dtype", "early_stopping", "entropy_coef", "entropy_coef_delta",
    "entropy_coef_max", "entropy_coef_min", "entropy_target", "environment_feedback_only_without_solution",
    "eos_token", "epsilon", "epsilon_high", "eval_packing", "exp_name", "f_alpha_divergence_coef",
    "f_divergence_type", "feedback_template", "filter_all_incorrect", "filter_empty", "force_use_ref_model",
    "forced_bos_token", "fork_threshold_tokens", "forward_batch_size", "fraction", "gamma",
    "generate_during_eval", "generate_from_teacher", "generation_batch_size", "generation_kwargs",
    "global_backward_batch_size", "global_batch_size", "gpu_memory_utilization",
    "gradient_checkpointing_use_reentrant", "heartbeat_stale_after_s", "horizon", "ignore_bias_buffers",
    "ignore_pad_token_for_loss", "importance_sampling_level", "include_environment_feedback",
    "init_kl_coef", "is_encoder_decoder", "is_peft_model", "iw_opd_epsilon", "iw_opd_gamma", "judge",
    "kd_temperature", "keep_linebreaks", "kl_coef", "kl_estimator", "kl_penalty", "label_pad_token_id",
    "label_smoothing", "lam", "lang", "ld_alpha", "length_normalization", "lmbda", "load_in_4bit",
    "load_in_8bit", "local_batch_size", "local_mini_batch_size", "local_rollout_forward_batch_size",
    "log_completions", "log_completions_hub_repo", "log_completions_steps", "log_image_freq",
    "log_multimodal", "log_unique_prompts", "log_with", "logdir", "lora_alpha", "lora_dropout",
    "lora_modules_to_save", "lora_r", "lora_target_modules", "lora_target_parameters", "lora_task_type",
    "loss_add_tail", "loss_top_k", "loss_type", "loss_weights", "low_cpu_mem_usage",
    "mask_truncated_completions", "max_completion_length", "max_density_ratio", "max_eval_samples",
    "max_inflight_tasks", "max_length", "max_new_tokens", "max_predict_samples", "max_prompt_length",
    "max_reprompt_len", "max_seq_length", "max_source_length", "max_staleness", "max_target_length",
    "max_tool_calling_iterations", "max_train_samples", "max_workers", "micro_batch_size",
    "min_density_ratio", "min_p", "mini_batch_size", "missing_eos_penalty", "mixed_precision",
    "mixture_coef", "model_adapter_name", "model_init_kwargs", "model_name", "model_name_or_path",
    "model_revision", "model_type", "multi_objective_aggregation", "name", "negative_prompts",
    "non_eos_penalty", "normalize_advantage", "normalize_advantages", "normalize_reward", "num_beams",
    "num_checkpoint_limit", "num_completions_to_print", "num_epochs", "num_generations",
    "num_generations_eval", "num_iterations", "num_loss_tokens_to_skip", "num_mini_batches",
    "num_of_sequences", "num_ppo_epochs", "num_sample_generations", "num_total_batches", "num_updates",
    "num_value_samples", "off_policy_mask_threshold", "optimize_cuda_cache", "optimize_device_cache",
    "overwrite_cache", "packing", "packing_strategy", "pad_to_max_length", "pad_to_multiple_of",
    "pad_token", "padding_free", "padding_value", "path", "penalty_reward_value",
    "per_prompt_stat_tracking", "per_prompt_stat_tracking_buffer_size",
    "per_prompt_stat_tracking_min_count", "ppo_epochs", "precompute_ref_batch_size",
    "precompute_ref_log_probs", "preprocessing_num_workers", "project_kwargs", "prompt_sample_size",
    "push_to_hub_if_best_kwargs", "query_dataset", "queue_maxsize", "ratio_threshold", "ref_adapter_name",
    "ref_model_init_kwargs", "ref_model_mixup_alpha", "ref_model_sync_steps", "reference_free",
    "remove_thinking_from_demonstration", "repetition_penalty", "replay_buffer_size", "reprompt_template",
    "request_timeout", "response_length", "resume_from", "reverse_kl_top_1_mode", "reward_clip_range",
    "reward_model", "reward_model_path", "reward_weights", "rkl_advantage", "rloo_k",
    "router_aux_loss_coef", "rpo_alpha", "sample_batch_size", "sample_eta", "sample_guidance_scale",
    "sample_num_batches_per_epoch", "sample_num_steps", "sanity_check", "sapo_temperature_neg",
    "sapo_temperature_pos", "save_freq", "scale_rewards", "score_clip", "seq_kd", "sft_model_path",
    "shuffle_dataset", "simpo_gamma", "single_step_decomposition", "solution_template", "source_lang",
    "source_prefix", "split", "step_separator", "steps", "steps_per_generation", "stop_token",
    "stop_token_id", "streaming", "success_reward_threshold", "summary_column", "sync_ref_model", "target",
    "target_kl", "target_lang", "task_name", "teacher_model_init_kwargs", "teacher_model_kind",
    "teacher_model_name_or_path", "teacher_model_revision", "teacher_model_server_url",
    "teacher_prompt_template", "teacher_sync_steps", "teacher_tokenizer_name_or_path",
    "teacher_update_rate", "temperature", "test_file", "test_split_size", "text_column_name", "token",
    "token_budget", "token_level_kl", "tokenizer_name", "tools", "top_entropy_quantile", "top_k", "top_p",
    "torch_dtype", "total_episodes", "tpo_alpha", "tpo_l_gamma", "tracker_kwargs", "tracker_project_name",
    "train_adam_beta1", "train_adam_beta2", "train_adam_epsilon", "train_adam_weight_decay",
    "train_adv_clip_max", "train_batch_size", "train_cfg", "train_clip_range", "train_file",
    "train_gradient_accumulation_steps", "train_learning_rate", "train_max_grad_norm",
    "train_num_inner_epochs", "train_on_last_step_only", "train_timestep_fraction", "train_use_8bit_adam",
    "transformers_continuous_batching_config", "truncated_backprop_rand", "truncated_backprop_timestep",
    "truncated_rand_backprop_minmax", "truncation_mode", "truncation_side", "trust_remote_code",
    "uld_crossentropy_weight", "uld_distillation_weight", "uld_hybrid_matched_weight",
    "uld_hybrid_unmatched_weight", "uld_skip_student_eos", "uld_skip_teacher_eos",
    "uld_student_temperature", "uld_teacher_temperature", "uld_token_merge_strategy", "uld_use_hybrid_loss",
    "undesirable_weight", "use_adaptive_entropy", "use_auth_token", "use_bias_correction_kl",
    "use_bnb_nested_quant", "use_dora", "use_extended_uld", "use_fast_tokenizer", "use_liger",
    "use_liger_loss", "use_logits_to_keep", "use_num_logits_to_keep", "use_peft", "use_rslora",
    "use_score_norm", "use_score_scaling", "use_successful_as_teacher", "use_teacher_server",
    "use_transformers_continuous_batching", "use_transformers_paged", "use_uld_loss", "use_vllm",
    "use_weighting", "val_max_target_length", "validation_file", "validation_split_percentage",
    "vespo_k_neg", "vespo_k_pos", "vespo_lambda_neg", "vespo_lambda_pos", "vf_coef", "vllm_device",
    "vllm_dtype", "vllm_enable_sleep_mode", "vllm_gpu_memory_utilization", "vllm_group_port",
    "vllm_guided_decoding_regex", "vllm_importance_sampling_cap", "vllm_importance_sampling_clip_max",
    "vllm_importance_sampling_clip_min", "vllm_importance_sampling_correction",
    "vllm_importance_sampling_mode", "vllm_max_model_len", "vllm_max_model_length", "vllm_mode",
    "vllm_model_impl", "vllm_server_base_url", "vllm_server_host", "vllm_server_port",
    "vllm_server_timeout", "vllm_structured_outputs_regex", "vllm_sync_frequency",
    "vllm_tensor_parallel_size", "wandb_log_unique_prompts", "weight_sync_steps", "whiten_rewards",
    "world_size"
    }
)
