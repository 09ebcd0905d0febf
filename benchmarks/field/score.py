"""Score ``adamcheck check`` on the field corpus of public training outcomes.

Each case of ``benchmarks/field/cases.yaml`` (schema at the top of that file) is run through
:func:`adamcheck.configs.check_values` with the case's own numbers, and the answer is compared
with what happened to the run:

* **trained** and **worse** cases trained: a RISK there (exit 1) is a **false alarm**.
  (For a ``worse`` case the scorer also notes whether the advice points towards the setting
  the source found better; that is information, not a score.)
* **spiked**, **diverged**, **stalled** cases failed. When the source attributes the failure
  to beta1 / beta2 / eps (``scope: in``) the check is scored:
    - **warned**: RISK (exit 1);
    - **advised**: exit 0, but an ADVICE points the way the fix went (see ``directions``);
    - **missed**: neither.
  Failures with ``scope: out`` or ``unclear`` are listed with the reason and what the check
  said; they are not scored.
* A case the check cannot be asked about (no beta1, beta2 or batch in the source) is
  **not scorable** and listed with the reason; nothing is estimated to fill it.

How "advice points the way the fix went" is decided (``directions``), from the report alone:

1. The recommendation (``report.recommendation``, the ``recommended_betas`` advice): when at
   least one ADVICE/RISK finding mentions ``beta2`` (resp. ``beta1``) and the recommended
   beta2 (beta1) is above the case's, the direction is ``raise_beta2`` (``raise_beta1``); below,
   ``lower_beta2`` (``lower_beta1``).
2. Verbs in any ADVICE/RISK message: "raise/increase/larger/higher ... beta2" ->
   ``raise_beta2``; "lower/decrease/reduce/smaller/shorter ... beta2" -> ``lower_beta2``; the same
   for beta1 and for eps ("raise/increase/larger ... eps" -> ``raise_eps``).
3. An ADVICE/RISK finding whose rule name contains ``eps`` -> ``raise_eps``; if its message names
   float32/fp32 state -> also ``precision``.

A fix ``raise_eps`` is matched by ``raise_eps``; ``precision`` by ``raise_eps`` or ``precision``;
the beta fixes by their own direction; ``lower_lr`` and ``other`` are never in scope.

Extra case fields (``domain``, ``precision``, ``optimizer_state``, ``lr``) are passed to
``check_values`` only when its signature accepts a parameter of that name (checked with
:func:`inspect.signature`), so the scorer keeps working while the check's API grows.

Usage (from the repository root)::

    python benchmarks/field/score.py               # table and totals
    python benchmarks/field/score.py --debug       # one line per miss and false alarm, with the check's words
    python benchmarks/field/score.py --json        # everything, machine-readable
    python benchmarks/field/score.py --markdown    # the docs page (docs/field.md)

Exit code 0 after scoring (the scores are figures, not a gate), 2 when the corpus is invalid.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # run as a script from a clone: score this checkout's adamcheck
    sys.path.insert(0, str(ROOT))

CORPUS = HERE / "cases.yaml"
SCHEMA = "adamcheck.field-corpus/1"

KINDS = ("shipped-config", "published-recipe", "sweep", "failure-thread")
DOMAINS = ("lm-pretraining", "fine-tuning", "vision", "regression-simulation", "rl", "gan", "other")
OUTCOMES = ("trained", "worse", "spiked", "diverged", "stalled")
TRAINED_LIKE = ("trained", "worse")
FAILURES = ("spiked", "diverged", "stalled")
EVIDENCE = ("reported", "shipped")
FIXES = ("raise_beta2", "lower_beta2", "raise_eps", "lower_beta1", "raise_beta1", "lower_lr", "precision", "other")
SCOPES = ("in", "out", "unclear")
CHECKED = ("read", "secondary")
PRECISIONS = ("fp32", "bf16", "fp16", "amp-bf16", "amp-fp16")
STATES = ("fp32", "bf16", "fp16", "8bit", "4bit")
SETTINGS_KEYS = ("optimizer", "beta1", "beta2", "eps", "lr", "batch_size", "batch_tokens", "seq_len",
                 "micro_batch", "grad_accum", "world_size", "precision", "optimizer_state", "max_steps")
_INT_KEYS = ("batch_size", "batch_tokens", "seq_len", "micro_batch", "grad_accum", "world_size", "max_steps")
_REQUIRED = ("id", "kind", "domain", "source", "checked", "says", "settings", "outcome", "in_check_evidence")
_ALLOWED = set(_REQUIRED) | {"defaults", "evidence", "worse_by", "better", "fix", "fix_detail", "scope",
                             "scope_reason", "group", "notes"}
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

#: A fix (what the source says fixed the run) -> the advice directions that count as pointing to it.
FIX_ACCEPTS: dict[str, frozenset[str]] = {
    "raise_beta2": frozenset({"raise_beta2"}),
    "lower_beta2": frozenset({"lower_beta2"}),
    "lower_beta1": frozenset({"lower_beta1"}),
    "raise_beta1": frozenset({"raise_beta1"}),
    "raise_eps": frozenset({"raise_eps"}),
    "precision": frozenset({"raise_eps", "precision"}),
}

#: Case field -> names a future ``check_values`` may use for it (passed only when accepted).
EXTRA_PARAMS: dict[str, tuple[str, ...]] = {
    "domain": ("domain",),
    "precision": ("precision",),
    "optimizer_state": ("optimizer_state", "state_precision", "state_dtype"),
    "lr": ("lr", "learning_rate"),
}

_UP = r"(?:raise|raising|increase|increasing|larger|higher|longer)"
_DOWN = r"(?:lower|lowering|decrease|decreasing|reduce|reducing|smaller|shorter)"
_VERB_RULES = tuple(
    (re.compile(rf"\b{verb}\b[^.;:]{{0,60}}\b{name}\b", re.IGNORECASE), direction)
    for name, up, down in (("beta2", "raise_beta2", "lower_beta2"), ("beta1", "raise_beta1", "lower_beta1"),
                           ("eps", "raise_eps", None), ("epsilon", "raise_eps", None))
    for verb, direction in ((_UP, up), (_DOWN, down)) if direction
)
_FP32 = re.compile(r"\b(?:fp32|float32)\b", re.IGNORECASE)


class CorpusError(ValueError):
    """The corpus file is not a valid field corpus (the message lists every problem)."""


# ----------------------------------------------------------------------------- loading

def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_case(case: Any) -> list[str]:
    """Problems with one case against the schema at the top of ``cases.yaml`` ([] when valid)."""
    if not isinstance(case, dict):
        return [f"a case is a mapping, got {type(case).__name__}"]
    cid = case.get("id", "?")
    errs: list[str] = []

    def bad(msg: str) -> None:
        errs.append(f"{cid}: {msg}")

    for key in _REQUIRED:
        if key not in case:
            bad(f"missing '{key}'")
    for key in case:
        if key not in _ALLOWED:
            bad(f"unknown key '{key}'")
    if not isinstance(cid, str) or not _ID.match(cid):
        bad("id must be lower-case letters, digits, '.', '-', '_'")
    for key, allowed in (("kind", KINDS), ("domain", DOMAINS), ("outcome", OUTCOMES), ("checked", CHECKED)):
        if key in case and case[key] not in allowed:
            bad(f"{key} {case[key]!r} not in {allowed}")
    src = case.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("url"), str) or not src["url"].startswith("http"):
        bad("source.url (an http(s) address) is required")
    elif "commit" in src and not re.fullmatch(r"[0-9a-f]{7,40}", str(src["commit"])):
        bad("source.commit must be a git hash")
    if not isinstance(case.get("says"), str) or not case.get("says", "").strip():
        bad("'says' must quote or paraphrase the source")
    if not isinstance(case.get("in_check_evidence"), bool):
        bad("in_check_evidence must be true or false")
    s = case.get("settings")
    if not isinstance(s, dict):
        bad("settings must be a mapping")
    else:
        for key in SETTINGS_KEYS:
            if key not in s:
                bad(f"settings.{key} missing (write null when the source does not give it)")
        for key in s:
            if key not in SETTINGS_KEYS:
                bad(f"unknown settings key '{key}'")
        for key in ("beta1", "beta2"):
            v = s.get(key)
            if v is not None and not (_is_num(v) and 0 <= v < 1):
                bad(f"settings.{key} must be a number in [0, 1) or null")
        if s.get("eps") is not None and not (_is_num(s["eps"]) and s["eps"] >= 0):
            bad("settings.eps must be a number >= 0 or null")
        if s.get("lr") is not None and not (_is_num(s["lr"]) and s["lr"] > 0):
            bad("settings.lr must be a number > 0 or null")
        for key in _INT_KEYS:
            v = s.get(key)
            if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
                bad(f"settings.{key} must be an integer >= 1 or null")
        if s.get("precision") is not None and s["precision"] not in PRECISIONS:
            bad(f"settings.precision {s['precision']!r} not in {PRECISIONS}")
        if s.get("optimizer_state") is not None and s["optimizer_state"] not in STATES:
            bad(f"settings.optimizer_state {s['optimizer_state']!r} not in {STATES}")
        if s.get("optimizer") is not None and not isinstance(s["optimizer"], str):
            bad("settings.optimizer must be a string or null")
    defaults = case.get("defaults")
    if defaults is not None:
        if not isinstance(defaults, dict) or not all(isinstance(v, str) and v for v in defaults.values()):
            bad("defaults must map a settings key to the reason (the framework default it is)")
        elif isinstance(s, dict):
            for key in defaults:
                if key not in SETTINGS_KEYS:
                    bad(f"defaults names '{key}', not a settings key")
                elif s.get(key) is None:
                    bad(f"defaults explains settings.{key}, which is null")
    outcome = case.get("outcome")
    if outcome in TRAINED_LIKE:
        if case.get("evidence") not in EVIDENCE:
            bad(f"a {outcome} case needs evidence in {EVIDENCE}")
        for key in ("fix", "scope"):
            if key in case:
                bad(f"'{key}' is for failures only")
        if outcome == "worse" and not (isinstance(case.get("worse_by"), str) and case["worse_by"].strip()):
            bad("a worse case needs worse_by (how much worse, in the source's metric)")
        better = case.get("better")
        if better is not None and not (isinstance(better, dict) and better
                                       and all(k in ("beta1", "beta2", "eps") and _is_num(v)
                                               for k, v in better.items())):
            bad("better maps beta1/beta2/eps to a number")
    elif outcome in FAILURES:
        if "fix" not in case or (case["fix"] is not None and case["fix"] not in FIXES):
            bad(f"a failure needs fix in {FIXES} or null")
        if case.get("scope") not in SCOPES:
            bad(f"a failure needs scope in {SCOPES}")
        if not (isinstance(case.get("scope_reason"), str) and case["scope_reason"].strip()):
            bad("a failure needs scope_reason")
        if case.get("scope") == "in" and case.get("fix") not in FIX_ACCEPTS:
            bad(f"scope 'in' needs a beta/eps fix ({sorted(FIX_ACCEPTS)}), got {case.get('fix')!r}")
        for key in ("evidence", "worse_by", "better"):
            if key in case:
                bad(f"'{key}' is for trained/worse cases only")
    return errs


def validate_corpus(data: Any) -> list[str]:
    """Problems with a whole loaded corpus ([] when valid)."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("cases"), list):
        return [f"the corpus must be a mapping with schema: {SCHEMA} and a list 'cases'"]
    errs = [e for case in data["cases"] for e in validate_case(case)]
    ids = Counter(c.get("id") for c in data["cases"] if isinstance(c, dict))
    errs += [f"{i}: duplicate id" for i, n in ids.items() if n > 1]
    return errs


