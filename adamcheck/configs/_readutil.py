"""Helpers shared by the format readers: reading files, parsing data formats with
one-line errors, coercing numbers, and catching misspelt keys.

Nothing here executes a file: JSON with :mod:`json`, YAML with ``yaml.safe_load``,
TOML with :mod:`tomllib` (``tomli`` before Python 3.11).
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, Iterable

from .._errors import ConfigError
from .._files import read_text as read_user_text
from .._shown import shown_repr

__all__ = [
    "MAX_BYTES",
    "MAX_TEXT_BYTES",
    "read_text",
    "check_text_size",
    "read_bytes_head",
    "parse_json",
    "parse_yaml",
    "parse_toml",
    "as_number",
    "as_int",
    "near_miss",
]

#: Configuration files are small; refuse anything larger before reading it. JSON is
#: parsed in C (4 MiB of it takes well under a second) and ``trainer_state.json`` of a
#: long run legitimately holds a few MB of log history.
MAX_BYTES = 4 * 1024 * 1024
#: YAML, TOML, Python and shell configs larger than this are refused before parsing.
#: Their parsers run (partly) in pure Python: a 4 MB TOML array took 33 s, and even
#: libyaml's scanner needs ~2 s for 1 MiB of flow sequence. The largest public training
#: config we know is an OLMo 2 stage-1 YAML with its data-path list (164 KB); 1 MiB
#: leaves six times that. adamcheck's choice, not a framework's limit.
MAX_TEXT_BYTES = 1024 * 1024

#: Keys whose duplicates are refused rather than noted: the values the checks read
#: (betas, eps, batch, accumulation, lengths, steps, parallel sizes, optimizer). A
#: duplicate key makes the parser keep the last value silently: a misread if the
#: person meant the first.
_CHECKED_KEY = re.compile(
    r"beta|(^|_)b[12]$|eps|batch|accum|optim|seq|length|(^|_)len$|step|iter|duration|epoch|nproc|world|"
    r"parallel|devices|nodes|micro|(^|_)lr$|learning_rate", re.IGNORECASE,
)


def read_text(path: str | Path) -> str:
    """The text of a config file: a regular file (not /dev/zero, a FIFO or a folder) of
    at most :data:`MAX_BYTES` bytes, UTF-8 (see :mod:`adamcheck._files`)."""
    return read_user_text(path, "configuration file", max_bytes=MAX_BYTES, error=ConfigError,
                          fix="give the training configuration file itself (JSON, YAML, TOML, .py or .sh text)")


def check_text_size(text: str, name: str, kind: str) -> None:
    """Refuse a ``kind`` (YAML, TOML, Python, shell) config above :data:`MAX_TEXT_BYTES`."""
    size = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > MAX_TEXT_BYTES else len(text)
    if size > MAX_TEXT_BYTES:
        raise ConfigError(
            f"{name} is {size / 2**20:.1f} MiB of {kind}; adamcheck reads {kind} configs of at most "
            f"{MAX_TEXT_BYTES // 2**20} MiB (MAX_TEXT_BYTES: training configs are a few KB to a few hundred KB): "
            "give the training configuration itself, without bulk data"
        )


def parse_python(text: str, name: str) -> ast.Module:
    """``ast.parse`` of a Python config (never executed), its size bounded first; a syntax
    error or a nesting bomb is a :class:`ConfigError` naming the file."""
    check_text_size(text, name, "Python")
    try:
        return ast.parse(text, filename=name)
    except SyntaxError as exc:
        raise ConfigError(f"{name} line {exc.lineno}: not valid Python ({exc.msg}): fix the file") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{name}: an expression is nested too deeply for a config: write the value literally") from None


def read_bytes_head(path: str | Path, n: int = 8) -> bytes:
    """The first ``n`` bytes of a file (b"" when it cannot be opened): to spot pickles.

    Only regular files are opened: a FIFO would block here; read_text then refuses it.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return b""


def _too_deep(name: str) -> ConfigError:
    return ConfigError(f"{name} is nested too deeply to be a training configuration: fix the file")


def _too_long_number(name: str, exc: ValueError) -> ConfigError:
    # Python refuses int() of more than 4,300 digits (sys.set_int_max_str_digits).
    return ConfigError(f"{name} holds a number with thousands of digits ({str(exc).split(';')[0]}): fix the file")


def _duplicate(name: str, key: Any, first: Any, second: Any, lines: tuple[int, int] | None,
               notes: list[str] | None) -> None:
    """A key given twice with different values: refused for checked keys, noted otherwise."""
    if _same_value(first, second):
        return
    if lines is None:
        values = f"{shown_repr(first)}, then {shown_repr(second)}"
    else:
        values = f"line {lines[0]}: {shown_repr(first)}, line {lines[1]}: {shown_repr(second)}"
    said = f"{name}: key {shown_repr(key)} is given twice ({values}); the parser keeps the last silently"
    if isinstance(key, str) and _CHECKED_KEY.search(key):
        raise ConfigError(f"{said}: delete the one you do not mean")
    if notes is not None:
        notes.append(f"{said}: {shown_repr(second)} is used")


