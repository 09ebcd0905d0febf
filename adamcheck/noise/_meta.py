"""The metadata a gradient file carries next to its gradients, validated in one place.

A gradient ``.npz`` holds the gradients (``grads``, shape (N, d) or (P, N, d)) and
scalar (or small 1-d) arrays that describe them. Every command that reads a gradient
file (``estimate``, ``boundary``, ``recommend``, ``check``) reads these through
:func:`read_meta` / :class:`GradientFileMeta`, so a file means the same thing to all of
them. Unknown keys are ignored (a file may carry the sampler's coordinate indices, the
optimizer's moments...). A malformed value is a :class:`~adamcheck.DataError`, never a
silent default.

Keys (all optional; a missing key means "not stated"):

=================== ======= ===============================================================
key                 type    meaning
=================== ======= ===============================================================
reduction           str     ``"mean"`` or ``"sum"``: how the loss behind each row was reduced
loss_scale          float   > 0: the factor the loss was multiplied by (fp16 loss scaling)
mean_over           int     >= 1: each row is the gradient of a loss averaged over this many
                            examples (BackPACK's ``BatchGrad`` of a mean loss)
row_batch_size      int     >= 1: each row is a mini-batch gradient of this many examples
                            (1: per-example rows; a :class:`~adamcheck.torch.GradientMonitor`
                            file has one row per optimizer step, R = the run's batch)
batch_size          int     >= 1: samples per optimizer step in the run the file came from
                            (-1 is read as "not stated", as older files wrote it)
seq_len             int     >= 1: tokens per sample (language models)
beta1, beta2        float   in [0, 1): the run's Adam betas
eps                 float   >= 0: the run's eps
lr                  float   > 0: the run's (last) learning rate
weight_decay        float   >= 0
steps               int     >= 0: optimizer steps the run had taken when the file was written;
                            or int[P], the step of each sampled point (examples/digits)
planned_steps       int     >= 1: optimizer steps the run plans
world_size          int     >= 1: data-parallel ranks
writer              str     what wrote the file (``adamcheck.torch.GradientMonitor``...)
monitor_decided     bool    the monitor's beta2 finding (below) is a decision, not "cannot tell"
monitor_failed      float[] beta2 values the monitor measured as failing at ``batch_size``
monitor_trained     float[] beta2 values the monitor measured as training at ``batch_size``
monitor_critical    float   the monitor's beta2*: every beta2 below it fails (its warning's rule); -1: none
monitor_reason      str     one line: the mechanism, or why the monitor cannot tell
=================== ======= ===============================================================

Example:
    >>> m = GradientFileMeta.from_mapping({"row_batch_size": 4, "batch_size": 4, "beta2": 0.95,
    ...                                    "writer": "adamcheck.torch.GradientMonitor"}, "run.npz")
    >>> m.row_batch_size, m.batch_size, m.beta2, m.is_monitor
    (4, 4, 0.95, True)
    >>> GradientFileMeta.from_mapping({"row_batch_size": 2.5}, "x.npz")
    Traceback (most recent call last):
    ...
    adamcheck._errors.DataError: x.npz: row_batch_size = 2.5 must be a whole number >= 1: write the file again with a valid value
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from .._errors import DataError
from .._shown import shown_repr
from ._scale import GradientScale

__all__ = ["GradientFileMeta", "META_KEYS", "MONITOR_WRITERS", "VARYING_KEYS", "merge_meta"]

#: Values of ``writer`` that mark a monitor file (rows are optimizer steps).
MONITOR_WRITERS = ("adamcheck.torch.GradientMonitor", "adamcheck.optax.monitor")


def _fix(name: str) -> str:
    return f"write the file again with a valid value (or remove the {name!r} entry)"


@dataclass(frozen=True)
class GradientFileMeta:
    """Validated metadata of one gradient file (module docstring: the keys)."""

    reduction: str | None = None
    loss_scale: float | None = None
    mean_over: int | None = None
    row_batch_size: int | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None
    lr: float | None = None
    weight_decay: float | None = None
    steps: int | tuple[int, ...] | None = None
    planned_steps: int | None = None
    world_size: int | None = None
    writer: str | None = None
    monitor_decided: bool | None = None
    monitor_failed: tuple[float, ...] | None = None
    monitor_trained: tuple[float, ...] | None = None
    monitor_critical: float | None = None
    monitor_reason: str | None = None

    @property
    def rows_per_example(self) -> int:
        """R: examples behind each row (1 for per-example files)."""
        return self.row_batch_size or 1

    @property
    def is_monitor(self) -> bool:
        """Rows are optimizer steps of a monitored run (a monitor wrote the file, or R > 1)."""
        return (self.writer in MONITOR_WRITERS) or self.rows_per_example > 1

    @property
    def row_factor(self) -> float:
        """Stored row = this factor x the canonical gradient of the unscaled, mean-reduced loss
        (:class:`~adamcheck.noise._scale.GradientScale`: ``loss_scale``, or ``loss_scale /
        mean_over`` for a mean; 1 when the file states neither)."""
        return GradientScale(self.reduction or "mean", self.loss_scale or 1.0, self.mean_over or 1).factor

    def stated(self) -> dict[str, Any]:
        """The keys the file states, as plain Python values (for notes and ``--json``)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v is not None}

    def batch_rows(self, batch_size: int, name: str = "the gradient file") -> int:
        """Rows that make one mini-batch of ``batch_size`` examples: B / R.

        A row of a file with ``row_batch_size`` R is the mean gradient of R examples,
        so the mean of B / R rows is a mini-batch gradient of B examples.

        Raises:
            DataError: B is not a multiple of R.
        """
        R = self.rows_per_example
        if batch_size % R:
            raise DataError(
                f"{name}: each row is the mean gradient of {R} examples (row_batch_size = {R}), so a batch of "
                f"{batch_size} examples is not a whole number of rows: give a batch size that is a multiple of {R}"
            )
        return batch_size // R

    def setting(self, key: str, given: Any, flag: str, name: str) -> tuple[Any, str | None]:
        """``given`` if not None, else the file's value of ``key``; and a note when they differ.

        Example:
            >>> m = GradientFileMeta(batch_size=4, beta1=0.9)
            >>> m.setting("batch_size", None, "--batch-size", "run.npz")
            (4, None)
            >>> m.setting("beta1", 0.0, "--beta1", "run.npz")
            (0.0, "--beta1 0 differs from run.npz's beta1 = 0.9: using 0")
        """
        stated = getattr(self, key)
        if given is None:
            return stated, None
        if stated is not None and given != stated:
            return given, f"{flag} {given:g} differs from {name}'s {key} = {stated:g}: using {given:g}"
        return given, None

    def fill(self, given: Mapping[str, Any], name: str) -> tuple[dict[str, Any], list[str], list[str]]:
        """:meth:`setting` for each of ``given`` (key -> the caller's value or None): the values,
        the keys taken from the file, and a note for each caller's value that differs.

        Example:
            >>> GradientFileMeta(batch_size=4, beta1=0.9).fill({"batch_size": None, "beta1": 0.0}, "run.npz")
            ({'batch_size': 4, 'beta1': 0.0}, ['batch_size'], ["beta1 0 differs from run.npz's beta1 = 0.9: using 0"])
        """
        values: dict[str, Any] = {}
        taken, differ = [], []
        for key, value in given.items():
            values[key], differs = self.setting(key, value, key, name)
            if differs:
                differ.append(differs)
            elif value is None and values[key] is not None:
                taken.append(key)
        return values, taken, differ

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], name: str) -> "GradientFileMeta":
        """Validate ``values`` (npz members or a dict) read from the file called ``name``.

        Raises:
            DataError: a value of the wrong type or outside its range, naming the key.
        """
        out: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in values:
                continue
            out[f.name] = _VALIDATE[f.name](name, f.name, values[f.name])
        return cls(**{k: v for k, v in out.items() if v is not None})


