"""Helpers shared by the format readers: reading files, parsing data formats with
one-line errors, coercing numbers, and catching misspelt keys.

Nothing here executes a file: JSON with :mod:`json`, YAML with ``yaml.safe_load``,
TOML with :mod:`tomllib` (``tomli`` before Python 3.11).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from .._errors import ConfigError

__all__ = [
    "read_text",
    "read_bytes_head",
    "parse_json",
    "parse_yaml",
    "parse_toml",
    "as_number",
    "as_int",
    "near_miss",
]

#: Configuration files are small; refuse anything larger before reading it.
MAX_BYTES = 4 * 1024 * 1024


def read_text(path: str | Path) -> str:
    """The text of a config file: a regular file (not /dev/zero, a FIFO or a folder) of
    at most :data:`MAX_BYTES` bytes, UTF-8 (see :mod:`adamcheck._files`)."""
    from .._files import read_text as read_user_text

    return read_user_text(path, "configuration file", max_bytes=MAX_BYTES, error=ConfigError,
                          fix="give the training configuration file itself (JSON, YAML, TOML, .py or .sh text)")


def read_bytes_head(path: str | Path, n: int = 8) -> bytes:
    """The first ``n`` bytes of a file (b"" when it cannot be opened): to spot pickles.

    Only regular files are opened: a FIFO would block here; read_text then refuses it.
    """
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return b""


def _too_deep(name: str) -> ConfigError:
    return ConfigError(f"{name} is nested too deeply to be a training configuration: fix the file")


def parse_json(text: str, name: str) -> Any:
    import json

    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep(name) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix the file"
        ) from None


#: Nodes a YAML document may hold once its aliases (``*name``) are expanded. Real
#: training configs hold a few hundred; a "billion laughs" file nests aliases so that a
#: few hundred bytes expand to gigabytes when anything walks or formats the values.
MAX_YAML_NODES = 100_000


def _expanded_nodes(node: Any, memo: dict[int, int], active: set[int]) -> int:
    """Nodes under ``node`` with aliases expanded, counted without expanding them."""
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:  # a recursive alias: its expansion is infinite
        return MAX_YAML_NODES + 1
    active.add(key)
    total = 1
    value = node.value
    if isinstance(value, list):
        for item in value:
            children = item if isinstance(item, tuple) else (item,)  # mappings hold (key, value) pairs
            for child in children:
                total += _expanded_nodes(child, memo, active)
                if total > MAX_YAML_NODES:
                    break
    active.discard(key)
    memo[key] = total
    return total


def _bounded_yaml_loader() -> Any:
    import yaml

    class BoundedSafeLoader(yaml.SafeLoader):
        """``yaml.SafeLoader`` that refuses documents expanding to more than MAX_YAML_NODES nodes."""

        def compose_document(self) -> Any:
            node = super().compose_document()
            if node is not None and _expanded_nodes(node, {}, set()) > MAX_YAML_NODES:
                raise _TooManyNodes
            return node

    return BoundedSafeLoader


class _TooManyNodes(Exception):
    pass


def _too_many_nodes(name: str) -> ConfigError:
    return ConfigError(
        f"{name} expands to more than {MAX_YAML_NODES:,} values through YAML aliases (*name), as files "
        "built to exhaust memory do: write the values out"
    )


#: How deep ``!include`` may nest (levanter configs include one level, rarely two).
MAX_INCLUDE_DEPTH = 8
#: How many ``!include`` reads one file may cause in all.
MAX_INCLUDES = 64


def _include_loader(base: Path | None, depth: int, seen: tuple[str, ...], count: list[int]) -> Any:
    """A ``yaml.SafeLoader`` subclass that also understands levanter's ``!include PATH``.

    levanter (draccus) resolves the path relative to the folder of the file that
    contains the tag; so does this loader. Every other tag stays refused, as
    ``yaml.safe_load`` refuses it: nothing is constructed but plain data.
    """

    class IncludeLoader(_bounded_yaml_loader()):  # a SafeLoader that also bounds alias expansion
        pass

    def include(loader: Any, node: Any) -> Any:
        rel = loader.construct_scalar(node)
        mark = node.start_mark
        where = f"line {mark.line + 1}"
        if base is None:
            raise ConfigError(f"!include {rel!r} ({where}) cannot be resolved without the file's folder: give the file path")
        target = (base / rel).resolve()
        if depth >= MAX_INCLUDE_DEPTH or str(target) in seen:
            raise ConfigError(f"!include {rel!r} ({where}) nests too deeply or includes itself: fix the includes")
        count[0] += 1
        if count[0] > MAX_INCLUDES:  # nine includes of nine includes of ... is a bomb of reads
            raise ConfigError(f"more than {MAX_INCLUDES} !include reads in one file: fix the includes")
        text = read_text(target)
        return _load_yaml(text, str(target), target.parent, depth + 1, seen + (str(target),), count)

    IncludeLoader.add_constructor("!include", include)
    return IncludeLoader


def _load_yaml(text: str, name: str, base: Path | None, depth: int, seen: tuple[str, ...],
               count: list[int] | None = None) -> Any:
    # a SafeLoader subclass, see _include_loader
    return _yaml_with(text, name, _include_loader(base, depth, seen, [0] if count is None else count))


def parse_yaml(text: str, name: str, base: Path | None = None) -> Any:
    """YAML as plain data (safe loader); ``!include PATH`` is resolved relative to ``base``.

    Example:
        >>> parse_yaml("a: 1\\nb: [0.9, 0.95]\\n", "x.yaml")
        {'a': 1, 'b': [0.9, 0.95]}
    """
    if base is None and "!include" not in text:
        return _safe_yaml(text, name)
    return _load_yaml(text, name, base, 0, (str(Path(name).resolve()),))


def _safe_yaml(text: str, name: str) -> Any:
    return _yaml_with(text, name, _bounded_yaml_loader())  # a SafeLoader: no tags run code


def _yaml_with(text: str, name: str, loader: Any) -> Any:
    """``yaml.load`` with one of our SafeLoader subclasses; every failure is a ConfigError."""
    import yaml

    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - only SafeLoader subclasses come here
    except _TooManyNodes:
        raise _too_many_nodes(name) from None
    except RecursionError:
        raise _too_deep(name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{name} is not valid YAML ({where}{problem}): fix the file") from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise _too_deep(name) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML ({exc}): fix the file") from None


def as_number(value: Any, where: str, *, strings: bool = False) -> float | int:
    """``value`` as a finite int or float; numeric strings only with ``strings=True``.

    YAML 1.1 reads ``1e-8`` (no dot) as a string; trainers' YAML files are full of such
    values, so the YAML reader accepts numeric strings for numeric keys.
    """
    from .._shown import shown_repr

    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where} = {shown_repr(value)} is not a number: write a number")
    if isinstance(value, str) and strings:
        try:
            if len(value) > 100:
                raise ValueError
            value = float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            raise ConfigError(f"{where} = {shown_repr(value)} is not a number: write a number") from None
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{where} = {shown_repr(value)} is not a number: write a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} = {value} is not finite: write a finite number")
    if isinstance(value, int) and abs(value) > 2**63 - 1:
        raise ConfigError(f"{where} = {shown_repr(value)} is out of range: write a number below 2**63")
    return value


def as_int(value: Any, where: str, *, strings: bool = False) -> int:
    number = as_number(value, where, strings=strings)
    if isinstance(number, float):
        if not number.is_integer():
            raise ConfigError(f"{where} = {number} is not a whole number: write an integer")
        number = int(number)
    return number


def near_miss(key: str, watched: Iterable[str], known: Iterable[str]) -> str | None:
    """The watched key that ``key`` is probably a misspelling of, or None.

    ``watched`` are the keys adamcheck reads; ``known`` every key the format accepts.
    A key that is itself known is never a misspelling.
    """
    known = set(known)
    if key in known:
        return None
    import difflib  # only on unknown keys: keeps the common path's imports small

    normal = key.lower().replace("-", "_")
    for candidate in watched:
        if normal == candidate.lower().replace("-", "_"):
            return candidate
    match = difflib.get_close_matches(key, list(watched), n=1, cutoff=0.85)
    # A typo changes a character or two; a longer or shorter name is another option
    # (Megatron's --out-seq-length and --eval-micro-batch-size are real flags).
    if match and abs(len(match[0]) - len(key)) <= 2:
        return match[0]
    return None
