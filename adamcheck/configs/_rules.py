"""The rules ``adamcheck check`` applies, one small function each.

A rule takes a :class:`CheckContext` and returns :class:`Finding` objects
(:class:`adamcheck._diagnostics.Diagnostic`: a level, the rule, a message, its source,
the **axis** it speaks for and the **lens** that decided it). Levels:

* ``error``: the setup is unusable (betas outside [0, 1), no batch size); exit 2.
* ``risk``: the run is likely to fail (divergence axis only); exit 1.
* ``advice``: worth knowing, not a failure (efficiency, or a measured value that a more
  specific lens overrides); exit 0.
* ``not_checked``: the rule could not run, with the reason (never a silent pass).
* ``ok``: the rule ran and found nothing, with the numbers it compared.

The divergence and efficiency rules read the shared verdict
(:func:`adamcheck.recommend._verdict.verdict`), so ``check`` and ``recommend`` never
disagree. Rules (``RULES`` runs them in this order):

``betas_range`` (input)
    0 <= beta1 < 1, 0 <= beta2 < 1, eps >= 0: the range torch.optim.Adam accepts and
    Zhang et al.'s theorems assume.
``batch_size`` (input)
    the effective batch (:mod:`._batch`) is known.
``beta1_below_sqrt_beta2`` (divergence, theory)
    risk when beta1 >= sqrt(beta2). Every convergence theorem for Adam without
    modification (Zhang et al. 2022, Thm 3.1; Zhang et al. 2026, Thm 2.2) assumes
    beta1 < sqrt(beta2); with beta1 >= sqrt(beta2) none applies (Reddi et al. 2018 build
    failures for any beta1 < sqrt(beta2) *after* fixing the betas; above it there is no
    guarantee at all).
``monitor``, ``probe`` (divergence)
    your own run's measurements (a monitor file given as ``--gradients``, or
    ``measurements``): they decide before everything else, in both directions.
``critical_beta2`` (divergence, gradients)
    risk when beta2 < beta2*(beta1, B) from sampled gradients (docs/theory.md section 10),
    where that lens decided; needs ``--gradients``.
``lower_edge`` (divergence, evidence)
    risk when published runs whose conditions match yours (domain, beta1 class, batch
    dominance, outcome kind) failed with a memory this short at this batch or a larger
    one; "cannot tell" when your domain is not known.
``eps_precision`` (divergence)
    risk when eps rounds to 0 in an fp16 optimizer state (:mod:`adamcheck.recommend._eps`).
``spikes`` (divergence, advice only)
    published loss spikes that match your run, and the way their fix moved beta2.
``half_life`` (efficiency)
    the memory M = 1/(1-beta2) against the half-life rule's beta2_rule =
    beta2_ref^(T/T_ref) (Marek et al. 2025) clamped to the practice range, in tokens
    when both sequence lengths are known: advice when M is more than ``lower_ratio``
    times shorter (raise beta2), or, at a batch at least the reference's, more than
    ``upper_ratio`` times longer (too long a memory spiked at large batch).
``worse`` (efficiency)
    published runs like yours that trained worse with a memory this short, with the cost.
``memory_vs_steps`` (efficiency)
    advice when 1/(1-beta2) exceeds the planned optimizer steps: the EMA never reaches
    its own window, and Zhang et al. 2026's bound carries a 1/(1-beta2) factor.
``eps_vs_sqrt_v`` (efficiency, gradients)
    advice when eps exceeds ``eps_fraction`` (default 0.1, adamcheck's choice, not a
    paper's) of the median over coordinates of sqrt(E[g_B^2]), the stationary sqrt(v);
    then eps, not sqrt(v), sets the step size. Needs gradients (or ``--grad-rms``:
    ``eps_vs_grad``).
``recommended_betas``
    the (beta1, beta2) ``adamcheck recommend`` gives for this batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from .._answer import beta_text, sqrt_rule_text
from .._diagnostics import Diagnostic
from .._halflife import BetaReference, half_life_beta2, memory_steps
from ..recommend._eps import eps_diagnostics
from ..recommend._recommend import SRC_TRAINING_BOUNDARY
from ._batch import EffectiveBatch
from ._setup import TrainingSetup

if TYPE_CHECKING:  # annotations only: check's fast path must not load NumPy or the recommender
    from .._laws import GradientLaw
    from ..noise import GradientSource
    from .._measurement import Measurement
    from ..recommend._recommend import Recommendation
    from ..recommend._verdict import Verdict

__all__ = [
    "Finding",
    "CheckContext",
    "RULES",
    "LEVELS",
    "rule_betas_range",
    "rule_batch_size",
    "rule_beta1_below_sqrt_beta2",
    "rule_half_life",
    "rule_lower_edge",
    "rule_memory_vs_steps",
    "rule_critical_beta2",
    "rule_eps_precision",
    "rule_eps_vs_sqrt_v",
    "rule_monitor",
    "rule_recommended_betas",
    "rule_spikes",
    "RULE_AXIS",
    "typed",
    "eps_findings",
    "critical_beta2_findings",
    "recommendation_findings",
]

LEVELS = ("error", "risk", "advice", "not_checked", "ok")

SRC_RANGE = "torch.optim.Adam accepts betas in [0, 1); Zhang et al. 2026 (arXiv 2603.02092) Thm 2.2 assumes 0 <= beta1 < sqrt(beta2) < 1"
SRC_SQRT = (
    "Zhang et al. 2026 (arXiv 2603.02092) Thm 2.2 and Zhang et al. 2022 (arXiv 2208.09632) "
    "assume beta1 < sqrt(beta2); Reddi et al. 2018 (ICLR) Thm 2"
)
SRC_HALF_LIFE = "half-life rule beta2' = beta2_ref^(B'/B_ref), Marek et al. 2025 (arXiv 2507.07101)"
SRC_MEMORY = (
    "EMA window 1/(1-beta2) (adamcheck._halflife.memory_steps); the 1/(1-beta2) factor in "
    "Zhang et al. 2026 (arXiv 2603.02092) Thm 2.2"
)
#: the beta2* this rule judges is recommend's calibrated lens, the training boundary (section 10)
SRC_CRITICAL = SRC_TRAINING_BOUNDARY
SRC_EVIDENCE = "published outcomes whose conditions match yours, adamcheck.recommend.EVIDENCE (docs/theory.md section 7)"
SRC_OWN = "measurements of your own run: monitor file, probe runs (adamcheck._measurement)"
SRC_EPS = "eps against the stationary sqrt(v) = sqrt(E[g_B^2]) of sampled gradients (threshold is adamcheck's choice)"
SRC_RECOMMEND = "adamcheck recommend"
SRC_BATCH = "effective batch = micro batch x gradient accumulation x data-parallel size"


#: A finding is a :class:`~adamcheck._diagnostics.Diagnostic`; ``to_dict()`` gives
#: ``level``, ``rule``, ``message``, ``source`` (and ``axis``, ``lens``).
Finding = Diagnostic


@dataclass
class CheckContext:
    """Everything a rule may look at."""

    setup: TrainingSetup
    batch: EffectiveBatch
    reference: BetaReference
    reference_seq_len: int | None = None
    planned_steps: int | None = None
    planned_steps_how: str = ""
    gradients: str | None = None
    #: the open gradient files (one open per command: the recommender reads this source)
    gradient_source: GradientSource | None = None
    #: the sampled point's mini-batch law with the smallest typical sqrt(E g^2) (eps rule)
    gradient_law: GradientLaw | None = None
    #: the verdict's upper_ratio: large-batch advice past this multiple of the rule's memory
    upper_ratio: float = 5.0
    eps_fraction: float = 0.1
    recommendation: Recommendation | None = None
    recommendation_missing: str | None = None
    #: the verdict of :func:`adamcheck.recommend._verdict.verdict` (None when the betas
    #: or the batch are unknown).
    verdict: Verdict | None = None
    #: your domain (None: not known) and how it was found
    domain: str | None = None
    domain_how: str = ""
    #: your own measurements (monitor, probe) given to check_setup
    measurements: tuple[Measurement, ...] = ()
    #: the gradient RMS per coordinate, when the user knows it (--grad-rms)
    grad_rms: float | None = None

    @property
    def beta1(self) -> float | None:
        return self.setup.get("beta1")

    @property
    def beta2(self) -> float | None:
        return self.setup.get("beta2")

    @property
    def eps(self) -> float | None:
        return self.setup.get("eps")

    def betas_usable(self) -> bool:
        return self.usable_betas() is not None

    def usable_betas(self) -> tuple[float, float] | None:
        """(beta1, beta2) when both are known and in [0, 1), else None."""
        b1, b2 = self.beta1, self.beta2
        if b1 is not None and b2 is not None and 0 <= b1 < 1 and 0 <= b2 < 1:
            return b1, b2
        return None


Rule = Callable[[CheckContext], "list[Finding]"]


def _g(x: float) -> str:
    return f"{x:.6g}"


def _b(x: float) -> str:
    """A beta with enough digits to tell it from 1 (0.99987, never "1")."""
    return beta_text(x)


def _bare(ctx: CheckContext) -> bool:
    """Bare values (``check_values``): a value not given is a rule not run, never an error."""
    return ctx.setup.format == "values"


def _from_verdict(ctx: CheckContext, rule: str) -> list[Finding]:
    """The shared verdict's findings for ``rule`` (empty without a verdict)."""
    v = ctx.verdict
    return [] if v is None else list(v.diagnostic(rule))