def _scalar(name: str, key: str, value: Any) -> Any:
    arr = np.asarray(value)
    if arr.shape != ():
        raise DataError(f"{name}: {key} has shape {arr.shape}, expected one value: {_fix(key)}")
    if arr.dtype.hasobject:
        raise DataError(f"{name}: {key} is an object array, which adamcheck never loads: {_fix(key)}")
    return arr.item()


def _text(name: str, key: str, value: Any) -> str:
    v = _scalar(name, key, value)
    if not isinstance(v, str):
        raise DataError(f"{name}: {key} = {shown_repr(v)} must be text: {_fix(key)}")
    return v


def _number(name: str, key: str, value: Any) -> float:
    v = _scalar(name, key, value)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float)):
        raise DataError(f"{name}: {key} = {shown_repr(v)} must be a number: {_fix(key)}")
    v = float(v)
    if not math.isfinite(v):
        raise DataError(f"{name}: {key} = {v} must be finite: {_fix(key)}")
    return v


def _whole(minimum: int, missing: int | None = None):  # type: ignore[no-untyped-def]
    def check(name: str, key: str, value: Any) -> int | None:
        v = _number(name, key, value)
        if missing is not None and v == missing:
            return None
        if v != int(v) or v < minimum:
            raise DataError(f"{name}: {key} = {v:g} must be a whole number >= {minimum}: "
                            "write the file again with a valid value")
        return int(v)
    return check