def _same_value(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # pragma: no cover - exotic values
        return False


def parse_json(text: str, name: str, notes: list[str] | None = None) -> Any:
    """JSON as plain data. A key given twice in one object with different values is
    refused when adamcheck reads it (betas, batch...), else noted in ``notes``.

    Example:
        >>> parse_json('{"a": 1, "b": [0.9, 0.95]}', "x.json")
        {'a': 1, 'b': [0.9, 0.95]}
    """
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                _duplicate(name, key, out[key], value, None, notes)
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise _too_deep(name) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}): fix the file"
        ) from None
    except ConfigError:
        raise
    except ValueError as exc:
        raise _too_long_number(name, exc) from None


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


def _bounded_yaml_loader(name: str, notes: list[str] | None) -> Any:
    """A safe YAML loader class (libyaml's ``CSafeLoader`` when PyYAML has it: about ten
    times faster on large files, same YAML 1.1 semantics) that refuses alias bombs and
    duplicate keys that change a checked value."""
    import yaml  # lazy: keeps yaml (~20 ms) off `import adamcheck.configs` and non-YAML configs

    base = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None

    class BoundedSafeLoader(base or yaml.SafeLoader):  # type: ignore[misc,valid-type]
        """Safe loading only: no tag constructs anything but plain data."""

        def get_single_node(self) -> Any:
            node = super().get_single_node()
            if node is not None and _expanded_nodes(node, {}, set()) > MAX_YAML_NODES:
                raise _TooManyNodes
            return node

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node)
                    try:
                        hash(key)
                    except TypeError:
                        continue
                    if key in seen:
                        first = self.construct_object(seen[key], deep=True)
                        second = self.construct_object(value_node, deep=True)
                        lines = (seen[key].start_mark.line + 1, value_node.start_mark.line + 1)
                        _duplicate(name, key, first, second, lines, notes)
                    seen[key] = value_node
            return super().construct_mapping(node, deep=deep)

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


def _include_loader(name: str, base: Path | None, depth: int, seen: tuple[str, ...], count: list[int],
                    notes: list[str] | None) -> Any:
    """A safe loader (see :func:`_bounded_yaml_loader`) that also understands levanter's
    ``!include PATH``.

    levanter (draccus) resolves the path relative to the folder of the file that
    contains the tag; so does this loader. Every other tag stays refused, as
    ``yaml.safe_load`` refuses it: nothing is constructed but plain data.
    """

    class IncludeLoader(_bounded_yaml_loader(name, notes)):  # type: ignore[misc]
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
        return _load_yaml(text, str(target), target.parent, depth + 1, seen + (str(target),), count, notes)

    IncludeLoader.add_constructor("!include", include)
    return IncludeLoader


def _load_yaml(text: str, name: str, base: Path | None, depth: int, seen: tuple[str, ...],
               count: list[int] | None = None, notes: list[str] | None = None) -> Any:
    check_text_size(text, name, "YAML")
    loader = _include_loader(name, base, depth, seen, [0] if count is None else count, notes)
    return _yaml_with(text, name, loader)


def parse_yaml(text: str, name: str, base: Path | None = None, notes: list[str] | None = None) -> Any:
    """YAML as plain data (safe loader); ``!include PATH`` is resolved relative to ``base``.

    Refused: more than :data:`MAX_TEXT_BYTES`, alias bombs, and a key given twice in
    one mapping with different values when adamcheck reads it (other such keys are
    noted in ``notes``).

    Example:
        >>> parse_yaml("a: 1\\nb: [0.9, 0.95]\\n", "x.yaml")
        {'a': 1, 'b': [0.9, 0.95]}
    """
    if base is None and "!include" not in text:
        check_text_size(text, name, "YAML")
        return _yaml_with(text, name, _bounded_yaml_loader(name, notes))  # a SafeLoader: no tags run code
    return _load_yaml(text, name, base, 0, (str(Path(name).resolve()),), notes=notes)


def _yaml_with(text: str, name: str, loader: Any) -> Any:
    """``yaml.load`` with one of our SafeLoader subclasses; every failure is a ConfigError."""
    import yaml  # lazy: keeps yaml (~20 ms) off `import adamcheck.configs` and non-YAML configs

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
    except ConfigError:
        raise
    except ValueError as exc:
        raise _too_long_number(name, exc) from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """TOML as plain data (TOML itself forbids a key given twice: refused as invalid)."""
    try:
        import tomllib  # lazy: keeps tomllib (~9 ms) off `import adamcheck.configs` and non-TOML configs
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]  # lazy: as tomllib above

    check_text_size(text, name, "TOML")
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise _too_deep(name) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name} is not valid TOML ({exc}): fix the file") from None
    except ConfigError:
        raise
    except ValueError as exc:
        raise _too_long_number(name, exc) from None


def as_number(value: Any, where: str, *, strings: bool = False) -> float | int:
    """``value`` as a finite int or float; numeric strings only with ``strings=True``.

    YAML 1.1 reads ``1e-8`` (no dot) as a string; trainers' YAML files are full of such
    values, so the YAML reader accepts numeric strings for numeric keys.
    """
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