#: The axis and lens of each rule's findings (module docstring).
RULE_AXIS = {
    "betas_range": "input", "batch_size": "input",
    "beta1_below_sqrt_beta2": "divergence", "monitor": "divergence", "probe": "divergence",
    "critical_beta2": "divergence", "lower_edge": "divergence", "eps_precision": "divergence",
    "spikes": "divergence",
    "half_life": "efficiency", "worse": "efficiency", "memory_vs_steps": "efficiency",
    "eps_vs_sqrt_v": "efficiency", "eps_vs_grad": "efficiency", "recommended_betas": "efficiency",
}
_RULE_LENS = {"beta1_below_sqrt_beta2": "theory", "critical_beta2": "gradients", "lower_edge": "evidence",
              "monitor": "monitor", "probe": "probe", "eps_vs_sqrt_v": "gradients", "eps_precision": "theory",
              "spikes": "evidence", "worse": "evidence", "half_life": "practice", "memory_vs_steps": "theory",
              "recommended_betas": "practice"}


def typed(finding: Finding) -> Finding:
    """``finding`` with its rule's axis and lens filled in where it has none."""
    axis = finding.axis or RULE_AXIS.get(finding.rule, "")
    lens = finding.lens or _RULE_LENS.get(finding.rule, "")
    if finding.level == "risk" and axis == "efficiency":
        axis = "divergence"  # a risk is a divergence finding by definition (never reached by the rules)
    return replace(finding, axis=axis, lens=lens) if (axis, lens) != (finding.axis, finding.lens) else finding


