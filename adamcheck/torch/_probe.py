"""``probe``: short real runs of the user's own model over a beta2 ladder, from its current weights.

A gradient file shows Adam's moment chains at frozen points of one healthy run; it cannot
see a run that walks off that path (logistic regression on nearly separable data at
small beta2), and its statistics do not use the learning rate (docs/theory.md section
10). A probe asks the model itself: K copies of the model, one per (beta2, seed), start
from the same current weights and take ``steps`` real Adam (AdamW) steps at the user's
batch size, learning rate and schedule; each run is judged by the training criterion of
:func:`adamcheck.simulator.classify_training` (the same that labels the validation
suite). The copies are trained at once by :func:`adamcheck.torch.phase_sweep` (stacked
with ``torch.func``; the same numbers as looping ``torch.optim.Adam``).

What a probe decides is what happens over its horizon: a beta2 **fails** when any of its
runs diverged (non-finite, final loss above the start, or a loss climbing steadily over
the second half), **trains** when every run converged (closed half the gap to the best
loss reached, or still falling steadily), and is **undecided** otherwise (the horizon is
too short to tell a slow run from a stalled one). A failure that starts later than the
horizon is not seen: the horizon is the probe's price and its limit.

**Beyond the bound, a run that trained over the horizon is not evidence.** For
beta1 < sqrt(beta2), Adam's step is bounded, |m_t|/sqrt(v_t) <= (1-beta1)/sqrt((1-beta2)
(1-beta1^2/beta2)) learning rates, and a beta2 fails by drift of its mean step (docs/theory.md
section 3), which a probe sees as a loss that stops falling or climbs. For beta1 >=
sqrt(beta2) there is no bound: a large gradient followed by small ones makes the step grow
like (beta1/sqrt(beta2))^k (section 10, update growth), and such bursts come at random
times, more often near the optimum, where the gradient is small against its noise, so a
horizon cannot vouch for the rest of the run. On the validation suite (benchmarks/validity),
of the 291 cells far from the real edge where such a run trained over a tenth of the
budget, 12 failed in the full run (beta1 = 0.9, beta2 0.1-0.5, on six panels); on the panels
whose real edge lies beyond the bound, 12 of 86 (14%); inside the bound, 1 of 1,313. So a probe
reports a "trains" there as **undecided**, with that reason (``ProbeResult.beyond_bound``),
and keeps every failure it saw: the reason for which ``adamcheck._measurement.FLOORS`` lets
no measurement clear beta1 >= sqrt(beta2). ``trust_beyond_bound=True`` counts such runs as
trained (the rule before 2026-12-07).

For large models, ``params`` probes a subset (the last blocks, LoRA adapters): the other
parameters keep their current values and are shared by every copy (memory grows with the
probed parameters only); the answer says so.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import InvalidParameterError
from .._measurement import Measurement
from ._probe_settings import DEFAULT_PROBE_LADDER, ProbeSettings
from ._sweep import _trainable_names, run_sweep

__all__ = ["ProbeResult", "ProbeSettings", "probe", "run_probe", "DEFAULT_PROBE_LADDER"]


def top_fails_reason(beta2s: Sequence[float], outcome: Sequence[str], steps: int) -> str:
    """Why a probe whose top ladder value fails decides no beta2 ("" when the top does not fail).

    As beta2 -> 1 Adam's step is the most stable the ladder offers; when even the top of
    the ladder fails over the horizon, no beta2 tried cures the failure, so it cannot be
    laid at beta2's door (the learning rate, or a horizon too short for the loss to fall
    below its start at this batch size, as the character LM's batch-1 runs at lr 1e-2 over
    200 steps, which train over the full run from beta2 = 0.9). The same reasoning as the
    file lens's noise ball (docs/theory.md section 10).

    Example:
        >>> top_fails_reason([0.5, 0.999], ["fails", "fails"], 200)[:28]
        'even beta2 = 0.999, the top '
        >>> top_fails_reason([0.5, 0.999], ["fails", "trains"], 200)
        ''
    """
    if not outcome or outcome[-1] != "fails":
        return ""
    return (f"even beta2 = {beta2s[-1]:g}, the top of the probe's ladder, fails over its {steps}-step horizon: no "
            "beta2 tried cures it, so the failure is not beta2's (the learning rate, or a horizon too short for the "
            "loss to fall below its start: probe longer or at a lower learning rate)")


@dataclass(frozen=True)
class ProbeResult:
    """What a probe measured (see :func:`probe`).

    Attributes:
        batch_size, beta1, lr, schedule, steps, seeds: the probe's settings.
        beta2s: the ladder, increasing.
        outcome: per ladder value ``"fails"``, ``"trains"`` or ``"undecided"``.
        reasons: per ladder value, the criterion's reason for each seed's run.
        initial_loss: the full training loss at the current weights.
        final_loss: per ladder value, the mean over seeds of the final full training loss
            (a run that blew up counts as ``inf``).
        critical_beta2: the smallest ladder beta2 that, with every larger one, trained
            (None when the top did not train); the empirical edge.
        best_beta2: the ladder beta2 with the lowest final loss (None when none is finite).
        undecided: the ladder values the horizon cannot decide (those of ``beyond_bound`` included).
        beyond_bound: the ladder values whose runs trained over the horizon with
            beta1 >= sqrt(beta2), reported undecided (module docstring).
        seconds: wall time of the ladder's runs (the probe's own time); ``step_seconds``: the
            median wall time of one ``torch.optim.Adam`` training step of the model at this
            batch size, measured in the same process after the runs. Three names for the
            probe's cost that cannot be mistaken for one another:
            ``optimizer_steps`` (the optimizer steps it took, summed over the ladder's runs:
            steps x ladder values x seeds; the stacked copies step together, so a run that
            blew up counts its steps too), ``seconds`` (wall time) and ``time_over_step``
            (``seconds / step_seconds``: probe time / one training step, how many of your
            training steps its time would buy; stacking and recording make it differ from
            ``optimizer_steps`` either way). ``cost`` is ``time_over_step`` under its old name.
        params: the probed parameter names (None: all), ``parameters`` how many numbers
            they hold, ``parameters_total`` the model's.
        grid: the :class:`adamcheck.simulator.PhaseGrid` of the runs.
    """

    batch_size: int
    beta1: float
    lr: float
    schedule: str
    steps: int
    seeds: int
    beta2s: tuple[float, ...]
    outcome: tuple[str, ...]
    reasons: tuple[tuple[str, ...], ...]
    initial_loss: float
    final_loss: tuple[float, ...]
    critical_beta2: float | None
    best_beta2: float | None
    undecided: tuple[float, ...]
    seconds: float
    step_seconds: float
    params: tuple[str, ...] | None
    parameters: int
    parameters_total: int
    weight_decay: float = 0.0
    beyond_bound: tuple[float, ...] = ()
    grid: Any = field(default=None, compare=False, repr=False)

    @property
    def optimizer_steps(self) -> int:
        """Optimizer steps summed over the ladder's runs: steps x ladder values x seeds."""
        return int(self.steps) * len(self.beta2s) * int(self.seeds)

    @property
    def time_over_step(self) -> float:
        """Probe time / one training step: ``seconds / step_seconds`` (inf if the step took no time)."""
        return self.seconds / self.step_seconds if self.step_seconds > 0 else math.inf

    @property
    def cost(self) -> float:
        """:attr:`time_over_step` under its old name (a time ratio, not a count of steps)."""
        return self.time_over_step

    def cost_text(self) -> str:
        """The probe's cost in words, each quantity named (see the class docstring)."""
        runs = len(self.beta2s) * int(self.seeds)
        return (f"cost: {self.optimizer_steps:,} optimizer steps ({runs} run(s) of {self.steps}), "
                f"{self.seconds:.3g} s wall = {self.time_over_step:,.0f} x one training step "
                f"({self.step_seconds:.3g} s)")

    @property
    def failed(self) -> tuple[float, ...]:
        return tuple(b for b, o in zip(self.beta2s, self.outcome) if o == "fails")

    @property
    def trained(self) -> tuple[float, ...]:
        return tuple(b for b, o in zip(self.beta2s, self.outcome) if o == "trains")

    def subset_note(self) -> str:
        if self.params is None:
            return ""
        return (f"probed {self.parameters:,} of {self.parameters_total:,} parameters ({len(self.params)} tensors: "
                f"{', '.join(self.params[:4])}{' ...' if len(self.params) > 4 else ''}); the rest were frozen at "
                "their current values, so the answer is for training those parameters only")

    def summary(self) -> str:
        """One line: what the probe decided, over which horizon, at what cost."""
        edge = self.failed[-1] if self.failed else None
        head = (f"probe at batch {self.batch_size}, lr {self.lr:g} ({self.schedule}), beta1 {self.beta1:g}, "
                f"{self.steps} steps x {self.seeds} seed(s): ")
        parts = [f"fails at beta2 <= {edge:g}" if edge is not None else "no beta2 failed"]
        if self.critical_beta2 is not None:
            parts.append(f"trains at beta2 >= {self.critical_beta2:g}")
        plain = [b for b in self.undecided if b not in self.beyond_bound]
        if plain:
            parts.append("undecided over this horizon: " + ", ".join(f"{b:g}" for b in plain))
        if self.beyond_bound:
            parts.append("trained over the horizon but beta1 >= sqrt(beta2), where a failure can come later: "
                         + ", ".join(f"{b:g}" for b in self.beyond_bound) + " undecided")
        if self.best_beta2 is not None:
            parts.append(f"lowest loss at beta2 = {self.best_beta2:g}")
        parts.append(self.cost_text())
        return head + "; ".join(parts)

    def to_measurement(self) -> Any:
        """This probe as a :class:`adamcheck._measurement.Measurement` of lens ``"probe"``.

        A probe that decided nothing (every value undecided) abstains, with the reason; so
        does one whose top ladder value fails (:func:`top_fails_reason`).
        """
        source = (f"probe: {len(self.beta2s) * self.seeds} runs of {self.steps} steps from your model's current "
                  f"weights at lr {self.lr:g} ({self.schedule})")
        detail = {"outcome": dict(zip((f"{b:g}" for b in self.beta2s), self.outcome)),
                  "final_loss": dict(zip((f"{b:g}" for b in self.beta2s), self.final_loss)),
                  "initial_loss": self.initial_loss, "best_beta2": self.best_beta2, **self._cost_fields(),
                  "lr": self.lr, "schedule": self.schedule, "steps": self.steps, "weight_decay": self.weight_decay,
                  "beyond_bound": list(self.beyond_bound)}
        note = self.subset_note()
        if note:
            detail["subset"] = note
        if not self.failed and not self.trained:
            why = (f"the {self.steps}-step horizon decides no beta2 (every run neither diverged nor converged): "
                   "probe longer")
            if self.beyond_bound:
                why = (f"the {self.steps}-step horizon decides no beta2: the runs that trained did so at beta1 >= "
                       "sqrt(beta2), where a failure can come after the horizon, and the rest neither diverged nor "
                       "converged")
            return Measurement("probe", self.batch_size, self.beta1, reason=why, source=source, decided=False,
                               detail=detail)
        top = top_fails_reason(self.beta2s, self.outcome, self.steps)
        if top:
            return Measurement("probe", self.batch_size, self.beta1, reason=top, source=source, decided=False,
                               detail=detail)
        failed = set(self.failed)
        trained = [b for b in self.trained if not failed or b > max(failed)]
        return Measurement("probe", self.batch_size, self.beta1, failed=tuple(failed), trained=tuple(trained),
                           reason=self.summary() + (f" ({note})" if note else ""), source=source, detail=detail)

    def _cost_fields(self) -> dict[str, Any]:
        # "cost_steps" (a time ratio read as a step count) is gone: read time_over_step
        return {"optimizer_steps": self.optimizer_steps, "seconds": self.seconds,
                "step_seconds": self.step_seconds, "time_over_step": self.time_over_step}

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size, "beta1": self.beta1, "lr": self.lr, "schedule": self.schedule,
            "steps": self.steps, "seeds": self.seeds, "weight_decay": self.weight_decay,
            "beta2": list(self.beta2s), "outcome": list(self.outcome),
            "reasons": [list(r) for r in self.reasons], "initial_loss": self.initial_loss,
            "final_loss": list(self.final_loss), "critical_beta2": self.critical_beta2,
            "best_beta2": self.best_beta2, "undecided": list(self.undecided), "beyond_bound": list(self.beyond_bound),
            **self._cost_fields(),
            "params": None if self.params is None else list(self.params), "parameters": self.parameters,
            "parameters_total": self.parameters_total, "summary": self.summary(),
        }


