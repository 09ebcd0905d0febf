"""Every config fixture is read right or refused clearly: 0 silent misreads.

``tests/configs/fixtures/<framework>/`` holds public configuration files kept verbatim
(sources in each folder's SOURCE.md), each with ``<file>.expected.json`` beside it:
the values a person reads off the file with the framework's documented batch formula
(``why`` says how), or the refusal expected. ``fixtures/examples.expected.json`` does
the same for ``examples/configs/``. A case that expects values and gets others, or
expects a refusal and gets a reading, is a misread; the test fails on any.

Run with ``-s`` to see the scan's counts (read / refused / misread).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from adamcheck import AdamCheckError
from adamcheck.configs import check_config

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
ROOT = HERE.parents[1]
EXAMPLES = ROOT / "examples" / "configs"


def _cases() -> list[tuple[str, Path, dict]]:
    out = []
    for expected in sorted(FIXTURES.glob("*/*.expected.json")):
        path = expected.with_name(expected.name[: -len(".expected.json")])
        for i, case in enumerate(json.loads(expected.read_text())["cases"]):
            out.append((f"{path.relative_to(FIXTURES)}#{i}", path, case))
    for rel, entry in json.loads((FIXTURES / "examples.expected.json").read_text()).items():
        for i, case in enumerate(entry["cases"]):
            out.append((f"examples/{rel}#{i}", EXAMPLES / rel, case))
    return out


CASES = _cases()


def _outcome(path: Path, case: dict) -> tuple[str, str]:
    """("read"|"refused"|"misread"|"unread", detail) for one case: a misread gives values
    other than the file's (or a reading where a refusal was due); an unread refuses a
    file it should read (or refuses for another reason than the expected one)."""
    try:
        report = check_config(path, **case["args"])
    except AdamCheckError as exc:
        if "refused" in case and re.search(case["refused"], str(exc)):
            return "refused", str(exc)
        return "unread", f"refused ({exc}) where {case.get('read') or case.get('refused')!r} was expected"
    if "refused" in case:
        from adamcheck._jsonio import dumps

        if report.exit_code == 2 and re.search(case["refused"], dumps(report.to_dict())):
            return "refused", "exit 2"
        if report.exit_code == 2:
            return "unread", f"exit 2 without {case['refused']!r}"
        return "misread", f"read (exit {report.exit_code}) where a refusal matching {case['refused']!r} was expected"
    got = {
        "beta1": report.setup.get("beta1"), "beta2": report.setup.get("beta2"), "eps": report.setup.get("eps"),
        "batch": report.batch.sequences, "seq_len": report.batch.seq_len, "steps": report.setup.get("max_steps"),
        "epochs": report.setup.get("num_epochs"),
    }
    wrong = {k: (v, got[k]) for k, v in case["read"].items()
             if not (v == got[k] or (isinstance(v, float) and got[k] is not None and math.isclose(v, got[k])))}
    if case.get("format") and report.setup.format != case["format"]:
        wrong["format"] = (case["format"], report.setup.format)
    if wrong:
        return "misread", f"expected vs read: {wrong}"
    return "read", "ok"


def test_every_fixture_has_its_expectations_and_source():
    files = [p for p in FIXTURES.glob("*/*") if p.is_file() and not p.name.endswith(".expected.json")
             and p.name != "SOURCE.md"]
    assert len(files) >= 15
    for path in files:
        assert path.with_name(path.name + ".expected.json").is_file(), f"{path} has no expected values"
        assert f"`{path.name}`" in (path.parent / "SOURCE.md").read_text(), f"{path} has no source note"
        assert re.search(r"[0-9a-f]{40}", json.loads(path.with_name(path.name + ".expected.json").read_text())
                         ["source"]["commit"])
    examples = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("*/*.*") if p.name != "README.md"}
    assert examples == set(json.loads((FIXTURES / "examples.expected.json").read_text()))


@pytest.mark.parametrize("case_id, path, case", CASES, ids=[c[0] for c in CASES])
def test_fixture_is_read_right_or_refused(case_id, path, case, monkeypatch):
    monkeypatch.chdir(ROOT)  # relative deepspeed paths resolve from the clone, as documented
    outcome, detail = _outcome(path, case)
    assert outcome != "misread", f"{case_id}: {detail}"
    assert outcome == ("refused" if "refused" in case else "read"), f"{case_id}: {detail}"


def test_scan_counts(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    counts = {"read": 0, "refused": 0, "misread": 0, "unread": 0}
    for _, path, case in CASES:
        counts[_outcome(path, case)[0]] += 1
    with capsys.disabled():
        print(f"\nconfig fixture scan: {len(CASES)} cases: {counts['read']} read right, {counts['refused']} refused "
              f"clearly, {counts['misread']} misread, {counts['unread']} refused although readable")
    assert counts["misread"] == counts["unread"] == 0 and counts["read"] >= 25 and counts["refused"] >= 10
