"""Run the rule set on a training setup: :func:`check_setup` and :func:`check_config`."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .._errors import AdamCheckError, DataError
from .._halflife import DEFAULT_REFERENCE, BetaReference
from .._measurement import Measurement
from .._validate import check_positive_int
from ..recommend._evidence import normal_domain
from ..recommend._recommend import Recommendation, recommend_with
from ..recommend._settings import RecommendSettings, VerdictSettings
from ..recommend._verdict import Verdict, judge_betas
from ._batch import EffectiveBatch, effective_batch
from ._load import read_config
from ._report import CheckReport
from ._rules import RULES, CheckContext, Finding, typed
from ._settings import BareValues, CheckSettings, ConfigOverrides
from ._setup import TrainingSetup, apply_overrides

if TYPE_CHECKING:  # annotations only: NumPy loads when a rule needs the gradients
    from .._laws import GradientLaw
    from ..noise import GradientSource

__all__ = ["check_bare", "check_config", "check_files", "check_setup", "check_values", "planned_steps", "run_check",
           "run_domain"]


def planned_steps(setup: TrainingSetup, batch: EffectiveBatch) -> tuple[int | None, str]:
    """Optimizer steps the run plans, and how that was found.

    From ``max_steps`` (``max_iters``, ``--train-iters``, torchtitan ``steps``); else
    Megatron's ``--train-samples`` / global batch; else ceil(epochs x steps per epoch)
    with steps per epoch = max(ceil(ceil(N / (micro x data-parallel)) / accumulation), 1),
    as the Hugging Face Trainer (transformers 5) counts them, N = dataset size in
    sequences (transformers 4.x floors the division by the accumulation).

    Example:
        >>> from adamcheck.configs._setup import Sourced
        >>> s = TrainingSetup(num_epochs=Sourced(3.0, "args"), dataset_size=Sourced(1000, "flag"),
        ...                   micro_batch=Sourced(8, "a"), grad_accum=Sourced(1, "b"))
        >>> planned_steps(s, effective_batch(s))[0]
        375
    """
    if setup.max_steps is not None:
        return int(setup.max_steps.value), setup.max_steps.source
    samples = setup.train_samples
    if samples is not None and samples.value is not None and batch.sequences:
        steps = math.ceil(samples.value / batch.sequences)
        return steps, f"{samples.source} / batch {batch.sequences}"
    epochs = setup.get("num_epochs")
    if epochs is None:
        return None, "the configuration states no step count"
    size = setup.get("dataset_size")
    if size is None:
        return None, f"num_train_epochs = {epochs:g} but the dataset size is unknown: pass dataset_size (CLI --dataset-size)"
    if batch.micro_batch is None or batch.data_parallel is None or batch.grad_accum is None:
        return None, "num_train_epochs given but the batch layout is unknown"
    loader = math.ceil(size / (batch.micro_batch * batch.data_parallel))
    per_epoch = max(math.ceil(loader / batch.grad_accum), 1)
    steps = math.ceil(epochs * per_epoch)
    how = (
        f"{epochs:g} epochs x {per_epoch} steps per epoch (ceil(ceil({size} / ({batch.micro_batch} x "
        f"{batch.data_parallel})) / {batch.grad_accum}), as the transformers 5 Trainer counts them; "
        "4.x rounds the division by the accumulation down)"
    )
    return steps, how


#: Frameworks that train language models only: their configs are language-model runs.
LM_FORMATS = frozenset({"nanogpt", "megatron", "torchtitan", "axolotl", "llamafactory", "torchtune", "litgpt",
                        "olmo", "levanter"})


def run_domain(setup: TrainingSetup, domain: str | None = None) -> tuple[str | None, str]:
    """Your kind of training and how it was found: ``domain`` when given, else a
    language model (``"lm"``) when the config states a sequence length or comes from a
    language-model framework, else not known (None).

    Example:
        >>> from adamcheck.configs._setup import Sourced
        >>> run_domain(TrainingSetup(format="hf", seq_len=Sourced(512, "args.json: max_seq_length")))
        ('lm', 'a language model: the config states a sequence length (args.json: max_seq_length)')
        >>> run_domain(TrainingSetup(format="hf"))[0] is None
        True
    """
    if domain is not None:
        return normal_domain(domain), "given (--domain)"
    if setup.seq_len is not None:
        return "lm", f"a language model: the config states a sequence length ({setup.seq_len.source})"
    fmts = sorted(set(setup.format.split("+")) & LM_FORMATS)
    if fmts:
        return "lm", f"a language model: {fmts[0]} trains language models"
    return None, "not known: pass --domain (lm, lm-pretraining, fine-tuning, vision, regression, rl, gan)"


def _recommendation(
    ctx: CheckContext,
) -> tuple[Recommendation | None, str | None]:
    """Call :func:`adamcheck.recommend.recommend` for this batch; else say why not."""
    if not ctx.betas_usable() or ctx.batch.sequences is None:
        return None, "betas or batch size unknown"
    reference = ctx.reference
    if ctx.reference_seq_len is not None and reference.unit == "samples":
        # The reference batch counts sequences of reference_seq_len tokens: hand it to the
        # recommender in tokens, so its half-life rule compares tokens as the check's does.
        if ctx.batch.seq_len is None:
            return None, "the reference is in sequences of reference_seq_len tokens but the config states no sequence length (pass seq_len, CLI --seq-len)"
        reference = BetaReference(
            reference.beta2, reference.batch_size * ctx.reference_seq_len,
            f"{reference.source}; its batch of sequences of {ctx.reference_seq_len} tokens", "tokens",
        )
    try:
        rec = recommend_with(
            ctx.batch.sequences, ctx.gradient_source if ctx.gradient_source is not None else ctx.gradients,
            RecommendSettings(dataset_size=ctx.setup.get("dataset_size"), beta1=ctx.beta1, reference=reference,
                              tokens_per_sample=ctx.batch.seq_len, eps=ctx.eps, planned_steps=ctx.planned_steps,
                              domain=ctx.domain, domain_how=ctx.domain_how, measurements=ctx.measurements))
    except AdamCheckError as exc:
        if ctx.gradients is not None or ctx.setup.get("dataset_size") is not None:
            # --gradients or --dataset-size that cannot be used with these values (a data set
            # smaller than the file's examples or than the batch, a bad file) is a usage error
            # (exit 2, one line, nothing on stdout) as in `adamcheck recommend`, never a verdict
            # with the recommendation silently "not checked"
            raise
        return None, f"adamcheck recommend refused the inputs: {exc}"
    return rec, None


def _verdict(ctx: CheckContext) -> Verdict | None:
    """The shared verdict (:func:`adamcheck.recommend._verdict.verdict`) on the config's betas."""
    betas = ctx.usable_betas()
    if betas is None or ctx.batch.sequences is None:
        return None
    rec = ctx.recommendation
    ms = None if rec is None else rec.measurements
    state = ctx.setup.state_dtype
    return judge_betas(ctx.batch.sequences, betas[0], betas[1], VerdictSettings(
        reference=ctx.reference, tokens_per_sample=ctx.batch.seq_len, planned_steps=ctx.planned_steps,
        upper_ratio=ctx.upper_ratio, domain=ctx.domain, domain_how=ctx.domain_how,
        measurements=ctx.measurements if ms is None else ms, eps=ctx.eps,
        state_dtype=None if state is None else state.value, state_source="" if state is None else state.source,
        grad_rms=ctx.grad_rms))


