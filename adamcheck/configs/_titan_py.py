"""Reader for torchtitan's Python config registries (2026: ``config_registry.py`` of each
model, and ``train_configs/*.py`` with ``default_config = JobConfig(...)``), which
replaced the TOML train configs.

The file is parsed with :mod:`ast` and never executed. A *preset* is a top-level
function whose ``return`` is a config call (``Trainer.Config(...)``) or a variable
built from one, possibly starting from another preset of the same file
(``config = llama3_debugmodel()`` then ``config.optimizer = ...``), or a top-level
assignment of a config call (``default_config = JobConfig(...)``). Keyword arguments
become the same sections the TOML reader knows: ``optimizer=OptimizersContainer.Config(
lr=..., beta1=..., beta2=..., eps=..., weight_decay=..., name=...)``,
``training=TrainingConfig(local_batch_size=..., global_batch_size=..., seq_len=...,
steps=...)``, ``parallelism=ParallelismConfig(...)``; defaults are those of
``OptimizersContainer.Config`` and ``TrainingConfig`` (AdamW, 0.9, 0.95, 1e-8,
weight decay 0.1, local batch 8, seq_len 2048, steps 10000), as in :mod:`._torchtitan`.
A value that is not a literal (a call, a name) is left unresolved, never guessed.

With several presets in a file, ``--preset NAME`` picks one; without it the error
lists them.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from .._errors import ConfigError
from ._names import NOT_ADAM_HINTS, not_covered
from ._setup import TrainingSetup

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


def _is_config_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (_call_name(node.func).endswith("Config") or _call_name(node.func).endswith(".Config"))


def _value(node: ast.AST, src: str) -> Any:
    if _is_config_call(node):
        out: dict[str, Any] = {"__class__": _call_name(node.func), "__line__": node.lineno}  # type: ignore[attr-defined]
        for kw in node.keywords:  # type: ignore[attr-defined]
            if kw.arg is not None:
                out[kw.arg] = _value(kw.value, src)
        return out
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
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
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as exc:
        raise ConfigError(f"{name} line {exc.lineno}: not valid Python ({exc.msg}): fix the file") from None
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    found: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and _is_config_call(node.value):
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


def _optimizer_section(opt: Any, where: str) -> dict[str, Any]:
    if not isinstance(opt, dict):
        return {}
    cls = str(opt.get("__class__", ""))
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
    from ._torchtitan import read_torchtitan_dict

    found = presets(source, name)
    if not found:
        raise ConfigError(
            f"{name} imports torchtitan but defines no preset (a function returning a config such as "
            "Trainer.Config(...), or NAME = JobConfig(...)): give the file that defines the training config"
        )
    if preset is None:
        if len(found) > 1:
            raise ConfigError(
                f"{name} defines {len(found)} torchtitan presets: pass --preset NAME, one of {', '.join(found)}"
            )
        preset = next(iter(found))
    elif preset not in found:
        raise ConfigError(f"{name} has no preset {preset!r}: pass --preset with one of {', '.join(found)}")
    config = found[preset]
    label = f"{name} [preset {preset}]"
    table: dict[str, Any] = {}
    opaque: dict[str, str] = {}
    for section in _SECTIONS:
        raw = config.get(section)
        values = _optimizer_section(raw, label) if section == "optimizer" else (
            {k: v for k, v in raw.items() if not k.startswith("__")} if isinstance(raw, dict) else {})
        clean = {}
        for key, value in values.items():
            if isinstance(value, _Opaque):
                opaque[f"{section}.{key}"] = f"{label} line {value.line}: {section}.{key} = {value.text} is computed, not a literal"
            elif not isinstance(value, dict):
                clean[key] = value
        if clean or section in ("optimizer", "training"):
            table[section] = clean
    setup = read_torchtitan_dict(table, label)
    fields = {"optimizer.beta1": "beta1", "optimizer.beta2": "beta2", "optimizer.eps": "eps", "optimizer.lr": "lr",
              "training.local_batch_size": "micro_batch", "training.seq_len": "seq_len", "training.steps": "max_steps",
              "training.global_batch_size": "global_batch"}
    for key, why in opaque.items():
        if key in fields:
            setattr(setup, fields[key], None)
            setup.unresolved[fields[key]] = why
        else:
            setup.warnings.append(f"{why}; adamcheck does not read it")
    for field in ("optimizer", "beta1", "beta2", "eps", "weight_decay", "lr", "micro_batch", "seq_len", "max_steps"):
        item = getattr(setup, field)
        if item is not None:
            source = item.source.replace("default of torchtitan JobConfig ([optimizer] ", "default of torchtitan OptimizersContainer.Config (")
            source = source.replace("default of torchtitan JobConfig ([training] ", "default of torchtitan TrainingConfig (")
            source = source.replace(": [optimizer] ", ": optimizer.").replace(": [training] ", ": training.")
            setattr(setup, field, replace(item, source=source))
    setup.format = "torchtitan"
    setup.notes.append(f"{name}: preset {preset} of {len(found)} ({', '.join(found)}); parsed, never run")
    return setup
