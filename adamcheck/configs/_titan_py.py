"""Reader for torchtitan's Python config registries (2026: ``config_registry.py`` of each
model, and ``train_configs/*.py`` with ``default_config = JobConfig(...)``), which
replaced the TOML train configs.

The file is parsed with :mod:`ast` and never executed. A *preset* is a top-level
function whose ``return`` is a config call (``Trainer.Config(...)``) or a variable
built from one, possibly starting from another preset of the same file
(``config = llama3_debugmodel()`` then ``config.optimizer = ...``), or a top-level
assignment of a config call (``default_config = JobConfig(...)``). Keyword arguments
become the sections the TOML reader knows. Two generations are read:

* early 2026: ``optimizer=OptimizersContainer.Config(lr=..., beta1=..., beta2=..., eps=...,
  weight_decay=..., name=...)`` (defaults AdamW, 0.9, 0.95, 1e-8, 0.1) and
  ``training=TrainingConfig(local_batch_size=..., global_batch_size=..., seq_len=...,
  steps=...)`` (defaults 8 sequences, 2048 tokens, 10,000 steps), as in :mod:`._torchtitan`;
* August 2026: ``optimizer=default_adamw(lr=..., **kwargs)`` (AdamW, betas (0.9, 0.95),
  eps 1e-8, weight decay 0.1) or ``OptimizersContainer.Config(param_groups=[ParamGroupConfig(
  pattern, optimizer_name, optimizer_kwargs)])`` (the catch-all group is checked; a
  non-Adam group is not covered), and a token-counted ``TrainingConfig(
  num_tokens_per_microbatch_per_dp_rank=16384, num_tokens_per_train_step=-1,
  max_context_length=2048)``: sequences per micro-batch = tokens per rank /
  max_context_length (torchtitan packs documents into full windows).

A value that is not a literal or constant arithmetic (a call, a name) is left
unresolved, never guessed; an optimizer built by a helper function is refused (or
reported not covered when its name says Muon, Dion...), and a preset without an
optimizer or training section at its top level (an RL ``Controller.Config``) is refused.

With several presets in a file, ``--preset NAME`` picks one; without it the error
lists them.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from .._errors import ConfigError
from ._names import NOT_ADAM_HINTS, not_covered
from ._nanogpt import _Evaluator
from ._readutil import parse_python
from ._setup import Sourced, TrainingSetup
from ._torchtitan import read_torchtitan_dict

__all__ = ["read_titan_python", "titan_python_evidence", "presets"]

_SECTIONS = ("optimizer", "training", "parallelism")


class _Opaque:
    """A value the file computes (not a literal): reported, never evaluated."""

    def __init__(self, line: int, text: str) -> None:
        self.line, self.text = line, text


def titan_python_evidence(tree: ast.Module) -> list[str]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torchtitan"):
            found.append(f"from {node.module} import")
    return found


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_call_name(node.value)}.{node.attr}"
    return "?"


#: Helper functions of the 2026 registries that build an optimizer config.
_OPTIMIZER_HELPERS = ("default_adamw",)


def _is_config_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = _call_name(node.func)
    return name.endswith("Config") or name.split(".")[-1] in _OPTIMIZER_HELPERS


def _value(node: ast.AST, src: str) -> Any:
    if isinstance(node, (ast.List, ast.Tuple)) and any(_is_config_call(e) for e in node.elts):
        return [_value(e, src) for e in node.elts]
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {k.value: _value(v, src) for k, v in zip(node.keys, node.values)}  # type: ignore[union-attr]
    if _is_config_call(node):
        out: dict[str, Any] = {"__class__": _call_name(node.func), "__line__": node.lineno}  # type: ignore[attr-defined]
        for kw in node.keywords:  # type: ignore[attr-defined]
            if kw.arg is not None:
                out[kw.arg] = _value(kw.value, src)
        return out
    try:  # literals and constant arithmetic (8 * 2048), as in nanoGPT configs
        return _Evaluator("<registry>").value(node)
    except (ConfigError, RecursionError):
        return _Opaque(getattr(node, "lineno", 0), ast.get_source_segment(src, node) or type(node).__name__)


def presets(source: str, name: str) -> dict[str, dict[str, Any]]:
    """Every preset of the file: ``{preset name: {section: {key: value}}}``.

    Example:
        >>> src = ("from torchtitan.trainer import Trainer\\n"
        ...        "def small() -> Trainer.Config:\\n"
        ...        "    return Trainer.Config(training=TrainingConfig(local_batch_size=8, seq_len=2048))\\n"
        ...        "def small_lr() -> Trainer.Config:\\n"
        ...        "    config = small()\\n"
        ...        "    config.optimizer = OptimizersContainer.Config(lr=1e-4)\\n"
        ...        "    return config\\n")
        >>> sorted(presets(src, "r.py"))
        ['small', 'small_lr']
        >>> presets(src, "r.py")["small_lr"]["optimizer"]["lr"]
        0.0001
    """
    tree = parse_python(source, name)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    found: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and _is_config_call(node.value) and not node.targets[0].id.startswith("_"):
            found[node.targets[0].id] = _value(node.value, source)
    cache: dict[str, Any] = {}

    def build(fname: str, depth: int = 0) -> Any:
        if fname in cache:
            return cache[fname]
        if depth > 8:
            return None
        cache[fname] = None
        env: dict[str, Any] = {}
        result = None
        for stmt in funcs[fname].body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
                if isinstance(target, ast.Name):
                    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in funcs:
                        base = build(value.func.id, depth + 1)
                        env[target.id] = _copy(base) if base is not None else None
                    elif _is_config_call(value):
                        env[target.id] = _value(value, source)
                elif isinstance(target, ast.Attribute):
                    path = []
                    node = target
                    while isinstance(node, ast.Attribute):
                        path.append(node.attr)
                        node = node.value
                    if isinstance(node, ast.Name) and isinstance(env.get(node.id), dict):
                        _assign(env[node.id], list(reversed(path)), _value(value, source))
            elif isinstance(stmt, ast.Return) and stmt.value is not None:
                if isinstance(stmt.value, ast.Name):
                    result = env.get(stmt.value.id)
                elif _is_config_call(stmt.value):
                    result = _value(stmt.value, source)
                elif isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id in funcs:
                    result = _copy(build(stmt.value.func.id, depth + 1))
        cache[fname] = result
        return result

    for fname in funcs:
        if not fname.startswith("_"):
            built = build(fname)
            if isinstance(built, dict):
                found[fname] = built
    return found


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _assign(root: dict[str, Any], path: list[str], value: Any) -> None:
    node = root
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


#: ``default_adamw``'s values (torchtitan 2026-08, components/optimizer/optimizer.py).
DEFAULT_ADAMW = {"lr": 8e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}


def _adam_kwargs(kwargs: dict[str, Any], label: str) -> dict[str, Any]:
    """torch-style optimizer kwargs (``betas``) -> the TOML reader's names (beta1, beta2)."""
    out = {k: v for k, v in kwargs.items() if k in ("lr", "eps", "weight_decay")}
    betas = kwargs.get("betas")
    if isinstance(betas, (list, tuple)) and len(betas) == 2:
        out["beta1"], out["beta2"] = betas
    elif betas is not None:
        out["beta1"] = out["beta2"] = _Opaque(0, f"betas = {betas!r} in {label}")
    return out


