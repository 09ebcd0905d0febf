"""Whole-process time of ``adamcheck recommend`` and ``check`` on bare values, against peers.

Peers: ``python -c pass`` (interpreter start-up, the floor) and ``python -c "import
numpy"``. Runs are interleaved so machine noise hits all alike; figures are medians.
Target: ``adamcheck recommend --batch-size 32`` and ``adamcheck check --batch-size 8
--beta1 0.9 --beta2 0.95 --seq-len 1024`` under 0.3 s each (whole process). The
calibrated form on the shipped example gradients is timed too (it builds mini-batch laws
and searches the drift ratio; no target).

Run:  python benchmarks/bench_recommend.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

from _process import ROOT, checkout_env, run_timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    opts = parser.parse_args()
    env = checkout_env()
    py = sys.executable
    grads = str(ROOT / "examples" / "digits" / "grads.npz")
    commands = {
        "recommend -b 32": [py, "-m", "adamcheck", "recommend", "--batch-size", "32"],
        "check bare values": [py, "-m", "adamcheck", "check", "--batch-size", "8", "--beta1", "0.9",
                              "--beta2", "0.95", "--seq-len", "1024"],
        "python -c pass": [py, "-c", "pass"],
        "import numpy": [py, "-c", "import numpy"],
    }
    calibrated = [py, "-m", "adamcheck", "recommend", "--batch-size", "32", "--gradients", grads]
    for cmd in commands.values():
        run_timed(cmd, env)  # warm the disk cache
    wall: dict[str, list[float]] = {k: [] for k in commands}
    cpu: list[float] = []
    for _ in range(opts.repeats):
        for name, cmd in commands.items():
            w, c = run_timed(cmd, env)
            wall[name].append(w)
            if name == "recommend -b 32":
                cpu.append(c)
    cal = [run_timed(calibrated, env)[0] for _ in range(max(3, opts.repeats // 5))]
    med = {k: statistics.median(v) for k, v in wall.items()}
    print(f"median of {opts.repeats} fresh processes each (seconds); python {sys.version.split()[0]}")
    for name, value in med.items():
        print(f"  {name:<18} {value:6.3f}")
    print(f"  recommend cpu      {statistics.median(cpu):6.3f}")
    r = med["recommend -b 32"]
    print(f"recommend / python -c pass = {r / med['python -c pass']:.2f}; recommend / import numpy = "
          f"{r / med['import numpy']:.2f}")
    print(f"calibrated (--gradients examples/digits/grads.npz): median {statistics.median(cal):.2f} s "
          f"over {len(cal)} runs")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    c = med["check bare values"]
    print(f"check bare values / python -c pass = {c / med['python -c pass']:.2f}")
    for name, value in (("recommend --batch-size 32", r), ("check on bare values", c)):
        print(f"target < 0.3 s for '{name}': {'met' if value < 0.3 else 'NOT met'} ({value:.3f} s)")


if __name__ == "__main__":
    main()