def _one_step_seconds(model: Any, loss_fn: Callable, X: Any, y: Any, batch_size: int, lr: float,
                      names: Sequence[str] | None, repeats: int = 5) -> float:
    """Median wall time of one torch.optim.Adam step (forward, backward, update) at this batch size."""
    import torch  # optional: torch

    m = copy.deepcopy(model)
    trained = [p for n, p in m.named_parameters() if names is None or n in names]
    opt = torch.optim.Adam(trained, lr=lr)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i in range(repeats + 1):
        idx = torch.randint(0, X.shape[0], (batch_size,), generator=gen)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(m(X[idx]), y[idx]).backward()
        opt.step()
        if i:  # the first step pays for lazy initialisation
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def probe(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    data: tuple[Any, Any],
    *,
    batch_size: int,
    lr: float,
    steps: int,
    beta1: float = 0.9,
    beta2s: Sequence[float] | None = None,
    seeds: int | Sequence[int] = 1,
    params: Sequence[str] | None = None,
    schedule: str = "constant",
    weight_decay: float = 0.0,
    decoupled: bool = False,
    eps: float = 1e-8,
    reference_loss: float | None = None,
    criterion: Any = None,
    dtype: Any = None,
    device: Any = "cpu",
    memory_limit: int = 1 << 30,
    record_every: int | None = None,
    progress: bool = False,
    trust_beyond_bound: bool = False,
) -> ProbeResult:
    """Short real runs of ``model`` from its current weights over a beta2 ladder at your batch size.

    Every (beta2, seed) run starts from ``model``'s current parameters (a copy: the model
    is not changed), draws the mini-batches of its seed from ``data`` and takes ``steps``
    Adam steps (AdamW with ``decoupled``) at ``lr`` with ``schedule``; runs are stacked
    and trained at once by :func:`adamcheck.torch.phase_sweep` and judged by
    :func:`adamcheck.simulator.classify_training` (module docstring: what fails, trains
    and is undecided). The cost is measured: the probe's wall time over the time of one
    ``torch.optim.Adam`` step of the same model at the same batch size.

    Args:
        model: a ``torch.nn.Module`` at its current weights (deterministic forward: no
            dropout, batch-norm in eval mode).
        loss_fn: (output, target) -> mean loss of a batch, as for phase_sweep.
        data: (X, y) training rows (tensors or arrays).
        batch_size: your batch size (samples per optimizer step).
        lr: your learning rate; ``schedule``: ``"constant"``, ``"inv-sqrt"`` or
            ``"inv-sqrt-epoch"`` (from step 1 of the probe).
        steps: the probe's horizon in optimizer steps.
        beta1: your beta1; ``beta2s``: the ladder (default :data:`DEFAULT_PROBE_LADDER`).
        seeds: how many mini-batch orders per beta2 (a count, or a list of seeds); a value
            fails when any of its runs fails.
        params: probe only these parameters (names or dotted prefixes, e.g. the LoRA
            adapters or ``"blocks.11"``); the rest stay frozen and shared by every copy.
        weight_decay, decoupled, eps: as ``torch.optim.Adam`` / ``AdamW``.
        reference_loss: a lower bound of the loss (0 for cross-entropy) for the criterion.
        criterion: thresholds (:class:`adamcheck.simulator.TrainingCriterion`).
        dtype, device, memory_limit, progress: as :func:`adamcheck.torch.phase_sweep`.
        record_every: the full training loss is measured every this many steps (default
            steps // 20: 10 records in the second half feed the criterion's trend test).
        trust_beyond_bound: count runs that trained at beta1 >= sqrt(beta2) as trained
            (default False: undecided, module docstring); failures count either way.

    Returns:
        A :class:`ProbeResult`; ``to_measurement()`` gives its ``Measurement("probe", ...)``.
        The options are checked once, as a :class:`ProbeSettings`; :func:`run_probe` takes
        one directly.

    Raises:
        adamcheck.InvalidParameterError: bad settings, a ``params`` name that matches no
            parameter, a batch size above the number of rows.
        adamcheck.ProblemError: a model or loss that cannot run under ``torch.func.vmap``.

    Example:
        >>> import torch
        >>> from adamcheck.torch import probe
        >>> _ = torch.manual_seed(0)
        >>> X = torch.randn(64, 3); y = X @ torch.tensor([1.0, -2.0, 0.5])
        >>> model = torch.nn.Linear(3, 1)
        >>> loss = lambda out, t: ((out[:, 0] - t) ** 2).mean()
        >>> r = probe(model, loss, (X, y), batch_size=8, lr=0.05, steps=200, beta2s=[0.5, 0.999])
        >>> r.outcome, r.beyond_bound, r.cost > 0        # beta1 = 0.9 >= sqrt(0.5): not evidence
        (('undecided', 'trains'), (0.5,), True)
        >>> probe(model, loss, (X, y), batch_size=8, lr=0.05, steps=200, beta2s=[0.5, 0.999],
        ...       beta1=0.5).outcome
        ('trains', 'trains')

    References:
        The training criterion of the validation suite (benchmarks/validity/README.md);
        docs/theory.md section 10 (what a gradient file cannot see).
    """
    settings = ProbeSettings(
        batch_size=batch_size, lr=lr, steps=steps, beta1=beta1, beta2s=beta2s, seeds=seeds, params=params,
        schedule=schedule, weight_decay=weight_decay, decoupled=decoupled, eps=eps, reference_loss=reference_loss,
        criterion=criterion, dtype=dtype, device=device, memory_limit=memory_limit, record_every=record_every,
        progress=progress, trust_beyond_bound=trust_beyond_bound,
    )
    return run_probe(model, loss_fn, data, settings)


