"""Issue 18: RISK only where training fails; evidence that applies; your own measurements
first; eps judged without gradients; a short answer.

The eps rule is checked against torch.optim.Adam itself (one real step in fp16), the
evidence rows against the numbers of their sources, and the precedence of lenses with
measurements that contradict the published evidence in both directions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adamcheck._answer import Answer, beta_text, beta_texts
from adamcheck._halflife import DEFAULT_REFERENCE
from adamcheck._measurement import Measurement
from adamcheck.configs import check_config, check_values
from adamcheck.recommend import EVIDENCE, recommend, verdict
from adamcheck.recommend._eps import eps_in_dtype
from adamcheck.recommend._evidence import DOMAINS, FAILURES, OUTCOMES, RunFacts, row_applies
from adamcheck.recommend._verdict import measurements_from_meta

ROOT = Path(__file__).resolve().parents[2]
LITGPT = ROOT / "tests" / "fixtures" / "litgpt" / "llama-3.2-1B_full.yaml"


# -- the must-holds of issue 18 ----------------------------------------------------------------
def test_published_configs_that_train_are_not_risk():
    # litgpt's shipped fine-tune settings (0.9, 0.95) at 8 x 512 and 64 x 512 tokens (the file)
    assert check_values(8, 0.9, 0.95, seq_len=512).exit_code == 0
    report = check_config(LITGPT)
    assert report.exit_code == 0 and report.domain == "lm" and report.setup.get("state_dtype") == "bf16"
    # a tiny GPT-2 with the HF Trainer: (0.9, 0.95) at 8 x 64 tokens
    assert check_values(8, 0.9, 0.95, seq_len=64).exit_code == 0
    # a batch-1 language-model fine-tune is not flagged from the regression-surrogate rows ...
    assert check_values(1, 0.9, 0.95, seq_len=512, domain="fine-tuning").exit_code == 0
    assert check_values(1, 0.9, 0.95, seq_len=512).exit_code == 0
    # ... which do flag the same values in their own domain
    surrogate = check_values(1, 0.9, 0.95, domain="regression")
    assert surrogate.exit_code == 1 and "DrivAerML" in surrogate.verdict.reason


def test_mechanism_and_matching_evidence_stay_risk():
    for kwargs in ({}, {"seq_len": 1024}, {"domain": "vision"}, {"seq_len": 64, "domain": "fine-tuning"}):
        report = check_values(1, 0.9, 0.5, **kwargs)  # 0.9 >= sqrt(0.5)
        assert report.exit_code == 1 and report.verdict.lens == "theory", kwargs
    shi = check_values(8, 0.0, 0.9, domain="vision")  # Shi et al.: 10% train accuracy (chance)
    assert shi.exit_code == 1 and shi.verdict.lens == "evidence"
    (risk,) = shi.by_level("risk")
    # the answer says why the row applies: its domain and batch against yours
    assert risk.rule == "lower_edge" and "vision" in risk.message and "yours is 8 samples" in risk.message


def test_worse_evidence_is_advice_with_its_cost():
    report = check_values(1, 0.9, 0.95, seq_len=1024)  # Marek et al. 2025's own cell
    assert report.exit_code == 0
    worse = [f for f in report.findings if f.rule == "worse"]
    assert worse and worse[0].level == "advice" and worse[0].axis == "efficiency"
    assert "16x lower learning rate" in worse[0].message and "raise beta2" in worse[0].message
    # the 16x is the source's own learning rates: best 1.5e-4 at 0.95, 2.4e-3 at 0.9999
    rows = {e.beta2: e for e in EVIDENCE if e.cite == "Marek et al. 2025" and e.batch == 1}
    assert rows[0.9999].lr / rows[0.95].lr == pytest.approx(16)


# -- evidence rows are typed and applied by their conditions ---------------------------------------
def test_every_row_is_typed():
    for e in EVIDENCE:
        assert e.outcome in OUTCOMES and e.domain in DOMAINS and e.beta1 is not None and e.source, e
        if e.outcome in FAILURES or e.outcome == "spiked":
            assert e.fix in ("raise", "lower"), e
        if e.outcome == "worse":
            assert e.worse_by and e.fix, e
        if e.domain in ("lm-pretraining", "fine-tuning"):
            assert e.tokens_per_sample, e  # language-model rows are compared in tokens


def test_rows_apply_only_where_their_conditions_match():
    shi = next(e for e in EVIDENCE if e.cite == "Shi et al. 2021" and e.batch == 8 and e.beta2 == 0.9)
    assert row_applies(shi, RunFacts(8, 0.0, domain="vision"), 0.9)[0]
    assert row_applies(shi, RunFacts(4, 0.0, domain="vision"), 0.8)[0]  # smaller batch, shorter memory
    assert not row_applies(shi, RunFacts(16, 0.0, domain="vision"), 0.9)[0]  # a larger batch
    assert not row_applies(shi, RunFacts(8, 0.0, domain="vision"), 0.95)[0]  # a longer memory
    assert not row_applies(shi, RunFacts(8, 0.9, domain="vision"), 0.9)[0]  # beta1 of another kind
    assert not row_applies(shi, RunFacts(8, 0.0, domain="lm", tokens_per_sample=64), 0.9)[0]
    ok, why = row_applies(shi, RunFacts(8, 0.0), 0.9)
    assert not ok and "--domain" in why  # an unknown domain: cannot tell, never a guess


def test_unknown_domain_cannot_tell_and_says_so(run_cli):
    code, out, _ = run_cli("check", "--batch-size", "8", "--beta1", "0", "--beta2", "0.9")
    assert code == 0 and "no known failure" in out and "--domain" in out


# -- your own measurements decide first, in both directions ------------------------------------------
def test_a_monitor_that_saw_the_run_train_clears_published_failures():
    trained = Measurement("monitor", 8, 0.0, trained=(0.95,), reason="the run trained")
    report = check_values(8, 0.0, 0.95, domain="vision", measurements=[trained])
    assert report.exit_code == 0 and report.verdict.lens == "monitor" and report.verdict.outcome == "trains"
    (edge,) = [f for f in report.findings if f.rule == "lower_edge"]
    assert edge.level == "advice" and "takes precedence" in edge.message  # overridden, not hidden
    assert "set by monitor" in report.render()


def test_a_monitor_that_saw_the_run_fail_overrides_published_success():
    gpt3 = check_values(1536, 0.9, 0.95, seq_len=2048)
    assert gpt3.exit_code == 0 and gpt3.verdict.outcome == "trains"
    failed = Measurement("monitor", 1536, 0.9, failed=(0.95,), trained=(0.99,), reason="the loss walked off")
    report = check_values(1536, 0.9, 0.95, seq_len=2048, measurements=[failed])
    assert report.exit_code == 1 and report.verdict.lens == "monitor"
    # the recommendation moves above what the monitor measured failing
    assert report.recommendation["beta2"] > 0.95
    # a failure measured at batch 1536 also counts at a smaller batch, not at a larger one
    assert check_values(1024, 0.9, 0.95, seq_len=2048, measurements=[failed]).exit_code == 1
    assert check_values(4096, 0.9, 0.95, seq_len=2048, measurements=[failed]).exit_code == 0


def test_no_measurement_clears_beta1_at_or_above_sqrt_beta2():
    # A fresh-user trial: a monitor file of a batch-1 run that diverged at beta2 0.5 stated
    # 0.8 training; check at 0.8 (< beta1^2 = 0.81) said OK and recommend's safe range began at
    # 0.8. The mechanism (Reddi et al.'s counterexamples) is a floor no measurement clears.
    for lens in ("monitor", "probe", "gradients"):
        trained = Measurement(lens, 1, 0.9, failed=(0.5,), trained=(0.8,), reason="measured")
        report = check_values(1, 0.9, 0.8, measurements=[trained])
        assert report.exit_code == 1 and report.verdict.lens == "theory", lens
        # at 0.82 (beta1 < sqrt(beta2)) the same measurement decides, and says it trains
        ok = check_values(1, 0.9, 0.82, measurements=[trained])
        assert ok.verdict.lens == lens and ok.verdict.outcome == "trains", lens
        rec = recommend(1, beta1=0.9, measurements=[trained])
        assert rec.lower.beta2 >= 0.81 and rec.lower.kind == "beta1", lens


def test_a_cleared_value_names_the_measured_beta2_star_not_the_failure_mechanism():
    from adamcheck.recommend._lenses import gradient_measurement

    m = gradient_measurement(4, 0.9, 0.9, reason="update growth (beta1 >= sqrt(beta2) ...)")
    report = check_values(4, 0.9, 0.95, measurements=[m])
    assert report.verdict.lens == "gradients" and report.verdict.outcome == "trains"
    text = report.render()
    assert "beta2* = 0.9 measured on your gradients" in text and "update growth" not in text


def test_a_lens_with_no_failure_claims_no_beta2_star():
    # every value the lens decided trained: the lowest of them is where its ladder starts, not an
    # edge (on a file of pure noise check used to say "at or above the beta2* = 0.1 measured")
    m = Measurement("gradients", 8, 0.9, trained=(0.5, 0.9, 0.99, 0.999), reason="sign drift and update growth")
    report = check_values(8, 0.9, 0.99, measurements=[m])
    assert report.verdict.lens == "gradients" and report.verdict.outcome == "trains"
    text = " ".join(report.render().split())
    assert "beta2* =" not in text and "training at beta2 >= 0.5 (no failure found)" in text


def test_a_lens_that_cannot_tell_is_said_and_skipped(run_cli):
    abstain = Measurement("gradients", 8, 0.9, decided=False, reason="the statistic is within its error of 0")
    report = check_values(8, 0.9, 0.95, seq_len=64, measurements=[abstain])
    assert report.exit_code == 0 and report.verdict.outcome == "cannot_tell"
    assert "gradients cannot tell: the statistic is within its error of 0" in report.render()
    assert report.to_dict()["verdict"]["divergence"]["abstained"] == [
        {"lens": "gradients", "reason": "the statistic is within its error of 0"}]


def _monitor_file(path, **meta):
    rng = np.random.default_rng(0)
    np.savez(path, grads=rng.normal(size=(1, 64, 12)).astype(np.float32),
             writer=np.array("adamcheck.torch.GradientMonitor"), row_batch_size=np.array(4),
             batch_size=np.array(4), beta1=np.array(0.9), **{k: np.asarray(v) for k, v in meta.items()})
    return path


def test_measurements_from_a_monitor_file(tmp_path, run_cli):
    from adamcheck.noise._meta import GradientFileMeta

    path = _monitor_file(tmp_path / "monitor.npz", monitor_decided=True, monitor_failed=[0.9, 0.95],
                         monitor_trained=[0.999], monitor_reason="the loss walked off the sampled path")
    with np.load(path, allow_pickle=False) as data:
        meta = GradientFileMeta.from_mapping({k: data[k] for k in data.files if k != "grads"}, str(path))
    (m,) = measurements_from_meta(meta)
    assert (m.lens, m.batch_size, m.beta1, m.outcome(0.95), m.outcome(0.999)) == ("monitor", 4, 0.9, "fails", "trains")
    code, out, err = run_cli("check", "--batch-size", "4", "--beta1", "0.9", "--beta2", "0.95", "--gradients", path)
    assert code == 1, err
    assert "set by monitor" in out and "walked off" in out
    undecided = _monitor_file(tmp_path / "undecided.npz", monitor_decided=False,
                              monitor_reason="no analysis yet (300 steps)")
    with np.load(undecided, allow_pickle=False) as data:
        meta = GradientFileMeta.from_mapping({k: data[k] for k in data.files if k != "grads"}, "u.npz")
    (m,) = measurements_from_meta(meta)
    assert not m.decided and m.reason == "no analysis yet (300 steps)"


def test_check_takes_what_a_monitor_file_states(tmp_path, run_cli):
    # the guide: check --gradients reads a monitor file as recommend does (no --batch-size)
    path = _monitor_file(tmp_path / "monitor.npz", beta2=0.95, seq_len=32, planned_steps=300,
                         monitor_decided=True, monitor_failed=[0.9, 0.95], monitor_trained=[0.999],
                         monitor_reason="the loss walked off the sampled path")
    code, out, err = run_cli("check", "--gradients", path)
    assert code == 1, err
    assert "beta1 = 0.9, beta2 = 0.95 at 4 x 32 = 128 tokens per step" in out and "set by monitor" in out
    assert out.splitlines()[0].startswith("adamcheck check: (values from ") and "monitor.npz" in out.splitlines()[0]
    code, out, _ = run_cli("check", "--gradients", path, "--explain")
    assert any(line.split()[:2] == ["global_batch", "4"] and "gradient file" in line for line in out.splitlines())
    # a typed value wins over the file's
    code, out, _ = run_cli("check", "--gradients", path, "--beta2", "0.999")
    assert code == 0 and "beta2 = 0.999" in out
    # a per-example file states no run: the values are still needed, and the error says so
    per_example = tmp_path / "g.npy"
    np.save(per_example, np.zeros((16, 4), dtype=np.float32))
    code, _, err = run_cli("check", "--gradients", per_example)
    assert code == 2 and "batch_size" in err and len(err.strip().splitlines()) == 1


# -- eps: judged from the precision of the optimizer state -----------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("dtype, eps, fails", [("float16", 1e-8, True), ("float16", 1e-4, False),
                                               ("bfloat16", 1e-8, False), ("float32", 1e-8, False)])
def test_eps_rule_agrees_with_a_real_adam_step(dtype, eps, fails):
    torch = pytest.importorskip("torch")
    from adamcheck import check_optimizer

    p = torch.nn.Parameter(torch.ones(8, dtype=getattr(torch, dtype)))
    opt = torch.optim.Adam([p], lr=1e-3, eps=eps, foreach=False)
    report = check_optimizer(opt, batch_size=8)
    p.grad = torch.full_like(p, 1e-4)
    p.grad[0] = 0.0  # a zero-gradient coordinate (padding rows, dead units)
    opt.step()
    went_bad = not bool(torch.isfinite(p.detach().float()).all())
    assert went_bad == fails
    assert ([f.rule for f in report.by_level("risk")] == ["eps_precision"]) == fails


@pytest.mark.torch
def test_the_fp16_underflow_threshold_matches_torch():
    # v = (1 - beta2) g^2 rounds to 0 in fp16 below 2^-25: |g| < 2^-12.5 / sqrt(1 - beta2)
    torch = pytest.importorskip("torch")
    edge = 2.0 ** -12.5 / math.sqrt(1 - 0.999)
    for factor, zero in ((0.8, True), (1.25, False)):
        p = torch.nn.Parameter(torch.ones(1, dtype=torch.float16))
        opt = torch.optim.Adam([p], betas=(0.9, 0.999), eps=1e-4, foreach=False)
        p.grad = torch.full_like(p, factor * edge)
        opt.step()
        assert (float(opt.state[p]["exp_avg_sq"][0]) == 0.0) == zero
    assert f"{edge:.2g}" in check_values(8, 0.9, 0.999, eps=1e-8, state_dtype="fp16").by_level("risk")[0].message


def test_eps_precision_from_configs_and_flags(tmp_path, run_cli):
    assert eps_in_dtype(1e-8, "fp16") == 0.0 == float(np.float16(1e-8)) and eps_in_dtype(1e-8, "bf16") > 0
    half = tmp_path / "litgpt16.yaml"
    half.write_text(LITGPT.read_text().replace("precision: bf16-true", "precision: 16-true"))
    report = check_config(half)
    assert report.exit_code == 1 and [f.rule for f in report.by_level("risk")] == ["eps_precision"]
    assert "16-true" in report.setup.state_dtype.source
    mixed = tmp_path / "litgpt16mixed.yaml"
    mixed.write_text(LITGPT.read_text().replace("precision: bf16-true", "precision: 16-mixed"))
    assert check_config(mixed).exit_code == 0 and check_config(mixed).setup.get("state_dtype") == "fp32"
    axolotl = ROOT / "examples" / "configs" / "axolotl" / "llama-3-8b-fft.yaml"
    pure = tmp_path / "axolotl_fp16.yaml"
    pure.write_text(axolotl.read_text() + "\nfloat16: true\n")
    assert check_config(pure).setup.get("state_dtype") == "fp16"
    # eps alone, from the command line
    assert run_cli("check", "--eps", "1e-8", "--state-dtype", "fp16")[0] == 1
    assert run_cli("check", "--eps", "1e-8", "--state-dtype", "bf16")[0] == 0
    assert run_cli("check", "--eps", "1e-4", "--state-dtype", "fp16")[0] == 0


def test_eps_against_a_known_gradient_scale():
    report = check_values(32, 0.9, 0.999, eps=1e-8, grad_rms=1e-8)
    (f,) = [f for f in report.findings if f.rule == "eps_vs_grad"]
    assert f.level == "advice" and f.axis == "efficiency" and "lower eps" in f.message and report.exit_code == 0


# -- the short answer ------------------------------------------------------------------------------------
def _configs():
    paths = [p for p in sorted((ROOT / "examples" / "configs").rglob("*")) if p.is_file() and p.suffix != ".md"]
    return paths + sorted((ROOT / "tests" / "fixtures").rglob("*.yaml"))


@pytest.mark.parametrize("path", _configs(), ids=lambda p: p.name)
def test_check_answer_is_at_most_10_lines(run_cli, path):
    code, out, err = run_cli("check", path)
    lines = out.splitlines()
    if code == 2 and not out:  # refused with one line on stderr
        assert len(err.strip().splitlines()) == 1
        return
    assert 2 <= len(lines) <= 10 and max(len(line) for line in lines) <= 100, out
    assert lines[1].startswith("Verdict: ") and "--explain" in lines[-1]


def test_numbers_tell_themselves_from_1_and_from_each_other(run_cli):
    code, out, _ = run_cli("check", "--batch-size", "4", "--beta1", "0.9", "--beta2", "0.99987")
    assert "beta2 = 0.99987" in out and "beta2 = 1 " not in out
    assert beta_texts(0.9999, 0.99995) == ["0.9999", "0.99995"]


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0.0, 1.0, exclude_max=True))
def test_beta_text_keeps_the_memory(x):
    shown = float(beta_text(x))
    assert shown < 1.0
    # the memory 1/(1-beta2) is kept to within 10%: the gap is shown to two significant digits
    assert abs((1 - shown) - (1 - x)) <= 0.1 * (1 - x) + 1e-12


def test_recommend_judges_beta2_like_check_and_names_options_alike(run_cli):
    for args in (["-b", "8", "--beta1", "0", "--beta2", "0.9", "--domain", "vision"],
                 ["-b", "8", "--beta1", "0.9", "--beta2", "0.95", "--seq-len", "512"]):
        rcode, rout, _ = run_cli("recommend", *args, "--json")
        ccode, cout, _ = run_cli("check", *(["--batch-size"] + args[1:]), "--json")
        r, c = json.loads(rout), json.loads(cout)
        assert rcode == ccode == r["exit_code"] == c["exit_code"]
        assert r["verdict"]["level"] == c["verdict"]["level"]
        assert r["verdict"]["divergence"] == c["verdict"]["divergence"]
    a = json.loads(run_cli("recommend", "-b", "64", "--seq-len", "1024", "--json")[1])
    b = json.loads(run_cli("recommend", "-b", "64", "--tokens-per-sample", "1024", "--json")[1])
    assert a == b  # --tokens-per-sample is the hidden old name of --seq-len
    code, _, err = run_cli("recommend", "-b", "64", "--seq-len", "1024", "--tokens-per-sample", "512")
    assert code == 2 and "--seq-len" in err


def test_json_keeps_its_keys_and_adds_new_ones(run_cli):
    old_recommend = {"schema", "beta1", "beta2", "answer", "safe_range", "batch", "dataset_size", "planned_steps",
                     "beta2_critical", "beta2_half_life_rule", "beta2_practice", "beta2_calibrated",
                     "beta2_provable", "lenses"}
    data = json.loads(run_cli("recommend", "-b", "8", "--json")[1])
    assert old_recommend <= set(data) and {"domain", "measurements", "verdict", "exit_code"} <= set(data)
    # schema recommend/3 (issue 23, docs/cli.md "Changes"): the text lists warnings and notes
    # became one list of diagnostics, the shape of every command's
    assert data["schema"] == "adamcheck.recommend/3" and not {"warnings", "notes"} & set(data)
    assert data["diagnostics"] and all({"level", "rule", "message", "source"} <= set(d) for d in data["diagnostics"])
    assert data["verdict"] is None and data["exit_code"] == 0  # no beta2 given: nothing judged
    data = json.loads(run_cli("check", "--batch-size", "8", "--beta1", "0.9", "--beta2", "0.95", "--json")[1])
    old_verdict = {"level", "batch_size", "tokens_per_step", "unit", "beta1", "beta2", "reference", "lower_edge",
                   "upper_edge", "lower_edge_parts", "upper_edge_parts", "messages"}
    assert old_verdict <= set(data["verdict"])
    assert data["answer"]["verdict"].startswith("Verdict: OK (exit 0)")


def test_readme_shows_the_real_check_answer(run_cli):
    text = (ROOT / "README.md").read_text()
    block = text.split("8\nsequences × 512 tokens):\n\n```\n", 1)[1].split("\n```", 1)[0]
    code, out, _ = run_cli("check", "--batch-size", "8", "--beta1", "0.9", "--beta2", "0.95", "--seq-len", "512")
    assert code == 0 and out.rstrip("\n") == block


def test_answer_keeps_to_its_lines():
    long = "word " * 200
    a = Answer("Verdict: OK (exit 0): x", [long, (long, 3), long, long], title="t", hint="(hint)")
    lines = a.render().splitlines()
    assert len(lines) <= 10 and lines[-1].strip() == "(hint)" and max(map(len, lines)) <= 100
    assert a.exit_code == 0


def test_verdict_is_the_same_through_recommend_and_check():
    v = verdict(8, 0.0, 0.95, reference=DEFAULT_REFERENCE, domain="vision")
    r = recommend(8, beta1=0.0, beta2=0.95, domain="vision")
    assert r.verdict.level == v.level == "risk" and r.exit_code == 1
    assert r.beta2 > 0.95 and not r.lower.flags(r.beta2, "lower")  # the recommendation is past the edge