def _optimizer_section(opt: Any, where: str, notes: list[str]) -> dict[str, Any]:
    if not isinstance(opt, dict):
        return {}
    cls = str(opt.get("__class__", ""))
    if cls.split(".")[-1] == "default_adamw":
        merged = dict(DEFAULT_ADAMW)
        merged.update({k: v for k, v in opt.items() if not k.startswith("__")})
        notes.append(f"{where}: optimizer=default_adamw(...): AdamW with betas (0.9, 0.95), eps 1e-8, weight decay 0.1 "
                     "unless overridden (torchtitan 2026-08)")
        given = {k for k in opt if not k.startswith("__")}
        defaulted = {"lr": "lr", "eps": "eps", "weight_decay": "weight_decay"}
        section = {"name": "AdamW", **_adam_kwargs(merged, "default_adamw")}
        section["__defaults__"] = [f for k, f in defaulted.items() if k not in given] + (
            ["beta1", "beta2"] if "betas" not in given else [])
        return section
    groups = opt.get("param_groups")
    if isinstance(groups, list) and groups:
        kinds = {str(g.get("optimizer_name", "AdamW")) for g in groups if isinstance(g, dict)}
        if not kinds <= {"Adam", "AdamW"}:
            raise not_covered(f"param groups using {', '.join(sorted(kinds - {'Adam', 'AdamW'}))}", f"{where}: optimizer")
        catch_all = [g for g in groups if isinstance(g, dict) and g.get("pattern") in (".*", r".*")]
        group = catch_all[-1] if catch_all else groups[-1]
        if len(groups) > 1:
            notes.append(f"{where}: {len(groups)} optimizer param groups; the checks use the catch-all group "
                         f"(pattern {group.get('pattern')!r}); the others may use other betas")
        kwargs = group.get("optimizer_kwargs") if isinstance(group, dict) else None
        section = _adam_kwargs(kwargs if isinstance(kwargs, dict) else {}, "param_groups")
        section["name"] = str(group.get("optimizer_name", "AdamW"))
        return section
    inner = opt.get("default")
    if isinstance(inner, dict):  # OptimizersContainer.Config(default=AdamW.Config(...))
        kind = str(inner.get("__class__", "")).split(".")[-2:-1] or ["AdamW"]
        section = {k: v for k, v in inner.items() if not k.startswith("__")}
        section.setdefault("name", kind[0])
        return section
    lowered = cls.lower()
    if any(h in lowered for h in NOT_ADAM_HINTS):
        raise not_covered(f"{cls}", f"{where}: optimizer")
    return {k: v for k, v in opt.items() if not k.startswith("__")}


