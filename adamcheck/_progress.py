"""A minimal progress bar on stderr.

Long computations (phase grids, bootstraps, proof runs) report progress through
:class:`Progress`. It draws only when enabled and stderr is a terminal (or when
``ADAMCHECK_PROGRESS=1`` forces it), so pipes, CI logs and ``--json`` consumers
see nothing; every CLI command that can take long has ``--quiet`` to silence it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO

from ._validate import check_flag

__all__ = ["Progress"]


class Progress:
    """Count work units and redraw ``label [#####-----] 50%`` at most 10 times a second.

    Example:
        >>> with Progress(total=3, label="grid", enabled=False) as bar:
        ...     for _ in range(3):
        ...         bar.update()
    """

    def __init__(
        self,
        total: int,
        label: str = "",
        *,
        enabled: bool = True,
        stream: IO[str] | None = None,
        min_interval: float = 0.1,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        forced = os.environ.get("ADAMCHECK_PROGRESS") == "1"
        isatty = getattr(self._stream, "isatty", lambda: False)()
        self.enabled = check_flag(enabled, "progress") and (forced or isatty)
        self._min_interval = min_interval
        self._last = 0.0
        self._start = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done = min(self.done + n, self.total)
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last >= self._min_interval or self.done == self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        width = 30
        frac = self.done / self.total
        filled = int(round(width * frac))
        elapsed = now - self._start
        eta = elapsed / frac - elapsed if frac > 0 else float("nan")
        eta_txt = f"{eta:5.1f}s left" if frac < 1 and eta == eta else f"{elapsed:5.1f}s"
        self._stream.write(
            f"\r{self.label} [{'#' * filled}{'-' * (width - filled)}] {100 * frac:3.0f}% {eta_txt}"
        )
        self._stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self._stream.write("\n")
            self._stream.flush()
            self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
