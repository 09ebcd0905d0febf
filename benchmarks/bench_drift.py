"""Benchmark: the 101 x 101 drift-ratio grid and the recommender's 1-D fast path.

Run:  python benchmarks/bench_drift.py            (add --quick for a shorter run)

One core (OMP/OPENBLAS/MKL threads set to 1 before numpy loads). For each law the
grid is beta1 = linspace(0, 0.99, 101) by beta2 = 1 - logspace(0, -4, 101) (a log grid
in 1 - beta2, from 0 to 0.9999). Printed per law: wall time, largest standard error
(or error estimate) over the grid, and the peer measured in the same run: the
straightforward per-pair Monte Carlo (one plain chain per (beta1, beta2) pair,
:func:`adamcheck.drift.reference_ratio`) timed on a few pairs, scaled to the steps it
needs for standard error 0.01 at each pair (steps ~ (se/0.01)^2), averaged over the
sample pairs and multiplied by 10201 pairs. The ratio peer/ours is the speed-up.

Then the recommender's fast path at beta1 = 0.9 for 5 points of a 65-coordinate
synthetic model (laws given as 512 mini-batch samples, batch 32): recommended_beta2
without the boundary, critical_beta2 with screening, and as its peer the unscreened
full-budget computation of one point (times 5).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, not an installed copy

import numpy as np  # noqa: E402

from adamcheck._laws import GradientLaw  # noqa: E402
from adamcheck.drift import critical_beta2, drift_ratio_grid, recommended_beta2, reference_ratio  # noqa: E402


def skewed_law(batch: int, samples: int = 2048, seed: int = 0) -> GradientLaw:
    """A realistic skewed mini-batch law: means of `batch` shifted log-normal per-example gradients.

    Per-example g = exp(1.5 Z) - E exp(1.5 Z) + 0.15 sd: mostly small negative values,
    a heavy positive tail, mean 0.15 standard deviations (skewness about 33 at batch 1).
    """
    rng = np.random.default_rng(seed)
    e = np.exp(1.5 * rng.standard_normal((samples, batch)))
    sd = np.sqrt((np.exp(2.25) - 1) * np.exp(2.25))
    g = (e - np.exp(1.125) + 0.15 * sd).mean(axis=1)
    return GradientLaw.from_samples(g, batch_size=batch, label=f"skewed log-normal, batch {batch}")


def model_points(points: int = 5, d: int = 65, batch: int = 32, seed: int = 1) -> list[GradientLaw]:
    rng = np.random.default_rng(seed)
    laws = []
    for _ in range(points):
        sig = rng.uniform(0.5, 1.8, size=d)
        e = np.exp(sig * rng.standard_normal((1000, d)))
        e -= e.mean(axis=0)
        e *= rng.choice([-1.0, 1.0], size=d)
        per = e + rng.uniform(-0.3, 0.3, size=d) * e.std(axis=0)
        idx = np.array([rng.choice(1000, size=batch, replace=False) for _ in range(512)])
        law = GradientLaw.from_samples(per[idx].mean(axis=1), batch_size=batch)
        law.meta["mean_se"] = per.std(axis=0) / np.sqrt(1000)
        laws.append(law)
    return laws


def peer_seconds(law: GradientLaw, pairs: list[tuple[float, float]], steps: int) -> tuple[float, float]:
    """Per-pair plain Monte Carlo: mean seconds per pair at SE 0.01, and the largest SE seen."""
    per_pair, worst = [], 0.0
    for b1, b2 in pairs:
        t0 = time.perf_counter()
        _, se = reference_ratio(law.values, law.weights, b1, b2, steps=steps, seed=1)
        dt = time.perf_counter() - t0
        worst = max(worst, float(se[0]))
        per_pair.append(dt * max(float(se[0]) / 0.01, 1e-3) ** 2)
    return float(np.mean(per_pair)), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer laws and peer pairs")
    args = parser.parse_args()
    b1s = np.linspace(0.0, 0.99, 101)
    b2s = 1.0 - np.logspace(0.0, -4.0, 101)
    laws = [GradientLaw.two_point(n, 1 / (n - 1) ** 2) for n in ((10, 50) if args.quick else (3, 10, 20, 50))]
    laws.append(skewed_law(1))
    pairs = [(0.0, 0.5), (0.9, 0.9), (0.5, 0.99), (0.0, 0.999)]
    steps = 200_000 if args.quick else 1_000_000
    print("101 x 101 grid (beta1 linear 0..0.99, beta2 = 1 - logspace(0, -4)), one core")
    print(f"{'law':44s} {'ours s':>7s} {'max se':>7s} {'peer s':>9s} {'peer/ours':>9s}")
    drift_ratio_grid(laws[0], [0.0], [0.5, 0.999])  # warm imports outside the timings
    reference_ratio(laws[0].values, laws[0].weights, 0.0, 0.5, steps=1000)
    for law in laws:
        t0 = time.perf_counter()
        grid = drift_ratio_grid(law, b1s, b2s)
        ours = time.perf_counter() - t0
        peer_pair, _ = peer_seconds(law, pairs, steps)
        peer = peer_pair * b1s.size * b2s.size
        routes = ", ".join(f"{m}:{int((grid.method[0] == m).sum())}" for m in np.unique(grid.method[0]))
        print(f"{law.label[:44]:44s} {ours:7.2f} {np.nanmax(grid.errors):7.4f} {peer:9.0f} {peer / ours:9.0f}  rows {routes}")

    pts = model_points()
    t0 = time.perf_counter()
    rec = recommended_beta2(pts, 0.9, with_boundary=False)
    quick = time.perf_counter() - t0
    t0 = time.perf_counter()
    cb = critical_beta2(pts, [0.9])
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    critical_beta2(pts[:1], [0.9], screen=False, refine_steps=0)
    unscreened_one = time.perf_counter() - t0
    print()
    print("recommender fast path: 5 points x 65 coordinates (512 mini-batch samples each), beta1 = 0.9")
    print(f"  recommended_beta2(with_boundary=False): {quick:.2f} s -> beta2 = {rec.beta2:.4f} ({rec.limited_by})")
    print(
        f"  critical_beta2 screened, 5 points: {fast:.2f} s; unscreened full budget, 1 point: "
        f"{unscreened_one:.2f} s (x5 = {5 * unscreened_one:.1f} s, ratio {5 * unscreened_one / fast:.1f}); "
        f"strict beta2* = {cb.strict[0]:.4f}, lenient = {cb.lenient[0]:.4f}"
    )

    digits = Path(__file__).resolve().parents[1] / "examples" / "digits" / "grads.npz"
    if digits.exists():
        import subprocess

        code = (
            "import numpy as np; from adamcheck.noise import minibatch_laws; "
            "from adamcheck.drift import recommended_beta2; "
            f"g = np.load({str(digits)!r}, allow_pickle=False)['grads']; "
            "r = recommended_beta2(minibatch_laws(g, 32), 0.9, with_boundary=False); print(r.beta2, r.limited_by)"
        )
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        whole = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], env=env, check=True)
        bare = time.perf_counter() - t0
        print(
            f"  examples/digits (4 points x 65, batch 32), whole process incl. imports and laws: {whole:.2f} s "
            f"(bare 'import numpy' process: {bare:.2f} s) -> {out.stdout.strip()}"
        )


if __name__ == "__main__":
    main()
