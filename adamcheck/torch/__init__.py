"""torch integrations (extra ``adamcheck[torch]``): gradient statistics from real training runs.

Every name is imported lazily (PEP 562), so ``import adamcheck.torch`` does not import
torch until a name is used, and ``import adamcheck`` never does.

* :func:`sample_per_example_gradients`, :func:`choose_coordinates`,
  :func:`save_sampled_gradients`: per-example gradients at a seeded sample of
  coordinates, written as the file ``adamcheck estimate/recommend/boundary`` read.
* :class:`GradientMonitor`: optimizer-hook monitor of Adam during training (beta2*,
  drift ratio at your betas, two-batch noise scale, update-norm spikes).
* :func:`lightning_callback`: the monitor as a Lightning ``Callback``.
* :func:`phase_sweep`, :func:`sweep_batch_indices`: many Adam configurations trained at once
  (:func:`run_sweep` takes the options as one :class:`SweepSettings`).
* :func:`probe` -> :class:`ProbeResult`: short real runs of your model from its current
  weights over a beta2 ladder at your batch size and learning rate (the ``probe`` lens;
  :func:`run_probe` takes the options as one :class:`ProbeSettings`).
"""

from __future__ import annotations

from .._lazy import lazy_exports

#: public name -> private module defining it (one line per name, so additions merge cleanly)
_LAZY: dict[str, str] = {
    "CoordinateSample": "._sample",
    "SampledGradients": "._sample",
    "choose_coordinates": "._sample",
    "sample_per_example_gradients": "._sample",
    "per_example_gradients": "._grads",
    "save_sampled_gradients": "._sample",
    "GradientMonitor": "._monitor",
    "MonitorReport": "._monitor",
    "MonitorSettings": "._monitor",
    "AdamCheckWarning": "._monitor",
    "report_metrics": "._monitor",
    "lightning_callback": "._lightning",
    "phase_sweep": "._sweep",
    "run_sweep": "._sweep",
    "SweepSettings": "._sweep_settings",
    "probe": "._probe",
    "ProbeResult": "._probe",
    "run_probe": "._probe",
    "ProbeSettings": "._probe_settings",
    "sweep_batch_indices": "._sweep",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
