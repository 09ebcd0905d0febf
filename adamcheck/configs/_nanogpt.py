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
lambdas, f-strings, ``if``...) raises :class:`ConfigError` naming the line. Sizes
are bounded (``10 ** 10 ** 10`` is refused, not computed).

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
from typing import Any

from .._errors import ConfigError
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
        return ConfigError(
            f"{self.name} line {line}: {what} is not allowed; adamcheck reads the config "
            "without running it (literals and constant arithmetic only): write the value literally"
        )

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
                raise self.fail(node, f"a {type(node.value).__name__} literal")
            if isinstance(node.value, int) and not isinstance(node.value, bool):
                self._check_int(node, node.value)
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                raise ConfigError(
                    f"{self.name} line {node.lineno}: name {node.id!r} is not assigned earlier in the "
                    "file: write the value literally"
                )
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
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as exc:
        raise ConfigError(f"{name} line {exc.lineno}: not valid Python ({exc.msg}): fix the file") from None
    except (RecursionError, MemoryError):
        raise _too_deep(name) from None
    try:
        return _evaluate(tree, name)
    except RecursionError:
        raise _too_deep(name) from None


def _too_deep(name: str) -> ConfigError:
    return ConfigError(f"{name}: an expression is nested too deeply for a config: write the value literally")


def _evaluate(tree: ast.Module, name: str) -> dict[str, tuple[Any, int]]:
    ev = _Evaluator(name)
    lines: dict[str, int] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # a docstring or stray string
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
    return {k: (v, lines[k]) for k, v in ev.values.items()}


def read_nanogpt_source(source: str, name: str) -> TrainingSetup:
    """Read a nanoGPT config into a :class:`TrainingSetup` (train.py defaults fill the gaps).

    Example:
        >>> s = read_nanogpt_source("batch_size = 64\\nblock_size = 256\\nbeta2 = 0.99\\n", "c.py")
        >>> s.get("micro_batch"), s.get("seq_len"), s.get("beta2"), s.get("beta1")
        (64, 256, 0.99, 0.9)
    """
    found = evaluate_literal_config(source, name)
    setup = TrainingSetup(format="nanogpt", files=[name], accum_is_global=True)
    unknown = sorted(k for k in found if k not in NANOGPT_DEFAULTS)
    if unknown:
        setup.warnings.append(
            f"{name}: nanoGPT's train.py defines no {', '.join(unknown)}; it runs the config "
            "with exec and silently ignores such names (a misspelling keeps the default)"
        )

    def take(key: str, field: str, kind: type) -> None:
        if key in found:
            value, line = found[key]
            source = f"{name} line {line}: {key}"
            weak = False
        else:
            value, source, weak = NANOGPT_DEFAULTS[key], f"default of nanoGPT train.py ({key})", True
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
    return setup