#: TrainingConfig fields of the token-based schema (torchtitan 2026-08, config/configs.py)
#: and their defaults; the earlier schema counted sequences (local_batch_size, seq_len).
TOKEN_FIELDS = {"num_tokens_per_microbatch_per_dp_rank": 16384, "num_tokens_per_train_step": -1, "max_context_length": 2048}


def _token_schema(training: dict[str, Any], source: str) -> bool | None:
    """True for the token-based TrainingConfig, False for the sequence-based one, None unknown."""
    if any(k in training for k in TOKEN_FIELDS):
        return True
    if any(k in training for k in ("local_batch_size", "batch_size", "seq_len", "global_batch_size")):
        return False
    if any(k in source for k in (*TOKEN_FIELDS, "default_adamw")):
        return True
    if any(k in source for k in ("local_batch_size", "seq_len")):
        return False
    return None


def read_titan_python(source: str, name: str, preset: str | None = None) -> TrainingSetup:
    """Read one preset of a torchtitan Python config registry.

    Example:
        >>> src = ("from torchtitan.config import TrainingConfig\\n"
        ...        "def llama3_8b() -> Trainer.Config:\\n"
        ...        "    return Trainer.Config(optimizer=OptimizersContainer.Config(lr=3e-4),\\n"
        ...        "        training=TrainingConfig(local_batch_size=1, seq_len=8192, steps=1000))\\n")
        >>> s = read_titan_python(src, "config_registry.py")
        >>> s.get("micro_batch"), s.get("seq_len"), s.get("beta2"), s.files
        (1, 8192, 0.95, ['config_registry.py [preset llama3_8b]'])
    """
    found = presets(source, name)
    preset = _pick_preset(found, name, preset)
    config = found[preset]
    label = f"{name} [preset {preset}]"
    _check_preset(config, label)
    table, opaque, notes, defaults_of_helper = _sections(config, label)
    schema = _token_schema(table.get("training", {}), source)
    token_sources: dict[str, str] = {}
    if schema is True:
        table["training"], token_sources = _tokens_to_sequences(table.get("training", {}), label, opaque)
    setup = read_torchtitan_dict(table, label)
    setup.notes.extend(notes)
    if isinstance(config.get("optimizer"), dict) and str(config["optimizer"].get("__class__", "")).endswith("default_adamw"):
        setup.optimizer = Sourced("AdamW", f"{label}: optimizer=default_adamw(...)")
    for field in defaults_of_helper:
        item = getattr(setup, field)
        if item is not None:
            setattr(setup, field, replace(item, source=f"default of torchtitan default_adamw (2026-08; {field})", weak=True))
    for field, text in token_sources.items():
        item = getattr(setup, field)
        if item is not None:
            setattr(setup, field, replace(item, source=text, weak=text.startswith("default")))
    if schema is None:
        why = (f"{label} states no batch fields and torchtitan's TrainingConfig changed in 2026 (local_batch_size 8 x "
               "seq_len 2048 before, 16384 tokens per micro-batch since): pass micro_batch_size and seq_len (CLI --micro-batch-size, --seq-len)")
        for field in ("micro_batch", "seq_len"):
            setattr(setup, field, None)
            setup.unresolved[field] = why
    _unresolve_computed(setup, opaque)
    _python_sources(setup)
    setup.format = "torchtitan"
    setup.notes.append(f"{name}: preset {preset} of {len(found)} ({', '.join(found)}); parsed, never run")
    return setup