def load_corpus(path: str | Path = CORPUS) -> list[dict[str, Any]]:
    """Read and validate the corpus (``yaml.safe_load``); :class:`CorpusError` lists the problems."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    errs = validate_corpus(data)
    if errs:
        raise CorpusError(f"{path}: {len(errs)} problem(s):\n  " + "\n  ".join(errs))
    return data["cases"]


# ----------------------------------------------------------------------------- asking the check

def check_inputs(case: dict[str, Any], parameters: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``check_values`` keyword arguments for a case, or (None, [why not]).

    ``parameters`` is the check function's ``inspect.signature(...).parameters`` (or just
    their names, then every one of batch_size, beta1, beta2 is taken as required). The batch
    is the case's ``batch_size``, else ``round(batch_tokens / seq_len)`` (noted); nothing else
    is filled in. A value the source does not give is left out when the check's parameter for
    it has a default, and makes the case not scorable when the parameter is required.
    """
    s = case["settings"]
    notes: list[str] = []
    batch = s.get("batch_size")
    if batch is None and s.get("batch_tokens") is not None and s.get("seq_len") is not None:
        batch = max(1, round(s["batch_tokens"] / s["seq_len"]))
        notes.append(f"batch {batch} = round({s['batch_tokens']} tokens / {s['seq_len']})")
    core = {"batch_size": None if batch is None else int(batch),
            "beta1": None if s.get("beta1") is None else float(s["beta1"]),
            "beta2": None if s.get("beta2") is None else float(s["beta2"])}
    accepted = set(parameters)

    def required(name: str) -> bool:
        p = parameters.get(name) if hasattr(parameters, "get") else None
        return p is None or getattr(p, "default", inspect.Parameter.empty) is inspect.Parameter.empty

    missing = [("batch size" if k == "batch_size" else k) for k, v in core.items() if v is None and required(k)]
    if missing:
        return None, [f"the source gives no {', '.join(missing)}"]
    kwargs: dict[str, Any] = {k: v for k, v in core.items() if v is not None}
    for key in ("eps", "seq_len", "max_steps"):
        if s.get(key) is not None and key in accepted:
            kwargs[key] = s[key]
    values = dict(s, domain=case["domain"])
    for key, names in EXTRA_PARAMS.items():
        if values.get(key) is None:
            continue
        name = next((n for n in names if n in accepted), None)
        if name is not None:
            kwargs[name] = values[key]
    return kwargs, notes