def _smallest_gradients(laws: Sequence[GradientLaw]) -> GradientLaw:
    """The sampled point whose typical sqrt(E g^2) is smallest: where eps matters most."""
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    return min(laws, key=lambda law: float(np.median(np.sqrt(law.second_moment()))))


def check_setup(
    setup: TrainingSetup,
    *,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    gradients: str | Path | None = None,
    dataset_size: int | None = None,
    upper_ratio: float | None = None,
    domain: str | None = None,
    measurements: Iterable[Measurement] = (),
    grad_rms: float | None = None,
) -> CheckReport:
    """Apply every rule of :mod:`adamcheck.configs._rules` to ``setup``.

    ``reference`` is a :class:`~adamcheck._halflife.BetaReference` or ``"BETA2@BATCH"``
    (default :data:`~adamcheck._halflife.DEFAULT_REFERENCE`, 0.999 at 32 x 4096 tokens);
    ``reference_seq_len`` the tokens per sequence of the reference batch (default: the
    reference's own, else this config's length). ``upper_ratio``: the large-batch
    memory advice fires past this multiple of the half-life rule's memory (default
    :data:`adamcheck.recommend._verdict.DEFAULT_UPPER_RATIO`, adamcheck's choice).
    ``domain``: your kind of training (default: a language model when the config states
    a sequence length or comes from a language-model framework, else not known, so
    published runs do not count). ``measurements``: your own
    :class:`~adamcheck._measurement.Measurement` (monitor, probe runs), which decide
    before published evidence. ``grad_rms``: the gradient RMS per coordinate, when known
    (eps against it). Exit code of the report: 2 errors, 1 risks, 0 otherwise.

    Example:
        >>> from adamcheck.configs._nanogpt import read_nanogpt_source
        >>> r = check_setup(read_nanogpt_source("batch_size = 64\\nblock_size = 256\\n"
        ...                                      "gradient_accumulation_steps = 1\\nbeta2 = 0.99\\n", "c.py"))
        >>> r.batch.tokens, r.exit_code
        (16384, 0)
    """
    settings = CheckSettings(reference=reference or DEFAULT_REFERENCE, reference_seq_len=reference_seq_len,
                             upper_ratio=upper_ratio, domain=domain, measurements=tuple(measurements),
                             grad_rms=grad_rms)
    if dataset_size is not None:
        setup = apply_overrides(setup, dataset_size=(check_positive_int(dataset_size, "dataset size"), "--dataset-size"))
    return run_check(setup, gradients, settings)


