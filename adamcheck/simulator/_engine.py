"""The vectorised engine: many Adam runs advanced together, one block of steps at a time.

Every run r has its own beta1, beta2, lr, eps, weight decay, eps_root and seed; its
state is a row of arrays shaped (runs, d). Two paths advance runs:

* the **per-run path** (:mod:`._kernels`): gradient, moments and step computed in place
  for each run, a dozen NumPy ufunc passes over (runs, d) per step, no allocation;
* the **shared-moment path**: when a problem has a region where every component
  gradient is a constant (the linear piece of the counterexample, docs/theory.md section 4:
  the states (m, v) evolve independently of x), runs in that region with the same
  seed see the same gradients, so m depends only on (seed, beta1) and v only on
  (seed, beta2, eps, eps_root). The engine keeps one m per (seed, beta1) *slot* and
  one v per (seed, beta2, eps, eps_root) slot and moves all those runs over a block
  of K steps with one matrix product per seed: x_r -= lr_r * sum_k A_k[i_r] B_k[j_r]
  (the step factors as lr * A(m) * B(v) in every convention, see
  :func:`._kernels.update_factors`); the slots' moments over the block come from one
  log-depth scan (:func:`._kernels.ema_scan`). The bound lr_r * sum_k |A_k[i_r]| |B_k[j_r]|
  on the movement proves that most runs stay in the region for the block; the others
  are followed step by step (cumulative sums), and a run that leaves during the block
  moves to the per-run path from the block's start with its slots' (m, v), which it
  retraces (up to rounding) until it leaves. The two paths agree up to rounding
  (tests/simulator/test_simulator_engine.py).

Randomness: components are a pure function of (seed, step)
(:func:`._sampling.sample_components`); runs sharing a seed share them (common random
numbers across a grid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .._errors import InvalidParameterError
from .._progress import Progress
from ..problems._base import Problem
from ._kernels import RunParams, Scratch, apply_update, ema_scan, update_factors, update_moments
from ._outcomes import EvidenceTracker, blowup_limit
from ._sampling import sample_components
from ._schedules import schedule_factors

__all__ = ["EngineConfig", "EngineOutput", "run_engine", "initial_moments"]

#: Block of steps between checkpoints (and shared-path matrix products). Fixed, so
#: memory does not grow with the number of steps.
BLOCK = 512
#: Cap on the elements of one block array of slot moments (steps x slots x d): with
#: many distinct betas the shared path works in shorter sub-blocks instead.
SLOT_BUDGET = 1 << 21
#: Near-boundary runs are followed in chunks of this many (bounds K x chunk memory).
NEAR_CHUNK = 4096
#: Up to this many distinct seeds, each seed gets its own per-run table (its runs
#: share the sampled component, a scalar); beyond, one table gathers per run.
MAX_SEED_TABLES = 16


@dataclass
class EngineConfig:
    problem: Problem
    convention: str
    sampling: str
    schedule: str
    steps: int
    params: RunParams  # (runs, 1) columns
    seeds: np.ndarray  # (runs,)
    x0: np.ndarray  # (runs, d)
    decoupled: bool = False
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))
    record_every: int | None = None
    shared: bool = True
    progress: bool = False
    minimizer: np.ndarray | None = None  # (runs, d) or None
    on_block: Any = None  # called with the number of steps after every block


@dataclass
class EngineOutput:
    x: np.ndarray
    m: np.ndarray
    v: np.ndarray
    blowup_step: np.ndarray  # (runs,) step at which the run blew up, 0 if never
    evidence: dict[str, np.ndarray]
    trajectory: np.ndarray | None
    record_steps: np.ndarray | None
    shared_steps: int  # run-steps advanced by the shared path (for benchmarks)


def initial_moments(cfg: EngineConfig) -> tuple[np.ndarray, np.ndarray]:
    """m_0, v_0 for every run: zeros, except the shi2021 template (docs/theory.md section 1).

    shi2021 (Zhang et al. 2022 after Shi et al. 2021): m_{1,-1} = grad f(x0)/(1-beta1),
    v_{1,-1} = max_j grad f_j(x0)^2/(1-beta2), with f = sum_j f_j, i.e. grad f = n * grad ell.
    """
    runs, d = cfg.x0.shape
    m = np.zeros((runs, d), dtype=cfg.dtype)
    v = np.zeros((runs, d), dtype=cfg.dtype)
    if cfg.convention != "shi2021":
        return m, v
    for j in range(cfg.problem.n_components):
        gj = np.asarray(cfg.problem.gradient(cfg.x0, np.full(runs, j)), dtype=cfg.dtype)
        m += gj
        np.maximum(v, gj * gj, out=v)
    return m / cfg.params.omb1, v / cfg.params.omb2


def block_ends(steps: int, record_every: int | None) -> np.ndarray:
    """Steps after which a block ends: at least ~32 checkpoints, plus record points.

    The first blocks grow geometrically (8, 16, 32, ...): early steps are the largest
    (eta_0/sqrt(k)), so short blocks keep the step-by-step work of runs that might
    leave the constant-gradient region small.
    """
    block = max(1, min(BLOCK, steps // 32))
    ends = set(range(block, steps + 1, block))
    first = 8
    while first < block:
        ends.add(first)
        first *= 2
    if record_every:
        ends.update(range(record_every, steps + 1, record_every))
    ends.add(steps)
    return np.array(sorted(ends), dtype=np.int64)


class _RunTable:
    """Runs of one seed on the per-run path, in capacity buffers so joins never
    reallocate. One table per seed: every run of a table samples the same component
    at a step, so the gradient gets a scalar component (no per-run gathers)."""

    def __init__(self, capacity: int, d: int, dtype: np.dtype, params: RunParams, seed: int | None):
        self.count = 0
        self.seed = seed  # the seed position of every row, or None for a mixed table
        self.idx = np.empty(capacity, dtype=np.int64)
        self._x = np.empty((capacity, d), dtype=dtype)
        self._m = np.empty((capacity, d), dtype=dtype)
        self._v = np.empty((capacity, d), dtype=dtype)
        self._p = params.take(np.arange(capacity) % max(len(params), 1))  # a writable copy
        self.scratch = Scratch(capacity, d, dtype)
        self._refresh()

    def _refresh(self) -> None:
        n = self.count
        self.x, self.m, self.v = self._x[:n], self._m[:n], self._v[:n]
        self.p = self._p.take(slice(0, n))
        self.runs = self.idx[:n]
        self.scratch.view(n)

    def add(self, runs: np.ndarray, x, m, v, params: RunParams) -> None:
        k = runs.size
        if k == 0:
            return
        rows = slice(self.count, self.count + k)
        self.idx[rows] = runs
        self._x[rows], self._m[rows], self._v[rows] = x, m, v
        self._p.write(rows, params)
        self.count += k
        self._refresh()

    def keep(self, mask: np.ndarray) -> None:
        """Keep only rows where ``mask`` holds (order preserved)."""
        k = int(mask.sum())
        sel = np.flatnonzero(mask)
        for buf in (self.idx, self._x, self._m, self._v):
            buf[:k] = buf[sel]
        self._p.write(slice(0, k), self._p.take(sel))
        self.count = k
        self._refresh()


class _Slots:
    """Shared moments of the runs still in the constant-gradient region."""

    def __init__(self, cfg: EngineConfig, runs: np.ndarray, m0: np.ndarray, v0: np.ndarray, seed_pos):
        p = cfg.params
        seeds = seed_pos[runs]
        mkey = np.column_stack([seeds, p.beta1[runs, 0], m0[runs]])
        vkey = np.column_stack([seeds, p.beta2[runs, 0], p.eps[runs, 0], p.eps_root[runs, 0], v0[runs]])
        _, first_m, mi = np.unique(mkey, axis=0, return_index=True, return_inverse=True)
        _, first_v, vj = np.unique(vkey, axis=0, return_index=True, return_inverse=True)
        first_m, first_v = runs[first_m], runs[first_v]
        self.pm = p.take(first_m)
        self.pv = p.take(first_v)
        self.m = m0[first_m].copy()
        self.v = v0[first_v].copy()
        self.m_seed = seed_pos[first_m]
        self.v_seed = seed_pos[first_v]
        self.runs = runs
        self.mi = mi.ravel()
        self.vj = vj.ravel()
        self.run_seed = seeds
        # Per seed: the slots of that seed and, for each run, its slot rows local to them.
        self.groups = []
        for seed in np.unique(seeds):
            mi_s = np.flatnonzero(self.m_seed == seed)
            vj_s = np.flatnonzero(self.v_seed == seed)
            self.groups.append((seed, mi_s, vj_s))
        self._index_groups()

    def _index_groups(self) -> None:
        self.members = []
        for seed, mi_s, vj_s in self.groups:
            rsel = np.flatnonzero(self.run_seed == seed)
            li = np.searchsorted(mi_s, self.mi[rsel])
            lj = np.searchsorted(vj_s, self.vj[rsel])
            # A product over all slot pairs pays only when the runs fill the pairs (a
            # grid); otherwise the runs are followed step by step (still no sqrt per run).
            gemm = mi_s.size * vj_s.size <= 8 * rsel.size + 64
            self.members.append((rsel, li * vj_s.size + lj, gemm))

    def keep(self, mask: np.ndarray) -> None:
        self.runs, self.mi, self.vj, self.run_seed = (
            self.runs[mask], self.mi[mask], self.vj[mask], self.run_seed[mask]
        )
        self._index_groups()


class _Engine:
    def __init__(self, cfg: EngineConfig):
        self.cfg = cfg
        self.problem = cfg.problem
        self.dtype = cfg.dtype
        runs, d = cfg.x0.shape
        self.n_runs, self.d = runs, d
        self.x = cfg.x0.astype(self.dtype, copy=True)
        self.limit = self.dtype.type(blowup_limit(self.dtype))
        m0, v0 = initial_moments(cfg)
        self.m_final, self.v_final = m0.copy(), v0.copy()
        self.blowup = np.zeros(runs, dtype=np.int64)
        unique_seeds, seed_pos = np.unique(cfg.seeds, return_inverse=True)
        self.unique_seeds = unique_seeds
        self.seed_pos = seed_pos.ravel()
        consts = cfg.problem.constant_gradients() if cfg.shared else None
        eligible = np.zeros(runs, dtype=bool)
        if consts is not None and cfg.problem.bounds is None:
            self.consts = np.asarray(consts, dtype=self.dtype)
            eligible = (cfg.params.weight_decay[:, 0] == 0) & (
                cfg.problem.constant_region_margin(self.x) >= 0
            )
        shared = np.flatnonzero(eligible)
        self.slots = _Slots(cfg, shared, m0, v0, self.seed_pos) if shared.size else None
        self.tables = []
        groups = (
            [(k, self.seed_pos == k) for k in range(len(unique_seeds))]
            if len(unique_seeds) <= MAX_SEED_TABLES
            else [(None, np.ones(runs, dtype=bool))]
        )
        for k, members in groups:
            table = _RunTable(int(members.sum()), d, self.dtype, cfg.params.take(np.flatnonzero(members)), k)
            ind = np.flatnonzero(members & ~eligible)
            table.add(ind, self.x[ind], m0[ind], v0[ind], cfg.params.take(ind))
            self.tables.append(table)
        self.shared_steps = 0
        self.tracker = EvidenceTracker(self.x, cfg.minimizer, cfg.problem, cfg.steps, cfg.problem.bounds)

    # -- per-run path -----------------------------------------------------------------
    def _individual_step(self, t: int, s_t: float, comp_by_seed: np.ndarray) -> None:
        for tab in self.tables:
            if tab.count == 0:
                continue
            if tab.seed is not None:
                comp = int(comp_by_seed[tab.seed])
            else:
                comp = np.take(comp_by_seed, self.seed_pos[tab.runs])
            self._table_step(tab, t, s_t, comp)

    def _table_step(self, tab: "_RunTable", t: int, s_t: float, comp) -> None:
        cfg = self.cfg
        x, p, sc = tab.x, tab.p, tab.scratch
        g = sc.grad
        self.problem.gradient_into(x, comp, g)
        lr_t = p.lr_at(s_t, sc.lr_t)
        x_before = None
        if p.has_wd:
            if not cfg.decoupled:
                g += p.weight_decay * x
            elif cfg.convention == "optax":
                x_before = x.copy()  # optax.adamw: wd * x joins the update before lr
            else:
                x *= 1 - lr_t * p.weight_decay
        update_moments(cfg.convention, tab.m, tab.v, g, p, sc)
        apply_update(cfg.convention, x, tab.m, tab.v, lr_t, t, p, sc)
        if x_before is not None:
            x -= lr_t * (p.weight_decay * x_before)
        if self.problem.bounds is not None:
            np.clip(x, self.problem.bounds[0], self.problem.bounds[1], out=x)

    def _sync_x(self) -> None:
        for tab in self.tables:
            if tab.count:
                self.x[tab.runs] = tab.x

    def _freeze_blowups(self, t: int) -> None:
        sl = self.slots
        if sl is not None and sl.runs.size:
            x = self.x[sl.runs]
            bad = ~np.isfinite(x).all(axis=1) | (np.abs(x) > self.limit).any(axis=1)
            if bad.any():
                gone = sl.runs[bad]
                self.blowup[gone] = t
                self.m_final[gone] = sl.m[sl.mi[bad]]
                self.v_final[gone] = sl.v[sl.vj[bad]]
                sl.keep(~bad)
        for tab in self.tables:
            if tab.count == 0:
                continue
            x = tab.x
            bad = ~np.isfinite(x).all(axis=1) | (np.abs(x) > self.limit).any(axis=1)
            if bad.any():
                gone = tab.runs[bad]
                self.x[gone] = x[bad]
                self.blowup[gone] = t
                self.m_final[gone] = tab.m[bad]
                self.v_final[gone] = tab.v[bad]
                tab.keep(~bad)

    # -- shared path --------------------------------------------------------------------
    def _slot_block(self, t0: int, count: int, comps: np.ndarray, s: np.ndarray):
        """Advance the slots over the block with one scan per moment.

        The slots' gradients are constants known in advance, so each moment is a linear
        recurrence m_k = b1 m_{k-1} + (1-b1) g_k over the whole block (every convention's
        moving average is this, algebraically): :func:`._kernels.ema_scan` computes all
        its states at once. Returns the step factors A (count, I, d) and B (count, J, d)
        and the moments before every step, m_hist (count + 1, I, d), v_hist (count + 1, J, d).
        """
        sl, conv = self.slots, self.cfg.convention
        gm = self.consts[comps[:, sl.m_seed]]  # (count, I, d): slot gradients, all steps
        gv = self.consts[comps[:, sl.v_seed]]
        m_hist = ema_scan(sl.m, sl.pm.omb1 * gm, sl.pm.beta1)
        v_hist = ema_scan(sl.v, sl.pv.omb2 * (gv * gv), sl.pv.beta2)
        t = np.arange(t0, t0 + count, dtype=self.dtype)[:, None, None]
        A, B = update_factors(conv, m_hist[1:], v_hist[1:], s.astype(self.dtype)[:, None, None], t, sl.pm, sl.pv)
        sl.m[...], sl.v[...] = m_hist[count], v_hist[count]
        return A, B, m_hist, v_hist

    def _block_movement(self, A: np.ndarray, B: np.ndarray):
        """Total movement and its bound per shared run: one GEMM per seed."""
        sl = self.slots
        runs = sl.runs
        delta = np.zeros((runs.size, self.d), dtype=self.dtype)
        bound = np.full(runs.size, np.inf, dtype=self.dtype)
        for (seed, mi_s, vj_s), (rsel, flat, gemm) in zip(sl.groups, sl.members):
            if rsel.size == 0 or not gemm:
                continue
            As = np.ascontiguousarray(A[:, mi_s, :].transpose(2, 1, 0))  # (d, I_s, K)
            Bs = np.ascontiguousarray(B[:, vj_s, :].transpose(2, 0, 1))  # (d, K, J_s)
            d = As.shape[0]
            D = (As @ Bs).reshape(d, -1)
            Dabs = (np.abs(As) @ np.abs(Bs)).reshape(d, -1)
            delta[rsel] = D[:, flat].T
            bound[rsel] = Dabs[:, flat].max(axis=0)
        lr = self.cfg.params.lr[runs]
        return lr * delta, lr[:, 0] * bound

    def _follow_near(self, near: np.ndarray, A, B, count: int):
        """Step-by-step paths of near-boundary shared runs (positions into slots.runs).

        Returns the step at which each leaves the region (``count`` if it stays) and
        its position before that step (after the block if it stays).
        """
        sl = self.slots
        exit_step = np.full(near.size, count, dtype=np.int64)
        x_exit = np.empty((near.size, self.d), dtype=self.dtype)
        for lo in range(0, near.size, NEAR_CHUNK):
            part = near[lo : lo + NEAR_CHUNK]
            runs = sl.runs[part]
            steps = A[:, sl.mi[part]] * B[:, sl.vj[part]]  # (K, r, d)
            steps *= self.cfg.params.lr[runs]
            before = np.empty_like(steps)
            before[0] = self.x[runs]
            np.subtract(before[0], np.cumsum(steps[:-1], axis=0), out=before[1:])
            k, r, d = before.shape
            margin = self.problem.constant_region_margin(before.reshape(k * r, d)).reshape(k, r)
            out = margin < 0
            left = out.any(axis=0)
            first = np.argmax(out, axis=0)
            exit_step[lo : lo + part.size] = np.where(left, first, count)
            x_exit[lo : lo + part.size] = np.where(
                left[:, None], before[first, np.arange(r)], before[-1] - steps[-1]
            )
        return exit_step, x_exit

    def _advance_block(self, t0: int, count: int, comps: np.ndarray, s: np.ndarray) -> None:
        """Steps t0 .. t0+count-1; comps (count, n_seeds) are the sampled components."""
        sl = self.slots
        if sl is None or sl.runs.size == 0:
            for j in range(count):
                self._individual_step(t0 + j, float(s[j]), comps[j])
            return
        width = (sl.m.shape[0] + sl.v.shape[0]) * self.d
        sub = max(8, SLOT_BUDGET // max(width, 1))
        if count > sub:
            for lo in range(0, count, sub):
                hi = min(count, lo + sub)
                self._advance_block(t0 + lo, hi - lo, comps[lo:hi], s[lo:hi])
            return
        A, B, m_hist, v_hist = self._slot_block(t0, count, comps, s)
        move, bound = self._block_movement(A, B)
        x_start = self.x[sl.runs]
        margin = self.problem.constant_region_margin(x_start)
        safe = bound < margin
        self.shared_steps += int(safe.sum()) * count
        self.x[sl.runs[safe]] -= move[safe]
        near = np.flatnonzero(~safe)
        if near.size:
            exit_step, x_end = self._follow_near(near, A, B, count)
            stay = exit_step == count
            self.x[sl.runs[near[stay]]] = x_end[stay]
            self.shared_steps += int(stay.sum()) * count
            # A run that leaves during the block goes to the per-run path from the block's
            # start, with its slots' moments: until it leaves, its gradient is the slots'
            # constant, so the per-run kernel retraces the same steps (to rounding), and
            # every run joins once per block instead of at scattered steps.
            sel = near[~stay]
            if sel.size:
                self._join(sl.runs[sel], x_start[sel], m_hist[0, sl.mi[sel]], v_hist[0, sl.vj[sel]])
                leaving = np.zeros(sl.runs.size, dtype=bool)
                leaving[sel] = True
                sl.keep(~leaving)
        for j in range(count):
            self._individual_step(t0 + j, float(s[j]), comps[j])

    def _join(self, runs: np.ndarray, x: np.ndarray, m: np.ndarray, v: np.ndarray) -> None:
        """Move runs from the shared slots to the per-run tables (of their seeds)."""
        params = self.cfg.params.take(runs)
        if len(self.tables) == 1:
            self.tables[0].add(runs, x, m, v, params)
            return
        pos = self.seed_pos[runs]
        for k in np.unique(pos):
            sel = np.flatnonzero(pos == k)
            self.tables[k].add(runs[sel], x[sel], m[sel], v[sel], params.take(sel))

    # -- driver -------------------------------------------------------------------------
    def run(self) -> EngineOutput:
        cfg = self.cfg
        ends = block_ends(cfg.steps, cfg.record_every)
        rec_steps = traj = None
        if cfg.record_every:
            rec_steps = np.arange(0, cfg.steps + 1, cfg.record_every, dtype=np.int64)
            traj = np.empty((rec_steps.size, self.n_runs, self.d), dtype=self.dtype)
            traj[0] = self.x
        rec_i, start = 1, 1
        n = cfg.problem.n_components
        with Progress(cfg.steps, "simulate", enabled=cfg.progress) as bar, np.errstate(all="ignore"):
            for end in ends:
                count = int(end - start + 1)
                comps = sample_components(
                    n, cfg.sampling, self.unique_seeds, start, count, cfg.problem.component_weights
                )
                s = schedule_factors(cfg.schedule, start, count, steps_per_epoch=n)
                self._advance_block(start, count, comps, s)
                self._freeze_blowups(int(end))
                self._sync_x()
                self.tracker.checkpoint(int(end), self.x, float(s.sum()))
                if traj is not None and rec_i < rec_steps.size and rec_steps[rec_i] == end:
                    traj[rec_i] = self.x
                    rec_i += 1
                bar.update(count)
                if cfg.on_block is not None:
                    cfg.on_block(count)
                start = int(end) + 1
        for tab in self.tables:
            self.m_final[tab.runs], self.v_final[tab.runs] = tab.m, tab.v
        if self.slots is not None and self.slots.runs.size:
            sl = self.slots
            self.m_final[sl.runs], self.v_final[sl.runs] = sl.m[sl.mi], sl.v[sl.vj]
        evidence = self.tracker.finish(self.x, self.blowup)
        return EngineOutput(
            x=self.x,
            m=self.m_final,
            v=self.v_final,
            blowup_step=self.blowup,
            evidence=evidence,
            trajectory=traj,
            record_steps=rec_steps,
            shared_steps=self.shared_steps,
        )


def run_engine(cfg: EngineConfig) -> EngineOutput:
    """Advance every run of ``cfg`` for ``cfg.steps`` steps."""
    if cfg.steps < 1:
        raise InvalidParameterError(f"steps = {cfg.steps} must be at least 1")
    # The block products are small; multithreaded BLAS only adds spinning threads
    # that collapse on a busy machine (0.5 ms -> 17 ms measured here). Parallelism,
    # when wanted, comes from worker processes over runs instead.
    with threadpool_limits(limits=1, user_api="blas"):
        return _Engine(cfg).run()