def _level(f: Any) -> str:
    level = getattr(f, "level", None)
    if level is None and isinstance(f, dict):
        level = f.get("level")
    return str(getattr(level, "value", level)).lower()


def _field(f: Any, name: str) -> str:
    value = getattr(f, name, None)
    if value is None and isinstance(f, dict):
        value = f.get(name)
    return "" if value is None else str(value)


def loud_findings(report: Any) -> list[Any]:
    """The report's RISK and ADVICE findings (``findings`` or ``diagnostics``)."""
    items = getattr(report, "findings", None)
    if items is None:
        items = getattr(report, "diagnostics", None) or []
    return [f for f in items if _level(f) in ("risk", "advice")]


def directions(report: Any, beta1: float | None, beta2: float | None) -> set[str]:
    """Which way the report's RISK/ADVICE points (module docstring, rules 1-3)."""
    loud = loud_findings(report)
    dirs: set[str] = set()
    rec = getattr(report, "recommendation", None) or {}
    if isinstance(rec, dict):
        for name, mine, up, down in (("beta2", beta2, "raise_beta2", "lower_beta2"),
                                     ("beta1", beta1, "raise_beta1", "lower_beta1")):
            value = rec.get(name)
            if mine is not None and _is_num(value) and any(name in _field(f, "message") for f in loud):
                if value > mine:
                    dirs.add(up)
                elif value < mine:
                    dirs.add(down)
    for f in loud:
        message = _field(f, "message")
        for pattern, direction in _VERB_RULES:
            if pattern.search(message):
                dirs.add(direction)
        if "eps" in _field(f, "rule").lower():
            dirs.add("raise_eps")
            if _FP32.search(message):
                dirs.add("precision")
    return dirs


