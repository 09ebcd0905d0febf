"""Pre-training sanity check of Adam settings in training configurations.

``adamcheck check FILE...`` and :func:`check_config` read a training configuration,
normalise it into a :class:`TrainingSetup` whose every value remembers where it came
from, compute the effective batch (micro batch x accumulation x data-parallel size, in
sequences and tokens), and apply the rules of :mod:`adamcheck.configs._rules`. Nothing
in a config file is ever executed or unpickled. :func:`check_optimizer` runs the same
rules on a live ``torch.optim.Adam``/``AdamW``; :func:`hf_check_callback` on a Hugging
Face Trainer.

Formats, recognised by their keys (:mod:`._load`): Hugging Face TrainingArguments
(JSON/YAML), TrainingArguments/TRL config calls in Python (:mod:`._hf_py`, parsed with
:mod:`ast`), Hugging Face / TRL launch lines (:mod:`._launch`), DeepSpeed JSON, nanoGPT
Python configs (both accumulation conventions), Megatron-LM argument lists and launch
scripts, torchtitan TOML and Python config registries (``--preset``), axolotl,
LLaMA-Factory (v0, v1 and its Megatron-Core keys), torchtune, litgpt, OLMo and levanter
YAML (``!include`` resolved), MaxText, mlx-lm, llm-foundry/Composer and NeMo 1.x YAML;
and, for what they hold, ``trainer_state.json`` and Accelerate launcher configs.
``training_args.bin`` is refused with how to dump it as JSON. A file matching no
signature, or several, or holding another framework's keys beside TrainingArguments
names, is refused ("unrecognised configuration (looks like X): pass --format"). A value the file
does not set takes *that* framework's default, named with the version it was read
from. Optimizers that are not Adam (Lion, Adafactor, GaLore, APOLLO, BAdam, Adam-mini,
1-bit Adam, Muon/AdaMuon...) raise :class:`~adamcheck.configs._names.NotCoveredError`
("not covered"), never checked as AdamW.

Unknown keys follow what each format's own tools do (details in each reader):

=============== ==================================================================
TrainingArgs    misspelling of a key adamcheck reads -> refused (HfArgumentParser
                refuses it); other non-TrainingArguments keys -> warning, since
                argument files also carry the script's model/data arguments
DeepSpeed       unknown ``optimizer.params`` key -> refused (the optimizer
                constructor raises TypeError); unknown top-level key -> warning
                (DeepSpeed ignores it)
nanoGPT         names train.py does not define -> warning (exec ignores them)
Megatron-LM     misspelling of a flag adamcheck reads -> refused (argparse
                refuses it); other flags ignored (Megatron has hundreds)
torchtitan      unknown ``[optimizer]`` key -> refused, misspelt ``[training]`` key
                -> refused (torchtitan's ConfigManager refuses unknown fields)
=============== ==================================================================

Exit codes: 0 fine or advice only; 1 risks found; 2 unusable input (malformed file,
unknown optimizer, betas outside [0, 1), no batch size).

JSON schema (``adamcheck check --json``, ``CheckReport.to_dict()``), version
``"adamcheck.check/2"``; keys are only ever added within a version (version 2 replaced
the text lists ``warnings`` and ``notes`` of version 1 with ``diagnostics``, the shape of
every command's warnings and notes: docs/cli.md, "Diagnostics in --json"):

``schema``          ``"adamcheck.check/2"``
``format``          reader(s) used: ``hf``, ``deepspeed``, ``nanogpt``, ``megatron``,
                    ``torchtitan``, ``axolotl``, ``llamafactory``, ``torchtune``,
                    ``litgpt``, ``olmo``, ``levanter``, ``trainer_state``,
                    ``accelerate``, ``maxtext``, ``mlx``, ``foundry``, ``nemo``,
                    ``launch``, ``torch``; several joined by ``+``
``files``           list of files read (or ``"<Optimizer> optimizer"``)
``optimizer``       optimizer name as the format spells it, or null
``beta1``, ``beta2``, ``eps``   numbers, or null when unknown
``fields``          {name: {``value``, ``source``} or null} for every setup field
                    (optimizer, beta1, beta2, eps, weight_decay, lr, micro_batch,
                    grad_accum, data_parallel, world_size, model_parallel,
                    global_batch, seq_len, max_steps, train_samples, num_epochs,
                    dataset_size, state_dtype); ``source`` names file and key/line, flag,
                    or default
``unresolved``      {name: reason} for values that could not be resolved (DeepSpeed "auto")
``effective_batch`` {``sequences``, ``tokens``, ``seq_len``, ``micro_batch``,
                    ``grad_accum``, ``data_parallel``, ``computation``: [steps as text],
                    ``assumptions``: [text], ``missing``: what was missing or null}
``planned_steps``   {``value``: int or null, ``how``: text}
``reference``       {``beta2``, ``batch_size``, ``seq_len`` (null: same as the config's),
                    ``unit``, ``source``}
``findings``        [{``level``: ``error``|``risk``|``advice``|``not_checked``|``ok``,
                    ``rule``, ``message``, ``source``, ``axis``: ``divergence`` (will
                    it fail; the only axis with risks) | ``efficiency`` (will it train
                    well) | ``input``, ``lens``: what decided it}], errors first
``diagnostics``     [{``level``, ``rule``, ``message``, ``source``, ``axis``, ``lens``}] as in
                    ``findings``: the warnings (``advice``: unknown keys, assumptions,
                    overrides; rule ``config`` or ``effective_batch``) and the notes
                    (``ok``: facts such as Megatron's batch ramp-up), axis ``input``
``param_groups``    for ``check_optimizer``: [{index, beta1, beta2, eps, weight_decay,
                    lr, amsgrad, params}], else null
``recommendation``  ``Recommendation.to_dict()`` when ``adamcheck.recommend`` ran, else null
``verdict``         the two-sided verdict shared with ``adamcheck recommend``
                    (``Verdict.to_dict()``: ``level``, ``lower_edge``/``upper_edge`` with
                    ``beta2``, ``reason``, ``source`` and the evidence rows, the unit the
                    batch is counted in; ``divergence``: {``outcome``: ``fails`` |
                    ``trains`` | ``cannot_tell``, ``lens`` that set it, ``reason``,
                    ``abstained``}, ``domain``, ``diagnostics``, ``measurements``,
                    ``target_beta2``), or null when betas or batch are unknown
``exit_code``       0, 1 or 2 as above
``domain``          {``value``: ``lm``, ``lm-pretraining``, ``fine-tuning``, ``vision``,
                    ``regression``, ``rl``, ``gan`` or null (not known), ``how``: text}
``answer``          the short answer as printed: {``verdict``: the verdict line,
                    ``lines``: [the reason, the recommendation, the advice]}

When the input is unusable, ``--json`` still prints one object (and the one-line error
on stderr, exit 2): ``{"schema", "error": text, "error_kind": "usage" |
"unusable_input" | "not_covered", "exit_code": 2}``.

Example:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train_char.py").write_text(
    ...     "batch_size = 64\\nblock_size = 256\\ngradient_accumulation_steps = 1\\nbeta2 = 0.99\\n")
    >>> report = check_config(d / "train_char.py")
    >>> report.batch.sequences, report.batch.tokens, report.exit_code
    (64, 16384, 0)

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026); Zhang et al., arXiv:2208.09632
    (NeurIPS 2022); Reddi, Kale, Kumar, ICLR 2018; Marek et al., arXiv:2507.07101 (2025).
"""

from __future__ import annotations

from .._lazy import lazy_exports
from ._batch import EffectiveBatch, effective_batch
from ._check import check_config, check_setup, check_values, planned_steps
from ._load import FORMATS, detect_format, read_config
from ._optimizer import check_optimizer
from ._report import SCHEMA, CheckReport
from ._rules import RULES, Finding
from ._setup import Sourced, TrainingSetup

# The HF callback lives in the torch wing, which imports this package: exported lazily so
# that importing adamcheck.torch._hf first is not a cycle.
__getattr__, __dir__ = lazy_exports(__name__, {"check_training_arguments": "._hf_callback",
                                                "hf_check_callback": "._hf_callback"}, globals())

__all__ = [
    "CheckReport",
    "EffectiveBatch",
    "FORMATS",
    "Finding",
    "RULES",
    "SCHEMA",
    "Sourced",
    "TrainingSetup",
    "check_config",
    "check_optimizer",
    "check_setup",
    "check_values",
    "check_training_arguments",
    "detect_format",
    "effective_batch",
    "hf_check_callback",
    "planned_steps",
    "read_config",
]
