# Character-level GPT on tiny Shakespeare, nanoGPT style (config/train_*.py).
# Run as: python train.py config/train_shakespeare_char.py
# A small model that fits on a laptop; expect it to overfit the tiny data set.

out_dir = 'out-shakespeare-char'
eval_interval = 250  # evaluate often, we overfit quickly
eval_iters = 200
log_interval = 10

# the data set is tiny, so keep only checkpoints that improve val loss
always_save_checkpoint = False

wandb_log = False
wandb_project = 'shakespeare-char'
wandb_run_name = 'mini-gpt'

dataset = 'shakespeare_char'
gradient_accumulation_steps = 1
batch_size = 64
block_size = 256  # characters of context

# a baby GPT
n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2

learning_rate = 1e-3  # small networks tolerate a larger step
max_iters = 5000
lr_decay_iters = 5000  # usually equal to max_iters
min_lr = 1e-4  # learning_rate / 10
beta2 = 0.99  # bigger than the 0.95 default: few tokens per iteration

warmup_iters = 100

# on a laptop also set
# device = 'cpu'
# compile = False