def _n(x: float) -> str:
    """A count for people: 1,234 or 1.2e+12."""
    if x >= 1e12:
        return f"{x:.3g}"
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def rule_betas_range(ctx: CheckContext) -> list[Finding]:
    """Errors for missing or out-of-range beta1, beta2, eps."""
    out = []
    for name, item in (("beta1", ctx.setup.beta1), ("beta2", ctx.setup.beta2)):
        value = None if item is None else item.value
        if value is None and _bare(ctx):
            out.append(Finding("not_checked", "betas_range", f"{name} not given (--{name}): the rules that need it "
                               "did not run", SRC_RANGE))
        elif value is None:
            why = ctx.setup.unresolved.get(name, "not stated and no default applies")
            out.append(Finding("error", "betas_range", f"{name} is unknown: {why}", SRC_RANGE))
        elif not 0.0 <= value < 1.0 or math.isnan(value):
            src = item.source if item is not None else ""
            out.append(
                Finding(
                    "error",
                    "betas_range",
                    f"{name} = {_g(value)} ({src}) is outside [0, 1): Adam refuses it; use a value in [0, 1) such as 0.9 or 0.999",
                    SRC_RANGE,
                )
            )
    eps = ctx.eps
    if eps is not None and eps < 0:
        out.append(Finding("error", "betas_range", f"eps = {_g(eps)} is negative: use eps >= 0 (e.g. 1e-8)", SRC_RANGE))
    betas = ctx.usable_betas()
    if not out and betas is not None:  # no finding yet: both betas are known and in [0, 1)
        out.append(Finding("ok", "betas_range", f"beta1 = {_g(betas[0])}, beta2 = {_g(betas[1])} lie in [0, 1)", SRC_RANGE))
    return out


