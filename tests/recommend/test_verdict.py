"""The verdict shared by ``recommend`` and ``check``: each case cites its evidence.

Evidence (docs/theory.md section 7): Shi et al. 2021 (ResNet-18 on CIFAR-10, beta1 = 0,
train accuracy: vision); Marek et al. 2025 (GPT-2 at batch 1 x 1024 tokens: 0.95 trained,
worse than 0.9999, with a 16x lower best learning rate); a DrivAerML surrogate at batch 1
(0.995 and below diverged, 0.999 stable: regression); the Marin MoE sweep (4096-token
sequences, every beta2 in 0.95..0.999 within ~1% of the best at 64..512 sequences); GPT-3
at 3.2M tokens with (0.9, 0.95); Megatron's Mixtral example (0.999 at 1M tokens spiked,
0.95 stable). A row counts only where its domain and beta1 class match the run's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from _hypothesis import given, settings, st

from adamcheck._halflife import DEFAULT_REFERENCE
from adamcheck.configs import check_values
from adamcheck.recommend import EVIDENCE, Evidence, evidence_risk, lower_edge, recommend, verdict


def _bare(run_cli, batch, beta1, beta2, *extra):
    code, out, err = run_cli("check", "--batch-size", batch, "--beta1", beta1, "--beta2", beta2, *extra)
    assert code in (0, 1), err
    return code, out


@pytest.mark.parametrize(
    "batch, beta1, beta2, seq_len, domain, expected, evidence",
    [
        (8, 0, 0.95, None, "vision", 1, "Shi 2021: batch 8, beta2 0.95 -> 44.5 +- 32% train accuracy"),
        (8, 0, 0.9, None, "vision", 1, "Shi 2021: batch 8, beta2 0.9 -> 10% (chance)"),
        (8, 0, 0.99, None, "vision", 0, "Shi 2021: batch 8, beta2 0.99 -> 99.7%"),
        (16, 0, 0.8, None, "vision", 1, "Shi 2021: batch 16, beta2 0.8 -> 28.7%"),
        (32, 0, 0.8, None, "vision", 0, "Shi 2021: batch 32, beta2 0.8 -> 66.9%: trained, worse (advice)"),
        (32, 0, 0.99, None, "vision", 0, "Shi 2021: batch 32, beta2 0.99 -> 99.8%"),
        (16, 0, 0.9, None, "vision", 0, "Shi 2021: batch 16, beta2 0.9 -> 67.3%: trained, worse (advice)"),
        (8, 0, 0.9, None, None, 0, "Shi's table is vision: with the domain not known it does not apply"),
        (8, 0.9, 0.9, None, "vision", 0, "Shi's runs are beta1 = 0: they say nothing about beta1 0.9"),
        (1, 0.9, 0.95, None, "regression", 1, "DrivAerML surrogate at batch 1: 0.95 diverged"),
        (1, 0.9, 0.999, None, "regression", 0, "DrivAerML surrogate at batch 1: 0.999 stable"),
        (1, 0.9, 0.95, 512, "fine-tuning", 0, "a batch-1 LM fine-tune: the surrogate rows are not LMs"),
        (1, 0.9, 0.95, 1024, None, 0, "Marek 2025: 0.95 at batch 1 x 1024 tokens trained (worse): advice"),
        (8, 0.9, 0.95, 1024, None, 0, "no language-model run failed at 8,192 tokens with beta2 >= 0.95"),
        (8, 0.9, 0.95, 64, None, 0, "a tiny GPT-2 with the HF Trainer (8 x 64 tokens) trains"),
        (8, 0.9, 0.95, 512, None, 0, "litgpt's shipped fine-tune configs (8 x 512 tokens) train"),
        (64, 0.9, 0.95, 4096, None, 0, "Marin sweep: 0.95 within 1% of the best at 64 x 4096"),
        (512, 0.9, 0.95, 4096, None, 0, "Marin sweep: 0.95 the best at 512 x 4096"),
        (1536, 0.9, 0.95, 2048, None, 0, "GPT-3: (0.9, 0.95) at 3.2M tokens"),
        (32, 0.99, 0.95, None, None, 1, "beta1 0.99 >= sqrt(0.95): outside every convergence theorem"),
        (1, 0.9, 0.5, None, None, 1, "beta1 0.9 >= sqrt(0.5) at batch 1"),
        (1, 0.9, 0.5, 1024, "fine-tuning", 1, "beta1 0.9 >= sqrt(0.5): the mechanism holds in any domain"),
        (256, 0.9, 0.5, 4096, None, 1, "Marin dense recipe spiked at 0.52; and beta1 0.9 >= sqrt(0.5)"),
    ],
)
def test_check_on_bare_values_exit_codes(run_cli, batch, beta1, beta2, seq_len, domain, expected, evidence):
    extra = (("--seq-len", seq_len) if seq_len else ()) + (("--domain", domain) if domain else ())
    code, out = _bare(run_cli, batch, beta1, beta2, *extra)
    assert code == expected, (evidence, out)
    # Same through the library, and the report says what it checked.
    assert check_values(batch, beta1, beta2, seq_len=seq_len, domain=domain).exit_code == expected
    assert out.splitlines()[1].startswith(f"Verdict: {'RISK' if expected else 'OK'} (exit {expected})")
    # recommend --beta2 gives the same verdict and exit code
    rcode, rout, _ = run_cli("recommend", "-b", batch, "--beta1", beta1, "--beta2", beta2, *extra)
    assert rcode == expected and rout.splitlines()[0].startswith(f"Verdict: {'RISK' if expected else 'OK'}")


def test_bare_values_json_and_usage_errors(run_cli):
    code, out, _ = run_cli("check", "--batch-size", "8", "--beta1", "0", "--beta2", "0.95", "--domain", "vision",
                           "--json")
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1 and data["format"] == "values" and data["files"] == []
    assert data["verdict"]["level"] == "risk" and data["verdict"]["unit"] == "samples"
    assert any("Shi et al." in e for e in data["verdict"]["lower_edge"]["evidence"])
    assert data["verdict"]["divergence"] == {"outcome": "fails", "lens": "evidence", "abstained": [],
                                             "reason": data["verdict"]["divergence"]["reason"]}
    assert data["domain"]["value"] == "vision" and data["answer"]["verdict"].startswith("Verdict: RISK")
    for args, needle in ((["--beta1", "0.9"], "--batch-size"),
                         (["--batch-size", "8", "--beta1", "0.9", "--beta2", "1.5"], None),
                         (["--batch-size", "8", "--beta1", "0.9", "--beta2", "0.99", "--world-size", "4"],
                          "--world-size"),
                         (["--batch-size", "8", "--beta1", "0.9", "--beta2", "0.99", "--domain", "poetry"],
                          "--domain")):
        code, out, err = run_cli("check", *args)
        assert code == 2, (args, out, err)
        if needle:
            assert out == "" and len(err.strip().splitlines()) == 1 and needle in err


@pytest.mark.parametrize("seq_len", [128, 1024, 2048, 4096, 8192, 131072])
def test_no_risk_for_09_095_from_128k_tokens_per_step(seq_len):
    # GPT-3 (3.2M tokens), Llama 2 (4M), the Marin sweep (>= 262,144): (0.9, 0.95) trains.
    for tokens in (131072, 262144, 1 << 20, 4 << 20):
        batch = max(1, tokens // seq_len)
        if batch * seq_len < 131072:
            continue
        assert check_values(batch, 0.9, 0.95, seq_len=seq_len).exit_code == 0, (batch, seq_len)


def test_mixtral_case_gets_advice_with_a_number():
    # Megatron's Mixtral example: 0.999 at 256 x 4096 tokens spiked; the fix was 0.95.
    v = verdict(256, 0.9, 0.999, reference=DEFAULT_REFERENCE, tokens_per_sample=4096)
    assert v.level == "advice" and v.upper.kind == "large_batch"
    assert v.upper.beta2 == pytest.approx(1 - (1 - 0.999 ** 8) / 5)  # 5x the rule's memory
    assert "lower beta2" in " ".join(v.messages)  # the advice points the way the fix went
    assert check_values(256, 0.9, 0.999, seq_len=4096).exit_code == 0
    assert verdict(256, 0.9, 0.95, reference=DEFAULT_REFERENCE, tokens_per_sample=4096).level == "ok"


@pytest.mark.parametrize("batch, lo, hi", [(64, 0.99, 0.999), (128, 0.99, 0.999), (256, 0.97, 0.995),
                                           (512, 0.95, 0.99)])
def test_recommend_inside_the_marin_near_best_set(run_cli, batch, lo, hi):
    # Marin MoE sweep, 4096-token sequences (docs/theory.md section 7): the near-best beta2 sets.
    code, out, err = run_cli("recommend", "--batch-size", batch, "--tokens-per-sample", "4096", "--json")
    assert code == 0, err
    beta2 = json.loads(out)["beta2"]
    assert lo <= beta2 <= hi, beta2


def test_recommend_respects_a_1500_step_run(run_cli):
    # At batch 1 the half-life rule wants 0.9999 (10,000 steps); the run has 1,500.
    code, out, err = run_cli("recommend", "--batch-size", "1", "--steps", "1500", "--json")
    data = json.loads(out)
    assert code == 0, err
    assert 1 / (1 - data["beta2"]) <= 1500
    assert "traded" in data["answer"]["trades"]
    # And for a regression surrogate it stays above the batch-1 lower edge (0.995 diverged there).
    code, out, err = run_cli("recommend", "--batch-size", "1", "--steps", "1500", "--domain", "regression", "--json")
    data = json.loads(out)
    assert data["beta2"] > data["safe_range"]["lower"]["beta2"] == 0.995


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 100_000), steps=st.integers(2, 10**6),
       seq_len=st.sampled_from([None, 256, 1024, 4096]), beta1=st.sampled_from([0.0, 0.5, 0.9, 0.95]))
def test_recommend_never_outlasts_the_run(batch, steps, seq_len, beta1):
    r = recommend(batch, planned_steps=steps, tokens_per_sample=seq_len, beta1=beta1)
    # ... unless the run is so short that the cap would sit on the lower edge (beta1 >= sqrt(beta2)
    # for a run of a few steps): a risk outranks the advice, and the answer says what it kept.
    if 1 / (1 - r.beta2) > steps * (1 + 1e-9):
        cap = 1 - 1 / steps
        assert r.lower.flags(cap, "lower") and not r.lower.flags(r.beta2, "lower") and "lower edge" in r.trades


@settings(max_examples=80, deadline=None)
@given(batch=st.integers(1, 20_000), seq_len=st.sampled_from([None, 512, 1024, 4096]),
       beta1=st.sampled_from([0.0, 0.9, 0.95, 0.99]),
       domain=st.sampled_from([None, "lm", "vision", "regression", "fine-tuning"]))
def test_check_accepts_what_recommend_recommends(batch, seq_len, beta1, domain):
    # One verdict for both commands: the recommended betas are never a RISK in check.
    r = recommend(batch, beta1=beta1, tokens_per_sample=seq_len, domain=domain)
    assert check_values(batch, r.beta1, r.beta2, seq_len=seq_len, domain=domain).exit_code == 0, (r.beta2, r.reason)


@settings(max_examples=200, deadline=None)
@given(size=st.floats(1, 1e8), b2=st.floats(0.0, 0.99999), db=st.floats(0, 0.5), scale=st.floats(1, 100),
       beta1=st.sampled_from([0.0, 0.9]), unit=st.sampled_from(["samples", "tokens"]),
       domain=st.sampled_from(["vision", "regression", "lm", "lm-pretraining"]))
def test_evidence_risk_is_monotone(size, b2, db, scale, beta1, unit, domain):
    # Smaller batches need larger beta2: risk at (B, b2) implies risk at smaller B and lower b2.
    if evidence_risk(size, beta1, b2, unit, domain=domain):
        assert evidence_risk(size / scale, beta1, b2, unit, domain=domain)
        assert evidence_risk(size, beta1, max(0.0, b2 - db), unit, domain=domain)


def test_lower_edge_is_derived_from_the_table():
    assert all(dataclasses.is_dataclass(e) and e.__dataclass_params__.frozen for e in EVIDENCE)
    assert isinstance(EVIDENCE, tuple)
    # Shi et al.'s batch-8 row at 0.95 sets the edge at batch 8 (beta1 = 0, vision) ...
    edge, _ = lower_edge(8, 0.0, domain="vision")
    assert edge.beta2 == 0.95 and edge.inclusive and any(r.batch == 8 and r.beta2 == 0.95 for r in edge.evidence)
    # ... and without that row the edge falls to the next failure (0.9 at batch 8).
    rows = tuple(e for e in EVIDENCE if not (e.batch == 8 and e.beta2 == 0.95))
    assert lower_edge(8, 0.0, evidence=rows, domain="vision")[0].beta2 == 0.9
    # A row of our own moves it: a failure at 0.999 with batch 100 samples.
    mine = rows + (Evidence(100, 0.999, "failed", "test", beta1=0.0, domain="vision"),)
    assert lower_edge(8, 0.0, evidence=mine, domain="vision")[0].beta2 == 0.999
    # A row that does not say its domain or beta1 moves nothing: it cannot be matched.
    for vague in (Evidence(100, 0.999, "failed", "test", beta1=0.0), Evidence(100, 0.999, "failed", "test",
                                                                              domain="vision")):
        assert lower_edge(8, 0.0, evidence=rows + (vague,), domain="vision")[0].beta2 == 0.9


def test_interpolation_parameter_places_the_edge_between_evidence():
    # Shi et al.: at beta2 in (0.9, 0.95) the last failure is batch 8 (0.95: 44.5%), the first run
    # that trained batch 16 (0.9: 67.3%, worse). The edge sits at 8^(1-t) 16^t: batch 10 is
    # flagged at t = 0.5 (edge 11.3), not at t = 0.1 (edge 8.6).
    assert evidence_risk(10, 0.0, 0.93, interpolation=0.5, domain="vision")
    assert not evidence_risk(10, 0.0, 0.93, interpolation=0.1, domain="vision")
    assert 8 ** 0.5 * 16 ** 0.5 == pytest.approx(11.31, abs=0.01) and 8 ** 0.9 * 16 ** 0.1 == pytest.approx(8.57, abs=0.01)


def test_default_output_is_short_and_the_answer_comes_first(run_cli):
    for args in (["-b", "8"], ["-b", "8", "--steps", "2000"], ["-b", "512", "--tokens-per-sample", "4096"],
                 ["-b", "1", "--steps", "1500", "--explain"], ["-b", "32", "--dataset-size", "1797"]):
        code, out, err = run_cli("recommend", *args)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("beta1 = ") and lines[1].startswith("safe range at this batch")
        assert max(len(line) for line in lines) <= 100, max(lines, key=len)
        assert "c unknown" not in out and "c * " not in out
        if "--explain" not in args:
            # The answer (the range, each edge's reason wrapped to at most two lines, the
            # reason), then warnings, then one hint line.
            at = next(i for i, line in enumerate(lines) if line.startswith("reason: "))
            assert at <= 6 and not any(line.startswith("warning: ") for line in lines[:at])
            assert "Provable" not in out
    code, out, _ = run_cli("recommend", "-b", "8", "--explain")
    assert "1. Provable" in out and "Shi et al." in out and "Lower edge" in out


def test_json_fields_carry_units_and_sources(run_cli):
    code, out, _ = run_cli("recommend", "-b", "256", "--tokens-per-sample", "4096", "--json")
    data = json.loads(out)
    assert data["answer"]["memory_tokens"]["unit"] == "tokens"
    assert data["answer"]["memory"]["value"] == 120.0  # 1/(1-0.992) = 125, two significant digits
    assert data["batch"] == {"samples": 256, "tokens_per_sample": 4096, "tokens": 1048576, "compared_in": "tokens"}
    assert data["safe_range"]["unit"] == "tokens" and data["safe_range"]["upper"]["source"]
    assert "131,072" in data["answer"]["reason"]  # the reference and its unit are stated
    assert math.isclose(data["beta2"], 0.992)


def test_readme_shows_the_real_answer(root, run_cli):
    # README's example of the answer must be what the command prints.
    text = (root / "README.md").read_text()
    block = text.split("for `adamcheck recommend -b 1 --max-steps 1500`:\n\n```\n", 1)[1].split("\n```", 1)[0]
    code, out, _ = run_cli("recommend", "-b", "1", "--max-steps", "1500")
    assert code == 0 and out.startswith(block + "\n")


@pytest.mark.parametrize("command", ["recommend", "check"])
def test_help_examples_run_as_written(run_cli, root, monkeypatch, command):
    import shlex

    monkeypatch.chdir(root)  # the examples' paths are relative to a clone
    code, out, _ = run_cli(command, "--help")
    block = out.split("Example", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("adamcheck ")]
    assert lines
    for line in lines:
        argv = shlex.split(line)[1:]
        code, out, err = run_cli(*argv)
        assert code in (0, 1), (line, err)


def _one_path(line: str) -> bool:
    """The line is one unbreakable word naming an existing file (with its punctuation around it)."""
    words = line.split()
    return len(words) == 1 and Path(words[0].strip("():,;'\"")).is_file()


def test_check_report_lines_fit_100_columns(run_cli, root):
    # A line may pass 100 columns only when it is one unbreakable word holding a file's path (a
    # clone's absolute path can be longer than the page; a config may name its sibling file).
    for path in sorted((root / "examples" / "configs").rglob("*")):
        if path.suffix in (".py", ".sh", ".txt", ".json", ".yaml", ".toml"):
            code, out, _ = run_cli("check", path)
            for line in out.splitlines():
                if len(line) > 100:
                    assert _one_path(line), (path, line)
                    assert len(line.strip()) > 100 - (len(line) - len(line.lstrip())) - 1, line  # it did not fit


def test_check_report_long_path_keeps_the_file_name_within_the_page(run_cli, tmp_path):
    # A config in a folder with a long name: the title is cut in its middle, so the file's
    # name and format stay visible and no line passes 100 columns.
    deep = tmp_path / ("a-folder-name-long-enough-to-push-the-path-past-the-page-" * 2)
    deep.mkdir()
    config = deep / "training_args.json"
    config.write_text('{"per_device_train_batch_size": 8, "adam_beta1": 0.9, "adam_beta2": 0.95}')
    code, out, _ = run_cli("check", config)
    lines = out.splitlines()
    assert code == 0 and len(str(config)) > 100
    assert lines[0].startswith("adamcheck check: ") and lines[0].endswith("training_args.json [hf]"), lines[0]
    assert "..." in lines[0] and max(len(line) for line in lines) <= 100


@settings(max_examples=150, deadline=None)
@given(batch=st.integers(1, 50_000), beta1=st.floats(0, 0.999), beta2=st.floats(0, 0.99999),
       seq_len=st.sampled_from([None, 128, 1024, 4096]), steps=st.sampled_from([None, 100, 10_000]))
def test_check_exit_code_is_the_verdict(batch, beta1, beta2, seq_len, steps):
    # check's findings and the shared verdict never disagree on RISK.
    v = verdict(batch, beta1, beta2, reference=DEFAULT_REFERENCE, tokens_per_sample=seq_len, planned_steps=steps)
    report = check_values(batch, beta1, beta2, seq_len=seq_len, max_steps=steps)
    assert report.exit_code == (1 if v.level == "risk" else 0), (v.messages, report.by_level("risk"))
    assert report.verdict.level == v.level


def test_shi_reading_is_a_parameter():
    # Shi et al. 2021 give accuracies; "failed" below 50% is adamcheck's reading (the default). At
    # 90% the batch-16 / 0.9 run (67.3%) counts as failed and the edge at batch 16 (beta1 0) rises.
    from adamcheck.recommend._evidence import shi_evidence

    others = tuple(e for e in EVIDENCE if not e.source.startswith("Shi"))
    assert lower_edge(16, 0.0, evidence=others + shi_evidence(90.0), domain="vision")[0].beta2 == 0.9
    assert lower_edge(16, 0.0, evidence=others + shi_evidence(60.0), domain="vision")[0].beta2 == 0.8
    assert lower_edge(16, 0.0, evidence=EVIDENCE, domain="vision")[0].beta2 == 0.8


def test_a_long_answer_line_is_cut_at_a_whole_clause_or_word():
    from adamcheck._answer import _wrapped

    text = "first clause is here; " + "second clause " * 12 + "ends; third"
    lines = _wrapped(text, 60, "  ", "    ", 2)
    assert len(lines) <= 2 and all(len(x) <= 60 for x in lines)
    joined = " ".join(x.strip() for x in lines)
    assert joined.endswith("; ...") and joined[: -len("; ...")] in text  # whole clauses only
    words = ("word" + str(i) for i in range(60))
    lines = _wrapped(" ".join(words), 50, "", "  ", 2)
    joined = " ".join(x.strip() for x in lines)
    assert joined.endswith(" ...") and all(w.startswith("word") and w[4:].isdigit() for w in joined.split()[:-1])
