"""``adamcheck check``: is this training configuration's Adam in the danger zone?

A thin click layer over :func:`adamcheck.configs.check_config`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .._errors import InvalidParameterError
from .._jsonio import dumps
from ..configs._check import check_bare, check_files
from ..configs._load import FORMATS
from ..configs._settings import BareValues, CheckSettings, ConfigOverrides
from ._common import domain_option, explain_option, grad_rms_option, json_option, state_dtype_option

if TYPE_CHECKING:  # annotations only: the settings module loads the verdict
    from ..configs._report import CheckReport
    from ..configs._settings import CheckSettings

HELP = """Check the Adam settings of a training configuration (or of bare values) before launch.

The answer comes first, in at most 10 lines: the verdict (RISK, exit 1, only where a
mechanism or a measurement that applies to your run says it fails: diverges, goes
NaN, ends above its start), the one reason and the lens that set it, the recommended
betas and the most important advice (a memory too short or too long: trains worse,
exit 0). --explain adds what was read from where, the effective batch (micro x
accumulation x data-parallel, in sequences and tokens) and every rule with its source.

Reads Hugging Face TrainingArguments (JSON/YAML), TRL/HF arguments in Python scripts
(SFTConfig(...), parsed, never run) and in launch lines (torchrun/accelerate/deepspeed
... --per_device_train_batch_size 4), DeepSpeed JSON ("auto" values resolved from a
TrainingArguments file given beside it), nanoGPT Python configs, Megatron-LM argument
lists or launch scripts, torchtitan TOML and Python config registries, axolotl,
LLaMA-Factory, torchtune, litgpt, OLMo, levanter, MaxText, mlx-lm, llm-foundry and
NeMo 1.x YAML, and, for what they hold, trainer_state.json and Accelerate configs.
The format is recognised by the file's keys; a file that matches none (or several)
is refused: pass --format. Optimizers that are not Adam (Lion, Adafactor, GaLore,
1-bit Adam, Muon...) are reported as not covered.

Without FILES, give the values: --batch-size, --beta1, --beta2 (and optionally --eps,
--seq-len, --max-steps, --domain, --state-dtype): the same rules, report and exit codes;
or --eps alone (with --state-dtype) to judge eps on its own.
Published runs count only where their domain matches yours (--domain; a sequence
length means a language model). Words used in the answer: docs/glossary.md.

\b
Example:
  adamcheck check --batch-size 8 --beta1 0.9 --beta2 0.95 --seq-len 1024
  adamcheck check --batch-size 8 --beta1 0 --beta2 0.9 --domain vision
  adamcheck check --eps 1e-8 --state-dtype fp16
  adamcheck check examples/configs/nanogpt/train_shakespeare_char.py
  adamcheck check examples/configs/deepspeed/ds_config_zero2.json examples/configs/deepspeed/training_args.json --world-size 8
  adamcheck check examples/configs/megatron/train_gpt3_175b.sh --reference 0.95@512 --json
  adamcheck check examples/configs/olmo/OLMo2-7B-stage1.yaml --explain
  adamcheck check examples/configs/launch/run_clm_torchrun.sh
  adamcheck check examples/configs/nanogpt/train_gpt2_2023_02.py --world-size 8
  adamcheck check examples/configs/torchtitan/config_registry.py --preset llama3_70b --world-size 64

\b
Exit codes:
  0  no known failure (advice, if any, is about training well, not failing)
  1  a risk: beta1 >= sqrt(beta2), beta2 below beta2* measured on your problem (a
     monitor file or --gradients), a published failure whose conditions match yours,
     or eps that rounds to 0 in an fp16 optimizer state
  2  unusable input: malformed file, unknown optimizer, betas outside [0, 1), no batch size
