"""Matplotlib entry point: imported only by commands that draw.

``pyplot()`` selects the non-interactive Agg backend before pyplot is first
imported, so plots work on machines without a display and never open windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._errors import InvalidParameterError

__all__ = ["pyplot", "save_figure", "check_plot_path", "PHASE_COLOURS"]

#: The papers' colours: red for divergence, blue for convergence.
PHASE_COLOURS = {"diverged": "#d62728", "converged": "#1f77b4", "undecided": "#bdbdbd"}


def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` with the Agg backend selected."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def check_plot_path(path: str | Path) -> Path:
    """Validate a plot destination before any work is done (suffix, folder)."""
    from ._files import check_output_path

    return check_output_path(path, "plot", {".png", ".pdf", ".svg"})


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) and close it."""
    from ._files import os_reason

    path = check_plot_path(path)
    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    except OSError as exc:  # full disk, permission: the OS's reason, exit 2
        raise InvalidParameterError(f"cannot write plot {str(path)[:80]!r}: {os_reason(exc)}") from None
    finally:
        pyplot().close(fig)
    return path
