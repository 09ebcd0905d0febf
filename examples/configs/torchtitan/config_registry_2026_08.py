# Presets in the style of torchtitan's config registries of August 2026: the
# optimizer comes from default_adamw(...) and the batch is counted in tokens
# (num_tokens_per_microbatch_per_dp_rank, max_context_length). adamcheck parses
# this file with ast; it never imports or runs it.

from torchtitan.components.optimizer import default_adamw, LRSchedulersContainer
from torchtitan.config import ParallelismConfig, TrainingConfig
from torchtitan.trainer import Trainer

from . import model_registry


def llama3_8b() -> Trainer.Config:
    return Trainer.Config(
        hf_assets_path="./assets/hf/Llama-3.1-8B",
        model_spec=model_registry("8B"),
        optimizer=default_adamw(lr=3e-4),
        lr_scheduler=LRSchedulersContainer.Config(warmup_steps=200),
        training=TrainingConfig(
            num_tokens_per_microbatch_per_dp_rank=1 * 8192,
            max_context_length=8192,
            steps=1000,
        ),
    )


def llama3_8b_long_memory() -> Trainer.Config:
    config = llama3_8b()
    config.optimizer = default_adamw(lr=3e-4, betas=(0.9, 0.99))
    config.training.num_tokens_per_train_step = 256 * 8192
    return config


def llama3_70b() -> Trainer.Config:
    return Trainer.Config(
        hf_assets_path="./assets/hf/Llama-3.1-70B",
        model_spec=model_registry("70B"),
        optimizer=default_adamw(lr=1.5e-4),
        training=TrainingConfig(
            num_tokens_per_microbatch_per_dp_rank=8 * 8192,
            max_context_length=8192,
            steps=1000,
        ),
        parallelism=ParallelismConfig(tensor_parallel_degree=8),
    )
