"""Throughput and peak memory of ``adamcheck estimate``'s streaming pass on a big file.

Creates a 200,000 x 4,096 float32 ``.npy`` (3.3 GB; ``--dir`` chooses where, default the
system temp folder; free space is checked first; the file is deleted at the end unless
``--keep``), then times, each in a fresh subprocess so that peak resident memory
(``VmHWM`` in /proc/self/status) belongs to that method alone:

* ``einsum``: NumPy's own single pass ``np.einsum('ij,ij->', x, x)`` over
  ``np.load(path, mmap_mode='r')`` (the peer);
* ``accumulate``: adamcheck's streaming pass (``accumulate``: group sums, squared norms,
  per-coordinate sums of squares: everything the noise constants and their bootstrap
  intervals need), 1 thread by default (``--workers``);
* ``estimate``: the whole ``adamcheck.noise.estimate`` (pass + bootstrap + 256 sampled
  mini-batches read by random access + two-batch estimator + laws).

Page cache: the file is read once before timing, so every method reads from the page
cache (no method pays for the disk and the comparison is of the code). adamcheck never
memory-maps for the pass: it reads 4 MiB chunks with ``os.preadv`` into one reused buffer
per thread, so pages of the file never enter its resident set (page cache is not process
memory). The memory-mapped einsum does map every page it touches, so its resident peak is
the file size: that is the reason for reading, not mapping.

Methods alternate (einsum, accumulate, estimate, einsum, ...) ``--repeats`` times; the
median time of each is reported, and the ratio is einsum time / adamcheck time (>= 0.5
means at least half of NumPy's throughput), both from the medians and as the median of
the ratios of back-to-back runs (less sensitive to other load on a shared machine).

Run: ``python benchmarks/bench_estimate.py`` (about a minute plus file creation).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys, time
def hwm_kb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'):
            return int(line.split()[1])
import numpy as np
method, path, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
before = hwm_kb()
t0 = time.perf_counter()
if method == 'einsum':
    x = np.load(path, mmap_mode='r')
    value = float(np.einsum('ij,ij->', x, x))
elif method == 'accumulate':
    from adamcheck.noise import accumulate, make_config, open_gradients
    with open_gradients(path) as src:
        acc = accumulate(src, make_config(src.examples, src.dim, src.points), workers=workers)
    value = acc.total_sq(0)
elif method == 'estimate':
    from adamcheck.noise import estimate
    est = estimate(path, 32, replicates=1000, workers=workers)
    value = float(est.constants.trace_sigma[0])
seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'hwm_kb': hwm_kb(), 'hwm_before_kb': before, 'value': value}))
"""


def make_file(path: Path, rows: int, dim: int, seed: int) -> None:
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    rng = np.random.default_rng(seed)
    step = max(1, (64 << 20) // (4 * dim))
    mean = rng.normal(0.0, 0.05, size=dim).astype(np.float32)
    for a in range(0, rows, step):
        b = min(rows, a + step)
        x[a:b] = rng.standard_normal((b - a, dim), dtype=np.float32) + mean
    x.flush()
    del x


def warm(path: Path) -> None:
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(64 << 20)
        while fh.readinto(buf):
            pass


def run(method: str, path: Path, workers: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", PROBE, method, str(path), str(workers)], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the file afterwards")
    ap.add_argument("--workers", type=int, default=1, help="threads of adamcheck's pass")
    args = ap.parse_args()

    size = 128 + 4 * args.rows * args.dim
    folder = Path(args.dir)
    free = shutil.disk_usage(folder).free
    if free < 1.2 * size:
        sys.exit(f"need {1.2 * size / 1e9:.1f} GB free in {folder}, have {free / 1e9:.1f} GB: use --dir")
    path = folder / f"adamcheck-bench-{args.rows}x{args.dim}.npy"
    try:
        t0 = time.perf_counter()
        if not path.exists():
            make_file(path, args.rows, args.dim, args.seed)
        print(f"file {path}: {args.rows} x {args.dim} float32, {size / 1e9:.2f} GB "
              f"(made in {time.perf_counter() - t0:.0f} s); load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")
        warm(path)
        results: dict[str, list[dict]] = {"einsum": [], "accumulate": [], "estimate": []}
        for _ in range(args.repeats):
            for method in results:
                results[method].append(run(method, path, args.workers))
        med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in results.items()}
        hwm = {m: max(r["hwm_kb"] for r in rs) * 1024 for m, rs in results.items()}
        print(f"{'method':<11} {'median s':>9} {'GB/s':>7} {'peak RSS':>10} {'RSS/file':>9}   all times (s)")
        for m in results:
            times = ", ".join(f"{r['seconds']:.2f}" for r in results[m])
            print(f"{m:<11} {med[m]:9.2f} {size / med[m] / 1e9:7.2f} {hwm[m] / 1e6:8.0f}MB {hwm[m] / size:9.1%}   {times}")
        paired = [e["seconds"] / a["seconds"] for e, a in zip(results["einsum"], results["accumulate"])]
        print(f"throughput ratio accumulate / einsum = {med['einsum'] / med['accumulate']:.2f} (medians), "
              f"{statistics.median(paired):.2f} (median of back-to-back pairs: "
              f"{', '.join(f'{r:.2f}' for r in paired)})  (target >= 0.5)")
        print(f"throughput ratio estimate / einsum   = {med['einsum'] / med['estimate']:.2f}")
        print(f"peak RSS / file size: accumulate {hwm['accumulate'] / size:.1%}, estimate "
              f"{hwm['estimate'] / size:.1%}  (target < 10%); einsum on the memmap {hwm['einsum'] / size:.1%}")
        check = [r["value"] for r in results["einsum"]][0], [r["value"] for r in results["accumulate"]][0]
        print(f"same sum of squares: einsum {check[0]:.6e}, adamcheck {check[1]:.6e}")
    finally:
        if not args.keep and path.exists():
            path.unlink()


if __name__ == "__main__":
    main()