@dataclass
class Scored:
    """One case's result."""

    id: str
    kind: str
    domain: str
    outcome: str
    category: str          # ok, false_alarm, warned, advised, missed, out_of_scope, not_scorable, error
    exit_code: int | None
    in_check_evidence: bool
    says: str = ""         # what the check said (RISK / ADVICE messages), shortened
    reason: str = ""       # why the case is in this category
    directions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    toward_better: bool | None = None
    settings_key: tuple = ()


def _summary(report: Any, width: int = 300) -> str:
    parts = [f"{_level(f).upper()} {_field(f, 'rule')}: {_field(f, 'message')}" for f in loud_findings(report)
             if _level(f) == "risk"]
    parts += [f"ADVICE {_field(f, 'rule')}: {_field(f, 'message')}" for f in loud_findings(report)
              if _level(f) == "advice"]
    text = " | ".join(parts) or "no RISK or ADVICE"
    return text if len(text) <= width else text[: width - 3] + "..."


def classify(case: dict[str, Any], report: Any, notes: list[str] | None = None) -> Scored:
    """Put one case in its category from the check's report (module docstring)."""
    s = case["settings"]
    code = int(getattr(report, "exit_code"))
    dirs = directions(report, s.get("beta1"), s.get("beta2"))
    base = dict(id=case["id"], kind=case["kind"], domain=case["domain"], outcome=case["outcome"],
                exit_code=code, in_check_evidence=case["in_check_evidence"], says=_summary(report),
                directions=sorted(dirs), notes=list(notes or []), settings_key=_settings_key(case))
    if code == 2:
        return Scored(category="error", reason="the check answered ERROR (exit 2)", **base)
    if case["outcome"] in TRAINED_LIKE:
        toward = None
        better = case.get("better") or {}
        for name, value in better.items():
            mine = s.get(name)
            if mine is not None and value != mine:
                want = f"{'raise' if value > mine else 'lower'}_{name}"
                toward = want in dirs
        if code == 1:
            return Scored(category="false_alarm", reason=f"RISK on a run that {case['outcome']}",
                          toward_better=toward, **base)
        return Scored(category="ok", reason="no RISK on a run that trained", toward_better=toward, **base)
    if case.get("scope") != "in":
        return Scored(category="out_of_scope", reason=f"scope {case.get('scope')}: {case.get('scope_reason', '')}",
                      **base)
    if code == 1:
        return Scored(category="warned", reason="RISK on a run that failed", **base)
    accepts = FIX_ACCEPTS.get(case.get("fix") or "", frozenset())
    if dirs & accepts:
        return Scored(category="advised", reason=f"advice points to the fix ({case['fix']})", **base)
    return Scored(category="missed", reason=f"no RISK, no advice towards {case.get('fix')}", **base)


