"""Without jax (or optax) installed, adamcheck and the rest of the package work, and
adamcheck.optax says what to install: run in a fresh interpreter where ``import jax`` fails,
whether or not jax is installed here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in ("jax", "jaxlib", "optax"):
        sys.modules[name] = None  # import jax now raises ImportError, as where it is not installed
    import adamcheck, adamcheck.optax, adamcheck.monitor, adamcheck.torch
    from adamcheck.recommend import recommend
    from adamcheck import AdamCheckError
    print(sorted(adamcheck.optax.__all__))
    try:
        adamcheck.optax.monitor
    except AdamCheckError as exc:
        print("refused:", exc)
    """
)


def _python(code, root):
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root, env=env)


def test_without_jax_the_package_imports_and_adamcheck_optax_says_what_to_install(root):
    proc = _python(SCRIPT, root)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "['MonitorState', 'MonitorTransformation', 'OptaxMonitor', 'monitor']"
    assert lines[1].startswith("refused: adamcheck.optax needs jax and optax") and "adamcheck[jax]" in lines[1]


def test_import_adamcheck_never_imports_jax(root):
    code = "import sys, adamcheck, adamcheck.optax, adamcheck.monitor; print('jax' in sys.modules, 'optax' in sys.modules)"
    proc = _python(code, root)
    assert proc.returncode == 0 and proc.stdout.split() == ["False", "False"], proc.stderr