"""


@click.command("check", help=HELP)
@click.argument("files", nargs=-1, required=False, type=click.Path(dir_okay=False))
@click.option("--batch-size", "-b", type=int, help="Bare values: samples (sequences) per optimizer step.")
@click.option("--beta1", type=float, help="Bare values: Adam beta1 (required: check judges the values you use, it does not assume one; recommend defaults to 0.9).")
@click.option("--beta2", type=float, help="Bare values: Adam beta2.")
@click.option("--eps", type=float, help="Bare values: Adam epsilon.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="Force the format of every file (default: recognised by the file's keys).",
)
@click.option("--preset", help="torchtitan Python config registry: the preset (function) to check.")
@click.option(
    "--accumulation",
    type=click.Choice(["per-rank", "global"]),
    help="nanoGPT: gradient_accumulation_steps per GPU (train.py before 2023-03-25) or over all GPUs "
    "(since); default: from the file's evidence, else global.",
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
    help="Known-good beta2 at a batch for the half-life rule (default 0.999 at 32 sequences of 4096 tokens).",
)
@click.option(
    "--reference-seq-len",
    type=int,
    help="Tokens per sequence of the reference batch (default 4096 for the default reference; for "
    "--reference BETA2@BATCH, the config's own length).",
)
@domain_option
@state_dtype_option
@grad_rms_option
@explain_option
@json_option
def command(fmt, preset, accumulation, files, batch_size, beta1, beta2, eps, world_size, seq_len,
            micro_batch_size, grad_accum, global_batch_size, max_steps, dataset_size, gradients, reference,
            reference_seq_len, domain, state_dtype, grad_rms, explain, as_json) -> int:
    bare = {"--batch-size": batch_size, "--beta1": beta1, "--beta2": beta2, "--eps": eps}
    # With --json a refusal is also a JSON object on stdout: adamcheck.cli._run prints it, as for
    # every command (adamcheck/cli/_json_errors.py).
    # the options, checked once, for whichever path the inputs take
    settings = CheckSettings(reference=reference, reference_seq_len=reference_seq_len, domain=domain,
                             grad_rms=grad_rms)
    if not files:
        report = _bare_values(bare, dict(
            fmt=fmt, preset=preset, accumulation=accumulation, world_size=world_size,
            micro_batch_size=micro_batch_size, grad_accum=grad_accum, global_batch_size=global_batch_size,
            seq_len=seq_len, max_steps=max_steps, dataset_size=dataset_size, state_dtype=state_dtype),
            gradients, settings)
    else:
        given = [flag for flag, value in bare.items() if value is not None]
        if given:
            raise InvalidParameterError(f"{', '.join(given)} are bare values: drop them when checking "
                                        "FILES (or drop the FILES)")
        overrides = ConfigOverrides(
            format=fmt, preset=preset, accumulation=accumulation, world_size=world_size, seq_len=seq_len,
            micro_batch_size=micro_batch_size, grad_accum=grad_accum, global_batch_size=global_batch_size,
            max_steps=max_steps, dataset_size=dataset_size, state_dtype=state_dtype)
        report = check_files(list(files), overrides, gradients, settings)
    if as_json:
        click.echo(dumps(report.to_dict()))
    else:
        click.echo(report.render(explain=explain))
    _error_line(report)
    return report.exit_code


def _error_line(report: Any) -> None:
    """Exit 2 always comes with one ``adamcheck: error:`` line on stderr, as for every other
    command: the first ERROR finding's message (the report on stdout stays as it is)."""
    if report.exit_code != 2:
        return
    errors = [f for f in report.findings if str(getattr(f.level, "value", f.level)) == "error"]
    if not errors:
        return
    line = " ".join(str(errors[0].message).split())
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''} in the report)" if len(errors) > 1 else ""
    click.echo(f"adamcheck: error: {line}{more}", err=True)


#: What each missing bare value looks like in the error line (the values of PyTorch's defaults).
_EXAMPLE = {"--batch-size": "B", "--beta1": "0.9", "--beta2": "0.999"}


def _missing_words(missing: list[str]) -> str:
    if len(missing) == 1:
        return f"{missing[0]} is missing"
    return f"{', '.join(missing[:-1])} and {missing[-1]} are missing"


def _bare_values(bare: dict[str, Any], opts: dict[str, Any], gradients: str | None,
                 settings: CheckSettings) -> CheckReport:
    """``check --batch-size B --beta1 X --beta2 Y`` without files: :func:`check_bare`."""
    missing = [flag for flag in ("--batch-size", "--beta1", "--beta2") if bare[flag] is None]
    eps_only = len(missing) == 3 and bare["--eps"] is not None  # eps (and its precision) alone
    if missing and not eps_only and gradients is None:  # a monitor file may state them
        raise InvalidParameterError(
            f"{_missing_words(missing)}: add {' '.join(f'{flag} {_EXAMPLE[flag]}' for flag in missing)} with your "
            "run's values (check judges the values you use and assumes none), or give configuration FILES, or "
            "--eps alone with --state-dtype")
    file_flags = {"--format": opts["fmt"], "--preset": opts["preset"], "--accumulation": opts["accumulation"],
                  "--world-size": opts["world_size"], "--micro-batch-size": opts["micro_batch_size"],
                  "--grad-accum": opts["grad_accum"], "--global-batch-size": opts["global_batch_size"]}
    extra = [flag for flag, value in file_flags.items() if value is not None]
    if extra:
        raise InvalidParameterError(f"{', '.join(extra)} describe a configuration file; with bare values "
                                    "give --batch-size (sequences per optimizer step) instead")
    values = BareValues(bare["--batch-size"], bare["--beta1"], bare["--beta2"], bare["--eps"], opts["seq_len"],
                        opts["max_steps"], opts["dataset_size"], opts["state_dtype"])
    return check_bare(values, gradients, settings)