def _settings_key(case: dict[str, Any]) -> tuple:
    s = case["settings"]
    return (s.get("beta1"), s.get("beta2"), s.get("eps"), s.get("batch_size"), s.get("batch_tokens"),
            s.get("seq_len"), s.get("max_steps"), case["domain"], case["outcome"])


def score_case(case: dict[str, Any], check: Callable[..., Any] | None = None) -> Scored:
    """Ask the check about one case and classify the answer."""
    if check is None:
        from adamcheck.configs import check_values as check
    kwargs, notes = check_inputs(case, inspect.signature(check).parameters)
    base = dict(id=case["id"], kind=case["kind"], domain=case["domain"], outcome=case["outcome"],
                in_check_evidence=case["in_check_evidence"], settings_key=_settings_key(case))
    if kwargs is None:
        return Scored(category="not_scorable", exit_code=None, reason=notes[0], **base)
    try:
        report = check(**kwargs)
    except Exception as exc:  # a refusal is a result to report, not a crash of the scorer
        from adamcheck import AdamCheckError

        gaps = [k for k in ("batch_size", "beta1", "beta2") if k not in kwargs]
        if gaps and isinstance(exc, AdamCheckError):
            # the check may take a partial set of values (eps on its own) and refuse the rest:
            # the source gave too little to score, as when the parameter is required
            return Scored(category="not_scorable", exit_code=None,
                          reason=f"the source gives no {', '.join(gaps)} (the check: {exc})", notes=notes, **base)
        return Scored(category="error", exit_code=None, reason=f"{type(exc).__name__}: {exc}", notes=notes, **base)
    return classify(case, report, notes)


