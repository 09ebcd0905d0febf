#!/bin/bash
# Causal-LM fine-tune with the Hugging Face Trainer, launched on 8 GPUs the way the
# transformers examples are (run_clm.py reads these flags with HfArgumentParser).
NGPU=8
torchrun --nproc_per_node ${NGPU} run_clm.py \
    --model_name_or_path openai-community/gpt2 \
    --dataset_name wikitext --dataset_config_name wikitext-2-raw-v1 \
    --per_device_train_batch_size 4 \
    --gradient_accumulation_steps=8 \
    --learning_rate 5e-5 --adam_beta2 0.98 \
    --block_size 1024 \
    --num_train_epochs 3 \
    --do_train --output_dir /tmp/clm