def run_check(setup: TrainingSetup, gradients: "str | Path | GradientSource | None",
              settings: CheckSettings) -> CheckReport:
    """:func:`check_setup` with its options as one :class:`~adamcheck.configs._settings.CheckSettings`
    (checked at its construction). The gradient files, if any, are opened once for the
    whole check: an unusable file (or metadata) is refused before any rule runs, and the
    recommender reads the open source.

    Example:
        >>> from adamcheck.configs._nanogpt import read_nanogpt_source
        >>> s = read_nanogpt_source("batch_size = 8\\ngradient_accumulation_steps = 1\\n", "c.py")
        >>> run_check(s, None, CheckSettings()).batch.sequences
        8
    """
    if gradients is None:
        return _check_opened(setup, None, None, settings)
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    with opened_gradients(gradients) as source:
        return _check_opened(setup, source, gradients, settings)


def _check_opened(setup: TrainingSetup, source: "GradientSource | None", gradients: object,
                  settings: CheckSettings) -> CheckReport:
    """:func:`run_check` once the gradient files (if any) are open."""
    batch = effective_batch(setup)
    steps, how = planned_steps(setup, batch)
    dom, dom_how = run_domain(setup, settings.domain)
    reference, reference_seq_len = settings.reference, settings.reference_seq_len
    ctx = CheckContext(
        setup=setup,
        batch=batch,
        reference=reference,
        reference_seq_len=reference_seq_len,
        planned_steps=steps,
        planned_steps_how=how,
        gradients=str(gradients) if isinstance(gradients, (str, Path)) else (
            source.label if source is not None and gradients is source else gradients),
        gradient_source=source,
        upper_ratio=settings.upper_ratio,
        domain=dom,
        domain_how=dom_how,
        measurements=settings.measurements,
        grad_rms=settings.grad_rms,
    )
    ctx.recommendation, ctx.recommendation_missing = _recommendation(ctx)
    ctx.verdict = _verdict(ctx)
    laws = None if ctx.recommendation is None else ctx.recommendation.laws
    if laws:
        ctx.gradient_law = _smallest_gradients(laws)
    findings: list[Finding] = []
    for rule in RULES:
        findings.extend(typed(f) for f in rule(ctx))
    rec = ctx.recommendation
    return CheckReport(
        setup=setup,
        batch=batch,
        findings=findings,
        reference=reference,
        reference_seq_len=reference_seq_len,
        planned_steps=steps,
        planned_steps_how=how,
        recommendation=rec.to_dict() if rec is not None else None,
        verdict=ctx.verdict,
        domain=dom,
        domain_how=dom_how,
    )