def score(cases: list[dict[str, Any]], check: Callable[..., Any] | None = None) -> list[Scored]:
    """Score every case."""
    return [score_case(c, check) for c in cases]


# ----------------------------------------------------------------------------- totals and output

def totals(results: list[Scored]) -> dict[str, Any]:
    """The figures the docs report, for all cases and for the held-out ones (not in the check's table)."""
    def block(rs: list[Scored]) -> dict[str, Any]:
        trained = [r for r in rs if r.outcome in TRAINED_LIKE and r.category in ("ok", "false_alarm")]
        fa = [r for r in trained if r.category == "false_alarm"]
        inscope = [r for r in rs if r.category in ("warned", "advised", "missed")]
        worse = [r for r in trained if r.outcome == "worse" and r.toward_better is not None]
        return {
            "trained_scored": len(trained),
            "false_alarms": len(fa),
            "false_alarm_rate": round(len(fa) / len(trained), 4) if trained else None,
            "trained_distinct_settings": len({r.settings_key for r in trained}),
            "false_alarm_distinct_settings": len({r.settings_key for r in fa}),
            "failures_in_scope_scored": len(inscope),
            "warned": sum(r.category == "warned" for r in inscope),
            "advised": sum(r.category == "advised" for r in inscope),
            "missed": sum(r.category == "missed" for r in inscope),
            "out_of_scope": sum(r.category == "out_of_scope" for r in rs),
            "not_scorable": sum(r.category == "not_scorable" for r in rs),
            "errors": sum(r.category == "error" for r in rs),
            "worse_with_advice_toward_better": sum(bool(r.toward_better) for r in worse),
            "worse_with_a_better_setting": len(worse),
        }
    return {"all": block(results), "held_out": block([r for r in results if not r.in_check_evidence])}


