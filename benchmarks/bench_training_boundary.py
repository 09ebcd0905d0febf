"""Speed of the calibrated lens on a model-sized gradient file, whole process.

A (4, 512, 10000) float32 file of per-example gradients (82 MB; ReLU-like: 70% of the
entries exactly zero, heavy-tailed non-zeros) is written once. Measured in the same run:

* ``adamcheck recommend --batch-size 32 --beta1 0.9 --gradients FILE`` (target <= 10 s);
* ``adamcheck boundary --gradients FILE --batch-sizes 1,2,...,128 --beta1 0.9`` (8 batch
  sizes, target <= 30 s);
* peak resident memory of each (target <= 3x the file);
* the peer: the previous calibrated lens (per-coordinate drift ratio on mini-batch laws,
  ``adamcheck.drift.critical_beta2`` on ``adamcheck.noise.minibatch_laws``) at one batch
  size, stopped after ``--peer-timeout`` seconds (its time is then a lower bound).

    python benchmarks/bench_training_boundary.py [--peer-timeout 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import checkout_env  # noqa: E402


def make_file(path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(4, 512, 10000))
    for p in range(4):
        active = rng.random((512, 10000)) < 0.3
        out[p] = (rng.standard_t(3, (512, 10000)) * 0.01 + 0.002) * active
    out.flush()
    del out


def run(cmd: list[str], env: dict, timeout: float | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one fresh process; rc -9 when stopped."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
               "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
               "p.returncode)")
    try:
        out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return float(timeout), float("nan"), -9
    wall, rss, rc = out.stdout.split()
    return float(wall), float(rss), int(rc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-timeout", type=float, default=300.0)
    a = ap.parse_args()
    env = checkout_env()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "grads.npy"
        make_file(f)
        size_mb = f.stat().st_size / 2**20
        print(f"file: {f.stat().st_size / 1e6:.0f} MB (4, 512, 10000) float32")
        rec = run([py, "-m", "adamcheck", "recommend", "--batch-size", "32", "--beta1", "0.9", "--gradients", str(f),
                   "--json"], env)
        bnd = run([py, "-m", "adamcheck", "boundary", "--gradients", str(f), "--batch-sizes",
                   "1,2,4,8,16,32,64,128", "--beta1", "0.9", "--quiet", "--json"], env)
        peer_code = ("import sys; from adamcheck.drift import critical_beta2; "
                     "from adamcheck.noise import minibatch_laws; "
                     "critical_beta2(minibatch_laws(sys.argv[1], 32), [0.9])")
        peer = run([py, "-c", peer_code, str(f)], env, timeout=a.peer_timeout)
    print(f"recommend --gradients (1 batch size):  {rec[0]:6.1f} s  peak {rec[1]:6.0f} MB = "
          f"{rec[1] / size_mb:.2f}x the file  (exit {rec[2]})")
    print(f"boundary --gradients (8 batch sizes):  {bnd[0]:6.1f} s  peak {bnd[1]:6.0f} MB = "
          f"{bnd[1] / size_mb:.2f}x the file  (exit {bnd[2]})")
    stopped = peer[2] == -9
    print(f"peer: previous calibrated lens, 1 batch size: {'>' if stopped else ''}{peer[0]:.1f} s"
          f"{' (stopped)' if stopped else ''}")
    print(f"ratio peer / recommend: {'>' if stopped else ''}{peer[0] / rec[0]:.1f}x;  "
          f"peer x 8 / boundary: {'>' if stopped else ''}{8 * peer[0] / bnd[0]:.1f}x")


if __name__ == "__main__":
    main()
