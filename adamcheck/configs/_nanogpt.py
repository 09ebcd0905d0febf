"""Reader for nanoGPT-style Python config files (``config/train_shakespeare_char.py``).

nanoGPT's ``configurator.py`` runs such a file with ``exec`` over ``train.py``'s
globals. adamcheck never runs it: the file is parsed with :func:`ast.parse` and only
this subset is evaluated, by walking the tree:

* statements: ``name = value`` (also ``name: type = value`` and ``a = b = value``),
  a bare string (a docstring), ``pass``;
* values: int/float/str/bool/None literals, tuples and lists of values, unary ``-``/
  ``+``, binary ``+ - * / // % **`` on numbers (``+`` also joins two strings),
  parentheses, and names assigned earlier in the same file.

Anything else (a call, an import, attribute access, subscripts, comprehensions,
lambdas, f-strings, ``if``...) is never run. :func:`evaluate_literal_config` raises
:class:`ConfigError` naming the line; :func:`read_nanogpt_source` skips such a line with
a note when it sets none of the names read below, and when it assigns one of them
(``gradient_accumulation_steps = int(os.environ.get('GA', 8))``) reports that value as
unresolved (``TrainingSetup.unresolved``: the line and why, never train.py's default in
its place) and reads the rest; a line that could bind any name (``from x import *``,
``exec``) or that leaves ``eval_only`` unknown refuses the file. Sizes are bounded
(``10 ** 10 ** 10`` is refused, not computed).

Keys read (nanoGPT's names): ``batch_size`` (micro batch per GPU), ``block_size``
(tokens per sequence), ``gradient_accumulation_steps`` (over *all* GPUs: train.py
divides it by the DDP world size), ``beta1``, ``beta2``, ``weight_decay``,
``learning_rate``, ``max_iters``. Names the file leaves out take train.py's defaults.
Names train.py does not define give a warning: nanoGPT silently ignores them.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any

from .._errors import ConfigError
from ._readutil import parse_python
from ._setup import Sourced, TrainingSetup

__all__ = ["read_nanogpt_source", "evaluate_literal_config", "NANOGPT_DEFAULTS"]

#: nanoGPT train.py defaults (karpathy/nanoGPT master) for every global it defines.
NANOGPT_DEFAULTS: dict[str, Any] = {
    "out_dir": "out", "eval_interval": 2000, "log_interval": 1, "eval_iters": 200,
    "eval_only": False, "always_save_checkpoint": True, "init_from": "scratch",
    "wandb_log": False, "wandb_project": "owt", "wandb_run_name": "gpt2",
    "dataset": "openwebtext", "gradient_accumulation_steps": 5 * 8, "batch_size": 12,
    "block_size": 1024, "n_layer": 12, "n_head": 12, "n_embd": 768, "dropout": 0.0,
    "bias": False, "learning_rate": 6e-4, "max_iters": 600000, "weight_decay": 1e-1,
    "beta1": 0.9, "beta2": 0.95, "grad_clip": 1.0, "decay_lr": True, "warmup_iters": 2000,
    "lr_decay_iters": 600000, "min_lr": 6e-5, "backend": "nccl", "device": "cuda",
    "dtype": "bfloat16", "compile": True,
}

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MAX_INT_BITS = 256
_MAX_STR = 10_000
_MAX_ITEMS = 10_000



def _parse(source: str, name: str) -> Any:
    """``ast.parse`` (never executed); a syntax error or a nesting bomb is a ConfigError."""
    return parse_python(source, name)

def _kind(node: ast.AST) -> str:
    names = {
        ast.Call: "a function call",
        ast.Import: "an import",
        ast.ImportFrom: "an import",
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a generator",
        ast.JoinedStr: "an f-string",
        ast.FunctionDef: "a function definition",
        ast.ClassDef: "a class definition",
        ast.If: "an if statement",
        ast.For: "a loop",
        ast.While: "a loop",
        ast.With: "a with statement",
        ast.Try: "a try statement",
        ast.AugAssign: "an augmented assignment",
        ast.NamedExpr: "an assignment expression",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.IfExp: "a conditional expression",
        ast.Compare: "a comparison",
        ast.BoolOp: "a boolean operator",
        ast.Starred: "unpacking",
        ast.Await: "await",
        ast.Yield: "yield",
        ast.YieldFrom: "yield",
    }
    return names.get(type(node), f"the {type(node).__name__} construct")


class _Evaluator:
    def __init__(self, name: str) -> None:
        self.name = name
        self.values: dict[str, Any] = {}

    def fail(self, node: ast.AST, what: str) -> ConfigError:
        line = getattr(node, "lineno", "?")
        error = ConfigError(
            f"{self.name} line {line}: {what} is not allowed; adamcheck reads the config "
            "without running it (literals and constant arithmetic only): write the value literally"
        )
        error.what = what  # type: ignore[attr-defined]  # the reason an unresolved value names
        return error

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
                raise self.fail(node, f"a {type(node.value).__name__} literal")
            if isinstance(node.value, int) and not isinstance(node.value, bool):
                self._check_int(node, node.value)
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                error = ConfigError(
                    f"{self.name} line {node.lineno}: name {node.id!r} is not assigned earlier in the "
                    "file: write the value literally"
                )
                error.what = f"name {node.id!r}, not assigned a literal earlier"  # type: ignore[attr-defined]
                raise error
            return self.values[node.id]
        if isinstance(node, (ast.Tuple, ast.List)):
            if len(node.elts) > _MAX_ITEMS:
                raise self.fail(node, "a very long list")
            items = [self.value(e) for e in node.elts]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if not _is_number(operand):
                raise self.fail(node, "a sign on a non-number")
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = self.value(node.left), self.value(node.right)
            return self._binop(node, left, right)
        raise self.fail(node, _kind(node))

    def _check_int(self, node: ast.AST, value: int) -> None:
        if value.bit_length() > _MAX_INT_BITS:
            raise self.fail(node, "an integer this large")

    def _binop(self, node: ast.BinOp, left: Any, right: Any) -> Any:
        if isinstance(left, str) and isinstance(right, str) and isinstance(node.op, ast.Add):
            if len(left) + len(right) > _MAX_STR:
                raise self.fail(node, "a string this long")
            return left + right
        if not (_is_number(left) and _is_number(right)):
            raise self.fail(node, f"{type(node.op).__name__} on non-numbers")
        if isinstance(node.op, ast.Pow):
            # Bound the work before doing it: |exponent| small, result representable.
            if abs(right) > 1024 or (
                left not in (0, 1, -1) and abs(right) * math.log2(abs(left) + 1) > _MAX_INT_BITS * 4
            ):
                raise self.fail(node, "a power this large")
        try:
            result = _BINOPS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise self.fail(node, "division by zero") from None
        except OverflowError:
            raise self.fail(node, "a number this large") from None
        if isinstance(result, complex):
            raise self.fail(node, "a complex result")
        if isinstance(result, int) and not isinstance(result, bool):
            self._check_int(node, result)
        if isinstance(result, float) and not math.isfinite(result):
            raise self.fail(node, "a non-finite result")
        return result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def evaluate_literal_config(source: str, name: str = "<config>") -> dict[str, tuple[Any, int]]:
    """Evaluate a nanoGPT-style config without running it: ``{name: (value, line)}``.

    Example:
        >>> evaluate_literal_config("batch_size = 12\\ngradient_accumulation_steps = 5 * 8\\n")
        {'batch_size': (12, 1), 'gradient_accumulation_steps': (40, 2)}
        >>> evaluate_literal_config("import os")
        Traceback (most recent call last):
        ...
        adamcheck._errors.ConfigError: <config> line 1: an import is not allowed; adamcheck reads the config without running it (literals and constant arithmetic only): write the value literally
    """
    tree = _parse(source, name)
    try:
        return _evaluate(tree, name)
    except RecursionError:
        raise _too_deep(name) from None


def _too_deep(name: str) -> ConfigError:
    return ConfigError(f"{name}: an expression is nested too deeply for a config: write the value literally")


#: The globals adamcheck reads: a line that cannot be evaluated may be skipped only
#: when it assigns none of them.
RELEVANT = frozenset({
    "batch_size", "block_size", "gradient_accumulation_steps", "beta1", "beta2", "weight_decay",
    "learning_rate", "max_iters", "eval_only",
})


def _assigned_names(stmt: ast.stmt) -> set[str] | None:
    """Names a statement may bind at module level; None when it could bind anything."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        if any(alias.name == "*" for alias in stmt.names):
            return None
        return {(alias.asname or alias.name).split(".")[0] for alias in stmt.names}
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Call) and _call_may_bind(node):
            return None
    return names


