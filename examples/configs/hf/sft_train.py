"""A TRL fine-tuning script as people write them: the settings are keyword arguments of
SFTConfig(...). adamcheck parses this file with ast; it never runs it."""

from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

dataset = load_dataset("trl-lib/Capybara", split="train")

args = SFTConfig(
    output_dir="Qwen2-0.5B-SFT",
    per_device_train_batch_size=2,
    gradient_accumulation_steps=8,
    learning_rate=2.0e-5,
    adam_beta2=0.95,
    max_length=1024,
    num_train_epochs=1,
)

trainer = SFTTrainer(model="Qwen/Qwen2-0.5B", args=args, train_dataset=dataset)
trainer.train()
