"""Shell command lines as words, never run: what the launch-line readers share.

Megatron-LM launch scripts and Hugging Face / TRL / accelerate / torchrun / deepspeed
command lines are split as bash splits them (:mod:`shlex`, with line continuations,
comments and here-documents handled, line numbers kept); ``$NAME``/``${NAME}`` take
the value of a plain ``NAME=literal`` assignment in the same file, and anything else
that needs the shell (``$1``, ``$((...))``, command substitution) is reported as
unresolved instead of guessed.
"""

from __future__ import annotations

import io
import re
import shlex

from .._errors import ConfigError
from ._readutil import check_text_size

__all__ = ["shell_words", "shell_variables", "long_flags", "expand", "VAR"]

VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
#: Words that end one command's arguments.
_SEPARATORS = (")", "\\", "&&", "||", "|", ";", "&")


def _continuations(text: str) -> str:
    """Bash line continuations made harmless for :mod:`shlex`, line numbers kept.

    Outside quotes and inside double quotes, bash drops backslash-newline. Here it
    becomes a space plus the newline (outside quotes a newline only separates words;
    inside a double-quoted value that is word-split later it is whitespace too), so
    shlex's line count stays the file's. Inside single quotes nothing changes.
    """
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote != "'" and ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "\n":
                out.append(" \n")
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if ch in "'\"" and (not quote or quote == ch):
            quote = "" if quote else ch
        elif ch == "#" and not quote and (i == 0 or text[i - 1] in " \t\n;"):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out.append(" " * (end - i))  # comments may hold unbalanced quotes: blank them
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def _blank_heredocs(text: str) -> str:
    """Here-document bodies (``<<EOF`` ... ``EOF``) are data for another program (often
    Python with its own quotes): blank them, keeping the line count."""
    lines = text.split("\n")
    out = []
    end: str | None = None
    for line in lines:
        if end is not None:
            out.append("")
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        match = _HEREDOC.search(line)
        if match and "#" not in line[: match.start()]:
            end = match.group(2)
    return "\n".join(out)


def shell_words(text: str, name: str) -> list[tuple[str, int]]:
    """Words with their line numbers, split as bash splits them (quotes spanning lines
    included); a variable assignment whose quoted value holds flags
    (``GPT_ARGS="--micro-batch-size 4 ..."``, used later as ``$GPT_ARGS``) is word-split
    into those flags, as bash splits an unquoted expansion."""
    check_text_size(text, name, "shell")
    prepared = _continuations(_blank_heredocs(text))
    stream = io.StringIO(prepared)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[tuple[str, int]] = []
    try:
        while True:
            word = lexer.get_token()
            if word is None or word == lexer.eof:
                break
            # The stream stands one character past the word (its terminator, often a newline).
            end = max(stream.tell() - 1, 0)
            end_line = prepared.count("\n", 0, end) + 1
            match = re.match(r"^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=(.*)$", word, re.S)
            if match and "--" in match.group(1) and re.search(r"\s", match.group(1)):
                value = match.group(1)
                line = end_line - value.count("\n")
                for piece in re.split(r"(\s+)", value):
                    if piece.strip():
                        out.append((piece, line))
                    line += piece.count("\n")
                continue
            out.append((word, end_line))
    except ValueError as exc:
        raise ConfigError(f"{name} line {lexer.lineno}: cannot split the arguments ({exc}): fix the quoting") from None
    return out


def shell_variables(words: list[tuple[str, int]]) -> dict[str, str]:
    """``NAME=literal`` assignments among ``words`` (the last one of a name wins)."""
    variables: dict[str, str] = {}
    for word, _ in words:
        match = re.match(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=([^\s()]*)$", word)
        if match and "$" not in match.group(2) and "`" not in match.group(2):
            variables[match.group(1)] = match.group(2)
    return variables


def long_flags(words: list[tuple[str, int]]) -> list[tuple[str, list[str], int]]:
    """Every ``--flag value...`` / ``--flag=value`` among ``words``, in order, as
    (flag, values, line). A flag's values run to the next ``--flag`` or command separator.

    Example:
        >>> long_flags([("--a", 1), ("4", 1), ("--b=x", 2), ("--c", 3)])
        [('--a', ['4'], 1), ('--b', ['x'], 2), ('--c', [], 3)]
    """
    out: list[tuple[str, list[str], int]] = []
    i = 0
    while i < len(words):
        word, line = words[i]
        i += 1
        if not word.startswith("--") or len(word) < 3 or word.endswith(")"):
            continue  # "--flag)" is a bash case pattern, not an argument
        flag, eq, inline = word.partition("=")
        values: list[str] = [inline] if eq else []
        while not eq and i < len(words):
            nxt = words[i][0]
            if nxt.startswith("--") or nxt.endswith("=(") or nxt in _SEPARATORS:
                break
            values.append(nxt)
            i += 1
        out.append((flag, values, line))
    return out


def expand(raw: str, variables: dict[str, str], where: str) -> tuple[str | None, str]:
    """``raw`` with ``$NAME`` replaced from ``variables``: (value, where) or (None, why)
    when something needs the shell.

    Example:
        >>> expand("$BS", {"BS": "8"}, "run.sh line 3: --micro-batch-size")
        ('8', 'run.sh line 3: --micro-batch-size (= 8 via $BS)')
        >>> expand("$1", {}, "run.sh line 3: --lr")[0] is None
        True
    """
    unresolved = False

    def sub(m: re.Match) -> str:
        nonlocal unresolved
        var = m.group(1) or m.group(2)
        if var in variables:
            return variables[var]
        unresolved = True
        return m.group(0)

    value = VAR.sub(sub, raw)
    if unresolved or "$" in value or "`" in value:
        return None, f"{where} = {raw} needs the shell to expand it"
    if value != raw:
        where += f" (= {value} via {raw})"
    return value, where
