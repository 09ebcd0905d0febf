"""Measurements of your own run (monitor, probe, gradients) and of the theory, as lens data.

Each lens of :data:`adamcheck._measurement.PRECEDENCE` speaks through a
:class:`~adamcheck._measurement.Measurement`: which beta2 values failed and which
trained at a batch size and beta1, or an abstention with its reason. This module
builds them from what adamcheck reads: beta2* of the gradients lens
(:func:`gradient_measurement`), a monitor file's metadata (:func:`measurements_from_meta`)
and the theory's beta1 >= sqrt(beta2) (:func:`theory_measurement`).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from .._answer import beta_text
from .._measurement import Measurement

__all__ = [
    "SRC_SQRT",
    "applicable",
    "calibrated_measurement",
    "gradient_measurement",
    "measurements_from_meta",
    "monitor_file_measurements",
    "no_measured_critical",
    "theory_measurement",
]

SRC_SQRT = ("beta1 < sqrt(beta2) is assumed by every convergence theorem for Adam (Zhang et al. 2022, "
            "2026 Thm 2.2; Reddi et al. 2018)")


#: How far below an exclusive edge its failed value sits: beyond the 1e-12 within which
#: :class:`~adamcheck._measurement.Measurement` treats values as equal, and far below any
#: gap 1 - beta2 that matters (a representation detail, not a tuning constant).
EXCLUSIVE_GAP = 1e-9


def below(x: float) -> float:
    """An exclusive edge ("beta2 < x fails") as a failed value a measurement can hold."""
    return max(0.0, x - EXCLUSIVE_GAP)


def gradient_measurement(
    batch_size: int, beta1: float, beta2_critical: float | None, *, ladder: Sequence[float] | None = None,
    reason: str = "", source: str = "", decided: bool = True,
) -> Measurement:
    """The gradients lens as a :class:`~adamcheck._measurement.Measurement`.

    With ``ladder`` (the beta2 values the lens tried), values below beta2* failed and the
    rest trained; without, every beta2 < beta2* failed. ``beta2_critical`` None or
    ``decided=False`` is an abstention ("cannot tell from this file", with ``reason``).

    Example:
        >>> m = gradient_measurement(4, 0.9, 0.95)
        >>> m.outcome(0.9), m.outcome(0.95)
        ('fails', 'trains')
    """
    if beta2_critical is None or not decided or beta2_critical != beta2_critical:
        return Measurement("gradients", batch_size, beta1, reason=reason or "the gradients lens could not tell",
                           source=source, decided=False)
    if ladder:
        return Measurement.from_critical("gradients", batch_size=batch_size, beta1=beta1,
                                         beta2_critical=beta2_critical, ladder=ladder, reason=reason, source=source)
    if beta2_critical <= 0:
        return Measurement("gradients", batch_size, beta1, trained=(0.0,), reason=reason, source=source)
    return Measurement("gradients", batch_size, beta1, failed=(below(beta2_critical),), trained=(beta2_critical,),
                       reason=reason, source=source)


def measurements_from_meta(meta: Any, *, batch_size: int | None = None, beta1: float | None = None,
                           source: str = "") -> list[Measurement]:
    """A monitor file's own finding as ``Measurement("monitor", ...)`` (empty when it states none).

    Reads ``monitor_decided``, ``monitor_failed``, ``monitor_trained`` and
    ``monitor_reason`` of a :class:`~adamcheck.noise._meta.GradientFileMeta`, at the
    file's ``batch_size`` and ``beta1`` (else the arguments). A file that states a
    finding but no batch size or beta1 is an abstention, with the reason.

    Example:
        >>> from adamcheck.noise._meta import GradientFileMeta
        >>> meta = GradientFileMeta.from_mapping({"batch_size": 32, "beta1": 0.9, "monitor_decided": True,
        ...     "monitor_trained": [0.95], "monitor_reason": "the run trained"}, "run.npz")
        >>> [(m.lens, m.outcome(0.95)) for m in measurements_from_meta(meta)]
        [('monitor', 'trains')]
    """
    decided = getattr(meta, "monitor_decided", None)
    failed = tuple(getattr(meta, "monitor_failed", None) or ())
    trained = tuple(getattr(meta, "monitor_trained", None) or ())
    reason = getattr(meta, "monitor_reason", None) or ""
    if decided is None and not failed and not trained:
        return []
    batch = getattr(meta, "batch_size", None) or batch_size
    b1 = getattr(meta, "beta1", None)
    b1 = beta1 if b1 is None else b1
    if batch is None or b1 is None:
        return [Measurement("monitor", 1, 0.0, decided=False, source=source,
                            reason="the monitor file states a finding but not its batch size or beta1")]
    if decided is False or not (failed or trained):
        return [Measurement("monitor", int(batch), float(b1), decided=False, source=source,
                            reason=reason or "the monitor could not tell")]
    critical = getattr(meta, "monitor_critical", None)
    return [Measurement("monitor", int(batch), float(b1), failed=failed, trained=trained, source=source,
                        critical=critical, reason=reason or "measured on your run")]


def no_measured_critical(m: Measurement) -> str | None:
    """Why a lens states no measured beta2* (None where it measured one).

    A lens measured an edge only where something failed: a failed value, or a threshold
    ``critical`` > 0 it computed. Where nothing failed, the lowest value that trained is
    only where the lens's ladder starts, and the point estimate beside it is the
    statistics' guess, not a measured edge. The one rule behind ``check``'s verdict text,
    ``recommend``'s ``beta2_critical`` (``--json`` and ``--explain``).

    Example:
        >>> no_measured_critical(Measurement("gradients", 4, 0.9, trained=(0.7, 0.9)))
        'no failure found; trains from 0.7 up'
        >>> no_measured_critical(Measurement("gradients", 4, 0.9, failed=(0.5,), trained=(0.7,))) is None
        True
    """
    if not m.decided:
        return f"cannot tell: {m.reason}" if m.reason else "cannot tell"
    if m.failed or (m.critical is not None and m.critical > 0):
        return None
    if m.clear is None or m.clear <= 0:
        return "no failure found on the lens's ladder"
    return f"no failure found; trains from {beta_text(m.clear)} up"


def theory_measurement(batch_size: int, beta1: float) -> Measurement:
    return Measurement("theory", batch_size, beta1, failed=(beta1 * beta1,),
                       reason=f"beta1 = {beta1:g} >= sqrt(beta2): outside every convergence theorem",
                       source=SRC_SQRT)


def applicable(ms: Iterable[Measurement], lens: str, batch: float, beta1: float, outcome: str) -> list[Measurement]:
    return [m for m in ms if m.lens == lens and m.decided and m.applies(batch, beta1, outcome)]




def calibrated_measurement(calibrated: Any, batch_size: int, beta1: float) -> Measurement:
    """The gradients lens (a :class:`~adamcheck.recommend.CalibratedLens`) as a measurement.

    A lens that reports its decided cells (``cells``: the training boundary's
    ``beta2_failed``/``beta2_trained``) is read cell by cell, so ladder values it could not
    tell stay undecided; a lens that found every beta2 on its ladder failing
    (``unresolved``) failed them all; one that says it cannot tell (``decided`` False)
    abstains with its ``reason`` (or ``mechanism``).
    """
    source = getattr(calibrated, "source", "")
    mechanism = getattr(calibrated, "mechanism", "")
    if getattr(calibrated, "decided", True) is False:
        why = getattr(calibrated, "reason", "") or mechanism or "the gradients lens could not tell from this file"
        return Measurement("gradients", batch_size, beta1, reason=why, source=source, decided=False)
    ladder = tuple(getattr(calibrated, "ladder", ()) or ())
    if getattr(calibrated, "cells", False):
        # the file lens's own decided cells: a value it could not tell stays undecided here
        # too (the point estimate beta2* would call every ladder value below it failed)
        failed, trained = tuple(calibrated.beta2_failed), tuple(calibrated.beta2_trained)
        why = getattr(calibrated, "reason", "") or mechanism
        if not failed and not trained:
            return Measurement("gradients", batch_size, beta1, source=source, decided=False,
                               reason=why or "the gradients lens could not tell from this file")
        # where the highest failing and the lowest training ladder values are neighbours, the
        # edge lies between them and the lens's beta2* (the lowest that trains) is its
        # conservative end: below it fails, as recommend's and the monitor's rule say; an
        # undecided value between them leaves the gap undecided
        critical = None
        if failed and trained:
            lo, hi = max(failed), min(trained)
            if lo < hi and not any(lo < b < hi for b in ladder):
                critical = hi
        return Measurement("gradients", batch_size, beta1, failed=failed, trained=trained, reason=why,
                           source=source, critical=critical)
    if getattr(calibrated, "unresolved", False):
        if not ladder:
            return Measurement("gradients", batch_size, beta1, reason=mechanism or "no verdict", source=source,
                               decided=False)
        return Measurement("gradients", batch_size, beta1, failed=ladder, source=source,
                           reason=f"every beta2 the lens tried fails at this batch ({mechanism})")
    return gradient_measurement(batch_size, beta1, calibrated.beta2_critical, ladder=ladder or None,
                                reason=mechanism, source=source)


def monitor_file_measurements(gradients: Any, batch_size: int, beta1: float) -> list[Measurement]:
    """The finding a monitor file (written by a monitor) states about beta2, as measurements.

    ``gradients`` is what the gradient loader takes (paths, or an open
    :class:`~adamcheck.noise.GradientSource`): the metadata it validated and merged is
    read, never the gradients themselves; a per-example file states no finding.
    """
    from ..noise._source import opened_gradients  # lazy: keeps numpy off `import adamcheck.configs`

    if gradients is None or hasattr(gradients, "__array__"):
        return []
    with opened_gradients(gradients) as source:
        meta, name = source.meta, source.label
    if not meta.is_monitor:
        return []
    return measurements_from_meta(meta, batch_size=batch_size, beta1=beta1, source=name)
