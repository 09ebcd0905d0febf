"""Griffe extension for the docs build: read adamcheck's ``Example:`` sections as examples.

adamcheck's docstrings head their doctests ``Example:`` (singular); Google style only
recognises ``Examples:``, and would otherwise render the ``>>>`` lines as Markdown
block quotes. Only the docs build uses this file.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        doc = obj.docstring
        if doc is not None and "Example:" in doc.value:
            doc.value = _HEADING.sub(r"\1Examples:", doc.value)
