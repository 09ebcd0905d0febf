"""The mini-batch order of :func:`~adamcheck.torch.phase_sweep`: a pure function of (seed, step).

With ``batching="rows"`` the rows are permuted afresh every epoch (``sampling="reshuffle"``,
a ``DataLoader`` with ``shuffle=True``) or taken in order (``"cyclic"``) and cut into
consecutive batches; with ``batching="fixed"`` batch i is rows [iB, (i+1)B) and the batch of
each step is drawn by the NumPy simulator's sampler
(:func:`adamcheck.simulator.sample_components`).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_nonnegative_int, check_positive_int
from ..simulator._sampling import _permutations, sample_components
from ._sweep_settings import check_modes

__all__ = ["sweep_batch_indices"]

#: Steps of sampled batch indices prepared at once.
_ORDER_BLOCK = 256


def _steps_per_epoch(n_rows: int, batch_size: int, drop_last: bool) -> int:
    return n_rows // batch_size if drop_last else -(-n_rows // batch_size)


class _Order:
    """Row indices of every step for a set of seeds (one batch size)."""

    def __init__(self, n_rows: int, batch_size: int, seeds: np.ndarray, sampling: str, batching: str,
                 drop_last: bool):
        self.N, self.B, self.seeds = n_rows, batch_size, np.asarray(seeds, dtype=np.int64)
        self.sampling, self.batching = sampling, batching
        self.n = _steps_per_epoch(n_rows, batch_size, drop_last)
        self._epoch = -1
        self._perm: np.ndarray | None = None
        self._block_start = 0
        self._comps: np.ndarray | None = None

    def rows(self, t: int) -> list[np.ndarray] | np.ndarray:
        """Step t (1-based): (seeds, b) array when all batches have one size, else a list."""
        k = t - 1
        if self.batching == "rows":
            e, pos = divmod(k, self.n)
            if e != self._epoch:
                self._epoch = e
                if self.sampling == "cyclic":
                    self._perm = np.broadcast_to(np.arange(self.N), (self.seeds.size, self.N))
                else:
                    self._perm = _permutations(self.seeds, np.array([e]), self.N)[0]
            return self._perm[:, pos * self.B : min((pos + 1) * self.B, self.N)]
        if self._comps is None or not (self._block_start <= t < self._block_start + _ORDER_BLOCK):
            self._block_start = t
            self._comps = sample_components(self.n, self.sampling, self.seeds, t, _ORDER_BLOCK)
        comp = self._comps[t - self._block_start]
        starts = comp * self.B
        stops = np.minimum(starts + self.B, self.N)
        if np.all(stops - starts == stops[0] - starts[0]):
            return starts[:, None] + np.arange(stops[0] - starts[0])[None, :]
        return [np.arange(a, b) for a, b in zip(starts, stops)]


def sweep_batch_indices(
    n_rows: int,
    batch_size: int,
    seed: int,
    steps: int,
    *,
    sampling: str = "reshuffle",
    batching: str = "rows",
    drop_last: bool = False,
) -> list[np.ndarray]:
    """The rows of every mini-batch of one :func:`phase_sweep` run, step 1 to ``steps``.

    Use it to replay a sweep's run in a plain ``torch.optim`` loop (the tests do).

    Example:
        >>> [b.tolist() for b in sweep_batch_indices(5, 2, 0, 3, sampling="cyclic")]
        [[0, 1], [2, 3], [4]]
        >>> a = sweep_batch_indices(10, 5, 3, 2)
        >>> sorted(np.concatenate(a).tolist()) == list(range(10))  # one epoch: every row once
        True
    """
    n_rows = check_positive_int(n_rows, "n_rows")
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_positive_int(steps, "steps")
    check_modes(sampling, batching)
    order = _Order(n_rows, batch_size, np.array([check_nonnegative_int(seed, "seed")]), sampling, batching,
                   bool(drop_last))
    out = []
    for t in range(1, steps + 1):
        r = order.rows(t)
        out.append(np.array(r[0]))
    return out

