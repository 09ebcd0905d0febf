"""One display/export protocol for every symbolic object: text, LaTeX and exact JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sympy as sp

__all__ = ["Derivation", "exact_string"]


def exact_string(expr: Any) -> str:
    """SymPy's exact one-line form: rationals as ``"171/8"``, symbols by name.

    Example:
        >>> exact_string(sp.Rational(171, 8))
        '171/8'
    """
    return str(sp.sympify(expr))


@dataclass
class Derivation:
    """A named collection of SymPy expressions with a description and references.

    ``entries`` maps a short name to a SymPy object (expression, relational,
    Piecewise, Eq, boolean). ``notes`` are sentences a reader must see (unknown
    constants, conservativeness). ``latex()``, ``text()`` and ``to_dict()`` are the
    three renderings the CLI offers (``--latex``, default, ``--json``).

    Example:
        >>> d = Derivation("demo", "a square", {"y": sp.Symbol("x") ** 2})
        >>> "y = x^{2}" in d.latex()
        True
        >>> d.to_dict()["entries"]["y"]
        'x**2'
    """

    name: str
    description: str
    entries: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.entries[key]

    def _label(self, key: str) -> str:
        return self.labels.get(key, key)

    def latex(self) -> str:
        """LaTeX lines ``label = expression`` (relationals and Eq print as themselves)."""
        lines = [rf"\text{{{self.name}}}"]
        for key, value in self.entries.items():
            body = sp.latex(value)
            if isinstance(value, (sp.Equality, sp.core.relational.Relational, sp.logic.boolalg.Boolean)):
                lines.append(rf"{self._label(key)}:\ {body}")
            else:
                lines.append(f"{self._label(key)} = {body}")
        return "\\\\\n".join(lines)

    def text(self) -> str:
        """Plain text: one ``name: expression`` line per entry, then the notes."""
        out = [f"{self.name}: {self.description}"]
        width = max((len(k) for k in self.entries), default=0)
        for key, value in self.entries.items():
            out.append(f"  {key.ljust(width)} : {exact_string(value)}")
        for note in self.notes:
            out.append(f"  note: {note}")
        for ref in self.references:
            out.append(f"  ref: {ref}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; every expression is its exact SymPy string."""
        return {
            "name": self.name,
            "description": self.description,
            "entries": {k: exact_string(v) for k, v in self.entries.items()},
            "latex": {k: sp.latex(v) for k, v in self.entries.items()},
            "notes": list(self.notes),
            "references": list(self.references),
        }