def _beta2_or_none(name: str, key: str, value: Any) -> float | None:
    """A beta2 in [0, 1), or -1 for "none" (a monitor that found no beta2*)."""
    v = _number(name, key, value)
    return None if v == -1 else _ranged(0.0, 1.0)(name, key, v)


def _ranged(low: float, high: float | None, low_open: bool = False):  # type: ignore[no-untyped-def]
    def check(name: str, key: str, value: Any) -> float:
        v = _number(name, key, value)
        bad = v <= low if low_open else v < low
        if high is not None and v >= high:
            bad = True
        if bad:
            rng = f"{'(' if low_open else '['}{low:g}, {'1)' if high is not None else 'inf)'}"
            raise DataError(f"{name}: {key} = {v:g} is outside {rng}: {_fix(key)}")
        return v
    return check


def _reduction(name: str, key: str, value: Any) -> str:
    v = _text(name, key, value)
    if v not in ("mean", "sum"):
        raise DataError(f"{name}: reduction = {shown_repr(v)} must be 'mean' or 'sum': {_fix(key)}")
    return v


def _flag(name: str, key: str, value: Any) -> bool:
    v = _scalar(name, key, value)
    if not isinstance(v, (bool, np.bool_)) and v not in (0, 1):
        raise DataError(f"{name}: {key} = {shown_repr(v)} must be true or false: {_fix(key)}")
    return bool(v)


def _steps(name: str, key: str, value: Any) -> int | tuple[int, ...] | None:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return _whole(0, missing=-1)(name, key, value)
    if arr.ndim > 1 or arr.dtype.kind not in "iu":
        raise DataError(f"{name}: {key} must be one whole number or a 1-d array of them (one per point): {_fix(key)}")
    vals = tuple(int(x) for x in arr)
    if any(x < 0 for x in vals):
        raise DataError(f"{name}: {key} holds a negative step: {_fix(key)}")
    return vals


def _betas(name: str, key: str, value: Any) -> tuple[float, ...]:
    arr = np.asarray(value)
    if arr.ndim > 1 or arr.dtype.kind not in "fiu":
        raise DataError(f"{name}: {key} must be a 1-d array of beta2 values: {_fix(key)}")
    vals = tuple(float(x) for x in arr.reshape(-1))
    if any(not (0.0 <= x < 1.0) for x in vals):
        raise DataError(f"{name}: {key} holds a value outside [0, 1): {_fix(key)}")
    return vals


