"""``adamcheck check``: is this training configuration's Adam in the danger zone?

A thin click layer over :func:`adamcheck.configs.check_config`.
"""

from __future__ import annotations

import click

from ._common import json_option

HELP = """Check the Adam settings of a training configuration (or of bare values) before launch.

Reads Hugging Face TrainingArguments (JSON/YAML), DeepSpeed JSON ("auto" values
resolved from a TrainingArguments file given beside it), nanoGPT Python configs
(parsed, never run), Megatron-LM argument lists or launch scripts, and torchtitan
TOML. Shows what was read from where, the effective batch (micro x accumulation x
data-parallel, in sequences and tokens), and the rules that fired with their sources.

Without FILES, give the values: --batch-size, --beta1, --beta2 (and optionally --eps,
--seq-len, --max-steps): the same rules, report and exit codes.

\b
Example:
  adamcheck check --batch-size 8 --beta1 0.9 --beta2 0.95 --seq-len 1024
  adamcheck check examples/configs/nanogpt/train_shakespeare_char.py
  adamcheck check examples/configs/deepspeed/ds_config_zero2.json \\
      examples/configs/deepspeed/training_args.json --world-size 8 --seq-len 1024
  adamcheck check examples/configs/megatron/train_gpt3_175b.sh --reference 0.95@512 --json

\b
Exit codes:
  0  fine, or advice only
  1  risks found (beta2 at or below the lower edge at this batch: published failures,
     beta1 >= sqrt(beta2), beta2 < beta2* from --gradients)
  2  unusable input: malformed file, unknown optimizer, betas outside [0, 1), no batch size
"""


@click.command("check", help=HELP)
@click.argument("files", nargs=-1, required=False, type=click.Path(dir_okay=False))
@click.option("--batch-size", type=int, help="Bare values: samples (sequences) per optimizer step.")
@click.option("--beta1", type=float, help="Bare values: Adam beta1.")
@click.option("--beta2", type=float, help="Bare values: Adam beta2.")
@click.option("--eps", type=float, help="Bare values: Adam epsilon.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["hf", "deepspeed", "nanogpt", "megatron", "torchtitan"]),
    help="Force the format of every file (default: detected from extension and content).",
)
@click.option("--world-size", type=int, help="Total GPUs/processes; data-parallel size = world / model-parallel ranks.")
@click.option("--seq-len", type=int, help="Tokens per sequence, when the file does not say.")
@click.option("--micro-batch-size", type=int, help="Sequences per device per step, when the file does not say.")
@click.option("--grad-accum", type=int, help="Gradient-accumulation steps, when the file does not say.")
@click.option("--global-batch-size", type=int, help="Sequences per optimizer step over all devices.")
@click.option("--max-steps", type=int, help="Planned optimizer steps.")
@click.option("--dataset-size", type=int, help="Training sequences per epoch (turns epochs into steps).")
@click.option(
    "--gradients",
    type=click.Path(exists=True, dir_okay=False),
    help="Per-example gradient file for the beta2* and eps rules (needs adamcheck recommend).",
)
@click.option(
    "--reference",
    default=None,
    metavar="BETA2@BATCH",
    help="Known-good beta2 at a batch for the half-life rule (default 0.999@32).",
)
@click.option(
    "--reference-seq-len",
    type=int,
    help="Tokens per sequence of the reference batch (default: the config's own length).",
)
@json_option
def command(fmt, files, batch_size, beta1, beta2, eps, world_size, seq_len, micro_batch_size, grad_accum,
            global_batch_size, max_steps, dataset_size, gradients, reference, reference_seq_len, as_json) -> int:
    from .._errors import InvalidParameterError

    bare = {"--batch-size": batch_size, "--beta1": beta1, "--beta2": beta2, "--eps": eps}
    if not files:
        missing = [flag for flag in ("--batch-size", "--beta1", "--beta2") if bare[flag] is None]
        if missing:
            raise InvalidParameterError(
                f"give configuration FILES, or the bare values {', '.join(missing)} (see adamcheck check --help)")
        others = {"--format": fmt, "--world-size": world_size, "--micro-batch-size": micro_batch_size,
                  "--grad-accum": grad_accum, "--global-batch-size": global_batch_size}
        extra = [flag for flag, value in others.items() if value is not None]
        if extra:
            raise InvalidParameterError(f"{', '.join(extra)} describe a configuration file; with bare values "
                                        "give --batch-size (sequences per optimizer step) instead")
        from ..configs._check import check_values

        report = check_values(batch_size, beta1, beta2, eps=eps, seq_len=seq_len, max_steps=max_steps,
                              dataset_size=dataset_size, gradients=gradients, reference=reference,
                              reference_seq_len=reference_seq_len)
        return _emit(report, as_json)
    given = [flag for flag, value in bare.items() if value is not None]
    if given:
        raise InvalidParameterError(f"{', '.join(given)} are bare values: drop them when checking FILES "
                                    "(or drop the FILES)")
    from ..configs._check import check_config

    report = check_config(
        list(files),
        format=fmt,
        world_size=world_size,
        seq_len=seq_len,
        micro_batch_size=micro_batch_size,
        grad_accum=grad_accum,
        global_batch_size=global_batch_size,
        max_steps=max_steps,
        dataset_size=dataset_size,
        gradients=gradients,
        reference=reference,
        reference_seq_len=reference_seq_len,
    )
    return _emit(report, as_json)


def _emit(report, as_json: bool) -> int:
    if as_json:
        from .._jsonio import dumps

        click.echo(dumps(report.to_dict()))
    else:
        click.echo(report.render())
    return report.exit_code