def _outcomes(per_seed: np.ndarray, settings: ProbeSettings) -> tuple[list[str], list[float]]:
    """Per ladder value "fails", "trains" or "undecided" from the seeds' outcomes (S, L), and the
    values reported undecided because they trained beyond the bound (module docstring)."""
    outcome, beyond = [], []
    for j, b2 in enumerate(settings.beta2s):
        col = per_seed[:, j]
        o = "fails" if (col == "diverged").any() else "trains" if (col == "converged").all() else "undecided"
        if o == "trains" and not settings.trust_beyond_bound and settings.beta1 >= math.sqrt(b2):
            o = "undecided"  # no bound on the step: a burst can come after the horizon (module docstring)
            beyond.append(b2)
        outcome.append(o)
    return outcome, beyond


def _critical_beta2(ladder: Sequence[float], outcome: Sequence[str]) -> float | None:
    """The smallest ladder value that, with every larger one, trained (None when the top did not)."""
    crit_b2 = None
    for j in range(len(ladder) - 1, -1, -1):
        if outcome[j] != "trains":
            break
        crit_b2 = ladder[j]
    return crit_b2


def _training_rows(data: tuple[Any, Any], model: Any, torch: Any) -> tuple[Any, Any]:
    """``data`` as tensors, the rows in the model's dtype (for timing one training step)."""
    X = data[0] if isinstance(data[0], torch.Tensor) else torch.as_tensor(np.asarray(data[0]))
    Y = data[1] if isinstance(data[1], torch.Tensor) else torch.as_tensor(np.asarray(data[1]))
    if X.is_floating_point():
        X = X.to(next(model.parameters()).dtype)
    return X, Y


