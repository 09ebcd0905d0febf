"""The training monitor's core, without any framework: settings, analysis, rules, schedule, report.

:class:`adamcheck.torch.GradientMonitor` is a *recorder* (optimizer hooks, a ring buffer of
sampled gradients, per-step records); everything it concludes is computed here from
plain data, so each piece can be tested and reused on its own (state as data, in the
manner of optax's init/update):

* :class:`MonitorSettings` (frozen): every knob, validated once; :class:`RunInfo`: the
  run's batch size, betas, eps, learning rate, planned steps.
* :func:`analyse_window`: a pure function from a :class:`Window` (the recorded gradients,
  losses and two-batch sums of one window) to a :class:`WindowAnalysis` (beta2* per batch,
  the drift ratio at the run's betas, the resolved |G|^2, the noise scale).
* :func:`judge`: a pure function from the analyses, the observed losses and the per-step
  records to :class:`~adamcheck._diagnostics.Diagnostic` records (lens ``"monitor"``); the
  walk-off rule (:mod:`adamcheck.monitor._walkoff`) decides whether a beta2* finding is a
  warning; :func:`monitor_measurement` is the monitor's :class:`~adamcheck._measurement.Measurement`.
* :func:`first_analysis_step` / :func:`next_analysis_step`: when to analyse (early, then
  within a budget of the measured step time).
* :class:`MonitorReport`: the typed report; ``str(report)`` is the verdict in three lines.
* :class:`GroupSpec`, :func:`analyse_groups`, :func:`group_findings`: beta2* of parameter
  groups whose effective batch is not the global one (MoE experts, embedding rows) and the
  rule on them (:mod:`adamcheck.monitor._groups`).

Nothing here imports torch.
"""

from __future__ import annotations

from ._analysis import (BatchFinding, DriftAtBetas, NoiseScale, TwoBatchSums, Window, WindowAnalysis,
                        analyse_window, predict_beta2_star, window_law)
from ._groups import GroupAnalysis, GroupSpec, analyse_groups, group_findings
from ._judge import LossRecord, MonitorDiagnostic, Spike, StepRecord, judge, monitor_measurement
from ._report import MonitorReport, report_metrics
from ._schedule import Costs, first_analysis_step, next_analysis_step
from ._settings import DRIFT_OPTIONS, MonitorSettings, RunInfo
from ._walkoff import MeanGradient, WalkOff, WindowLoss, walk_off

__all__ = [
    "BatchFinding", "Costs", "DRIFT_OPTIONS", "DriftAtBetas", "GroupAnalysis", "GroupSpec", "LossRecord", "MeanGradient", "MonitorDiagnostic",
    "MonitorReport", "MonitorSettings", "NoiseScale", "RunInfo", "Spike", "StepRecord", "TwoBatchSums", "WalkOff",
    "Window", "WindowAnalysis", "WindowLoss", "analyse_groups", "analyse_window", "first_analysis_step",
    "group_findings", "judge", "monitor_measurement",
    "next_analysis_step", "predict_beta2_star", "report_metrics", "walk_off", "window_law",
]
