"""Whole-process time of ``adamcheck check FILE`` against peers measured in the same run.

Each sample is one fresh interpreter (what a CI step or a person pays). Peers:
``python -c pass`` (interpreter start-up, the floor), ``python -c "import numpy"``
(a floor adamcheck check no longer pays: it imports no numpy) and ``python -m json.tool FILE`` (a standard-library tool
reading a config). Runs are interleaved so machine noise
hits all three alike; the figures are medians, printed with ratios to the peers.
The target is a median under 0.5 s for one file, and 0.3 s per file for the readers of
the frameworks added later (the second verdict). A FILES entry may carry flags after the path.

The ``(cpu)`` column is the user + system CPU time of the check process: on a busy
machine wall time inflates, CPU time much less, so it shows what a quiet machine pays.

Run:  python benchmarks/bench_check.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from _process import ROOT, checkout_env, run_timed

EXAMPLES = ROOT / "examples" / "configs"
FILES = [
    "nanogpt/train_shakespeare_char.py",
    "megatron/train_gpt3_175b.sh",
    "hf/training_args_defaults.json",
    "hf/sft_recipe.yaml",
    "deepspeed/ds_config_zero2.json",
    "torchtitan/llama3_8b.toml",
    # the readers of axolotl, LLaMA-Factory, torchtune, litgpt, OLMo, levanter, registries...
    "olmo/OLMo2-7B-stage1.yaml",
    "axolotl/llama-3-8b-fft.yaml",
    "llamafactory/qwen3_full_sft.yaml",
    "torchtune/llama3_1_8B_full.yaml",
    "litgpt/pretrain_tinyllama.yaml",
    "levanter/gpt2_small.yaml",
    "torchtitan/config_registry.py --preset llama3_8b",
    "nanogpt/train_gpt2_2023_02.py",
    "megatron/pretrain_gpt_345m.sh",
    "hf/trainer_state.json",
    "accelerate/default_config.yaml",
]


_CPU: list[float] = []


def _time(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run; its CPU seconds (user + sys) go to ``_CPU``."""
    wall, cpu = run_timed(cmd, env)
    _CPU.append(cpu)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    opts = parser.parse_args()
    env = checkout_env()
    py = sys.executable
    json_file = str(EXAMPLES / "hf" / "training_args_defaults.json")
    for cmd in ([py, "-c", "pass"], [py, "-m", "adamcheck", "check", json_file]):  # warm the disk cache
        _time(cmd, env)

    rows = []
    for entry in FILES:
        rel, *flags = entry.split()
        path = str(EXAMPLES / rel)
        peers: dict[str, list[float]] = {"check": [], "pass": [], "numpy": [], "json.tool": [], "check cpu": []}
        for _ in range(opts.repeats):
            peers["check"].append(_time([py, "-m", "adamcheck", "check", path, *flags], env))
            peers["check cpu"].append(_CPU[-1])
            peers["pass"].append(_time([py, "-c", "pass"], env))
            peers["numpy"].append(_time([py, "-c", "import numpy"], env))
            peers["json.tool"].append(_time([py, "-m", "json.tool", json_file], env))
        med = {k: statistics.median(v) for k, v in peers.items()}
        rows.append((entry, med))

    print(f"median of {opts.repeats} fresh processes each (seconds); python {sys.version.split()[0]}")
    print(
        f"{'file':<48} {'check':>6} {'(cpu)':>6} {'pass':>6} {'numpy':>6} {'json.tool':>9} "
        f"{'check/pass':>10} {'check/numpy':>11} {'check/json.tool':>15}"
    )
    for rel, med in rows:
        print(
            f"{rel:<48} {med['check']:6.3f} {med['check cpu']:6.3f} {med['pass']:6.3f} {med['numpy']:6.3f} {med['json.tool']:9.3f} "
            f"{med['check'] / med['pass']:10.2f} {med['check'] / med['numpy']:11.2f} "
            f"{med['check'] / med['json.tool']:15.2f}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (noise if above the core count)")
    worst = max(med["check"] for _, med in rows)
    worst_cpu = max(med["check cpu"] for _, med in rows)
    print(f"slowest median: {worst:.3f} s (target < 0.5 s: {'met' if worst < 0.5 else 'NOT met'}; "
          f"0.3 s per file: {'met' if worst < 0.3 else 'NOT met'}); slowest CPU median {worst_cpu:.3f} s")


if __name__ == "__main__":
    main()