def _call_may_bind(node: ast.Call) -> bool:
    # exec(...), globals().update(...), setattr(...) can bind any name.
    func = node.func
    if isinstance(func, ast.Name) and func.id in ("exec", "eval", "setattr", "globals", "vars", "locals", "__import__"):
        return True
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and _call_may_bind(func.value)


def _evaluate(tree: ast.Module, name: str, skipped: list[str] | None = None,
              unresolved: dict[str, str] | None = None) -> dict[str, tuple[Any, int]]:
    """Evaluate the module's statements; with ``skipped`` (a list), statements that
    cannot be evaluated but bind none of :data:`RELEVANT` are skipped and described there.
    With ``unresolved`` (a dict) too, a plain assignment of a :data:`RELEVANT` name that
    cannot be evaluated (``int(os.environ.get('GA', 8))``) leaves that name unresolved
    (name -> why) instead of refusing the file; a later literal assignment resolves it.
    A statement that could bind any name (``from x import *``, ``exec``) is still refused."""
    ev = _Evaluator(name)
    lines: dict[str, int] = {}
    unknown: dict[str, int] = {}
    imported: set[str] = set()
    for stmt in tree.body:
        try:
            _statement(ev, stmt, lines)
        except ConfigError as exc:
            bound = _assigned_names(stmt)
            relevant = bound is not None and bool(bound & RELEVANT)
            plain = isinstance(stmt, (ast.Assign, ast.AnnAssign))
            if skipped is None or bound is None or (relevant and (unresolved is None or not plain)):
                raise
            depends = sorted({n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id in unknown})
            for bound_name in bound:
                ev.values.pop(bound_name, None)
                lines.pop(bound_name, None)
                unknown[bound_name] = stmt.lineno
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    imported.add(bound_name)
            if relevant:
                assert unresolved is not None
                values = [d for d in depends if d not in imported]  # 'os' in os.environ says nothing
                why = (f"{name} line {stmt.lineno} computes it at run time ({_what(exc)}"
                       + (f"; uses {', '.join(values)}, which adamcheck could not read either" if values else "")
                       + "): adamcheck reads the file without running it")
                for bound_name in sorted(bound & RELEVANT):
                    unresolved[bound_name] = why
                continue
            what = "a computed value" if plain or isinstance(stmt, ast.Expr) else _kind(stmt)
            skipped.append(
                f"{name} line {stmt.lineno} skipped ({what}"
                + (f", setting {', '.join(sorted(bound))}" if bound else "")
                + "): it sets nothing Adam- or batch-related"
                + (f" (uses {', '.join(depends)} from skipped lines)" if depends else "")
            )
        else:
            for bound_name in _assigned_names(stmt) or ():
                unknown.pop(bound_name, None)  # assigned a literal again: known from here on
                if unresolved is not None:
                    unresolved.pop(bound_name, None)
    return {k: (v, lines[k]) for k, v in ev.values.items()}