def rule_batch_size(ctx: CheckContext) -> list[Finding]:
    """Error when the batch per optimizer step cannot be determined."""
    if ctx.batch.sequences is not None:
        return [Finding("ok", "batch_size", f"effective batch {ctx.batch.sequences} sequence{'' if ctx.batch.sequences == 1 else 's'} per optimizer step", SRC_BATCH)]
    if _bare(ctx):
        return [Finding("not_checked", "batch_size", "batch size not given (--batch-size): the rules that need it did "
                        "not run", SRC_BATCH)]
    reasons = [f"{k}: {v}" for k, v in ctx.setup.unresolved.items() if k in ("micro_batch", "global_batch", "grad_accum")]
    why = "; ".join(reasons) if reasons else f"no {ctx.batch.missing or 'batch size'} in the configuration"
    # each reason that already names its flag (a nanoGPT value computed at run time) is the fix
    fix = "" if reasons and all("pass --" in r for r in reasons) else \
        ": pass --micro-batch-size (or the TrainingArguments file beside a DeepSpeed config)"
    return [Finding("error", "batch_size", f"batch size unknown ({why}){fix}", SRC_BATCH)]


def rule_beta1_below_sqrt_beta2(ctx: CheckContext) -> list[Finding]:
    """Risk when beta1 >= sqrt(beta2) (the theory lens of the verdict), unless your own
    measurements cleared the value."""
    betas = ctx.usable_betas()
    if betas is None:
        return [Finding("not_checked", "beta1_below_sqrt_beta2", "not checked: betas unknown or invalid", SRC_SQRT)]
    from_verdict = _from_verdict(ctx, "beta1_below_sqrt_beta2")
    if from_verdict:
        return [replace(f, source=SRC_SQRT) for f in from_verdict]
    b1, b2 = betas
    level = "risk" if b1 >= math.sqrt(b2) else "ok"
    return [Finding(level, "beta1_below_sqrt_beta2", sqrt_rule_text(b1, b2), SRC_SQRT)]


