"""Parameter groups with their own effective batch: beta2* per MoE expert, per embedding rows.

The monitor's beta2* is for the global batch B: every sampled coordinate's gradient is
averaged over the step's B examples. Some parameters see far fewer. An MoE expert gets
only the tokens its router sends it, about B*k/E per step (k experts per token out of E),
and fewer for an expert the router neglects; an embedding row gets its token's frequency
times B tokens, and most steps none. Their gradients are means over a small, varying
batch (often an empty one: exactly 0), so they are more skewed than the dense layers', and
the batch dependence of Zhang et al. 2026 (docs/theory.md sections 7 and 11) says such a
group needs a larger beta2 than the global batch does. The global beta2* cannot show it:
a few thousand such coordinates weigh little in the whole model's aggregate drift.

A :class:`GroupSpec` names a group's parameters (and, for an embedding or a stacked
expert tensor, the rows of them that belong to it) and its effective batch, in tokens per
step: a fixed number, or the router's counts passed each step
(``monitor.observe_tokens({"expert.3": count})``), averaged over each analysis window.
:func:`analyse_groups` runs the monitor's own beta2* predictor
(:func:`~adamcheck.monitor.predict_beta2_star`, the same call as the global analysis) on the
group's sampled columns of the window, and :func:`group_findings` applies the global rule
(:mod:`adamcheck.monitor._walkoff`) with the group's own resolved |G|^2: a RISK
(``group_beta2_below_critical``, divergence axis) where the group's beta2 is below its
beta2* and the run walks off (always at the first analysis), otherwise advice
(``group_needs_longer_memory``, efficiency axis: in the measured MoE run such an expert
trained worse rather than diverging, docs/theory.md section 11).

The sample is the monitor's own (``coordinates`` spread over tensors by size): a group
is analysed on the sampled coordinates that fall in it, and a group with none is refused
when the monitor is built (raise ``coordinates``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from .._diagnostics import Level
from .._errors import InvalidParameterError
from .._shown import shown_repr
from ..noise._sampled import CoordinateSample
from ._analysis import WindowAnalysis, predict_beta2_star
from ._judge import LossRecord, MonitorDiagnostic, _because
from ._settings import MonitorSettings
from ._walkoff import MeanGradient, WindowLoss, column_moments, mean_gradient, walk_off

__all__ = ["GroupAnalysis", "GroupColumns", "GroupSpec", "analyse_groups", "group_findings", "resolve_groups"]

_SOURCE = ("adamcheck's training boundary on the group's sampled gradients at its effective batch; walk-off rule "
           "(docs/theory.md section 11)")


@dataclass(frozen=True)
class GroupSpec:
    """A parameter group and its effective batch.

    Attributes:
        params: parameter names (as ``model.named_parameters()`` gives them), or prefixes
            of them ending at a dot: ``"experts.3"`` matches ``"experts.3.fc1.weight"``.
        rows: only these rows (first-dimension indices) of those tensors: an embedding's
            rows for the group's tokens, or one expert's slice of a stacked (E, ...) expert
            weight. None: the whole tensors.
        tokens_per_step: the group's effective batch, in the unit of the global batch
            (tokens when ``seq_len`` is given: ``batch_size * seq_len`` is the global one;
            samples otherwise). None: counted each step with ``observe_tokens``. Counts
            observed in a window take precedence over it.

    Raises:
        InvalidParameterError: no names, a name that is not a string, a negative row, a
            tokens_per_step that is not a positive number.

    Example:
        >>> GroupSpec("experts.3", tokens_per_step=2).params
        ('experts.3',)
        >>> GroupSpec("embed.weight", rows=[7, 3]).rows
        (3, 7)
    """

    params: Any
    rows: Any = None
    tokens_per_step: float | None = None

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        names = (self.params,) if isinstance(self.params, str) else self.params
        if isinstance(names, bytes) or not hasattr(names, "__iter__"):
            raise InvalidParameterError(f"GroupSpec(params={shown_repr(self.params)}): give parameter names, e.g. "
                                        "GroupSpec(params=['experts.3'])")
        names = tuple(names)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidParameterError(f"GroupSpec(params={shown_repr(self.params)}): give one or more parameter "
                                        "names (strings, as model.named_parameters() gives them)")
        put("params", names)
        if self.rows is not None:
            rows = np.unique(np.asarray(self.rows).reshape(-1))
            if rows.size == 0 or rows.dtype.kind not in "iu" or rows.min() < 0:
                raise InvalidParameterError(f"GroupSpec(rows={shown_repr(self.rows)}): give non-negative row indices "
                                            "(the group's token ids for an embedding)")
            put("rows", tuple(int(r) for r in rows))
        if self.tokens_per_step is not None:
            t = self.tokens_per_step
            if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t <= 0:
                raise InvalidParameterError(f"GroupSpec(tokens_per_step={shown_repr(t)}): give the group's tokens "
                                            "per step, a positive number (or None and pass the router's counts with "
                                            "monitor.observe_tokens)")
            put("tokens_per_step", float(t))


@dataclass(frozen=True)
class GroupColumns:
    """A group resolved against the monitor's sample.

    Attributes:
        name: the group's name; columns: its sampled columns (indices into a row).
        beta2: the beta2 its parameters train with; tokens_per_step: the fixed effective batch (None: observed).
    """

    name: str
    columns: np.ndarray
    beta2: float
    tokens_per_step: float | None = None


def _matches(name: str, pattern: str) -> bool:
    return name == pattern or name.startswith(pattern + ".")


def resolve_groups(groups: Mapping[str, GroupSpec] | None, sample: CoordinateSample, row_sizes: Sequence[int],
                   beta2s: Sequence[float]) -> tuple[GroupColumns, ...]:
    """The sampled columns of each group in the monitor's sample (column c is tensor ``param[c]`` at ``index[c]``).

    ``row_sizes``: elements per first-dimension row of each tensor of ``sample.names``;
    ``beta2s``: each tensor's beta2 (a group's is the smallest of its tensors').

    Raises:
        InvalidParameterError: not a mapping of GroupSpec, a name that matches no
            parameter, rows beyond a tensor, or a group with no sampled coordinate.

    Example:
        >>> sample = CoordinateSample(("experts.0.w", "experts.1.w"), (8, 8), np.array([0, 0, 1, 1]),
        ...                           np.array([0, 5, 1, 6]), 0)
        >>> g = resolve_groups({"e1": GroupSpec("experts.1", tokens_per_step=3)}, sample, [4, 4], [0.99, 0.99])
        >>> g[0].name, g[0].columns.tolist(), g[0].tokens_per_step
        ('e1', [2, 3], 3.0)
    """
    if not groups:
        return ()
    if not isinstance(groups, Mapping):
        raise InvalidParameterError(f"groups = {shown_repr(groups)} is not a dict: give "
                                    "{'name': GroupSpec(params=[...], tokens_per_step=...)}")
    out = []
    for gname, spec in groups.items():
        if not isinstance(gname, str) or not gname:
            raise InvalidParameterError(f"groups: the name {shown_repr(gname)} is not a string")
        if not isinstance(spec, GroupSpec):
            raise InvalidParameterError(f"groups[{gname!r}] = {shown_repr(spec)} is not a GroupSpec: build one with "
                                        "adamcheck.monitor.GroupSpec(params=[...], tokens_per_step=...)")
        names = sample.names
        tensors = [t for t, n in enumerate(names) if any(_matches(n, p) for p in spec.params)]
        missing = [p for p in spec.params if not any(_matches(n, p) for n in names)]
        if missing:
            raise InvalidParameterError(f"groups[{gname!r}]: {', '.join(map(repr, missing))} names no parameter "
                                        f"(some are {', '.join(map(repr, list(names)[:4]))}): pass model= to the "
                                        "monitor so that it knows the names, and use them")
        mask = np.isin(sample.param, tensors)
        if spec.rows is not None:
            for t in tensors:
                n_rows = sample.sizes[t] // max(1, int(row_sizes[t]))
                if spec.rows[-1] >= n_rows:
                    raise InvalidParameterError(f"groups[{gname!r}]: row {spec.rows[-1]} is beyond {names[t]!r}, "
                                                f"which has {n_rows} rows")
            width = np.maximum(np.asarray(row_sizes, dtype=np.int64)[sample.param], 1)
            mask &= np.isin(sample.index // width, np.asarray(spec.rows))
        cols = np.flatnonzero(mask)
        if cols.size == 0:
            raise InvalidParameterError(f"groups[{gname!r}]: none of the monitor's sampled coordinates falls in it: "
                                        "raise coordinates= (the sample is spread over tensors by size)")
        out.append(GroupColumns(gname, cols, float(min(beta2s[t] for t in tensors)), spec.tokens_per_step))
    return tuple(out)


@dataclass(frozen=True)
class GroupAnalysis:
    """beta2* of one group at its effective batch, from one window (no judgement).

    Attributes:
        name: the group's; coordinates: its sampled coordinates; beta2: the beta2 it trains with.
        tokens_per_step: its effective batch b (the window's mean observed count, else the
            fixed one; None: not given); share: b over the global batch (None: b not given).
        beta2_critical: beta2* at b (None: unresolved, no gradient or a window too short);
        unresolved: no beta2 on the predictor's ladder is enough; mechanism: the failure below beta2*.
        by_multiple: ((k, beta2* at k*b or None), ...) for the monitor's ``multiples``.
        zero_steps: the share of the window's steps whose gradient on the group was exactly 0
            (no token reached it).
        mean: the group's resolved |G|^2 and noise floor (None below 2 rows).
        no_gradient: every sampled gradient of the group in the window was 0.
    """

    name: str
    coordinates: int
    beta2: float
    tokens_per_step: float | None = None
    share: float | None = None
    beta2_critical: float | None = None
    unresolved: bool = False
    mechanism: str | None = None
    by_multiple: tuple[tuple[int, float | None], ...] = ()
    zero_steps: float = 0.0
    mean: MeanGradient | None = None
    no_gradient: bool = False

    @property
    def below_critical(self) -> bool:
        """The group's beta2 is below its beta2* (or no beta2 is enough)."""
        return self.unresolved or (self.beta2_critical is not None and self.beta2 < self.beta2_critical)


