"""The field corpus (benchmarks/field/cases.yaml) is well-formed and its scorer counts right.

Reduced CI version of ``python benchmarks/field/score.py``: every case is validated against
the schema at the top of the corpus file, the validator is shown to reject each kind of bad
case, the scorer's classification is checked on hand-made reports, and the scorer is run on
the whole corpus with the real ``check_values``. The scores themselves are not asserted: they
are figures of today's verdict (docs/field.md), not targets.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import json
import math
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "benchmarks" / "field" / "cases.yaml"


@pytest.fixture(scope="module")
def score():
    spec = importlib.util.spec_from_file_location("field_score", ROOT / "benchmarks" / "field" / "score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["field_score"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def raw():
    with open(CORPUS, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def cases(score):
    return score.load_corpus(CORPUS)


# --------------------------------------------------------------------------- the corpus itself

def test_every_case_passes_the_schema(score, raw):
    assert score.validate_corpus(raw) == []


def test_corpus_invariants_checked_directly(raw):
    """The same essentials, asserted here without the scorer's validator."""
    cases = raw["cases"]
    assert raw["schema"] == "adamcheck.field-corpus/1"
    assert len(cases) >= 60
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    outcomes = Counter(c["outcome"] for c in cases)
    assert set(outcomes) <= {"trained", "worse", "spiked", "diverged", "stalled"}
    assert sum(outcomes[o] for o in ("spiked", "diverged", "stalled")) >= 15
    for c in cases:
        assert c["source"]["url"].startswith(("https://", "http://")), c["id"]
        s = c["settings"]
        for key in ("beta1", "beta2"):
            assert s[key] is None or 0 <= s[key] < 1, c["id"]
        assert s["eps"] is None or s["eps"] >= 0, c["id"]
        if c["outcome"] in ("spiked", "diverged", "stalled"):
            assert c["scope"] in ("in", "out", "unclear"), c["id"]
    kinds = Counter(c["kind"] for c in cases)
    assert set(kinds) == {"shipped-config", "published-recipe", "sweep", "failure-thread"}


def test_batch_agrees_with_how_it_is_built(raw):
    """Where a case gives micro batch, accumulation and world size, the batch is their product."""
    checked = 0
    for c in raw["cases"]:
        s = c["settings"]
        parts = (s["micro_batch"], s["grad_accum"], s["world_size"])
        if s["batch_size"] is not None and all(p is not None for p in parts):
            assert s["batch_size"] == math.prod(parts), c["id"]
            checked += 1
    assert checked >= 20


def test_a_file_source_at_a_commit_links_that_commit(raw):
    for c in raw["cases"]:
        src = c["source"]
        if "commit" in src and "/blob/" in src["url"]:
            assert src["commit"] in src["url"], c["id"]


def test_worse_cases_name_a_different_better_setting(raw):
    for c in raw["cases"]:
        for name, value in (c.get("better") or {}).items():
            assert c["settings"][name] != value, c["id"]


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c["settings"].update(beta2=1.0), "settings.beta2"),
    (lambda c: c["source"].pop("url"), "source.url"),
    (lambda c: c.update(outcome="exploded"), "outcome"),
    (lambda c: c.update(fix="raise_beta2"), "'fix' is for failures only"),
    (lambda c: c["settings"].pop("eps"), "settings.eps missing"),
    (lambda c: c["settings"].update(learning_rate=1e-3), "unknown settings key"),
    (lambda c: c["settings"].update(batch_size=0), "settings.batch_size"),
    (lambda c: c["settings"].update(precision="fp8"), "settings.precision"),
    (lambda c: c.update(defaults={"lr": "framework default"}) or c["settings"].update(lr=None), "null"),
    (lambda c: c.pop("evidence"), "needs evidence"),
    (lambda c: c.update(says=""), "'says'"),
    (lambda c: c.update(id="Has Spaces"), "id must be"),
])
def test_validator_rejects_a_broken_trained_case(score, raw, mutate, expected):
    case = copy.deepcopy(next(c for c in raw["cases"] if c["outcome"] == "trained"))
    assert score.validate_case(case) == []
    mutate(case)
    errors = score.validate_case(case)
    assert errors and any(expected in e for e in errors), errors


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.pop("scope"), "needs scope"),
    (lambda c: c.update(scope="in", fix="lower_lr"), "scope 'in' needs a beta/eps fix"),
    (lambda c: c.update(fix="hope"), "needs fix"),
    (lambda c: c.update(scope_reason=" "), "scope_reason"),
    (lambda c: c.update(evidence="reported"), "for trained/worse cases only"),
])
def test_validator_rejects_a_broken_failure(score, raw, mutate, expected):
    case = copy.deepcopy(next(c for c in raw["cases"] if c["outcome"] == "diverged" and c["scope"] == "in"))
    assert score.validate_case(case) == []
    mutate(case)
    errors = score.validate_case(case)
    assert errors and any(expected in e for e in errors), errors


def test_duplicate_ids_are_rejected(score, raw):
    data = copy.deepcopy(raw)
    data["cases"].append(copy.deepcopy(data["cases"][0]))
    assert any("duplicate id" in e for e in score.validate_corpus(data))