def _pick_preset(found: dict[str, Any], name: str, preset: str | None) -> str:
    """The preset to read: the one asked for, or the only one the file defines."""
    if not found:
        raise ConfigError(
            f"{name} imports torchtitan but defines no preset (a function returning a config such as "
            "Trainer.Config(...), or NAME = JobConfig(...)): give the file that defines the training config"
        )
    if preset is None:
        if len(found) > 1:
            raise ConfigError(
                f"{name} defines {len(found)} torchtitan presets: pass preset (CLI --preset NAME), one of {', '.join(found)}"
            )
        return next(iter(found))
    if preset not in found:
        raise ConfigError(f"{name} has no preset {preset!r}: pass preset (CLI --preset) with one of {', '.join(found)}")
    return preset


def _check_preset(config: dict[str, Any], label: str) -> None:
    """Refuse a preset without a top-level optimizer or training, or whose optimizer is computed."""
    if not any(k in config for k in _SECTIONS[:2]):
        nested = [k for k, v in config.items() if isinstance(v, dict) and any(s in v for s in _SECTIONS[:2])]
        where = f" (they are nested under {', '.join(nested)})" if nested else ""
        raise ConfigError(
            f"{label} ({config.get('__class__', 'a config')}) sets no optimizer or training at its top level{where}: "
            "adamcheck reads Trainer.Config/JobConfig presets, where the batch is the trainer's; for other "
            "presets (RL controllers...) pass micro_batch_size and seq_len (CLI --micro-batch-size, --seq-len) with a Trainer preset"
        )
    raw_opt = config.get("optimizer")
    if isinstance(raw_opt, _Opaque):
        if any(h in raw_opt.text.lower() for h in NOT_ADAM_HINTS):
            raise not_covered(f"optimizer = {raw_opt.text.split('(')[0]}(...)", label)
        raise ConfigError(
            f"{label} line {raw_opt.line}: optimizer = {raw_opt.text.split(chr(10))[0][:60]} is computed by a function "
            "adamcheck does not run: write the optimizer config inline (OptimizersContainer.Config or default_adamw)"
        )


def _sections(config: dict[str, Any], label: str) -> tuple[dict[str, Any], dict[str, str], list[str], list[str]]:
    """The preset's sections as the TOML reader's table of literals; the computed values (why each
    is not read), notes, and the fields a ``default_adamw(...)`` helper left at its defaults."""
    table: dict[str, Any] = {}
    opaque: dict[str, str] = {}
    notes: list[str] = []
    defaults_of_helper: list[str] = []
    for section in _SECTIONS:
        raw = config.get(section)
        values = _optimizer_section(raw, label, notes) if section == "optimizer" else (
            {k: v for k, v in raw.items() if not k.startswith("__")} if isinstance(raw, dict) else {})
        clean = {}
        helper_defaults = values.pop("__defaults__", None) if isinstance(values, dict) else None
        if helper_defaults is not None:
            defaults_of_helper = helper_defaults
        for key, value in values.items():
            if isinstance(value, _Opaque):
                opaque[f"{section}.{key}"] = f"{label} line {value.line}: {section}.{key} = {value.text} is computed, not a literal"
            elif not isinstance(value, dict):
                clean[key] = value
        if clean or section in ("optimizer", "training"):
            table[section] = clean
    return table, opaque, notes, defaults_of_helper


