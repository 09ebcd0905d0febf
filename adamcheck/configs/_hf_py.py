"""Reader for Hugging Face / TRL training arguments written in Python: the keyword
arguments of a ``TrainingArguments(...)``, ``Seq2SeqTrainingArguments(...)``,
``SFTConfig(...)``, ``DPOConfig(...)``, ``GRPOConfig(...)``... call in a training
script or notebook export.

The file is parsed with :mod:`ast` and never run. A keyword whose value is a literal
(``adam_beta2=0.95``, ``learning_rate=2e-4``, ``-1``) is read; one whose value is a
variable, an attribute or an expression (``adam_beta2=args.beta2``, ``lr * 2``) is
reported as unresolved, never guessed. ``**d`` is expanded when ``d`` is a literal
dict (``{...}`` or ``dict(a=1)``) written in the call or bound once in the file to
one; any other ``**`` leaves every value the call does not spell out unresolved
(it could come from there). A later ``args.adam_beta2 = 0.98`` on the variable that
holds the call replaces the value, as it would at run time; in a branch or loop it
is unresolved. Defaults are TrainingArguments', or the TRL config's where it
changes them (:data:`._hf.TRL_DEFAULTS`).

Two such calls in one file are refused: adamcheck cannot tell which one trains.
"""

from __future__ import annotations

import ast
from typing import Any

from .._errors import ConfigError
from ._hf import TRL_DEFAULTS, read_hf_dict
from ._readutil import parse_python
from ._setup import TrainingSetup

__all__ = ["read_hf_python", "hf_python_calls", "HF_CONFIG_CLASSES"]

#: The classes whose keyword arguments are TrainingArguments fields.
HF_CONFIG_CLASSES = frozenset(TRL_DEFAULTS)
_ARGPARSERS = {"HfArgumentParser", "TrlParser", "ArgumentParser"}
#: TrainingArguments keys -> the setup fields read_hf_dict fills from them.
_FIELDS = {
    "adam_beta1": ("beta1",), "adam_beta2": ("beta2",), "adam_epsilon": ("eps",), "weight_decay": ("weight_decay",),
    "learning_rate": ("lr",), "per_device_train_batch_size": ("micro_batch",),
    "per_gpu_train_batch_size": ("micro_batch",), "gradient_accumulation_steps": ("grad_accum",),
    "optim": ("optimizer",), "max_steps": ("max_steps",), "num_train_epochs": ("num_epochs",),
    "max_seq_length": ("seq_len",), "max_length": ("seq_len",), "block_size": ("seq_len",),
    "model_max_length": ("seq_len",),
}