# --------------------------------------------------------------------------- asking the check

def _fake_case(**settings):
    base = dict(optimizer="AdamW", beta1=0.9, beta2=0.95, eps=1e-8, lr=None, batch_size=8, batch_tokens=None,
                seq_len=512, micro_batch=None, grad_accum=None, world_size=None, precision="bf16",
                optimizer_state="bf16", max_steps=None)
    base.update(settings)
    return {"id": "toy", "kind": "sweep", "domain": "fine-tuning", "outcome": "trained", "settings": base,
            "in_check_evidence": False}


def test_check_inputs_pass_extra_fields_only_when_the_check_takes_them(score):
    def narrow(batch_size, beta1, beta2, *, eps=None, seq_len=None, max_steps=None):
        return None

    def wide(batch_size, beta1, beta2, *, eps=None, seq_len=None, max_steps=None, domain=None,
             precision=None, state_precision=None, learning_rate=None):
        return None

    case = _fake_case(lr=2e-4)
    kw, _ = score.check_inputs(case, inspect.signature(narrow).parameters)
    assert kw == {"batch_size": 8, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "seq_len": 512}
    kw, _ = score.check_inputs(case, inspect.signature(wide).parameters)
    assert kw["domain"] == "fine-tuning" and kw["precision"] == "bf16"
    assert kw["state_precision"] == "bf16" and kw["learning_rate"] == 2e-4


def test_check_inputs_batch_from_tokens_and_missing_values(score):
    def check(batch_size, beta1, beta2, *, eps=None, seq_len=None, max_steps=None):
        return None

    params = inspect.signature(check).parameters
    kw, notes = score.check_inputs(_fake_case(batch_size=None, batch_tokens=3_200_000, seq_len=2048), params)
    assert kw["batch_size"] == 1562 and "round(3200000 tokens / 2048)" in notes[0]
    kw, why = score.check_inputs(_fake_case(batch_size=None, seq_len=None, batch_tokens=25000), params)
    assert kw is None and "batch size" in why[0]
    kw, why = score.check_inputs(_fake_case(beta2=None), params)
    assert kw is None and "beta2" in why[0]

    def optional_batch(beta1, beta2, *, batch_size=None, eps=None):
        return None

    kw, _ = score.check_inputs(_fake_case(batch_size=None), inspect.signature(optional_batch).parameters)
    assert kw == {"beta1": 0.9, "beta2": 0.95, "eps": 1e-8}


def _report(exit_code, *findings, rec=None):
    return SimpleNamespace(exit_code=exit_code, recommendation=rec,
                           findings=[SimpleNamespace(level=lv, rule=rule, message=msg) for lv, rule, msg in findings])


def _failure(fix, scope="in", **settings):
    case = _fake_case(**settings)
    case.update(outcome="diverged", fix=fix, scope=scope, scope_reason="toy")
    return case


def test_classify_trained_cases(score):
    case = _fake_case()
    assert score.classify(case, _report(1, ("risk", "lower_edge", "beta2 too low"))).category == "false_alarm"
    assert score.classify(case, _report(0, ("advice", "recommended_betas", "x"))).category == "ok"
    assert score.classify(case, _report(2, ("error", "betas_range", "bad"))).category == "error"
    worse = dict(_fake_case(), outcome="worse", better={"beta2": 0.99})
    advice = ("advice", "recommended_betas", "recommended (beta1, beta2) = (0.9, 0.99)")
    toward = score.classify(worse, _report(0, advice, rec={"beta1": 0.9, "beta2": 0.99}))
    assert toward.category == "ok" and toward.toward_better is True
    away = score.classify(worse, _report(0, advice, rec={"beta1": 0.9, "beta2": 0.9}))
    assert away.toward_better is False


def test_classify_in_scope_failures(score):
    b2_advice = ("advice", "recommended_betas", "recommended (beta1, beta2) = (0.9, 0.999)")
    up = {"beta1": 0.9, "beta2": 0.999}
    assert score.classify(_failure("raise_beta2"), _report(1, ("risk", "lower_edge", "x"))).category == "warned"
    assert score.classify(_failure("raise_beta2"), _report(0, b2_advice, rec=up)).category == "advised"
    assert score.classify(_failure("lower_beta2"), _report(0, b2_advice, rec=up)).category == "missed"
    # a recommendation nobody is told about (no RISK/ADVICE mentions beta2) points nowhere
    assert score.classify(_failure("raise_beta2"), _report(0, ("ok", "half_life", "fine"), rec=up)).category == "missed"
    # verbs in a message count without a recommendation
    verb = ("advice", "upper_edge", "consider a lower beta2 at this batch: memory longer than the run")
    assert score.classify(_failure("lower_beta2", beta2=0.999), _report(0, verb)).category == "advised"
    eps = ("advice", "eps_precision", "eps = 1e-08 rounds to 0 in float16 state; keep the state in float32")
    assert score.classify(_failure("raise_eps"), _report(0, eps)).category == "advised"
    assert score.classify(_failure("precision"), _report(0, eps)).category == "advised"
    assert score.classify(_failure("raise_eps"), _report(0, b2_advice, rec=up)).category == "missed"
    b1 = ("advice", "recommended_betas", "recommended (beta1, beta2) = (0.9, 0.9999)")
    case = _failure("lower_beta1", beta1=0.95, beta2=0.9999)
    assert score.classify(case, _report(0, b1, rec={"beta1": 0.9, "beta2": 0.9999})).category == "advised"


