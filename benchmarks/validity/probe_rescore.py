"""Re-score the probe lens on the real labels of an earlier results.json, without re-training them.

The full runs (3,000 steps x seeds x the ladder x every batch size) are the suite's cost; a
probe is a tenth of one run per ladder value. This script reads each ladder panel's real
labels (``failed_seeds``) and the file lens's outcomes from ``--labels`` (a results.json
written by ``run.py``), runs ``adamcheck.torch.probe`` exactly as ``run.py`` does
(:func:`run.probes`, :func:`run._probe_outcomes`, the same horizon), and writes a copy of the
results with the ``probe`` and ``combined`` entries replaced. Everything else (real labels,
losses, file lens, recommendation, regret) is carried over unchanged, so ``report.py``
reads the output as it reads a full run.

The file lens's measurements are rebuilt from its stored per-cell outcomes (failed and
trained ladder values per batch size, as ``adamcheck.drift.gradient_measurements`` gives
them); the script checks that the rebuilt ones reproduce the stored ``combined`` outcomes
with the stored probe outcomes before it uses them.

    python benchmarks/validity/probe_rescore.py --labels benchmarks/validity/results/results.json \\
        --out /tmp/probe_rescore                       # every panel: ~15-30 min on 2 busy cores
    python benchmarks/validity/probe_rescore.py --labels ... --out ... --panels mlp_digits:0.001:0.9
    python benchmarks/validity/report.py /tmp/probe_rescore/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402
from problems import load_problem  # noqa: E402


def file_measurements(panel: dict) -> list:
    """The file lens's Measurements, rebuilt from the panel's stored per-cell outcomes."""
    from adamcheck._measurement import Measurement

    out = []
    for B, row in zip(panel["batch_sizes"], panel["file"]["outcome"]):
        failed = [b for b, o in zip(panel["beta2"], row) if o == "fails"]
        trained = [b for b, o in zip(panel["beta2"], row) if o == "trains"]
        if failed or trained:
            out.append(Measurement("gradients", B, panel["beta1"], failed=failed, trained=trained))
        else:
            out.append(Measurement("gradients", B, panel["beta1"], decided=False, reason="stored: cannot tell"))
    return out


def combined(panel: dict, probe_ms: list, file_ms: list) -> np.ndarray:
    from adamcheck._measurement import judge

    return np.array([[judge([probe_ms[i]] + file_ms, x, batch_size=B, beta1=panel["beta1"]).outcome
                      for x in panel["beta2"]] for i, B in enumerate(panel["batch_sizes"])])


def check_rebuild(panel: dict, file_ms: list) -> None:
    """The rebuilt file measurements with the stored probe outcomes give the stored combined outcomes."""
    from adamcheck._measurement import Measurement

    stored = panel["probe"]["outcome"]
    pms = []
    for B, row in zip(panel["batch_sizes"], stored):
        f = [b for b, o in zip(panel["beta2"], row) if o == "fails"]
        t = [b for b, o in zip(panel["beta2"], row) if o == "trains"]
        pms.append(Measurement("probe", B, panel["beta1"], failed=f, trained=t) if f or t
                   else Measurement("probe", B, panel["beta1"], decided=False, reason="stored"))
    got = combined(panel, pms, file_ms)
    if got.tolist() != panel["combined"]["outcome"]:
        raise SystemExit(f"rebuilt file measurements do not reproduce {panel['problem']} lr {panel['lr']} "
                         f"b1 {panel['beta1']}'s stored combined outcomes")


def probe_regret(panel: dict, pr: list[dict]) -> dict:
    """Regret of the probe's lowest-loss beta2 (over its horizon) beside the recommended one, 0.999 and 0.95.

    Two picks per batch size: ``best`` (``ProbeResult.best_beta2``: the lowest final loss of any ladder
    value over the horizon) and ``best_trained`` (the lowest among the values the probe's measurement
    says train; the top of the ladder when it says none does). Regret as ``run.regret``: the full
    run's final loss of the pick minus the best ladder value's, mean over batch sizes. Panels whose
    labels carry no losses (``--labels-from``) give {}.
    """
    if panel.get("final_loss") is None:
        return {}
    final, initial = np.array(panel["final_loss"]), np.array(panel["initial_loss"])
    ladder = panel["beta2"]
    picks = {"best": [], "best_trained": []}
    for d in pr:
        picks["best"].append(d["best_beta2"] if d["best_beta2"] is not None else ladder[-1])
        trained = [b for b in d["measurement"]["trained"] if d["measurement"]["decided"]]
        loss = dict(zip(d["beta2"], d["final_loss"]))
        picks["best_trained"].append(min(trained, key=lambda b: loss[b]) if trained else ladder[-1])
    out = {}
    for k, v in picks.items():
        g = run.regret(final, initial, np.array([final[i, ladder.index(b)] for i, b in enumerate(v)]))
        out[k] = {"beta2": v, "mean": g[0], "relative": g[1]}
    return out


def _problem(name: str):
    if name == "heldout_breast_cancer":  # heldout.py's problem, not one of the suite's
        from heldout import breast_cancer

        return breast_cancer()
    return load_problem(name)


def rescore(panel: dict, cache: Path) -> dict:
    problem = _problem(panel["problem"])
    sizes, ladder, steps = panel["batch_sizes"], panel["beta2"], panel["amount"]
    failed = np.array(panel["failed_seeds"]) > 0
    far = run._far(ladder, failed)
    file_ms = file_measurements(panel)
    check_rebuild(panel, file_ms)
    horizon = max(50, steps // 10)  # as run.score_panel
    pr = run.probes(problem, panel["lr"], panel["schedule"], panel["beta1"], sizes, horizon, cache)
    p_out, p_ms = run._probe_outcomes(pr)
    both = combined(panel, p_ms, file_ms)
    new = dict(panel)
    new["probe"] = {**run.lens_score(p_out, failed, far), "outcome": p_out.tolist(), "steps": horizon,
                    **run.probe_costs(pr), "best_beta2": [d["best_beta2"] for d in pr], "probe_kw": run.PROBE_KW,
                    "regret": probe_regret(panel, pr)}
    new["combined"] = {**run.lens_score(both, failed, far), "outcome": both.tolist()}
    return new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", required=True, help="a results.json written by run.py (its labels and file lens)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default=None, help="probe runs kept here (default OUT/cache)")
    ap.add_argument("--panels", default=None,
                    help="only these panels, comma-separated problem:lr:beta1 (e.g. mlp_digits:0.001:0.9)")
    ap.add_argument("--probe-kw", default="{}", help="JSON keyword arguments for adamcheck.torch.probe (variants)")
    a = ap.parse_args(argv)
    run.PROBE_KW.update(json.loads(a.probe_kw))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(a.cache) if a.cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    panels = json.loads(Path(a.labels).read_text())
    want = None
    if a.panels:
        want = {(p, float(lr), float(b1)) for p, lr, b1 in (x.split(":") for x in a.panels.split(","))}
    results = []
    for panel in panels:
        if panel.get("panel", "ladder") != "ladder":
            results.append(panel)
            continue
        if want is not None and (panel["problem"], panel["lr"], panel["beta1"]) not in want:
            continue
        t0 = time.time()
        new = rescore(panel, cache)
        results.append(new)
        (out / "results.json").write_text(json.dumps(results, indent=1))
        p = new["probe"]
        print(f"{panel['problem']:20s} lr {panel['lr']:<6g} b1 {panel['beta1']:<4g} probe acc {p['accuracy']} "
              f"cov {p['coverage']:.2f} (before {panel['probe']['accuracy']:.3f} / {panel['probe']['coverage']:.2f}) "
              f"{time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
