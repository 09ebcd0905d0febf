"""Pictures of the drift ratio: the (beta1, beta2) phase map and the critical boundary.

matplotlib is imported inside :func:`plot_drift_grid` (via adamcheck._plotting), never
at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from .._plotting import PHASE_COLOURS, pyplot, save_figure
from ._boundary import CriticalBoundary
from ._ratio import DriftGrid

__all__ = ["plot_drift_grid"]


def plot_drift_grid(
    grid: DriftGrid,
    boundary: CriticalBoundary | None = None,
    *,
    coordinate: int = 0,
    path: str | Path | None = None,
    title: str | None = None,
) -> Any:
    """Draw sign(rho) over (beta1, beta2) with the rho = 0 contour and, optionally, beta2*(beta1).

    Red cells: rho < 0 (the mean step climbs: divergent phase); blue: rho > 0 (the
    papers' colours, adamcheck._plotting.PHASE_COLOURS). The vertical axis is
    ``-log10(1 - beta2)`` so that 0.9, 0.99, 0.999 are evenly spaced. Returns the figure
    (saved to ``path`` and closed when a path is given).

    Example:
        >>> from adamcheck._laws import GradientLaw
        >>> from adamcheck.drift import drift_ratio_grid
        >>> g = drift_ratio_grid(GradientLaw.two_point(10, 1 / 81), [0.0, 0.5], [0.0, 0.9, 0.99])
        >>> fig = plot_drift_grid(g)
        >>> len(fig.axes) >= 1
        True
    """
    if not 0 <= coordinate < grid.dim:
        raise InvalidParameterError(
            f"coordinate {coordinate} is out of range: the grid has {grid.dim} coordinates (0..{grid.dim - 1})"
        )
    plt = pyplot()
    from matplotlib.colors import ListedColormap  # lazy: keeps matplotlib off `from adamcheck import drift_ratio`

    rho = grid.rho[coordinate]
    y = -np.log10(np.maximum(1.0 - grid.beta2s, 1e-12))
    x = grid.beta1s
    fig, ax = plt.subplots(figsize=(6, 4.5))
    sign = np.where(np.isnan(rho), np.nan, (rho > 0).astype(float))
    cmap = ListedColormap([PHASE_COLOURS["diverged"], PHASE_COLOURS["converged"]])
    if x.size > 1 and y.size > 1:
        ax.pcolormesh(x, y, sign, cmap=cmap, vmin=0, vmax=1, shading="nearest", alpha=0.75)
        if np.nanmin(rho) < 0 < np.nanmax(rho):
            ax.contour(x, y, rho, levels=[0.0], colors="k", linewidths=1.2)
    if boundary is not None:
        ok = np.isfinite(boundary.strict)
        ax.plot(
            boundary.beta1s[ok],
            -np.log10(np.maximum(1.0 - boundary.strict[ok], 1e-12)),
            "w--",
            lw=2,
            label="strict beta2*",
        )
        ax.legend(loc="lower right")
    ax.set_xlabel("beta1")
    ax.set_ylabel("-log10(1 - beta2)")
    ax.set_title(title or (grid.label or "drift ratio") + ": red rho < 0, blue rho > 0")
    if path is not None:
        save_figure(fig, path)
    return fig
