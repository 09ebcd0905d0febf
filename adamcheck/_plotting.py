"""Matplotlib entry point: imported only by commands that draw.

``pyplot()`` selects the non-interactive Agg backend before pyplot is first
imported, so plots work on machines without a display and never open windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._files import atomic_output, check_output_path

__all__ = ["pyplot", "save_figure", "check_plot_path", "PHASE_COLOURS"]

#: The papers' colours: red for divergence, blue for convergence.
PHASE_COLOURS = {"diverged": "#d62728", "converged": "#1f77b4", "undecided": "#bdbdbd"}


def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` with the Agg backend selected."""
    import matplotlib  # lazy: matplotlib only when a figure is drawn (off every fast command)

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # lazy: matplotlib only when a figure is drawn (off every fast command)

    return plt


def check_plot_path(path: str | Path) -> Path:
    """Validate a plot destination before any work is done (suffix, folder)."""
    return check_output_path(path, "plot", {".png", ".pdf", ".svg"})


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) and close it.

    Written all or nothing (:func:`adamcheck._files.atomic_output`): a full disk leaves
    the old plot, or none, never a truncated one; the error names the file and the OS's
    reason (:class:`~adamcheck._errors.InvalidParameterError`).
    """
    path = check_plot_path(path)
    try:
        with atomic_output(path, "plot") as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format=path.suffix[1:].lower())
    finally:
        pyplot().close(fig)
    return path
