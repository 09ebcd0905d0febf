"""Published outcomes as typed rows, and when a row applies to your run.

Each :class:`Evidence` row is one published run: its beta2 and beta1, its batch in
samples (and tokens for language models), its domain, learning rate where known,
what happened (:data:`OUTCOMES`) and the way the fix went. A row says something about
*your* run only where its conditions match yours (:func:`row_applies`):

* **domain**: the same kind of training (:data:`DOMAINS`). A language-model run whose
  pre-training/fine-tuning status is not known (``"lm"``) matches both LM kinds. An
  unknown domain matches nothing: adamcheck says "cannot tell" rather than carry a
  vision result to a language model.
* **beta1 class**: a row with beta1 = 0 (RMSprop: no averaging of the numerator) says
  nothing about beta1 > 0 and the reverse; a row whose source does not state beta1
  applies nowhere. Within the class the order of Zhang et al. 2026 (Theorem 2.2: the
  threshold rises with beta1) transfers a failure at beta1 = x to every beta1 >= x and
  a success to every beta1 <= x.
* **batch dominance**: smaller batches need a larger beta2 (Zhang et al. 2026, section 2;
  Shi et al. 2021's table is monotone in both), so a failure at batch F with beta2 = b
  counts for batches <= F with beta2 <= b, and a run that trained at batch S with
  beta2 = b counts for batches >= S with beta2 >= b. Language-model rows are compared
  in tokens per step, so they need your sequence length.
* **outcome kind**: only ``diverged``/``failed`` rows can make a RISK; ``spiked`` and
  ``worse`` rows give advice that points the way their fix went; ``trained`` (and
  ``worse``: it trained) rows clear values.

Sources are named in each row; docs/theory.md section 7 gives the numbers in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .._answer import per_text
from .._errors import InvalidParameterError

__all__ = [
    "DOMAINS",
    "EVIDENCE",
    "Evidence",
    "FAILURES",
    "OUTCOMES",
    "RunFacts",
    "SHI_FAILED_BELOW_ACCURACY",
    "domain_label",
    "normal_domain",
    "row_applies",
    "shi_evidence",
]

#: The kinds of training a row (or your run) can be: language-model pre-training,
#: fine-tuning (of a pre-trained language model), vision, regression and simulation
#: surrogates, reinforcement learning, GANs.
DOMAINS = ("lm-pretraining", "fine-tuning", "vision", "regression", "rl", "gan")
#: Your run's domain may also be ``"lm"``: a language model, pre-training or fine-tuning
#: not known (matches both LM kinds).
USER_DOMAINS = DOMAINS + ("lm",)
_DOMAIN_ALIASES = {
    "pretraining": "lm-pretraining", "pre-training": "lm-pretraining", "lm-pre-training": "lm-pretraining",
    "finetuning": "fine-tuning", "fine-tune": "fine-tuning", "finetune": "fine-tuning", "sft": "fine-tuning",
    "simulation": "regression", "regression/simulation": "regression", "image": "vision", "cv": "vision",
    "language-model": "lm", "llm": "lm", "language model": "lm", "reinforcement-learning": "rl",
    "regression-simulation": "regression",
}
#: Names that mean "a kind of training no published row is of": accepted, match nothing.
_NO_DOMAIN = ("other", "unknown")
_DOMAIN_WORDS = {
    "lm-pretraining": "language-model pre-training", "fine-tuning": "language-model fine-tuning",
    "vision": "vision", "regression": "regression/simulation", "rl": "reinforcement learning",
    "gan": "GAN training", "lm": "a language model",
}

#: What happened to a run. ``diverged``: loss or parameters blew up, NaN, or the loss
#: ended above its start; ``failed``: did not train (stuck far below what the model
#: reaches, e.g. chance accuracy); ``spiked``: loss spikes the fix removed; ``worse``:
#: trained, clearly behind a better beta2 (the cost in ``worse_by``); ``trained``.
OUTCOMES = ("diverged", "failed", "spiked", "worse", "trained")
#: The outcomes that mean the run failed: only these can make a RISK.
FAILURES = frozenset({"diverged", "failed"})
_OUTCOME_ALIASES = {"fine": "trained", "ok": "trained", "nan": "diverged"}

#: Shi et al. 2021 report train accuracy, not "failed": a run counts as failed here
#: below this train accuracy (%) after their 100 epochs (chance is 10% on CIFAR-10, and
#: beta2 = 0.99 reaches 99.7-99.8%); above it, as trained, worse than the row's best.
#: adamcheck's reading of the table, not the paper's word: the cells under it (10%,
#: 28.7%, 44.5% +- 32.1 over seeds) did not train, the ones above (66.9% and up) trained
#: slowly.
SHI_FAILED_BELOW_ACCURACY = 50.0


def normal_domain(domain: str | None) -> str | None:
    """The canonical name of ``domain`` (None stays None: not known).

    Raises:
        InvalidParameterError: a name that is not a domain.

    ``"other"`` (a kind no published row is of) is read as not known.

    Example:
        >>> normal_domain("simulation"), normal_domain("LM"), normal_domain(None), normal_domain("other")
        ('regression', 'lm', None, None)
    """
    if domain is None:
        return None
    key = str(domain).strip().lower().replace("_", "-")
    if key in _NO_DOMAIN:
        return None
    key = _DOMAIN_ALIASES.get(key, key)
    if key not in USER_DOMAINS:
        raise InvalidParameterError(f"domain {domain!r} is not one of {', '.join(USER_DOMAINS)} (CLI --domain)")
    return key


def domain_label(domain: str | None) -> str:
    """Words for a domain, e.g. ``"language-model fine-tuning"`` (``"unknown"`` for None)."""
    return "unknown" if domain is None else _DOMAIN_WORDS.get(domain, domain)


@dataclass(frozen=True)
class Evidence:
    """One published run: ``beta2`` at ``batch`` samples per step and what happened.

    Attributes:
        batch: samples (sequences, images, examples) per optimizer step.
        beta2: the run's beta2.
        outcome: one of :data:`OUTCOMES` (``"fine"`` is read as ``"trained"``).
        source: the paper, report or thread.
        beta1: the run's beta1 (None: not stated; the row then applies nowhere).
        tokens_per_sample: tokens per sequence for language models, else None.
        detail: the measured figure behind the outcome.
        cite: a short citation for one-line messages.
        domain: one of :data:`DOMAINS` (None: not stated; the row applies nowhere).
        lr: the run's (peak) learning rate, where the source gives it.
        worse_by: the cost, where a source gives one (``worse`` rows).
        fix: ``"raise"`` or ``"lower"``: the way beta2 moved to fix the run (failures,
            spikes and worse runs), ``""`` when not known or not applicable.

    Raises:
        InvalidParameterError: an unknown outcome, domain or fix direction.
    """

    batch: float
    beta2: float
    outcome: str
    source: str
    beta1: float | None = None
    tokens_per_sample: int | None = None
    detail: str = ""
    cite: str = ""
    domain: str | None = None
    lr: float | None = None
    worse_by: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        outcome = _OUTCOME_ALIASES.get(self.outcome, self.outcome)
        if outcome not in OUTCOMES:
            raise InvalidParameterError(f"outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")
        object.__setattr__(self, "outcome", outcome)
        if self.domain is not None:
            dom = normal_domain(self.domain)
            if dom == "lm":
                raise InvalidParameterError("a row's domain is lm-pretraining or fine-tuning, not 'lm'")
            object.__setattr__(self, "domain", dom)
        if self.fix not in ("", "raise", "lower"):
            raise InvalidParameterError(f"fix {self.fix!r} must be 'raise', 'lower' or ''")

    @property
    def tokens(self) -> float | None:
        """Tokens per step, or None for non-sequence data."""
        return None if self.tokens_per_sample is None else self.batch * self.tokens_per_sample

    @property
    def failed_short(self) -> bool:
        """A failure (:data:`FAILURES`): the lower edge's evidence, the only kind that makes a RISK."""
        return self.outcome in FAILURES

    @property
    def trained(self) -> bool:
        """The run trained (``trained``, or ``worse``: it trained, only worse)."""
        return self.outcome in ("trained", "worse")

    def size(self, unit: str) -> float:
        return self.tokens if unit == "tokens" else self.batch  # type: ignore[return-value]

    @property
    def short(self) -> str:
        """A short citation: the row's ``cite`` or the source up to its first parenthesis."""
        return self.cite or self.source.split(" (")[0].split(",")[0]

    def describe(self, unit: str) -> str:
        own = "tokens" if self.tokens_per_sample is not None else "samples"
        where = per_text(self.size(own), own)
        b1 = "" if self.beta1 is None else f"beta1 {self.beta1:g}, "
        lr = "" if self.lr is None else f", lr {self.lr:g}"
        cost = f"; {self.worse_by}" if self.worse_by else ""
        return (f"{b1}beta2 {self.beta2:g} at {where}{lr}: {self.outcome} ({domain_label(self.domain)}; "
                f"{self.detail}{cost}; {self.source})")

    def to_dict(self) -> dict[str, Any]:
        return {"batch": {"value": self.batch, "unit": "samples"}, "tokens": self.tokens,
                "beta1": self.beta1, "beta2": self.beta2, "outcome": self.outcome,
                "detail": self.detail, "source": self.source, "domain": self.domain, "lr": self.lr,
                "worse_by": self.worse_by or None, "fix": self.fix or None}