def check_config(
    paths: str | Path | Sequence[str | Path],
    *,
    format: str | None = None,
    preset: str | None = None,
    accumulation: str | None = None,
    world_size: int | None = None,
    seq_len: int | None = None,
    micro_batch_size: int | None = None,
    grad_accum: int | None = None,
    global_batch_size: int | None = None,
    max_steps: int | None = None,
    dataset_size: int | None = None,
    gradients: str | Path | None = None,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    domain: str | None = None,
    state_dtype: str | None = None,
    grad_rms: float | None = None,
    measurements: Iterable[Measurement] = (),
) -> CheckReport:
    """Read configuration file(s), apply flag values, and check the Adam settings.

    The keyword arguments are the ``adamcheck check`` flags: they fill what the files
    leave out (and override what they state, with a warning); a flag that contradicts a
    product the files fix (``--global-batch-size`` against nanoGPT's batch_size x
    gradient_accumulation_steps) is an error naming both. ``domain``, ``grad_rms`` and
    ``measurements`` are those of :func:`check_setup`; ``state_dtype`` (``fp32``, ``bf16``,
    ``fp16``) the precision of Adam's m and v where the file does not say. ``preset`` picks a torchtitan
    Python preset, ``accumulation`` (``per-rank``/``global``) nanoGPT's convention.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "args.json").write_text('{"adam_beta1": 0.9, "adam_beta2": 0.999, '
        ...                                   '"per_device_train_batch_size": 8}')
        >>> r = check_config(d / "args.json", world_size=4)
        >>> r.batch.sequences, r.exit_code
        (32, 0)
    """
    overrides = ConfigOverrides(format=format, preset=preset, accumulation=accumulation, world_size=world_size,
                                seq_len=seq_len, micro_batch_size=micro_batch_size, grad_accum=grad_accum,
                                global_batch_size=global_batch_size, max_steps=max_steps,
                                dataset_size=dataset_size, state_dtype=state_dtype)
    settings = CheckSettings(reference=reference or DEFAULT_REFERENCE, reference_seq_len=reference_seq_len,
                             domain=domain, measurements=tuple(measurements), grad_rms=grad_rms)
    return check_files(paths, overrides, gradients, settings)


def check_files(paths: str | Path | Sequence[str | Path], overrides: ConfigOverrides,
                gradients: "str | Path | GradientSource | None", settings: CheckSettings) -> CheckReport:
    """:func:`check_config` with its flags as one :class:`~adamcheck.configs._settings.ConfigOverrides`
    and its options as one :class:`~adamcheck.configs._settings.CheckSettings`."""
    setup = read_config(paths, overrides.format, preset=overrides.preset, accumulation=overrides.accumulation)
    return run_check(overrides.apply(setup), gradients, settings)


