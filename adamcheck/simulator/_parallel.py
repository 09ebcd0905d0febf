"""Split a simulation over worker processes (runs are independent).

Runs are dealt to workers in contiguous groups of whole seeds when there are at
least as many seeds as workers (so shared-moment slots are never duplicated), and
in contiguous halves of the run list otherwise. Workers are forked, so the problem
(possibly holding a data set) is inherited rather than pickled; results come back
as arrays and are stitched in run order. Each worker pins BLAS to one thread.

Workers never outlive the run: the pool is terminated on any exit of the parent (an
error, Ctrl-C, or SIGTERM, which the CLI raises as an exception), each worker takes
SIGTERM's default action (so terminating it is immediate and silent), and on Linux
each is also asked to receive SIGTERM when its parent dies, even by SIGKILL.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
from dataclasses import replace

import numpy as np

from .._progress import Progress
from ._engine import EngineConfig, EngineOutput, run_engine

__all__ = ["partition_runs", "run_parallel", "available_workers"]

_PARTS: list[EngineConfig] = []


def available_workers() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def partition_runs(seeds: np.ndarray, workers: int) -> list[np.ndarray]:
    """Index arrays, one per worker, covering every run once.

    Example:
        >>> [p.tolist() for p in partition_runs(np.array([0, 0, 1, 1, 2]), 2)]
        [[0, 1, 2, 3], [4]]
    """
    runs = seeds.size
    workers = max(1, min(workers, runs))
    unique, counts = np.unique(seeds, return_counts=True)
    if unique.size >= workers:
        # Whole seeds per worker, balancing run counts greedily in seed order.
        target = runs / workers
        parts, current, filled = [], [], 0
        for seed, count in zip(unique, counts):
            current.append(seed)
            filled += count
            if filled >= target * (len(parts) + 1) and len(parts) < workers - 1:
                parts.append(current)
                current = []
        parts.append(current)
        return [np.flatnonzero(np.isin(seeds, p)) for p in parts if p]
    return [a for a in np.array_split(np.arange(runs), workers) if a.size]


def _subset(cfg: EngineConfig, idx: np.ndarray) -> EngineConfig:
    return replace(
        cfg,
        params=cfg.params.take(idx),
        seeds=cfg.seeds[idx],
        x0=cfg.x0[idx],
        minimizer=None if cfg.minimizer is None else cfg.minimizer[idx],
        progress=False,
    )


_DONE = None  # shared counter of run-steps done, for the parent's progress bar


def _worker_init(parent: int) -> None:
    """In each forked worker: SIGTERM kills at once (the parent's Python handler, inherited
    by the fork, would raise in the middle of the work), and dies with the parent."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG: Linux; absent elsewhere
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _work(i: int) -> EngineOutput:
    cfg = _PARTS[i]
    runs = cfg.seeds.size

    def tick(steps: int) -> None:
        with _DONE.get_lock():
            _DONE.value += steps * runs

    return run_engine(replace(cfg, on_block=tick))


def run_parallel(cfg: EngineConfig, workers: int) -> EngineOutput:
    """Run ``cfg`` over ``workers`` forked processes and merge the outputs."""
    global _PARTS
    parts = partition_runs(cfg.seeds, workers)
    if len(parts) <= 1 or "fork" not in mp.get_all_start_methods():
        return run_engine(cfg)
    global _DONE
    ctx = mp.get_context("fork")
    _PARTS = [_subset(cfg, idx) for idx in parts]
    _DONE = ctx.Value("d", 0.0)
    total = float(cfg.seeds.size) * cfg.steps
    try:
        with Progress(cfg.steps, "simulate", enabled=cfg.progress) as bar, ctx.Pool(len(parts), _worker_init, (os.getpid(),)) as pool:
            pending = pool.map_async(_work, range(len(parts)))
            while not pending.ready():
                pending.wait(0.2)
                bar.update(int(cfg.steps * _DONE.value / total) - bar.done)
            outs = pending.get()
    finally:
        _PARTS, _DONE = [], None
    runs, d = cfg.x0.shape
    x = np.empty((runs, d), dtype=cfg.dtype)
    m, v = np.empty_like(x), np.empty_like(x)
    blow = np.empty(runs, dtype=np.int64)
    traj = None
    if outs[0].trajectory is not None:
        traj = np.empty((outs[0].trajectory.shape[0], runs, d), dtype=cfg.dtype)
    evidence: dict[str, np.ndarray] = {}
    for idx, out in zip(parts, outs):
        x[idx], m[idx], v[idx], blow[idx] = out.x, out.m, out.v, out.blowup_step
        if traj is not None:
            traj[:, idx] = out.trajectory
        for key, value in out.evidence.items():
            if np.ndim(value) == 0:
                evidence[key] = value
                continue
            if key not in evidence:
                evidence[key] = np.empty(runs, dtype=value.dtype)
            evidence[key][idx] = value
    return EngineOutput(
        x=x, m=m, v=v, blowup_step=blow, evidence=evidence, trajectory=traj,
        record_steps=outs[0].record_steps, shared_steps=sum(o.shared_steps for o in outs),
    )
