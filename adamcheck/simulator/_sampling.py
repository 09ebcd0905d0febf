"""Which component (mini-batch) each step uses, per seed: a counter-based sampler.

Every run carries a seed; runs that share a seed share the index sequence (common
random numbers), which is what makes phase diagrams comparable across the
(beta1, beta2) grid. Indices are a pure function of (seed, step): the uniform
variate of step k under seed s is the SplitMix64 finaliser (Steele, Lea & Flood
2014; Stafford's "Mix13" constants) of mix(s) + k * golden, so any block of steps for
any set of seeds is computed at once, vectorised, and never depends on how the
simulation was split into blocks, workers or groups of runs.

Sampling schemes (docs/theory.md section 1):

* ``replacement`` - i.i.d. indices, uniform or with the problem's weights (the 2026
  paper's setting);
* ``reshuffle``   - a fresh random permutation each epoch of n steps (random
  reshuffling, the 2022 paper); the permutation of epoch e orders the hashes of
  (seed, e, i), i = 0..n-1;
* ``cyclic``      - 0, 1, ..., n-1, 0, 1, ... (deterministic; Reddi's online sequence
  is the cyclic order of its period).
"""

from __future__ import annotations

import numpy as np

from .._errors import InvalidParameterError
from .._shown import shown_repr

__all__ = ["SAMPLINGS", "check_sampling", "sample_components", "uniform_variates"]

SAMPLINGS = ("replacement", "reshuffle", "cyclic")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_EPOCH = np.uint64(0xD1B54A32D192ED03)
_S30, _S27, _S31, _S11 = (np.uint64(k) for k in (30, 27, 31, 11))


def check_sampling(name: str) -> str:
    if not isinstance(name, str) or name not in SAMPLINGS:
        raise InvalidParameterError(
            f"unknown sampling {shown_repr(name)}: choose one of {', '.join(SAMPLINGS)}"
        )
    return name


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, in place on a uint64 array (returns it)."""
    t = np.empty_like(z)
    np.right_shift(z, _S30, out=t)
    z ^= t
    z *= _M1
    np.right_shift(z, _S27, out=t)
    z ^= t
    z *= _M2
    np.right_shift(z, _S31, out=t)
    z ^= t
    return z


def _seed_keys(seeds: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return _mix(np.asarray(seeds, dtype=np.uint64) * _GOLDEN + _GOLDEN)


def uniform_variates(seeds: np.ndarray, start: int, count: int) -> np.ndarray:
    """U[0, 1) variates for steps start..start+count-1 (rows) and seeds (columns).

    Example:
        >>> u = uniform_variates(np.array([0, 1]), 1, 3)
        >>> u.shape, bool(((0 <= u) & (u < 1)).all())
        ((3, 2), True)
        >>> bool((uniform_variates(np.array([1]), 2, 1)[0] == u[1, 1]).all())  # pure function of (seed, step)
        True
    """
    keys = _seed_keys(seeds)
    with np.errstate(over="ignore"):
        steps = np.arange(start, start + count, dtype=np.uint64)[:, None] * _GOLDEN
        z = _mix(keys[None, :] + steps)
    return (z >> _S11).astype(np.float64) * (2.0**-53)


def _permutations(seeds: np.ndarray, epochs: np.ndarray, n: int) -> np.ndarray:
    """perm[e, s] = the permutation of epoch epochs[e] under seed s, shape (E, S, n)."""
    keys = _seed_keys(seeds)
    with np.errstate(over="ignore"):
        base = keys[None, :] + epochs.astype(np.uint64)[:, None] * _EPOCH  # (E, S)
        z = _mix(base[:, :, None] + np.arange(n, dtype=np.uint64)[None, None, :] * _GOLDEN)
    return np.argsort(z, axis=2, kind="stable")


def sample_components(
    n: int,
    sampling: str,
    seeds: np.ndarray,
    start: int,
    count: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Component indices for steps start..start+count-1 (1-based) and each seed: (count, S).

    Example:
        >>> sample_components(3, "cyclic", np.array([7]), 1, 5).ravel().tolist()
        [0, 1, 2, 0, 1]
        >>> a = sample_components(5, "replacement", np.array([0, 1]), 1, 8)
        >>> b = sample_components(5, "replacement", np.array([1]), 5, 4)
        >>> bool((a[4:, 1] == b[:, 0]).all())
        True
    """
    check_sampling(sampling)
    seeds = np.asarray(seeds, dtype=np.int64)
    if sampling == "cyclic":
        k = np.arange(start - 1, start - 1 + count) % n
        return np.repeat(k[:, None], seeds.size, axis=1)
    if sampling == "replacement":
        u = uniform_variates(seeds, start, count)
        if weights is None:
            return np.minimum((u * n).astype(np.int64), n - 1)
        cum = np.cumsum(np.asarray(weights, dtype=float))
        cum /= cum[-1]
        return np.minimum(np.searchsorted(cum, u, side="right"), n - 1).astype(np.int64)
    if weights is not None:
        raise InvalidParameterError("weighted components need sampling 'replacement'")
    k = np.arange(start - 1, start - 1 + count)
    epoch, pos = k // n, k % n
    uniq, inv = np.unique(epoch, return_inverse=True)
    perms = _permutations(seeds, uniq, n)  # (E, S, n)
    return perms[inv.ravel(), :, pos].astype(np.int64)