def _class_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def hf_python_calls(tree: ast.AST) -> list[ast.Call]:
    """Calls of the TrainingArguments / TRL config classes, in source order."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _class_name(n.func) in HF_CONFIG_CLASSES]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _bindings(tree: ast.AST) -> dict[str, list[ast.AST]]:
    """Every statement that binds each name (assignments, loops, imports, with, def...)."""
    out: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    out.setdefault(sub.id, []).append(node)
    return out


def _literal_dict(node: ast.expr, bindings: dict[str, list[ast.AST]]) -> dict[str, ast.expr] | None:
    """The (key -> value node) of a dict literal / dict(...) call, or of a name bound
    exactly once, to such a dict, and never changed; else None."""
    if isinstance(node, ast.Name):
        binds = bindings.get(node.id, [])
        if len(binds) != 1 or not isinstance(binds[0], ast.Assign) or len(binds[0].targets) != 1:
            return None
        return _literal_dict(binds[0].value, {})
    if isinstance(node, ast.Dict):
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
            return None
        return {k.value: v for k, v in zip(node.keys, node.values)}  # type: ignore[union-attr]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            return None
        return {kw.arg: kw.value for kw in node.keywords}  # type: ignore[misc]
    return None


def _mutated(tree: ast.AST, var: str) -> bool:
    """Whether the dict bound to ``var`` is changed in place (``d["k"] = ...``, ``d.update``)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == var:
                    return True
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == var and node.func.attr in ("update", "pop", "setdefault", "clear", "__setitem__")):
            return True
    return False


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    return {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def read_hf_python(text: str, name: str) -> TrainingSetup:
    """Read the literal keyword arguments of the one TrainingArguments/TRL config call in ``text``.

    Example:
        >>> src = "from trl import SFTConfig\\nargs = SFTConfig(per_device_train_batch_size=2,\\n" \\
        ...       "    gradient_accumulation_steps=4, adam_beta2=0.95, learning_rate=lr)\\n"
        >>> s = read_hf_python(src, "train.py")
        >>> s.get("micro_batch"), s.get("grad_accum"), s.get("beta2"), s.get("lr")
        (2, 4, 0.95, None)
        >>> s.beta2.source, s.unresolved["lr"]
        ('train.py line 3: SFTConfig(adam_beta2=0.95)', 'train.py line 3: learning_rate = lr is not a literal (a variable)')
    """
    tree = parse_python(text, name)
    calls = hf_python_calls(tree)
    if not calls:
        raise ConfigError(f"{name}: no TrainingArguments(...) or TRL config call (SFTConfig, DPOConfig...) to read")
    if len(calls) > 1:
        where = ", ".join(f"{_class_name(c.func)} on line {c.lineno}" for c in calls[:4])
        raise ConfigError(
            f"{name} builds its training arguments more than once ({where}): adamcheck cannot tell which one trains; "
            "pass a file with one call, or check the values with adamcheck check --batch-size B --beta1 X --beta2 Y"
        )
    call = calls[0]
    cls = _class_name(call.func) or "TrainingArguments"
    bindings = _bindings(tree)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    unresolved: dict[str, str] = {}
    opaque: str | None = None

    def put(key: str, node: ast.expr, where: str) -> None:
        if key in values or key in unresolved:  # Python: "got multiple values for keyword argument"
            raise ConfigError(f"{where}: {key} is given twice to {cls}: Python refuses the call too; fix the script")
        ok, value = _literal(node)
        if ok:
            values[key] = value
            sources[key] = f"{where}: {cls}({key}={ast.unparse(node)[:40]})"
        else:
            what = "a variable" if isinstance(node, ast.Name) else "an expression"
            unresolved[key] = f"{where}: {key} = {ast.unparse(node)[:60]} is not a literal ({what})"

    for kw in call.keywords:
        where = f"{name} line {kw.value.lineno}"
        if kw.arg is not None:
            put(kw.arg, kw.value, where)
            continue
        entries = _literal_dict(kw.value, bindings)
        if entries is None or (isinstance(kw.value, ast.Name) and _mutated(tree, kw.value.id)):
            opaque = f"{where}: **{ast.unparse(kw.value)[:40]} is not a literal dict in the file"
            continue
        for key, node in entries.items():
            put(key, node, f"{name} line {node.lineno}")

    _later_assignments(tree, call, cls, name, values, sources, unresolved)
    setup = read_hf_dict(values, name, sources=sources, config_class=cls, fmt="hf")
    setup.files = [name]
    for key, why in unresolved.items():
        for field in _FIELDS.get(key, ()):
            setattr(setup, field, None)
            setup.unresolved[field] = why
    if opaque is not None:
        for key, fields in _FIELDS.items():
            for field in fields:
                item = getattr(setup, field)
                if item is not None and item.source.startswith("default of"):
                    setattr(setup, field, None)
                    setup.unresolved[field] = f"{opaque}: {key} may come from it"
    setup.notes.append(f"{name} line {call.lineno}: the keyword arguments of {cls}(...) (parsed, not run)")
    parsers = sorted({_class_name(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)} & _ARGPARSERS)
    if parsers:
        setup.warnings.append(
            f"{name} also parses command-line arguments ({parsers[0]}): values given at launch may replace these; "
            "check the launch line too"
        )
    return setup


def _later_assignments(tree: ast.AST, call: ast.Call, cls: str, name: str, values: dict[str, Any],
                       sources: dict[str, str], unresolved: dict[str, str]) -> None:
    """``args.key = value`` after ``args = Cls(...)``: the value that runs (unresolved in a branch)."""
    parents = _parents(tree)
    holder = parents.get(id(call))
    if not (isinstance(holder, ast.Assign) and len(holder.targets) == 1 and isinstance(holder.targets[0], ast.Name)):
        return
    var = holder.targets[0].id
    scope = parents.get(id(holder))
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AugAssign))),
                       key=lambda n: n.lineno):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == var):
                continue
            key, where = target.attr, f"{name} line {node.lineno}"
            ok, value = _literal(node.value)
            conditional = parents.get(id(node)) is not scope
            values.pop(key, None)
            sources.pop(key, None)
            if ok and isinstance(node, ast.Assign) and not conditional:
                values[key] = value
                sources[key] = f"{where}: {var}.{key} = {ast.unparse(node.value)[:40]} (after {cls}(...))"
                unresolved.pop(key, None)
            else:
                why = "inside a branch or loop" if conditional else "not a literal"
                unresolved[key] = f"{where}: {var}.{key} = {ast.unparse(node.value)[:60]} is {why}"