def half_life_comparison(
    beta2: float, batch: float, reference: BetaReference, *, tokens_per_sample: float | None = None,
    reference_tokens_per_sample: float | None = None,
) -> dict[str, float]:
    """Memories of ``beta2`` and of the half-life rule at this batch.

    The batch is converted to the reference's unit: with both sequence lengths known,
    B' = B x L / L_ref reference-sequences; otherwise both count sequences of the
    same length. Returns ``beta2_rule``, ``memory_steps`` (1/(1-beta2)),
    ``rule_memory_steps`` and ``ratio`` = rule memory / config memory
    = (1-beta2)/(1-beta2_rule) (the same in steps, sequences or tokens, since both
    are at the same batch).

    Example:
        >>> from adamcheck._halflife import DEFAULT_REFERENCE
        >>> c = half_life_comparison(0.95, 1536, DEFAULT_REFERENCE)
        >>> round(c["beta2_rule"], 4), round(c["ratio"], 3)
        (0.9531, 1.066)
    """
    units = batch
    if tokens_per_sample is not None and reference_tokens_per_sample is not None:
        units = batch * tokens_per_sample / reference_tokens_per_sample
    rule = half_life_beta2(reference, units)
    mem = memory_steps(beta2)
    rule_mem = 1.0 / (1.0 - rule) if rule < 1.0 else math.inf
    return {"beta2_rule": rule, "memory_steps": mem, "rule_memory_steps": rule_mem, "ratio": rule_mem / mem}


def _verdict_source(ctx: CheckContext) -> str:
    ref = ctx.reference
    return f"{SRC_HALF_LIFE}; reference: {ref.source}"


def rule_half_life(ctx: CheckContext) -> list[Finding]:
    """Advice when the memory is far shorter than the half-life rule's, or far longer at large batch."""
    source = _verdict_source(ctx)
    if ctx.verdict is None:
        return [Finding("not_checked", "half_life", "not checked: betas or batch size unknown", source)]
    return _from_verdict(ctx, "half_life")


def rule_lower_edge(ctx: CheckContext) -> list[Finding]:
    """Risk when published runs whose conditions match yours failed at this beta2 and batch."""
    if ctx.verdict is None:
        return [Finding("not_checked", "lower_edge", "not checked: betas or batch size unknown", SRC_EVIDENCE)]
    return _from_verdict(ctx, "lower_edge")


def rule_monitor(ctx: CheckContext) -> list[Finding]:
    """Your own run's measurements (monitor file, probe runs): they decide first."""
    if ctx.verdict is None:
        return [Finding("not_checked", "monitor", "not checked: betas or batch size unknown", SRC_OWN)]
    found = _from_verdict(ctx, "monitor") + _from_verdict(ctx, "probe")
    return found or [Finding("not_checked", "monitor", "not checked: no measurement of your own run was given "
                             "(a GradientMonitor file as --gradients, or probe results)", SRC_OWN)]


def rule_eps_precision(ctx: CheckContext) -> list[Finding]:
    """Risk when eps rounds to 0 in an fp16 optimizer state; advice when eps is large against --grad-rms."""
    if ctx.verdict is None:  # eps needs neither the betas nor the batch
        state = ctx.setup.state_dtype
        return eps_diagnostics(ctx.eps, None if state is None else state.value,
                               state_source="" if state is None else state.source, beta2=ctx.beta2
                               if ctx.betas_usable() else None, grad_rms=ctx.grad_rms)
    return _from_verdict(ctx, "eps_precision") + _from_verdict(ctx, "eps_vs_grad")


def rule_spikes(ctx: CheckContext) -> list[Finding]:
    """Published spikes and worse runs that match yours (advice, with the way their fix went)."""
    return _from_verdict(ctx, "spikes") + _from_verdict(ctx, "worse")