def analyse_groups(rows: np.ndarray, groups: Sequence[GroupColumns], observed: Mapping[str, float | None],
                   global_batch: float, beta1: float, eps: float, settings: MonitorSettings) -> tuple[GroupAnalysis, ...]:
    """beta2* of each group at its effective batch: the monitor's predictor on the group's columns.

    ``rows``: the window (n, k) that the global analysis read; ``observed``: each group's
    mean observed tokens per step in the window (None: none observed); ``global_batch``:
    the global batch in the same unit (batch_size * seq_len, or batch_size). Row t of a
    group's columns is its gradient at step t, a mean over the b_t tokens it received, so
    :func:`~adamcheck.monitor.predict_beta2_star` on those columns is beta2* at the group's
    own batch (and at k*b for the multiples), with the same predictor, settings and seed as
    the global beta2*.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> dense = rng.normal(1.0, 1.0, (200, 4))
        >>> rare = np.where(rng.random((200, 4)) < 0.05, 10.0, -0.2)  # a rare large push, a frequent small pull
        >>> groups = [GroupColumns("dense", np.arange(4), 0.9, 64.0), GroupColumns("rare", np.arange(4, 8), 0.9)]
        >>> out = analyse_groups(np.hstack([dense, rare]), groups, {"rare": 3.2}, 64.0, 0.0, 1e-8,
        ...                      MonitorSettings(multiples=(1,), predictor_steps=500))
        >>> [(g.name, g.tokens_per_step, g.share) for g in out]
        [('dense', 64.0, 1.0), ('rare', 3.2, 0.05)]
        >>> out[0].beta2_critical, out[1].beta2_critical
        (0.0, 0.9)
    """
    x = np.asarray(rows)
    out = []
    for g in groups:
        cols = x[:, g.columns]
        seen = observed.get(g.name)
        b = seen if seen is not None else g.tokens_per_step
        base = dict(name=g.name, coordinates=int(g.columns.size), beta2=g.beta2, tokens_per_step=b,
                    share=None if b is None else round(b / global_batch, 12))
        if cols.shape[0] == 0 or not np.any(cols):
            out.append(GroupAnalysis(**base, no_gradient=True))
            continue
        zero = float(np.mean(~cols.any(axis=1)))
        with threadpool_limits(limits=1, user_api="blas"):
            found = predict_beta2_star(cols, settings.multiples, beta1, eps=eps, seed=settings.seed,
                                       steps=settings.predictor_steps, coordinates=settings.predictor_coordinates)
        own = next((f for f in found if f[0] == 1), None)
        mean = mean_gradient(cols, column_moments(cols)) if cols.shape[0] >= 2 else None
        out.append(GroupAnalysis(
            **base, beta2_critical=None if own is None or own[2] else own[1], unresolved=bool(own and own[2]),
            mechanism=own[3] if own else None, by_multiple=tuple((k, None if u else b2) for k, b2, u, _ in found),
            zero_steps=zero, mean=mean))
    return tuple(out)


