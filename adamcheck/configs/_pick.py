"""Reading values out of nested YAML/JSON configs with their provenance.

The YAML-based readers (axolotl, LLaMA-Factory, torchtune, litgpt, OLMo, levanter,
trainer_state.json, Accelerate) share this: a dotted path (``optimizer.betas``) is
looked up, an OmegaConf-style ``${a.b}`` reference to another key of the same file is
followed (OLMo and torchtune write ``device_eval_batch_size: ${device_train_microbatch_size}``),
and the value is stored in the :class:`TrainingSetup` with ``"FILE: path"`` as its
source, or with ``"default of FRAMEWORK VERSION (path)"`` when the file is silent.
Defaults are *weak*: a value another file states wins over them.
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import ConfigError
from ._readutil import as_int, as_number
from ._setup import Sourced, TrainingSetup

__all__ = ["Picker", "MISSING"]

MISSING = object()
_REF = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")


class Picker:
    """Look up dotted paths in ``data`` and record them in ``setup``.

    Example:
        >>> s = TrainingSetup()
        >>> p = Picker({"optimizer": {"betas": [0.9, 0.95]}, "bs": "${optimizer.betas}"}, "c.yaml", s, "OLMo 0.6")
        >>> p.get("optimizer.betas")
        [0.9, 0.95]
        >>> p.number("beta2", "optimizer.betas", index=1)
        0.95
        >>> s.beta2.source
        'c.yaml: optimizer.betas[1]'
        >>> p.number("eps", "optimizer.eps", default=1e-5)
        1e-05
        >>> s.eps.source
        'default of OLMo 0.6 (optimizer.eps = 1e-05)'
    """

    def __init__(self, data: dict[str, Any], name: str, setup: TrainingSetup, framework: str) -> None:
        self.data = data
        self.name = name
        self.setup = setup
        self.framework = framework

    def where(self, path: str) -> str:
        return f"{self.name}: {path}"

    def get(self, path: str, default: Any = MISSING, _depth: int = 0) -> Any:
        """The value at ``path`` (``a.b.c``), following ``${x.y}`` references; ``default`` if absent
        or null (a null in these frameworks means "use the default")."""
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        if node is None:
            return default
        if isinstance(node, str):
            match = _REF.match(node.strip())
            if match and _depth < 8:
                return self.get(match.group(1), default, _depth + 1)
        return node

    def has(self, path: str) -> bool:
        return self.get(path) is not MISSING

    def number(
        self,
        field: str,
        path: str,
        *,
        kind: type = float,
        default: Any = None,
        index: int | None = None,
        note: str = "",
    ) -> Any:
        """Store the number at ``path`` (element ``index`` of a list) in ``field``; else ``default``.

        Returns the value stored, or None when neither the file nor a default gives one.
        """
        label = path if index is None else f"{path}[{index}]"
        raw = self.get(path)
        if raw is not MISSING and index is not None:
            if not isinstance(raw, (list, tuple)) or len(raw) <= index:
                raise ConfigError(f"{self.where(path)} = {raw!r} must be a list such as [0.9, 0.95]: fix the file")
            raw = raw[index]
        if raw is MISSING or raw is None:
            if default is None:
                return None
            source = f"default of {self.framework} ({label} = {default:g}{note})"
            setattr(self.setup, field, Sourced(default, source, weak=True))
            return default
        if isinstance(raw, str) and raw.strip().startswith("${"):
            self.setup.unresolved[field] = f"{self.where(label)} = {raw} refers to a value outside the file"
            return None
        where = self.where(label)
        value = as_int(raw, where, strings=True) if kind is int else float(as_number(raw, where, strings=True))
        self.setup.set(field, value, where)
        return value

    def text(self, path: str) -> str | None:
        value = self.get(path)
        if value is MISSING:
            return None
        return str(getattr(value, "value", value))