def rule_memory_vs_steps(ctx: CheckContext) -> list[Finding]:
    """Advice when 1/(1-beta2) exceeds the planned number of optimizer steps."""
    betas = ctx.usable_betas()
    if betas is None:
        return [Finding("not_checked", "memory_vs_steps", "not checked: beta2 unknown or invalid", SRC_MEMORY)]
    if ctx.planned_steps is None:
        return [Finding("not_checked", "memory_vs_steps", f"not checked: planned steps unknown ({ctx.planned_steps_how})", SRC_MEMORY)]
    beta1, beta2 = betas
    mem = memory_steps(beta2)
    if mem > ctx.planned_steps:
        fits = 1 - 1 / ctx.planned_steps
        if fits <= beta1 * beta1:
            # every beta2 that fits so short a run puts beta1 >= sqrt(beta2): a risk outranks
            # this advice, so it names no value below that edge
            fix = (f"no beta2 both fits the run (beta2 <= {_b(fits)}) and stays above beta1^2 = "
                   f"{_g(beta1 * beta1)}: keep beta2 above {_g(beta1 * beta1)} (a risk outranks this advice)")
        else:
            fix = f"beta2 <= {_b(fits)} fits the run"
        return [
            Finding(
                "advice",
                "memory_vs_steps",
                f"beta2 = {_b(beta2)} averages over 1/(1-beta2) = {_n(mem)} steps but the run plans "
                f"{_n(ctx.planned_steps)} ({ctx.planned_steps_how}): the second moment never forgets its "
                f"start; {fix}",
                SRC_MEMORY,
            )
        ]
    return [
        Finding(
            "ok",
            "memory_vs_steps",
            f"1/(1-beta2) = {_n(mem)} steps <= {_n(ctx.planned_steps)} planned steps ({ctx.planned_steps_how})",
            SRC_MEMORY,
        )
    ]


# --- rules that need sampled gradients and/or adamcheck.recommend ------------------------


def critical_beta2_findings(beta2: float, beta2_critical: float | None, batch: int | None, source: str = SRC_CRITICAL) -> list[Finding]:
    """Risk when beta2 < beta2* (given by the recommender from gradients)."""
    if beta2_critical is None:
        return [Finding("not_checked", "critical_beta2", "not checked: no beta2* was computed (needs gradients)", source)]
    if beta2 < beta2_critical:
        return [
            Finding(
                "risk",
                "critical_beta2",
                f"beta2 = {_b(beta2)} is below the critical beta2* = {_b(beta2_critical)} for batch {batch} "
                "estimated from your gradients: Adam's mean step can climb in some coordinates; raise beta2 above it",
                source,
            )
        ]
    if beta2_critical <= 0:
        text = (f"no coordinate's drift is reversed at any beta2 at batch {batch} (beta2* = 0), "
                f"so beta2 = {_g(beta2)} is clear of the divergent phase")
        return [Finding("ok", "critical_beta2", text, source)]
    return [Finding("ok", "critical_beta2", f"beta2 = {_b(beta2)} >= beta2* = {_b(beta2_critical)} at batch {batch}", source)]