def _what(exc: ConfigError) -> str:
    """What made a statement unevaluable, in the evaluator's words ("a function call")."""
    return getattr(exc, "what", None) or "an expression adamcheck does not evaluate"


def _statement(ev: _Evaluator, stmt: ast.stmt, lines: dict[str, int]) -> None:
    if isinstance(stmt, ast.Pass):
        return
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
        return  # a docstring or stray string
    if isinstance(stmt, ast.Assign):
        targets, value_node = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value_node = [stmt.target], stmt.value
    elif isinstance(stmt, ast.Expr):
        raise ev.fail(stmt.value, _kind(stmt.value))
    else:
        raise ev.fail(stmt, _kind(stmt))
    for target in targets:
        if not isinstance(target, ast.Name):
            raise ev.fail(target, "assigning to anything but a plain name")
    value = ev.value(value_node)
    for target in targets:
        ev.values[target.id] = value  # type: ignore[attr-defined]
        lines[target.id] = stmt.lineno  # type: ignore[attr-defined]


#: How to supply a value the file computes at run time (the check command's override flags).
_FIX = {"micro_batch": "pass --micro-batch-size", "seq_len": "pass --seq-len", "grad_accum": "pass --grad-accum",
        "max_steps": "pass --max-steps"}


#: nanoGPT commit 978d4fe (2023-03-25) made gradient_accumulation_steps global
#: (train.py divides it by the GPU count); before it, it counted per GPU, and from
#: 086ebe1 (2023-02-13) a single-GPU run multiplied it by 8 ("simulate 8 gpus").
ACCUMULATION_CHANGE = "nanoGPT commit 978d4fe, 2023-03-25"
_GPU_COMMENT = re.compile(r"[*x\u00d7]\s*(\d+)\s*GPUs?\b", re.IGNORECASE)


