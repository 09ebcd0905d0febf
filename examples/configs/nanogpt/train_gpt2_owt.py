# GPT-2 (124M) on OpenWebText, nanoGPT style, for one node of 8 GPUs:
# torchrun --standalone --nproc_per_node=8 train.py config/train_gpt2_owt.py

wandb_log = True
wandb_project = 'owt'
wandb_run_name = 'gpt2-124M'

# 12 sequences x 1024 tokens x 40 accumulation steps (over all 8 GPUs)
# = 491,520 tokens per optimizer step
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 5 * 8

# 600k steps, about 300B tokens
max_iters = 600000
lr_decay_iters = max_iters

eval_interval = 1000
eval_iters = 200
log_interval = 10

weight_decay = 1e-1