@dataclass(frozen=True)
class RunFacts:
    """What the rows are matched against: your batch (samples), beta1, tokens per sample
    (None when not known) and domain (None when not known)."""

    batch: float
    beta1: float
    tokens_per_sample: int | None = None
    domain: str | None = None

    @property
    def unit(self) -> str:
        return "tokens" if self.tokens_per_sample else "samples"

    def size(self) -> float:
        return self.batch * (self.tokens_per_sample or 1)


def _same_class(row_beta1: float, beta1: float) -> bool:
    return (row_beta1 == 0.0) == (beta1 == 0.0)


def conditions_match(row: Evidence, run: RunFacts) -> tuple[bool, str]:
    """Whether ``row`` can speak for ``run`` at all (domain, beta1 class, units), and why not.

    Batch, beta1 and beta2 dominance are applied by the edge rule (:mod:`._verdict`).
    """
    if run.domain is None:
        return False, "your domain is not known (pass --domain)"
    if row.domain is None:
        return False, "the row's domain is not stated"
    if run.domain == "lm":
        if row.domain not in ("lm-pretraining", "fine-tuning"):
            return False, f"{domain_label(row.domain)} is not a language model"
    elif row.domain != run.domain:
        return False, f"{domain_label(row.domain)} is not {domain_label(run.domain)}"
    if row.beta1 is None:
        return False, "the row's beta1 is not stated"
    if not _same_class(row.beta1, run.beta1):
        return False, f"beta1 {row.beta1:g} and your {run.beta1:g} are of different kinds (0: no momentum)"
    if row.tokens_per_sample is not None and not run.tokens_per_sample:
        return False, "a language-model row is compared in tokens: pass your sequence length (--seq-len)"
    return True, ""