def _comment_gpus(source: str) -> tuple[int, int, str] | None:
    """``(gpus, line, comment)`` from a comment such as ``# ... * 5 gradaccum * 8 GPUs``."""
    for lineno, line in enumerate(source.splitlines(), start=1):
        hash_at = line.find("#")
        if hash_at < 0:
            continue
        match = _GPU_COMMENT.search(line[hash_at:])
        if match:
            return int(match.group(1)), lineno, line[hash_at:].strip()
    return None


def _accum_node(tree: ast.Module) -> ast.AST | None:
    node = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "gradient_accumulation_steps" for t in stmt.targets
        ):
            node = stmt.value
    return node


def _has_factor(node: ast.AST, factor: int) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _has_factor(node.left, factor) or _has_factor(node.right, factor)
    return isinstance(node, ast.Constant) and node.value == factor


def accumulation_convention(
    source: str, tree: ast.Module, accum: int | None
) -> tuple[str, str, tuple[int, int, str] | None]:
    """``(convention, why, gpu comment)``: ``global`` (train.py since 2023-03-25) or ``per-rank``.

    Evidence: a comment giving the GPU count (``* 8 GPUs``) beside an accumulation
    written per GPU (``= 5``: not divisible by the count, which today's train.py
    asserts) means the file was written for the old train.py; ``5 * 8`` is the new
    style. Without evidence, today's convention is assumed and the report says so.

    Example:
        >>> src = "# 12 batch size * 1024 block size * 5 gradaccum * 8 GPUs\\ngradient_accumulation_steps = 5\\n"
        >>> accumulation_convention(src, ast.parse(src), 5)[0]
        'per-rank'
        >>> src = src.replace("= 5", "= 5 * 8")
        >>> accumulation_convention(src, ast.parse(src), 40)[0]
        'global'
    """
    comment = _comment_gpus(source)
    node = _accum_node(tree)
    if comment is None or accum is None or node is None:
        return "global", (
            f"assumed: nanoGPT train.py since {ACCUMULATION_CHANGE} divides gradient_accumulation_steps by the "
            "GPU count (pass accumulation='per-rank' (CLI --accumulation per-rank) for files written for the older train.py)"
        ), comment
    gpus, line, _ = comment
    if _has_factor(node, gpus):
        return "global", (
            f"line {line}'s comment counts {gpus} GPUs and gradient_accumulation_steps is written as a product "
            f"with {gpus}, the style of train.py since {ACCUMULATION_CHANGE}"
        ), comment
    if gpus > 0 and accum % gpus:
        return "per-rank", (
            f"line {line}'s comment counts {gpus} GPUs and gradient_accumulation_steps = {accum} is not divisible "
            f"by {gpus}, which train.py since {ACCUMULATION_CHANGE} requires: the file was written for the older "
            "train.py, where the accumulation counted per GPU"
        ), comment
    return "global", (
        f"assumed (train.py since {ACCUMULATION_CHANGE}); line {line}'s comment counts {gpus} GPUs, so if the file "
        "was written for the older per-GPU train.py pass accumulation='per-rank' (CLI --accumulation per-rank)"
    ), comment


