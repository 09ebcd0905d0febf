"""The user guide's JAX/optax recipe runs as written (chain, jitted training, save, recommend), and
the file it writes gives ``recommend`` the run's batch, betas and planned steps."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="adamcheck.optax needs jax (pip install 'adamcheck[jax]')")
optax = pytest.importorskip("optax", reason="adamcheck.optax needs optax (pip install 'adamcheck[jax]')")


def recipe(root):
    text = (root / "docs" / "guide.md").read_text()
    after = text.split("<!-- recipe: optax-monitor -->", 1)[1]
    code = re.search(r"```python\n(.*?)\n```", after, flags=re.S).group(1)
    command = re.search(r"```bash\n(.*?)\n```", after, flags=re.S).group(1).split("#")[0].strip()
    return code, command


def test_the_guide_optax_recipe_runs_as_written(root, tmp_path, monkeypatch, run_cli):
    from adamcheck.noise._meta import GradientFileMeta

    monkeypatch.chdir(tmp_path)
    code, command = recipe(root)
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/guide.md optax recipe", "exec"), ns)  # the project's own documentation
    mon = ns["monitor"]
    rep = mon.report(ns["state"])  # the recipe's own last state, as it reads the report
    assert rep.step == 300 and rep.batch_size == 32 and rep.beta2 == 0.95 and rep.analyses >= 1
    assert mon.monitor.analyses[0].step == 50  # 10% of the 300 planned steps, but at least 50
    assert str(rep) in out.getvalue() and len(str(rep).splitlines()) == 3
    # the recipe's model trained (the loss came down), so the monitor watched a real run
    X, y, params = ns["X"], ns["y"], ns["params"]
    assert float(ns["loss_fn"](params, X, y)) < 0.5 * np.log(2)
    with np.load(tmp_path / "monitor.npz", allow_pickle=False) as f:
        meta = GradientFileMeta.from_mapping(f, "monitor.npz")
        assert str(f["writer"]) == "adamcheck.optax.monitor" and f["grads"].shape[1] == 300
    assert (meta.batch_size, meta.row_batch_size, meta.beta1, meta.beta2, meta.planned_steps) == (32, 32, 0.9, 0.95,
                                                                                                 300)
    argv = shlex.split(command)
    assert argv[:3] == ["adamcheck", "recommend", "--gradients"]
    code_, stdout, stderr = run_cli(*argv[1:], "--json")
    assert code_ in (0, 1), stderr
    answer = json.loads(stdout)
    # the monitor's own beta2*, from the file; where the monitor found no failure (its beta2* is 0: every
    # value safe) no measured beta2* exists, and the JSON says so instead of a number
    if rep.beta2_critical > 0:
        assert answer["beta2_critical"]["value"] == rep.beta2_critical
    else:
        assert answer["beta2_critical"]["value"] is None
        assert answer["beta2_critical"]["reason"].startswith("no failure found")