def _file_values(gradients: Any, **given: Any) -> tuple[dict[str, str], tuple[Any, ...]]:
    """Values a gradient file states (a monitor's: batch, betas, eps, sequence length,
    planned steps) where the caller gave none: (where each was taken from, the values in
    the order given). Headers and metadata only, through the one gradient loader."""
    from ..noise import GradientSource  # lazy: keeps numpy off `import adamcheck.configs`
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    if isinstance(gradients, (str, Path)):
        gradients = [gradients]
    if not isinstance(gradients, (list, tuple, GradientSource)):
        return {}, tuple(given.values())
    with opened_gradients(gradients if isinstance(gradients, GradientSource) else list(gradients)) as source:
        meta, name = source.meta, source.label
    values, taken, _ = meta.fill(given, name)  # a typed value wins (its provenance says so)
    setup_name = {"batch_size": "global_batch", "planned_steps": "max_steps"}
    return {setup_name.get(k, k): f"gradient file {name}" for k in taken}, tuple(values.values())


def check_values(
    batch_size: int | None = None,
    beta1: float | None = None,
    beta2: float | None = None,
    *,
    eps: float | None = None,
    seq_len: int | None = None,
    max_steps: int | None = None,
    dataset_size: int | None = None,
    gradients: "str | Path | GradientSource | None" = None,
    reference: BetaReference | str | None = None,
    reference_seq_len: int | None = None,
    domain: str | None = None,
    state_dtype: str | None = None,
    grad_rms: float | None = None,
    measurements: Iterable[Measurement] = (),
) -> CheckReport:
    """Check bare values, no configuration file: the same rules, report and exit codes.

    ``batch_size`` counts samples (sequences) per optimizer step; ``seq_len`` tokens per
    sequence (then batches are compared in tokens, and the run is taken for a language
    model unless ``domain`` says otherwise). ``domain``: your kind of training; without
    it (and without ``seq_len``) published runs do not count. ``state_dtype``: the
    precision of Adam's m and v (``fp32``, ``bf16``, ``fp16``), for the eps rule. A value
    not given (None) is a rule not run ("not checked"), never an error: eps and the
    precision alone are judged on their own.

    Raises:
        InvalidParameterError: a beta outside [0, 1), a negative eps, a size below 1, or
            neither (batch_size, beta1, beta2) nor eps given.

    Example:
        >>> check_values(8, 0.0, 0.95, domain="vision").exit_code     # Shi et al. 2021: it failed
        1
        >>> check_values(8, 0.0, 0.95).exit_code                      # domain not known: no evidence applies
        0
        >>> check_values(8, 0.9, 0.95, eps=1e-8, state_dtype="fp16").exit_code   # eps rounds to 0 in fp16
        1
        >>> check_values(eps=1e-8, state_dtype="fp16").exit_code                  # eps alone is judged too
        1
    """
    # bare values are the user's own typing: a beta outside [0, 1) is a usage error, not a finding
    values = BareValues(batch_size, beta1, beta2, eps, seq_len, max_steps, dataset_size, state_dtype)
    settings = CheckSettings(reference=reference or DEFAULT_REFERENCE, reference_seq_len=reference_seq_len,
                             domain=domain, measurements=tuple(measurements), grad_rms=grad_rms)
    return check_bare(values, gradients, settings)


def check_bare(values: BareValues, gradients: "str | Path | GradientSource | None",
               settings: CheckSettings) -> CheckReport:
    """:func:`check_values` with its values as one :class:`~adamcheck.configs._settings.BareValues`
    and its options as one :class:`~adamcheck.configs._settings.CheckSettings`. A gradient
    file is opened once for the whole check: the values it states where none were given,
    then the recommender's reads."""
    if isinstance(gradients, (str, Path, list, tuple)):
        from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

        with opened_gradients(list(gradients) if isinstance(gradients, (list, tuple)) else [gradients]) as source:
            return check_bare(values, source, settings)
    stated: dict[str, str] = {}
    if gradients is not None:  # a monitor file states its run: what was not typed is taken from it
        stated, filled = _file_values(
            gradients, batch_size=values.batch_size, beta1=values.beta1, beta2=values.beta2, eps=values.eps,
            seq_len=values.seq_len, planned_steps=values.max_steps)
        values = replace(values, **dict(zip(("batch_size", "beta1", "beta2", "eps", "seq_len", "max_steps"),
                                            filled)))
    return run_check(values.setup(stated), gradients, settings)
