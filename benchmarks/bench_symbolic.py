"""Speed of the symbolic side, as ratios against peers measured in the same run.

1. ``shi_min_beta2`` (float log-space solve + interval certification) against a plain
   60-digit mpmath bisection on beta2 (the obvious, slow way), warm calls;
   plus its cold cost in a fresh interpreter (import of adamcheck.theory + mpmath + one call)
   against ``python -c pass``.
2. ``adamcheck prove`` wall time against ``python -c "import sympy"``.

Run: ``python benchmarks/bench_symbolic.py`` from the repository root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _wall(args: list[str], repeat: int = 3) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def _peer_bisection(n: int, d: int, d1: float) -> object:
    import mpmath

    with mpmath.workdps(60):
        bound = (mpmath.sqrt(2) - 1) / (2 * mpmath.sqrt(2))
        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        for _ in range(200):
            mid = (lo + hi) / 2
            b = mid**n
            t2 = mpmath.sqrt(5 * d / b) * d * n**2 * d1 * ((1 - mid) * (4 * n**2 / b - 1) / 2 + 1 / mpmath.sqrt(b) - 1)
            lo, hi = (mid, hi) if t2 > bound else (lo, mid)
        return hi


def main() -> None:
    from adamcheck.theory import shi_min_beta2

    print("shi_min_beta2 (warm, best of 5) vs 60-digit mpmath bisection on beta2")
    for n, d, d1 in ((10, 1, 1.0), (1000, 1000, 1e6), (10**6, 10**9, 1e12)):
        ours = peer = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            shi_min_beta2(n, d, d1)
            ours = min(ours, time.perf_counter() - t0)
            t0 = time.perf_counter()
            _peer_bisection(n, d, d1)
            peer = min(peer, time.perf_counter() - t0)
        print(f"  n={n:>7} d={d:>10} D1={d1:g}: ours {ours * 1e3:7.2f} ms, peer {peer * 1e3:8.2f} ms, ratio {ours / peer:.3f}")

    cold = _wall([sys.executable, "-c", "import adamcheck.theory as t; t.shi_min_beta2(10**6, 10**9, 1e12)"])
    base = _wall([sys.executable, "-c", "pass"])
    print(f"cold process with one solve: {cold * 1e3:.0f} ms vs bare interpreter {base * 1e3:.0f} ms "
          f"(ratio {cold / base:.2f}, extra {1e3 * (cold - base):.0f} ms)")

    prove = _wall([sys.executable, "-m", "adamcheck", "prove", "--quiet"], repeat=1)
    sympy_import = _wall([sys.executable, "-c", "import sympy"])
    print(f"adamcheck prove: {prove:.1f} s vs 'import sympy' {sympy_import:.2f} s (ratio {prove / sympy_import:.0f})")


if __name__ == "__main__":
    main()