def eps_findings(eps: float, law: GradientLaw, batch: int | None, fraction: float = 0.1) -> list[Finding]:
    """Advice when eps > ``fraction`` x median_j sqrt(E[g_j^2]) of a :class:`~adamcheck._laws.GradientLaw`.

    At stationarity v_j -> E[g_j^2] (docs/theory.md section 1), so sqrt(v) + eps is
    dominated by eps when eps is not small against sqrt(E[g^2]).

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> law = GradientLaw.from_samples([[1e-9, 2e-9], [-1e-9, 3e-9]], batch_size=8)
        >>> str(eps_findings(1e-8, law, 8)[0].level)
        'advice'
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    if batch is not None and law.batch_size is not None and law.batch_size != batch:
        return [
            Finding(
                "not_checked",
                "eps_vs_sqrt_v",
                f"not checked: the gradients describe batch {law.batch_size}, the config uses {batch}",
                SRC_EPS,
            )
        ]
    rms = np.sqrt(law.second_moment())
    typical = float(np.median(rms))
    if typical == 0.0:
        return [Finding("not_checked", "eps_vs_sqrt_v", "not checked: the sampled gradients are all zero", SRC_EPS)]
    if eps > fraction * typical:
        return [
            Finding(
                "advice",
                "eps_vs_sqrt_v",
                f"eps = {_g(eps)} is {eps / typical:.3g}x the typical sqrt(v) = {typical:.3g} (median over "
                f"{rms.size} coordinates): eps, not sqrt(v), sets the step there, so Adam behaves like "
                f"momentum SGD; use eps below {fraction * typical:.2g}",
                SRC_EPS,
            )
        ]
    return [Finding("ok", "eps_vs_sqrt_v", f"eps = {_g(eps)} <= {fraction:g} x typical sqrt(v) = {typical:.3g}", SRC_EPS)]


class Recommended(Protocol):
    """What :func:`recommendation_findings` reads of a recommender's answer: the betas, the
    one reason, and what to watch (as :class:`~adamcheck.recommend.Recommendation` has them)."""

    @property
    def beta1(self) -> float: ...

    @property
    def beta2(self) -> float: ...

    @property
    def reason(self) -> str: ...

    @property
    def warnings(self) -> Sequence[object]: ...


def recommendation_findings(rec: Recommended) -> list[Finding]:
    """Advice line for a recommendation (any object with ``beta1``, ``beta2``, ``reason`` and
    ``warnings``, :class:`Recommended`): one value per line (the reason says where the value
    comes from); each warning is its own advice line."""
    text = f"recommended (beta1, beta2) = ({_g(rec.beta1)}, {_b(rec.beta2)})"
    if rec.reason:
        text += f": {rec.reason}"
    out = [Finding("advice", "recommended_betas", text, SRC_RECOMMEND)]
    for warning in rec.warnings:
        out.append(Finding("advice", "recommended_betas", str(warning), SRC_RECOMMEND))
    return out


def _why_no_gradient_rules(ctx: CheckContext, needs: str) -> str:
    if ctx.gradients is None:
        return "needs sampled gradients (--gradients)"
    if ctx.recommendation_missing:
        return f"--gradients given, but {ctx.recommendation_missing}"
    return f"--gradients given, but {needs}"


def rule_critical_beta2(ctx: CheckContext) -> list[Finding]:
    if ctx.recommendation is None or ctx.gradients is None:
        why = _why_no_gradient_rules(ctx, "no recommendation was computed")
        return [Finding("not_checked", "critical_beta2", f"not checked: {why}", SRC_CRITICAL)]
    betas = ctx.usable_betas()
    if betas is None:
        return [Finding("not_checked", "critical_beta2", "not checked: beta2 unknown or invalid", SRC_CRITICAL)]
    found = _from_verdict(ctx, "critical_beta2")
    if found:
        return found
    return critical_beta2_findings(betas[1], ctx.recommendation.beta2_critical, ctx.batch.sequences)


def rule_eps_vs_sqrt_v(ctx: CheckContext) -> list[Finding]:
    if ctx.gradient_law is None:
        why = _why_no_gradient_rules(
            ctx, "no mini-batch law could be built from the gradient file"
        )
        return [Finding("not_checked", "eps_vs_sqrt_v", f"not checked: {why}", SRC_EPS)]
    if ctx.eps is None:
        return [Finding("not_checked", "eps_vs_sqrt_v", "not checked: eps unknown", SRC_EPS)]
    return eps_findings(ctx.eps, ctx.gradient_law, ctx.batch.sequences, ctx.eps_fraction)


def rule_recommended_betas(ctx: CheckContext) -> list[Finding]:
    if ctx.recommendation is None:
        why = ctx.recommendation_missing or "no recommendation was computed"
        return [Finding("not_checked", "recommended_betas", f"not checked: {why}", SRC_RECOMMEND)]
    return recommendation_findings(ctx.recommendation)


#: The rules in the order they run. Each is independent; add one by appending here.
RULES: list[Rule] = [
    rule_betas_range,
    rule_batch_size,
    rule_beta1_below_sqrt_beta2,
    rule_monitor,
    rule_critical_beta2,
    rule_lower_edge,
    rule_eps_precision,
    rule_spikes,
    rule_half_life,
    rule_memory_vs_steps,
    rule_eps_vs_sqrt_v,
    rule_recommended_betas,
]
