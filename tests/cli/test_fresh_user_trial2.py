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


def _rules(data: object, rule: str) -> list[dict]:
    """Every diagnostic or finding named ``rule`` anywhere in a JSON answer."""
    if isinstance(data, dict):
        here = [data] if data.get("rule") == rule and "message" in data else []
        return here + [d for v in data.values() for d in _rules(v, rule)]
    if isinstance(data, list):
        return [d for v in data for d in _rules(v, rule)]
    return []


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


# 2 ---------------------------------------------------------------------------------------------------------
def test_2_beta1_zero_names_only_the_fix_that_can_be_followed(run_cli):
    code, out, err = run_cli("check", "-b", "32", "--beta1", "0", "--beta2", "0", "--json")
    assert code == 1, err
    data = json.loads(out)
    text = json.dumps(data)
    assert "lower beta1" not in text  # no beta1 below 0 exists
    sqrt_rule = _rules(data, "beta1_below_sqrt_beta2")
    assert sqrt_rule and all("raise beta2 above 0" in d["message"] for d in sqrt_rule)
    flat = " ".join(run_cli("check", "-b", "32", "--beta1", "0", "--beta2", "0")[1].split())
    assert "raise beta2 above 0" in flat and "lower beta1" not in flat
    # where beta1 > 0, both fixes are named, and each one, followed, passes the rule
    flat = " ".join(run_cli("check", "-b", "32", "--beta1", "0.95", "--beta2", "0.9")[1].split())
    below = float(re.search(r"lower beta1 below ([0-9.]+)", flat).group(1))
    above = float(re.search(r"raise beta2 above beta1\^2 = ([0-9.]+)", flat).group(1))
    assert below == pytest.approx(0.9 ** 0.5, abs=1e-4) and above == pytest.approx(0.95 ** 2)


# 3 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, code", [("0.8101", 0), ("0.81", 1), ("0.81000001", 0), ("0.999333", 0)])
def test_3_the_users_betas_print_as_typed(run_cli, typed, code):
    got, out, err = run_cli("check", "-b", "32", "--beta1", "0.9", "--beta2", typed)
    assert got == code, err
    # the header shows the value typed, so OK at 0.8101 and RISK at 0.81 never read the same
    assert out.splitlines()[1].endswith(f"): beta1 = 0.9, beta2 = {typed} at batch 32")
    # sqrt(beta2) is printed with the digits that tell it from beta1 = 0.9 (<, >= as it truly is)
    flat = " ".join(out.split())
    shown = re.search(r"sqrt\(beta2\) = ([0-9.]+)", flat).group(1)
    assert (float(shown) > 0.9) == (float(typed) > 0.81)
    data = json.loads(run_cli("check", "-b", "32", "--beta1", "0.9", "--beta2", typed, "--json")[1])
    assert data["beta2"] == float(typed)
    msgs = [d["message"] for d in _rules(data, "beta1_below_sqrt_beta2")]
    assert msgs and all(re.search(r"sqrt\(beta2\) = ([0-9.]+)", m).group(1) == shown for m in msgs)


# 5 ---------------------------------------------------------------------------------------------------------
NANOGPT = """# out-of-tree names that nanoGPT's train.py never reads (its names are beta1, beta2)
batch_size = 12
block_size = 1024
gradient_accumulation_steps = 40
betas = (0.8, 0.7)
"""


def test_5_an_ignored_name_in_the_file_is_in_the_short_answer(run_cli, tmp_path):
    path = tmp_path / "train_gpt2.py"
    path.write_text(NANOGPT)
    code, out, err = run_cli("check", str(path))
    assert code == 0, err  # train.py runs with its defaults, 0.9 and 0.95
    assert "beta1 = 0.9, beta2 = 0.95" in out.splitlines()[1]
    warning = [line for line in out.splitlines() if line.strip().startswith("warning:")]
    assert len(warning) == 1 and "defines no betas" in warning[0]
    flat = " ".join(out.split("\n", 1)[1].split())  # the title may cut a long path in its middle
    assert "silently ignores such names" in flat and "..." not in flat
    assert len(out.splitlines()) <= 10 and "recommended:" in out
    data = json.loads(run_cli("check", str(path), "--json")[1])
    assert any(line.startswith("warning:") and "defines no betas" in line for line in data["answer"]["lines"])


def test_5_more_warnings_than_room_are_counted(tmp_path):
    from adamcheck.configs._report import SHORT_WARNINGS, _said

    ws = [f"{tmp_path}/a.py: w{i}" for i in range(SHORT_WARNINGS + 3)]
    lines = [text for text, _ in _said(ws, [f"{tmp_path}/a.py"])]
    assert lines[:SHORT_WARNINGS] == [f"warning: w{i}" for i in range(SHORT_WARNINGS)]
    assert lines[SHORT_WARNINGS:] == ["warning: 3 more about the file (--explain)"]
    # with two files the name says which file a warning is about, so it stays
    assert _said(ws[:1], ["x.py", f"{tmp_path}/a.py"]) == [(f"warning: {ws[0]}", 2)]