_VALIDATE = {
    "reduction": _reduction,
    "loss_scale": _ranged(0.0, None, low_open=True),
    "mean_over": _whole(1),
    "row_batch_size": _whole(1),
    "batch_size": _whole(1, missing=-1),
    "seq_len": _whole(1, missing=-1),
    "beta1": _ranged(0.0, 1.0),
    "beta2": _ranged(0.0, 1.0),
    "eps": _ranged(0.0, None),
    "lr": _ranged(0.0, None, low_open=True),
    "weight_decay": _ranged(0.0, None),
    "steps": _steps,
    "planned_steps": _whole(1, missing=-1),
    "world_size": _whole(1, missing=-1),
    "writer": _text,
    "monitor_decided": _flag,
    "monitor_failed": _betas,
    "monitor_trained": _betas,
    "monitor_critical": _beta2_or_none,
    "monitor_reason": _text,
}

#: Every key :class:`GradientFileMeta` reads.
META_KEYS = tuple(_VALIDATE)

#: Keys whose value legitimately differs between files of one run (two saves of a
#: monitor at different steps): when pooled files disagree, the pooled sample does not
#: state them (a note says so). Every other key must agree, a missing scale key counting
#: as its default (``_SCALE_DEFAULTS``), or the files are refused: pooled rows must mean
#: the same thing.
VARYING_KEYS = ("steps", "lr", "monitor_decided", "monitor_failed", "monitor_trained", "monitor_critical",
                "monitor_reason")
_SCALE_DEFAULTS = {"reduction": "mean", "loss_scale": 1.0, "mean_over": 1, "row_batch_size": 1}


def _kind(meta: GradientFileMeta) -> str:
    R = meta.rows_per_example
    return (f"rows of a monitored run (each the mean gradient of {R} examples)" if meta.is_monitor
            else "per-example rows")


def merge_meta(files: Sequence[tuple[str, GradientFileMeta]]) -> tuple[GradientFileMeta, list[str]]:
    """The metadata of several files pooled into one sample, and notes on what was dropped.

    Raises:
        DataError: two files disagree on a key that changes what a row means (the scale
            keys, ``row_batch_size``, per-example rows against a monitor's rows) or on the run
            they come from (batch size, betas, eps...), naming both files and the key.

    Example:
        >>> a = GradientFileMeta(reduction="sum")
        >>> merge_meta([("a.npz", a), ("b.npz", GradientFileMeta())])
        Traceback (most recent call last):
        ...
        adamcheck._errors.DataError: a.npz and b.npz disagree on reduction ('sum' against 'mean'): rows pooled into one sample must be made the same way; give the files one at a time (or write them again with one reduction)
    """
    if not files:
        return GradientFileMeta(), []
    name0, first = files[0]
    for name, meta in files[1:]:
        if meta.is_monitor != first.is_monitor:
            raise DataError(f"{name0} holds {_kind(first)} but {name} holds {_kind(meta)}: they cannot be pooled "
                            "into one sample; give the files one at a time")
    merged: dict[str, Any] = {}
    notes: list[str] = []
    for key in META_KEYS:
        stated = [(name, getattr(meta, key)) for name, meta in files]
        if key in _SCALE_DEFAULTS:
            stated = [(name, _SCALE_DEFAULTS[key] if v is None else v) for name, v in stated]
        known = [(name, v) for name, v in stated if v is not None]
        if not known:
            continue
        (na, va), clash = known[0], next(((n, v) for n, v in known[1:] if v != known[0][1]), None)
        if clash is None:
            if key not in _SCALE_DEFAULTS or any(getattr(m, key) is not None for _, m in files):
                merged[key] = va
            continue
        nb, vb = clash
        if key in VARYING_KEYS:
            notes.append(f"{na} and {nb} disagree on {key} ({shown_repr(va)} against {shown_repr(vb)}): "
                         f"the pooled files state no {key}")
            continue
        raise DataError(f"{na} and {nb} disagree on {key} ({shown_repr(va)} against {shown_repr(vb)}): rows pooled "
                        f"into one sample must be made the same way; give the files one at a time (or write them "
                        f"again with one {key})")
    return GradientFileMeta(**merged), notes