def row_applies(row: Evidence, run: RunFacts, beta2: float) -> tuple[bool, str]:
    """Whether ``row``'s outcome transfers to ``beta2`` in ``run``, with the reason in words.

    A failure (or a ``spiked``/``worse`` row whose fix raised beta2) applies at batches
    and beta2 at most the row's and beta1 at least the row's; a run that trained at
    batches and beta2 at least the row's and beta1 at most its; a ``spiked`` row whose
    fix lowered beta2 at batches and beta2 at least the row's.

    Example:
        >>> row = Evidence(8, 0.95, "failed", "Shi", beta1=0.0, domain="vision")
        >>> row_applies(row, RunFacts(8, 0.0, domain="vision"), 0.9)
        (True, 'vision, beta1 0 >= 0, 8 samples per step <= 8, beta2 0.9 <= 0.95')
        >>> row_applies(row, RunFacts(8, 0.9, domain="lm", tokens_per_sample=64), 0.9)[0]
        False
    """
    ok, why = conditions_match(row, run)
    if not ok:
        return False, why
    unit = "tokens" if row.tokens_per_sample is not None else "samples"
    size = run.size() if unit == "tokens" else run.batch
    per = f"{unit} per step"
    down = row.failed_short or (row.outcome in ("spiked", "worse") and row.fix == "raise")
    if down:
        checks = [(run.beta1 >= row.beta1 - 1e-12, f"beta1 {run.beta1:g} >= {row.beta1:g}"),  # type: ignore[operator]
                  (size <= row.size(unit) * (1 + 1e-9), f"{size:,.0f} {per} <= {row.size(unit):,.0f}"),
                  (beta2 <= row.beta2 + 1e-12, f"beta2 {beta2:g} <= {row.beta2:g}")]
    elif row.outcome == "spiked" and row.fix == "lower":
        checks = [(size >= row.size(unit) * (1 - 1e-9), f"{size:,.0f} {per} >= {row.size(unit):,.0f}"),
                  (beta2 >= row.beta2 - 1e-12, f"beta2 {beta2:g} >= {row.beta2:g}")]
    elif row.trained:
        checks = [(run.beta1 <= row.beta1 + 1e-12, f"beta1 {run.beta1:g} <= {row.beta1:g}"),  # type: ignore[operator]
                  (size >= row.size(unit) * (1 - 1e-9), f"{size:,.0f} {per} >= {row.size(unit):,.0f}"),
                  (beta2 >= row.beta2 - 1e-12, f"beta2 {beta2:g} >= {row.beta2:g}")]
    else:
        return False, f"a {row.outcome} row without the direction of its fix"
    failed = [why for good, why in checks if not good]
    if failed:
        return False, "; ".join(f"not {w}" for w in failed)
    return True, ", ".join([domain_label(row.domain)] + [w for _, w in checks])