def _half_life(beta2: float) -> str:
    if beta2 <= 0.5:
        return "at most a step"
    return f"{math.log(0.5) / math.log(beta2):.3g} steps"


def _batch(g: GroupAnalysis) -> str:
    if g.tokens_per_step is None:
        return "effective batch not given"
    zero = f", no token at {g.zero_steps:.0%} of its steps" if g.zero_steps else ""
    return f"about {g.tokens_per_step:.3g} tokens per step, {g.share:.2%} of the global batch{zero}"


def group_findings(analyses: Sequence[WindowAnalysis], losses: LossRecord) -> list[MonitorDiagnostic]:
    """The groups' diagnostics: the global beta2 rule applied to each group (module docstring).

    RISK ``group_beta2_below_critical`` at each analysis where the group's beta2 is below
    its beta2* and the walk-off rule (the run's losses, the group's own |G|^2) says the run
    walks off (the first analysis always); otherwise, for the latest analysis only, ADVICE
    ``group_needs_longer_memory`` on the efficiency axis.

    Example:
        >>> from adamcheck.monitor._analysis import BatchFinding
        >>> g = GroupAnalysis("expert.3", 64, 0.9, tokens_per_step=1.9, share=0.03, beta2_critical=0.99)
        >>> a = WindowAnalysis(step=200, rows=200, batch_size=64, beta1=0.0, beta2=0.9,
        ...                    findings=(BatchFinding(64, 0.0),), groups=(g,))
        >>> [(d.level.value, d.rule, d.axis) for d in group_findings([a], LossRecord())]
        [('risk', 'group_beta2_below_critical', 'divergence')]
    """
    out: list[MonitorDiagnostic] = []
    names = list(dict.fromkeys(g.name for a in analyses for g in a.groups))
    for name in names:
        means: list[MeanGradient] = []
        windows: list[WindowLoss] = []
        last_advice: MonitorDiagnostic | None = None
        for a in analyses:
            g = next((x for x in a.groups if x.name == name), None)
            if g is not None and not g.no_gradient and (g.beta2_critical is not None or g.unresolved):
                w = walk_off(g.mean, means, a.loss, windows, losses.start, a.nonfinite_losses)
                own = a.own
                other = ("" if own is None else
                         f"; the global batch's beta2* is {'none on the ladder' if own.unresolved else f'{own.beta2_critical:.4g}'}")
                if g.below_critical and g.unresolved:
                    need, change = ("no beta2 on adamcheck's ladder (up to 0.9999) is enough",
                                    f"route more tokens to {name!r} (a larger batch or a balancing loss)")
                elif g.below_critical:
                    need = f"it needs beta2 at least {g.beta2_critical:.4g} (half-life {_half_life(g.beta2_critical)})"  # type: ignore[arg-type]
                    change = (f"give {name!r} a longer memory: beta2 at least {g.beta2_critical:.4g} in its own "
                              "optimizer param group, or for the whole run")
                if g.below_critical:
                    head = (f"step {a.step}: group {name!r} ({_batch(g)}): beta2 = {g.beta2:g} (half-life "
                            f"{_half_life(g.beta2)}) is below the group's critical beta2* at its effective batch: "
                            f"{need}; adamcheck's training boundary on the last {a.rows} steps' gradients of its "
                            f"{g.coordinates} sampled coordinates finds {g.mechanism or 'failure'} below it (beta1 = "
                            f"{a.beta1:g}){other}")
                    if w.off:
                        out.append(MonitorDiagnostic(Level.RISK, "group_beta2_below_critical",
                                                     f"{head}{_because(w, a, losses.start)}; {change}", _SOURCE,
                                                     "divergence", "monitor", step=a.step, value=g.beta2_critical,
                                                     change=change))
                        last_advice = None
                    else:
                        last_advice = MonitorDiagnostic(
                            Level.ADVICE, "group_needs_longer_memory",
                            f"{head}; the run is not walking off, so expect this group to train worse rather than "
                            f"fail; {change}", _SOURCE, "efficiency", "monitor", step=a.step,
                            value=g.beta2_critical, change=change)
                else:
                    last_advice = None
            if g is not None and g.mean is not None:
                means.append(g.mean)
            if a.loss is not None:
                windows.append(a.loss)
        if last_advice is not None:
            out.append(last_advice)
    return out