def test_classify_out_of_scope_is_never_scored(score):
    for scope in ("out", "unclear"):
        case = _failure("lower_lr", scope=scope)
        assert score.classify(case, _report(1, ("risk", "x", "y"))).category == "out_of_scope"
        assert score.classify(case, _report(0)).category == "out_of_scope"


def test_totals_count_what_they_say(score):
    S = score.Scored

    def r(cat, outcome="trained", held=True, key=("a",), toward=None):
        return S(id=cat, kind="sweep", domain="other", outcome=outcome, category=cat, exit_code=0,
                 in_check_evidence=not held, settings_key=key, toward_better=toward)

    results = [r("false_alarm", key=("x",)), r("false_alarm", key=("x",), held=False), r("ok", key=("y",)),
               r("ok", "worse", key=("z",), toward=True), r("warned", "diverged"), r("advised", "spiked"),
               r("missed", "stalled", held=False), r("out_of_scope", "diverged"), r("not_scorable", "trained"),
               r("error", "trained")]
    t = score.totals(results)
    a, h = t["all"], t["held_out"]
    assert (a["trained_scored"], a["false_alarms"], a["false_alarm_rate"]) == (4, 2, 0.5)
    assert (a["trained_distinct_settings"], a["false_alarm_distinct_settings"]) == (3, 1)
    assert (a["failures_in_scope_scored"], a["warned"], a["advised"], a["missed"]) == (3, 1, 1, 1)
    assert (a["out_of_scope"], a["not_scorable"], a["errors"]) == (1, 1, 1)
    assert (a["worse_with_advice_toward_better"], a["worse_with_a_better_setting"]) == (1, 1)
    assert (h["trained_scored"], h["false_alarms"], h["missed"]) == (3, 1, 0)


# --------------------------------------------------------------------------- the real check

def test_scorer_runs_on_the_whole_corpus(score, cases):
    results = score.score(cases)
    assert [r.id for r in results] == [c["id"] for c in cases]
    by_id = {c["id"]: c for c in cases}
    # the categories follow from the outcome, the scope and the check's exit code
    for r in results:
        c = by_id[r.id]
        assert r.category != "error", (r.id, r.reason)
        if r.category == "not_scorable":
            assert r.exit_code is None
            continue
        if c["outcome"] in ("trained", "worse"):
            assert r.category == ("false_alarm" if r.exit_code == 1 else "ok"), r.id
        elif c["scope"] != "in":
            assert r.category == "out_of_scope", r.id
        elif r.exit_code == 1:
            assert r.category == "warned", r.id
        else:
            assert r.category in ("advised", "missed"), r.id
    # not scorable only where the source lacks a value the check needs
    lacking = {c["id"] for c in cases
               if c["settings"]["beta1"] is None or c["settings"]["beta2"] is None
               or (c["settings"]["batch_size"] is None
                   and (c["settings"]["batch_tokens"] is None or c["settings"]["seq_len"] is None))}
    # (the check judges eps on its own, so some cases without a batch or betas are scored)
    assert {r.id for r in results if r.category == "not_scorable"} <= lacking
    text = score.render_markdown(cases, results)
    for r in results:
        if r.category in ("false_alarm", "missed", "out_of_scope", "not_scorable"):
            assert f"`{r.id}`" in text, r.id


def test_command_line(score, tmp_path, capsys):
    assert score.main(["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "adamcheck.field-score/1" and len(out["cases"]) == out["corpus"]["cases"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: adamcheck.field-corpus/1\ncases:\n  - id: x\n", encoding="utf-8")
    assert score.main(["--corpus", str(bad)]) == 2
    assert "missing 'kind'" in capsys.readouterr().err


def test_the_check_meets_the_corpus_targets(score, cases):
    """Issue targets on the public corpus: RISK on <= 2% of the runs that trained, and every
    in-scope failure warned (RISK, or advice towards the fix) where the check's inputs can
    decide it. The one mechanism the check cannot judge from a configuration is eps in full
    precision (fp32 state: eps 1e-8 is what most runs that train use); it needs the gradient
    scale (--grad-rms, --gradients or a monitor file), which those threads do not give."""
    results = score.score(cases)
    t = score.totals(results)["all"]
    assert t["trained_scored"] >= 100 and t["false_alarms"] <= 0.02 * t["trained_scored"], t
    by_id = {c["id"]: c for c in cases}
    for r in results:
        if r.category != "missed":
            continue
        s = by_id[r.id]["settings"]
        assert by_id[r.id]["fix"] == "raise_eps" and s["optimizer_state"] in ("fp32", None), (r.id, r.reason)