# 6 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "\n\n", "# nothing set yet\n"])
def test_6_an_empty_config_says_it_is_empty(run_cli, tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    code, out, err = run_cli("check", str(path))
    assert code == 2 and out == "" and "Traceback" not in err
    assert "the file is empty" in err and "NoneType" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["recommend", "-b", "8", "--seq-len", "99999999999999"],
    ["recommend", "-b", "8", "--tokens-per-sample", "10000001"],
    ["check", "-b", "8", "--beta1", "0.9", "--beta2", "0.95", "--seq-len", "99999999999999"],
    ["check", "-b", "8", "--beta1", "0.9", "--beta2", "0.95", "--reference-seq-len", "10000001"],
])
def test_6_seq_len_is_bounded(run_cli, args):
    from adamcheck._limits import MAX_SEQ_LEN

    code, out, err = run_cli(*args)
    assert code == 2 and out == "" and "Traceback" not in err, (code, out, err)
    assert f"limit of {MAX_SEQ_LEN:,}" in err and len(err.strip().splitlines()) == 1
    # the limit itself is accepted: the bound refuses only what lies above it
    at = [a if a not in ("99999999999999", "10000001") else str(MAX_SEQ_LEN) for a in args]
    assert run_cli(*at)[0] in (0, 1)


def test_4_answer_lines_print_in_full_where_they_fit():
    from adamcheck._answer import Answer

    long = "spikes: " + "; ".join(f"clause {i} of a long reason that takes room" for i in range(5))
    a = Answer("Verdict: OK (exit 0): x", ["divergence: trains", (long, 2)], hint="(hint)")
    text = a.render(width=60, max_lines=10)
    # the line fits within ten lines in full, so nothing is cut from it
    assert "..." not in text and " ".join(text.split()).count("clause") == 5
    assert len(text.splitlines()) <= 10 and all(len(x) <= 60 for x in text.splitlines())
    # where it does not fit, it is cut at a whole clause and the answer keeps its length
    short = a.render(width=60, max_lines=5)
    assert len(short.splitlines()) <= 5 and short.splitlines()[-2].endswith("; ...")


@pytest.mark.parametrize("steps, beta1, edge_wins", [(1, 0.9, True), (5, 0.9, True), (10, 0.9, False),
                                                     (1, 0.0, True), (2, 0.0, False)])
def test_1_check_never_advises_a_beta2_below_the_lower_edge(run_cli, steps, beta1, edge_wins):
    # check's run-length advice (memory_vs_steps) follows the same order as recommend: a value
    # that fits the run but lies at or below beta1^2 is not offered
    data = json.loads(run_cli("check", "-b", "32", "--beta1", str(beta1), "--beta2", "0.95",
                              "--max-steps", str(steps), "--json")[1])
    # the configs rule's own message (the verdict's upper-edge advice shares the rule's name)
    msg = next(d["message"] for d in _rules(data, "memory_vs_steps") if "averages over" in d["message"])
    fits = 1 - 1 / steps
    assert (fits <= beta1 ** 2) == edge_wins
    offered = re.search(r"beta2 <= ([0-9.]+) fits the run", msg)
    if edge_wins:
        assert offered is None and "a risk outranks this advice" in msg
    else:
        assert offered and float(offered.group(1)) == pytest.approx(fits, abs=1e-3)
        assert float(offered.group(1)) > beta1 ** 2


def test_the_verdict_never_advises_a_beta2_at_or_below_the_lower_edge(run_cli):
    # a 1-step run caps the memory below beta1^2 = 0.81: the verdict's run-length advice used to say
    # "lower beta2 to 0 or below", a value the lower edge calls a risk
    code, out, err = run_cli("recommend", "-b", "32", "--beta1", "0.9", "--beta2", "0.95", "--max-steps", "1")
    text = " ".join(out.split())
    assert code == 0 and "to 0 or below" not in text and "keep beta2 above the lower edge" in text
    # a run long enough for the cap to lie above the edge keeps the concrete advice
    code, out, err = run_cli("recommend", "-b", "32", "--beta1", "0.9", "--beta2", "0.999", "--max-steps", "100")
    assert "lower beta2 to 0.99 or below" in " ".join(out.split())


@pytest.mark.parametrize("beta1", ["0", "0.9"])
@pytest.mark.parametrize("steps", ["1", "2", "5"])
def test_what_recommend_answers_check_never_calls_a_risk(run_cli, beta1, steps):
    # with beta1 = 0 a 1-step run capped the memory at beta2 = 0, which recommend answered and check
    # then called RISK (beta1 = 0 >= sqrt(0)); the cap now yields to that floor as to any lower edge
    code, out, err = run_cli("recommend", "-b", "32", "--beta1", beta1, "--max-steps", steps, "--json")
    assert code == 0, err
    beta2 = json.loads(out)["beta2"]
    assert beta2 > float(beta1) ** 2
    code, out, err = run_cli("check", "-b", "32", "--beta1", beta1, "--beta2", repr(beta2), "--max-steps", steps)
    assert code == 0, out
