"""The one picture of beta2 against batch size, shared by ``recommend`` and ``boundary``.

The y axis is 1 - beta2 on a log scale, inverted so that a larger beta2 (a longer
memory) is higher; the practice lens (docs/theory.md section 7) is the half-life rule and
its clamp, the calibrated lens (section 10) is beta2* with its bisection bracket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .._halflife import DEFAULT_REFERENCE, PRACTICE_CLAMP, BetaReference, half_life_beta2

__all__ = ["plot_beta2_against_batch"]


def plot_beta2_against_batch(
    path: str | Path,
    *,
    reference: BetaReference = DEFAULT_REFERENCE,
    clamp: tuple[float, float] = PRACTICE_CLAMP,
    batch_range: tuple[float, float] = (1.0, 10**4.5),
    batch_sizes: Sequence[float] = (),
    critical_beta2: Sequence[float] = (),
    critical_brackets: Sequence[tuple[float, float]] | None = None,
    recommended: tuple[float, float] | None = None,
    title: str = "",
) -> Path:
    """Draw beta2 against batch size to ``path`` (.png/.pdf/.svg) and return the path.

    Args:
        path: destination; the suffix chooses the format.
        reference, clamp: the half-life rule's reference point and the practice clamp.
        batch_range: (smallest, largest) batch size of the practice curves.
        batch_sizes, critical_beta2: beta2* per batch size (0 means no reversal at any
            beta2, drawn as an open marker at the top).
        critical_brackets: (low, high) bracket of each beta2*, drawn as error bars.
        recommended: (batch size, beta2) of the recommendation, if any.
        title: the figure title.

    Raises:
        InvalidParameterError: unsupported suffix or missing folder.

    Example:
        >>> plot_beta2_against_batch("b2.png", batch_sizes=[4, 64], critical_beta2=[0.56, 0.0],
        ...                          recommended=(4, 0.9)).name
        'b2.png'
    """
    import numpy as np  # lazy: keeps numpy off `import adamcheck.configs`

    from .._plotting import check_plot_path, pyplot, save_figure  # lazy: keeps _plotting and _files (~17 ms) off `import adamcheck.configs`

    check_plot_path(path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    grid = np.logspace(np.log10(batch_range[0]), np.log10(batch_range[1]), 200)
    rule = np.array([half_life_beta2(reference, b) for b in grid])
    ax.plot(grid, 1 - rule, color="0.5", lw=1, label="half-life rule")
    ax.plot(grid, 1 - np.clip(rule, *clamp), color="k", lw=1.5, label="clamped practice range")
    B = np.asarray(batch_sizes, dtype=float)
    star = np.asarray(critical_beta2, dtype=float)
    shown = star > 0
    if shown.any():
        yerr = None
        if critical_brackets is not None:
            br = np.asarray(critical_brackets, dtype=float)[shown]
            yerr = [np.abs(br[:, 1] - star[shown]), np.abs(star[shown] - br[:, 0])]
        ax.errorbar(B[shown], 1 - star[shown], yerr=yerr, fmt="o-", color="#d62728",
                    label=r"critical $\beta_2^*$ (your gradients)")
    if (~shown).any():
        ax.scatter(B[~shown], np.ones((~shown).sum()), facecolors="none", edgecolors="#d62728", s=40,
                   label=r"no reversal at any $\beta_2$ ($\beta_2^*=0$)")
    if recommended is not None:
        ax.scatter([recommended[0]], [1 - recommended[1]], color="#1f77b4", zorder=5, s=50, label="recommended")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("batch size (samples)")
    ax.set_ylabel(r"$1-\beta_2$ (up: larger $\beta_2$)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