def corpus_counts(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Cases by kind x outcome, by domain, and failures by scope."""
    by_kind = {k: Counter(c["outcome"] for c in cases if c["kind"] == k) for k in KINDS}
    return {
        "cases": len(cases),
        "by_kind_outcome": {k: {o: by_kind[k].get(o, 0) for o in OUTCOMES} for k in KINDS},
        "by_domain": dict(Counter(c["domain"] for c in cases)),
        "failures_by_scope": dict(Counter(c.get("scope") for c in cases if c["outcome"] in FAILURES)),
        "checked": dict(Counter(c["checked"] for c in cases)),
        "in_check_evidence": sum(c["in_check_evidence"] for c in cases),
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def render_text(cases: list[dict[str, Any]], results: list[Scored], debug: bool = False) -> str:
    counts, tot = corpus_counts(cases), totals(results)
    lines = [f"Field corpus: {counts['cases']} cases ({counts['in_check_evidence']} also in the check's own evidence table)", ""]
    lines.append(f"{'kind':<18}" + "".join(f"{o:>10}" for o in OUTCOMES) + f"{'total':>8}")
    for k in KINDS:
        row = counts["by_kind_outcome"][k]
        lines.append(f"{k:<18}" + "".join(f"{row[o]:>10}" for o in OUTCOMES) + f"{sum(row.values()):>8}")
    lines.append("")
    for label, t in (("all cases", tot["all"]), ("held out (not in the check's table)", tot["held_out"])):
        lines.append(f"{label}:")
        lines.append(f"  false alarms (RISK on a run that trained): {t['false_alarms']} / {t['trained_scored']} "
                     f"({_pct(t['false_alarm_rate'])}); distinct settings {t['false_alarm_distinct_settings']} / "
                     f"{t['trained_distinct_settings']}")
        lines.append(f"  in-scope failures: {t['failures_in_scope_scored']} scored: {t['warned']} warned (RISK), "
                     f"{t['advised']} advised (advice towards the fix), {t['missed']} missed")
        lines.append(f"  out of scope: {t['out_of_scope']}; not scorable: {t['not_scorable']}; errors: {t['errors']}")
        lines.append(f"  worse runs whose advice points to the better setting: "
                     f"{t['worse_with_advice_toward_better']} / {t['worse_with_a_better_setting']}")
    lines.append("")
    lines.append(f"{'case':<42}{'outcome':<10}{'exit':>5}  result")
    for r in results:
        exit_ = "-" if r.exit_code is None else str(r.exit_code)
        lines.append(f"{r.id:<42}{r.outcome:<10}{exit_:>5}  {r.category}")
    if debug:
        lines += ["", "Misses, false alarms and errors (what the check said):"]
        for r in results:
            if r.category in ("missed", "false_alarm", "error"):
                lines.append(f"- {r.id} [{r.category}] {r.reason}; directions {r.directions or '[]'}; "
                             f"{'; '.join(r.notes)}\n    check: {r.says}")
    return "\n".join(lines)


_MD_INTRO = """# Field corpus: `check` against public training outcomes

The field corpus is a set of public training runs: the Adam settings each one used and what
happened to it, every value taken from its source (a framework's config file at a commit, a
paper's section or table, an issue or PR thread). It lives in `benchmarks/field/cases.yaml`
(schema at the top of the file; how cases were collected and how to add one:
`benchmarks/field/README.md`). `benchmarks/field/score.py` asks `adamcheck check` about each
case through `adamcheck.configs.check_values` with the case's own numbers and compares the
answer with the outcome:

* a RISK (exit 1) on a run that trained is a **false alarm**;
* on a failure the source attributes to β1, β2 or eps (in scope), a RISK is **warned**, an
  exit 0 whose advice points the way the fix went is **advised**, anything else **missed**;
* failures caused by something else (learning rate, precision overflow, a kernel) are
  listed, not scored; cases whose source does not give β1, β2 or the batch are not scorable.

Cases marked *in the check's table* are also rows of adamcheck's own evidence table
(`adamcheck.recommend.EVIDENCE`), so scoring `check` on them is not a held-out test; the
held-out figures leave them out. Distinct settings count identical
(β1, β2, eps, batch, length, steps, domain, outcome) tuples once, since several shipped
configs share one set of values.

This page is generated: `python benchmarks/field/score.py --markdown > docs/field.md`.
"""


def render_markdown(cases: list[dict[str, Any]], results: list[Scored]) -> str:
    counts, tot = corpus_counts(cases), totals(results)
    import adamcheck

    out = [_MD_INTRO, "## The corpus", ""]
    out.append(f"{counts['cases']} cases; {counts['in_check_evidence']} are in the check's table; "
               f"values read in the source itself: {counts['checked'].get('read', 0)}, from a secondary "
               f"summary (to re-check): {counts['checked'].get('secondary', 0)}.")
    out += ["", "| kind | " + " | ".join(OUTCOMES) + " | total |", "|---|" + "---:|" * (len(OUTCOMES) + 1)]
    for k in KINDS:
        row = counts["by_kind_outcome"][k]
        out.append(f"| {k} | " + " | ".join(str(row[o]) for o in OUTCOMES) + f" | {sum(row.values())} |")
    out += ["", "By domain: " + ", ".join(f"{d} {n}" for d, n in sorted(counts["by_domain"].items())) + ". "
            "Failures by scope: " + ", ".join(f"{s} {n}" for s, n in sorted(counts["failures_by_scope"].items())) + "."]
    out += ["", f"## Scores of `check` (adamcheck {getattr(adamcheck, '__version__', '?')})", ""]
    out += ["| | all cases | held out |", "|---|---|---|"]
    a, h = tot["all"], tot["held_out"]
    out.append(f"| false alarms on runs that trained | {a['false_alarms']} / {a['trained_scored']} "
               f"({_pct(a['false_alarm_rate'])}) | {h['false_alarms']} / {h['trained_scored']} ({_pct(h['false_alarm_rate'])}) |")
    out.append(f"| the same, distinct settings | {a['false_alarm_distinct_settings']} / {a['trained_distinct_settings']} "
               f"| {h['false_alarm_distinct_settings']} / {h['trained_distinct_settings']} |")
    out.append(f"| in-scope failures warned (RISK) | {a['warned']} / {a['failures_in_scope_scored']} | "
               f"{h['warned']} / {h['failures_in_scope_scored']} |")
    out.append(f"| in-scope failures advised (exit 0, advice towards the fix) | {a['advised']} | {h['advised']} |")
    out.append(f"| in-scope failures missed | {a['missed']} | {h['missed']} |")
    out.append(f"| worse runs whose advice points to the better setting | {a['worse_with_advice_toward_better']} / "
               f"{a['worse_with_a_better_setting']} | {h['worse_with_advice_toward_better']} / {h['worse_with_a_better_setting']} |")
    out.append(f"| out of scope (listed below) | {a['out_of_scope']} | {h['out_of_scope']} |")
    out.append(f"| not scorable (listed below) | {a['not_scorable']} | {h['not_scorable']} |")
    out.append(f"| errors | {a['errors']} | {h['errors']} |")

    def table(title: str, rows: list[Scored], what: Callable[[Scored], str]) -> None:
        out.extend(["", f"## {title}", ""])
        if not rows:
            out.append("None.")
            return
        out.extend(["| case | outcome | in the check's table | " + str(what.__doc__) + " |", "|---|---|---|---|"])
        for r in rows:
            out.append(f"| `{r.id}` | {r.outcome} | {'yes' if r.in_check_evidence else 'no'} | "
                       + what(r).replace("|", "/") + " |")

    def said(r: Scored) -> str:
        """what the check said"""
        return r.says

    def why(r: Scored) -> str:
        """reason"""
        return r.reason

    table("False alarms (RISK on a run that trained)", [r for r in results if r.category == "false_alarm"], said)
    table("Missed in-scope failures", [r for r in results if r.category == "missed"], said)
    table("Advised in-scope failures", [r for r in results if r.category == "advised"], said)
    table("Warned in-scope failures", [r for r in results if r.category == "warned"], said)
    table("Errors", [r for r in results if r.category == "error"], why)
    table("Out of scope (not scored)", [r for r in results if r.category == "out_of_scope"], why)
    table("Not scorable", [r for r in results if r.category == "not_scorable"], why)
    return "\n".join(out) + "\n"


def to_json(cases: list[dict[str, Any]], results: list[Scored], seconds: float) -> dict[str, Any]:
    rows = []
    for r in results:
        d = asdict(r)
        d.pop("settings_key")
        rows.append(d)
    return {"schema": "adamcheck.field-score/1", "corpus": corpus_counts(cases), "totals": totals(results),
            "seconds": round(seconds, 2), "cases": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score `adamcheck check` on the field corpus.")
    parser.add_argument("--corpus", default=str(CORPUS), help="the corpus YAML (default: %(default)s)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print everything as JSON")
    group.add_argument("--markdown", action="store_true", help="print the docs page (docs/field.md)")
    parser.add_argument("--debug", action="store_true", help="one line per miss / false alarm with the check's words")
    args = parser.parse_args(argv)
    try:
        cases = load_corpus(args.corpus)
    except (CorpusError, OSError) as exc:
        print(f"score.py: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    results = score(cases)
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps(to_json(cases, results, seconds), indent=1))
    elif args.markdown:
        print(render_markdown(cases, results), end="")
    else:
        print(render_text(cases, results, debug=args.debug))
        print(f"\n{len(cases)} cases scored in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