# -- the rows -----------------------------------------------------------------------------
_SRC_SHI = "Shi et al. (ICLR 2021), ResNet-18 on CIFAR-10, beta1 = 0, 100 epochs"
_SRC_MAREK = ("Marek et al. 2025 (arXiv 2507.07101), GPT-2 small on FineWeb, 1024-token sequences; learning "
              "rates from the paper's run scripts (github.com/martin-marek/batch-size, "
              "pretraining/runs/gpt2s/optimizer_comp/final_configs.sh)")
_SRC_DRIVAER = ("DrivAerML surface surrogate (transformer regression), batch 1, AdamW lr 5e-4 (wandb/senpai "
                "pull requests {}; beta1 is torch's default 0.9: the runs set only --adam-beta2)")
_SRC_MARIN = "Marin MoE sweep (marin repository, issue 4567), 4096-token sequences, d = 1024"
_SRC_MARIN_DENSE = ("Marin dense recipe (0.98^(B/128) without a floor at batch 4096 (marin repository, pull "
                    "request 2447); 4096-token sequences as Marin's recipes use)")
_SRC_MIXTRAL = "Megatron-LM Mixtral example (256 x 4096 tokens; public reports, docs/theory.md section 7)"

_SHI_TABLE = {  # batch -> {beta2: train accuracy %}, Shi et al. 2021 (docs/theory.md section 7)
    8: {0.8: (10.0, ""), 0.9: (10.0, ""), 0.95: (44.5, " +- 32.1 over seeds"), 0.99: (99.7, "")},
    16: {0.8: (28.7, ""), 0.9: (67.3, ""), 0.95: (96.4, ""), 0.99: (99.8, "")},
    32: {0.8: (66.9, ""), 0.9: (96.7, ""), 0.95: (99.2, ""), 0.99: (99.8, "")},
}
_MARIN_BPB = {  # batch -> {beta2: final c4 bits per byte}, lower is better
    64: {0.95: .9780, 0.97: .9759, 0.99: .9732, 0.995: .9722, 0.999: .9728},
    128: {0.95: .9743, 0.97: .9736, 0.99: .9727, 0.995: .9725, 0.999: .9734},
    256: {0.95: .9761, 0.97: .9748, 0.99: .9759, 0.995: .9760, 0.999: .9783},
    512: {0.95: .9826, 0.97: .9830, 0.99: .9831, 0.995: .9859, 0.999: .9917},
}


def shi_evidence(failed_below: float = SHI_FAILED_BELOW_ACCURACY) -> tuple[Evidence, ...]:
    """Shi et al. 2021's table as evidence rows, a run counting as failed below ``failed_below`` %.

    Rebuild :data:`EVIDENCE` with another reading of the table and pass it as ``evidence``.

    Example:
        >>> [r.outcome for r in shi_evidence() if r.batch == 16]
        ['failed', 'worse', 'worse', 'trained']
        >>> [r.outcome for r in shi_evidence(90.0) if r.batch == 16]
        ['failed', 'failed', 'worse', 'trained']
    """
    out = []
    for batch, row in _SHI_TABLE.items():
        best_b2, (best, _) = max(row.items(), key=lambda kv: kv[1][0])
        for b2, (acc, extra) in row.items():
            outcome = "failed" if acc < failed_below else "worse" if acc < best else "trained"
            out.append(Evidence(
                batch, b2, outcome, _SRC_SHI, beta1=0.0, detail=f"train accuracy {acc:g}%{extra} after 100 epochs",
                cite="Shi et al. 2021", domain="vision", fix="" if outcome == "trained" else "raise",
                worse_by=f"train accuracy {acc:g}% against {best:g}% at beta2 {best_b2:g}" if outcome == "worse"
                else ""))
    return tuple(out)


