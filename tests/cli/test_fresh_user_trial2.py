"""Findings of a second fresh-user trial of the command line, each pinned by a test.

1. An upper edge (run length, large-batch memory: advice) at or below the lower edge (a risk)
   is not applied: the range and the JSON say so, and the answer lies inside the range printed.
2. beta1 = 0 with beta2 = 0: the advice names only what can be followed (raise beta2).
3. The user's own betas print with the digits they typed (0.8101 is not 0.81).
4. The short answer's reason is wrapped, never cut with "...".
5. A warning that a value in the user's file is ignored shows in the short answer.
6. An empty config file says it is empty; --seq-len is bounded like the other sizes.
"""

from __future__ import annotations

import json
import re

import pytest


def _range(out: str) -> tuple[float | None, float | None]:
    """The (lower, upper) numbers of the text answer's 'safe range' line (None: no edge)."""
    line = " ".join(out.split("safe range at this batch: ", 1)[1].split("(batch counted")[0].split())
    lo = re.match(r"([0-9.]+) <=? beta2", line)
    hi = re.search(r"beta2 <= ([0-9.]+)", line)
    return (float(lo.group(1)) if lo else None, float(hi.group(1)) if hi else None)


# 1 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps, overruled", [(1, True), (5, True), (10, False), (2000, False)])
def test_1_answer_lies_inside_the_range_printed(run_cli, steps, overruled):
    code, out, err = run_cli("recommend", "-b", "32", "--max-steps", str(steps))
    assert code == 0, err
    beta2 = float(re.match(r"beta1 = [0-9.]+, beta2 = ([0-9.]+)", out).group(1))
    lo, hi = _range(out)
    # the range printed holds the answer (the old text said 0.81 < beta2 <= 0 and answered 0.905)
    assert lo is not None and beta2 > lo
    assert hi is None or beta2 <= hi
    assert (hi is None) == overruled
    flat = " ".join(out.split())
    assert ("no beta2 meets both" in flat) == overruled
    assert ("not applied" in flat) == overruled
    data = json.loads(run_cli("recommend", "-b", "32", "--max-steps", str(steps), "--json")[1])
    upper = data["safe_range"]["upper"]
    assert upper["applied"] is (not overruled)
    assert (upper["not_applied"] is None) == (not overruled)
    # the edge's own value is kept, and it is what decides: at or below the lower edge when not applied
    if upper["kind"] == "steps":
        assert upper["beta2"] == pytest.approx(1 - 1 / steps, abs=1e-3)
    assert (upper["beta2"] <= data["safe_range"]["lower"]["beta2"]) == overruled
    steps_part = [p for p in data["safe_range"]["upper_parts"] if p["kind"] == "steps"][0]
    assert steps_part["applied"] is (not overruled)
    assert data["beta2"] > data["safe_range"]["lower"]["beta2"]


def test_1_the_warning_counts_one_step_as_one():
    from adamcheck.recommend import recommend

    rec = recommend(32, beta1=0.9, planned_steps=1)
    assert any("at 1 step," in w for w in rec.warnings), rec.warnings
    assert not rec.upper_applied


# 4 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["-b", "1"], ["-b", "32"], ["-b", "32", "--max-steps", "1"],
                                  ["-b", "4096", "--seq-len", "4096"]])
def test_4_short_answer_is_never_cut(run_cli, args):
    code, out, err = run_cli("recommend", *args)
    assert code == 0, err
    assert "..." not in out and "\u2026" not in out
    data = json.loads(run_cli("recommend", *args, "--json")[1])
    flat = " ".join(out.split())
    # every word of the reason and of each warning is printed
    assert " ".join(data["answer"]["reason"].split()) in flat
    for d in data["diagnostics"]:
        if d["level"] == "advice":
            assert " ".join(d["message"].split()) in flat
    assert all(len(line) <= 100 for line in out.splitlines())
