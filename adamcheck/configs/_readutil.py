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
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ConfigError(f"{path} is a directory: give the configuration file inside it")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ConfigError(
            f"{path} is {size} bytes, too large for a training configuration (limit {MAX_BYTES}): "
            "give the config file itself"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: give a text configuration file") from None


def read_bytes_head(path: str | Path, n: int = 8) -> bytes:
    """The first ``n`` bytes of a file (b"" when it cannot be opened): to spot pickles."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
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


#: How deep ``!include`` may nest (levanter configs include one level, rarely two).
MAX_INCLUDE_DEPTH = 8


def _include_loader(base: Path | None, depth: int, seen: tuple[str, ...]) -> Any:
    """A ``yaml.SafeLoader`` subclass that also understands levanter's ``!include PATH``.

    levanter (draccus) resolves the path relative to the folder of the file that
    contains the tag; so does this loader. Every other tag stays refused, as
    ``yaml.safe_load`` refuses it: nothing is constructed but plain data.
    """
    import yaml

    class IncludeLoader(yaml.SafeLoader):
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
        text = read_text(target)
        return _load_yaml(text, str(target), target.parent, depth + 1, seen + (str(target),))

    IncludeLoader.add_constructor("!include", include)
    return IncludeLoader


def _load_yaml(text: str, name: str, base: Path | None, depth: int, seen: tuple[str, ...]) -> Any:
    import yaml

    loader = _include_loader(base, depth, seen)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass, see _include_loader
    except RecursionError:
        raise _too_deep(name) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{name} is not valid YAML ({where}{problem}): fix the file") from None


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
    import yaml

    try:
        return yaml.safe_load(text)
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
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where} = {value!r} is not a number: write a number")
    if isinstance(value, str) and strings:
        try:
            value = float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            raise ConfigError(f"{where} = {value!r} is not a number: write a number") from None
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{where} = {value!r} is not a number: write a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} = {value} is not finite: write a finite number")
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