#: the setup field each preset key fills
_FIELDS = {"optimizer.weight_decay": "weight_decay", "optimizer.beta1": "beta1", "optimizer.beta2": "beta2",
           "optimizer.eps": "eps", "optimizer.lr": "lr", "training.local_batch_size": "micro_batch",
           "training.seq_len": "seq_len", "training.steps": "max_steps", "training.global_batch_size": "global_batch"}


def _unresolve_computed(setup: TrainingSetup, opaque: dict[str, str]) -> None:
    """Computed values are unresolved (never a default in their place); other computed keys warn."""
    for key in ("optimizer.param_groups", "optimizer.default"):
        if key in opaque:  # the optimizer's values are computed: none of its defaults apply
            for field in ("optimizer", "beta1", "beta2", "eps", "weight_decay", "lr"):
                setattr(setup, field, None)
                setup.unresolved[field] = opaque.pop(key) if key in opaque else setup.unresolved["optimizer"]
    for key, why in opaque.items():
        if key in _FIELDS:
            setattr(setup, _FIELDS[key], None)
            setup.unresolved[_FIELDS[key]] = why
        else:
            setup.warnings.append(f"{why}; adamcheck does not read it")


def _python_sources(setup: TrainingSetup) -> None:
    """Sources in the Python configs' words (OptimizersContainer.Config, TrainingConfig, dotted keys)."""
    for field in ("optimizer", "beta1", "beta2", "eps", "weight_decay", "lr", "micro_batch", "seq_len", "max_steps"):
        item = getattr(setup, field)
        if item is not None:
            source = item.source.replace("default of torchtitan JobConfig ([optimizer] ", "default of torchtitan OptimizersContainer.Config (")
            source = source.replace("default of torchtitan JobConfig ([training] ", "default of torchtitan TrainingConfig (")
            source = source.replace(": [optimizer] ", ": optimizer.").replace(": [training] ", ": training.")
            setattr(setup, field, replace(item, source=source))


def _tokens_to_sequences(
    training: dict[str, Any], label: str, opaque: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The token-based TrainingConfig as the sequence fields the TOML reader knows.

    torchtitan packs documents into ``max_context_length`` windows, so a micro-batch of
    ``num_tokens_per_microbatch_per_dp_rank`` tokens is that many / max_context_length
    sequences per data-parallel rank; ``num_tokens_per_train_step`` (when > 0) fixes the
    global batch the same way.
    """
    out = {k: v for k, v in training.items() if k not in TOKEN_FIELDS}
    sources: dict[str, str] = {}

    def get(key: str) -> tuple[Any, str]:
        if key in training:
            return training[key], f"{label}: training.{key} = {training[key]}"
        return TOKEN_FIELDS[key], f"default of torchtitan TrainingConfig (2026-08: {key} = {TOKEN_FIELDS[key]})"

    if any(f"training.{k}" in opaque for k in TOKEN_FIELDS):
        return out, sources
    ctx, ctx_src = get("max_context_length")
    per_rank, rank_src = get("num_tokens_per_microbatch_per_dp_rank")
    step, step_src = get("num_tokens_per_train_step")
    for value, src in ((ctx, ctx_src), (per_rank, rank_src)):
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{src} must be a positive integer: fix the preset")
    if per_rank % ctx:
        raise ConfigError(
            f"{rank_src} is not a whole number of {ctx}-token windows ({ctx_src}): adamcheck counts sequences; "
            "pass micro_batch_size and seq_len (CLI --micro-batch-size, --seq-len)"
        )
    out["seq_len"] = ctx
    sources["seq_len"] = f"{ctx_src} (packed windows)"
    out["local_batch_size"] = per_rank // ctx
    sources["micro_batch"] = f"{rank_src} / max_context_length {ctx} tokens"
    if isinstance(step, int) and step > 0:
        if step % ctx:
            raise ConfigError(f"{step_src} is not a whole number of {ctx}-token windows: pass global_batch_size (CLI --global-batch-size)")
        out["global_batch_size"] = step // ctx
        sources["global_batch"] = f"{step_src} / max_context_length {ctx} tokens"
    return out, sources