def _marin_rows() -> list[Evidence]:
    out = []
    for batch, row in _MARIN_BPB.items():
        best = min(row.values())
        for b2, bpb in row.items():
            out.append(Evidence(batch, b2, "trained", _SRC_MARIN, beta1=0.9, tokens_per_sample=4096,
                                detail=f"c4 bits per byte {bpb:.4f}, {100 * (bpb / best - 1):.1f}% above the best",
                                cite="Marin MoE sweep", domain="lm-pretraining"))
    return out


def _drivaer(beta2: float, outcome: str, prs: str, detail: str) -> Evidence:
    return Evidence(1, beta2, outcome, _SRC_DRIVAER.format(prs), beta1=0.9, detail=detail, lr=5e-4,
                    cite=f"DrivAerML surrogate, senpai PR {prs}", domain="regression",
                    fix="raise" if outcome in FAILURES else "")


#: The published runs (docs/theory.md section 7). Left out on purpose: Marin's d = 768
#: sweep at batch 512, where runs crashed on both sides of 0.99 (it locates neither
#: edge); a 17B model that spiked at 0.999 with no batch size reported; and the
#: AirfRANS beta sweep of senpai pull request 3028 (0.99 diverged, 0.9999 stable, and at
#: 0.9999 beta1 0.95 went NaN), whose batch size the thread does not state.
EVIDENCE: tuple[Evidence, ...] = tuple(
    list(shi_evidence(SHI_FAILED_BELOW_ACCURACY))
    + [
        Evidence(1, 0.95, "worse", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024, lr=1.5e-4,
                 detail="trained worse than the half-life value 0.9999", cite="Marek et al. 2025",
                 domain="lm-pretraining", fix="raise",
                 worse_by="it needed a 16x lower learning rate (best 1.5e-4) than 0.9999 (best 2.4e-3)"),
        Evidence(1, 0.9999, "trained", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024, lr=2.4e-3,
                 detail="trains well (the half-life value)", cite="Marek et al. 2025", domain="lm-pretraining"),
        Evidence(512, 0.95, "trained", _SRC_MAREK, beta1=0.9, tokens_per_sample=1024, lr=4.8e-3,
                 detail="the baseline configuration", cite="Marek et al. 2025", domain="lm-pretraining"),
        _drivaer(0.95, "diverged", "3128", "permanently diverged: gradient norm 100 to 57,000"),
        _drivaer(0.99, "diverged", "3110", "went NaN at epoch 413 (a second run in PR 3128 spiked and recovered)"),
        _drivaer(0.995, "diverged", "3110", "diverged at epoch 114"),
        _drivaer(0.999, "trained", "3110", "the baseline, stable"),
    ]
    + _marin_rows()
    + [
        Evidence(4096, 0.52, "spiked", _SRC_MARIN_DENSE, beta1=0.9, tokens_per_sample=4096,
                 detail="loss spikes; a floor on beta2 fixed them", cite="Marin dense recipe",
                 domain="lm-pretraining", fix="raise"),
        Evidence(256, 0.95, "trained", _SRC_MIXTRAL, beta1=0.9, tokens_per_sample=4096,
                 detail="stable after lowering beta2 from 0.999", cite="Megatron-LM Mixtral example",
                 domain="lm-pretraining"),
        Evidence(256, 0.999, "spiked", _SRC_MIXTRAL, beta1=0.9, tokens_per_sample=4096,
                 detail="loss spikes (too long a memory: upper-edge evidence)", cite="Megatron-LM Mixtral example",
                 domain="lm-pretraining", fix="lower"),
        Evidence(1562.5, 0.95, "trained", "GPT-3 (Brown et al. 2020, Table 2.1 and Appendix B): 3.2M tokens per step",
                 beta1=0.9, tokens_per_sample=2048, detail="175B model trained", domain="lm-pretraining"),
        Evidence(1024, 0.95, "trained", "Llama 2 (Touvron et al. 2023): 4M tokens per step", beta1=0.9,
                 tokens_per_sample=4096, detail="models trained", domain="lm-pretraining"),
        Evidence(15360, 0.95, "trained", "DeepSeek-V3 (2024): batch up to 15360 sequences of 4096 tokens",
                 beta1=0.9, tokens_per_sample=4096, detail="model trained", domain="lm-pretraining"),
    ]
)


def matching_rows(run: RunFacts, evidence: Iterable[Evidence]) -> list[Evidence]:
    """The rows whose domain, beta1 class and units can speak for ``run``."""
    return [e for e in evidence if conditions_match(e, run)[0]]