def read_nanogpt_source(source: str, name: str, accumulation: str | None = None) -> TrainingSetup:
    """Read a nanoGPT config into a :class:`TrainingSetup` (train.py defaults fill the gaps).

    ``accumulation`` is ``"global"`` (train.py since 2023-03-25: the batch is
    batch_size x gradient_accumulation_steps whatever the GPU count), ``"per-rank"``
    (older train.py and its forks: times the GPU count too), or None to decide from
    the file's evidence (:func:`accumulation_convention`); a note says which.
    Lines that cannot be evaluated but set none of the names adamcheck reads
    (``import time``, ``wandb_run_name = 'ft-' + str(time.time())``) are skipped with
    a note; a name adamcheck reads that a line computes at run time
    (``batch_size = int(os.environ['BS'])``) is left unresolved (``setup.unresolved``
    names the line and the flag to pass), not filled with train.py's default;
    ``eval_only = True`` (or computed) is refused as not (known to be) a training run.

    Raises:
        ConfigError: a syntax error, a line that could bind any name, eval_only, a
            value of the wrong kind.

    Example:
        >>> s = read_nanogpt_source("batch_size = 64\\nblock_size = 256\\nbeta2 = 0.99\\n", "c.py")
        >>> s.get("micro_batch"), s.get("seq_len"), s.get("beta2"), s.get("beta1")
        (64, 256, 0.99, 0.9)
        >>> s = read_nanogpt_source("import os\\nbatch_size = int(os.environ['BS'])\\nbeta2 = 0.99\\n", "c.py")
        >>> s.get("micro_batch"), s.get("beta2"), s.unresolved["micro_batch"][:65]
        (None, 0.99, 'batch_size: c.py line 2 computes it at run time (a function call)')
    """
    tree = _parse(source, name)
    skipped: list[str] = []
    computed: dict[str, str] = {}
    try:
        found = _evaluate(tree, name, skipped, computed)
    except RecursionError:
        raise _too_deep(name) from None
    if "eval_only" in computed:  # whether this is a training run at all cannot be told
        raise ConfigError(f"eval_only: {computed['eval_only']}, so whether this file trains at all is not known: "
                          "write eval_only = False literally")
    if found.get("eval_only", (False, 0))[0] is True:
        raise ConfigError(
            f"{name} line {found['eval_only'][1]}: eval_only = True makes train.py evaluate once and exit before any "
            "optimizer step: not a training run, so there is no Adam setting to check"
        )
    setup = TrainingSetup(format="nanogpt", files=[name], accum_is_global=True)
    setup.notes.extend(skipped)
    unknown = sorted(k for k in found if k not in NANOGPT_DEFAULTS)
    if unknown:
        setup.warnings.append(
            f"{name}: nanoGPT's train.py defines no {', '.join(unknown)}; it runs the config "
            "with exec and silently ignores such names (a misspelling keeps the default)"
        )

    def take(key: str, field: str, kind: type) -> None:
        if key in computed:  # never train.py's default in its place: that would be a silent misread
            setup.unresolved[field] = f"{key}: {computed[key]}; {_FIX.get(field, 'write the value literally')}"
            return
        if key in found:
            value, line = found[key]
            source = f"{name} line {line}: {key}"
            weak = False
        else:
            value, source, weak = NANOGPT_DEFAULTS[key], f"default of nanoGPT train.py ({key}; master of 2025-11)", True
        if not _is_number(value) or (kind is int and not float(value).is_integer()):
            raise ConfigError(f"{source} = {value!r} must be a {'whole ' if kind is int else ''}number")
        setattr(setup, field, Sourced(kind(value), source, weak=weak))

    take("batch_size", "micro_batch", int)
    take("block_size", "seq_len", int)
    take("gradient_accumulation_steps", "grad_accum", int)
    take("beta1", "beta1", float)
    take("beta2", "beta2", float)
    take("weight_decay", "weight_decay", float)
    take("learning_rate", "lr", float)
    take("max_iters", "max_steps", int)
    # model.configure_optimizers always builds torch.optim.AdamW(groups, lr, betas=(beta1, beta2)).
    setup.optimizer = Sourced("AdamW", "nanoGPT model.configure_optimizers (always torch.optim.AdamW)", weak=True)
    setup.eps = Sourced(1e-8, "default of torch.optim.AdamW (nanoGPT passes no eps)", weak=True)

    accum = setup.get("grad_accum") if "gradient_accumulation_steps" in found else None
    convention, why, comment = accumulation_convention(source, tree, accum)
    if accumulation is not None:
        if accumulation not in ("per-rank", "global"):
            raise ConfigError(f"accumulation {accumulation!r} must be 'per-rank' or 'global'")
        if accumulation != convention:
            why = f"set by accumulation={accumulation!r} (CLI --accumulation) (without it: {convention}, {why})"
        else:
            why = f"set by accumulation={accumulation!r} (CLI --accumulation)"
        convention = accumulation
    setup.accum_is_global = convention == "global"
    setup.notes.append(f"{name}: nanoGPT accumulation convention {convention}: {why}")
    if convention == "per-rank":
        if comment is not None:
            gpus, line, text = comment
            setup.world_size = Sourced(gpus, f"{name} line {line} comment {text!r}", weak=True)
        setup.world_size_required = (
            "nanoGPT's per-GPU accumulation (train.py before 2023-03-25) multiplies the batch by the GPU count: "
            "pass --world-size (from 2023-02-13 to 2023-03-25 a single-GPU run multiplied the accumulation by 8)"
        )
    return setup