def run_probe(model: Any, loss_fn: Callable[[Any, Any], Any], data: tuple[Any, Any],
              settings: ProbeSettings) -> ProbeResult:
    """:func:`probe` with its options as one :class:`ProbeSettings` (checked when built).

    ``model``, ``loss_fn`` and ``data`` are those of :func:`probe`, as are the result and
    the errors raised.

    Example:
        >>> import torch
        >>> from adamcheck.torch import ProbeSettings, run_probe
        >>> _ = torch.manual_seed(0)
        >>> X = torch.randn(64, 3); y = X @ torch.tensor([1.0, -2.0, 0.5])
        >>> loss = lambda out, t: ((out[:, 0] - t) ** 2).mean()
        >>> s = ProbeSettings(batch_size=8, lr=0.05, steps=200, beta2s=[0.5, 0.999], beta1=0.5)
        >>> run_probe(torch.nn.Linear(3, 1), loss, (X, y), s).outcome
        ('trains', 'trains')
    """
    import torch  # optional: torch

    if not isinstance(settings, ProbeSettings):
        raise InvalidParameterError(f"settings must be an adamcheck.torch.ProbeSettings, got "
                                    f"{type(settings).__name__} (or call probe with keywords)")
    if not isinstance(model, torch.nn.Module):
        raise InvalidParameterError(f"model must be a torch.nn.Module, not {type(model).__name__}")
    s = settings
    all_names = [n for n, _ in model.named_parameters()]
    names = None if s.params is None else tuple(_trainable_names(all_names, s.params))
    sizes = dict((n, p.numel()) for n, p in model.named_parameters())
    snapshot = copy.deepcopy(model)

    def model_fn(_seed: int) -> Any:
        return copy.deepcopy(snapshot)  # every run starts from the current weights

    t0 = time.perf_counter()
    grid = run_sweep(model_fn, loss_fn, data, s.sweep)
    seconds = time.perf_counter() - t0
    r = grid.records
    reasons = np.asarray(r.reason)[:, 0, 0, :, 0]
    mean_final = np.where(r.finite, r.final_loss, np.inf)[:, 0, 0, :, 0].mean(axis=0)
    outcome, beyond = _outcomes(np.asarray(grid.per_seed)[:, 0, 0, :, 0], s)  # (S, L)
    finite = np.isfinite(mean_final)
    best = s.beta2s[int(np.argmin(np.where(finite, mean_final, np.inf)))] if finite.any() else None
    X, Y = _training_rows(data, model, torch)
    step_s = _one_step_seconds(snapshot, loss_fn, X, Y, s.batch_size, s.lr, names)
    return ProbeResult(
        batch_size=s.batch_size, beta1=s.beta1, lr=s.lr, schedule=s.schedule, steps=s.steps,
        seeds=int(np.asarray(grid.seeds).size), beta2s=s.beta2s, outcome=tuple(outcome),
        reasons=tuple(tuple(str(x) for x in reasons[:, j]) for j in range(len(s.beta2s))),
        initial_loss=float(np.nanmean(r.initial_loss)), final_loss=tuple(float(x) for x in mean_final),
        critical_beta2=_critical_beta2(s.beta2s, outcome), best_beta2=best,
        undecided=tuple(b for b, o in zip(s.beta2s, outcome) if o == "undecided"), seconds=seconds,
        step_seconds=step_s, params=names,
        parameters=sum(sizes[n] for n in (names or all_names)), parameters_total=sum(sizes.values()),
        weight_decay=s.weight_decay, beyond_bound=tuple(beyond), grid=grid,
    )
