"""The documentation site builds with ``mkdocs build --strict`` (every warning fails).

Strict mode fails on broken links between pages, docstrings mkdocstrings cannot read
and CLI commands mkdocs-click cannot render, so the site cannot silently rot.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
    pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is not installed")
    pytest.importorskip("mkdocs_click", reason="mkdocs-click is not installed")
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    text = lambda page: re.sub(r"<[^>]+>", " ", (site / page / "index.html").read_text(encoding="utf-8"))
    # the generated pages hold what they are generated from
    cli = text("cli")
    for command in ("recommend", "boundary", "check", "estimate", "simulate", "phase", "derive", "prove"):
        assert f"adamcheck {command}" in cli, command
    api = text("api")
    for name in ("recommend", "critical_beta2", "simulate", "counterexample_slopes", "GradientLaw"):
        assert name in api, name
    assert "drift ratio" in text("theory")


def test_no_citation_of_a_missing_theory_file():
    """Code cites docs/theory.md, which exists, never a bare theory.md users lack."""
    assert (ROOT / "docs" / "theory.md").is_file()
    bare = re.compile(r"(?<![/\w])theory\.md")
    offenders = [
        f"{p.relative_to(ROOT)}:{i}"
        for base in ("adamcheck", "tests", "examples", "benchmarks")
        for p in (ROOT / base).rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if bare.search(line) and p.name != "test_docs_site.py"
    ]
    assert not offenders, offenders
