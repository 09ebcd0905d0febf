"""Every user file is opened through here: regular files only, size checked, OS errors
reported with the operating system's reason.

``/dev/zero`` would be read until memory runs out, a FIFO blocks forever, a folder
gives an OS error in the middle of parsing; :func:`check_input_file` refuses them all
before a byte is read, and turns ``OSError`` (permission, I/O error, name too long)
into the caller's :class:`~adamcheck._errors.AdamCheckError` subclass with
``os.strerror``'s words. :func:`check_output_path` does the same for files adamcheck
will write (plots, law files), and :func:`atomic_output` writes them all or nothing:
a full disk or a killed process never leaves a truncated or half-written file in place
of the old one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

from ._errors import AdamCheckError, DataError, InvalidParameterError
from ._shown import shown_repr

__all__ = ["check_input_file", "read_bytes", "read_text", "check_output_path", "check_not_an_input", "atomic_output",
           "os_reason"]


def os_reason(exc: OSError) -> str:
    """The OS's words for ``exc`` (``'No space left on device'``), never a traceback."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc.strerror or exc) or type(exc).__name__


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device (such as /dev/null or /dev/zero)"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_input_file(
    path: Any,
    what: str,
    *,
    max_bytes: int | None = None,
    error: type[AdamCheckError] = DataError,
    fix: str = "give a regular file",
) -> Path:
    """Return ``path`` as a :class:`Path` if it names a readable regular file.

    Args:
        path: a path (``str`` or ``os.PathLike``).
        what: what the file is, for messages (``"gradient file"``, ``"config"``).
        max_bytes: refuse larger files (None: no limit).
        error: the :class:`AdamCheckError` subclass to raise.
        fix: how to fix a file of the wrong kind.

    Raises:
        ``error``: the path is not a string/path, does not exist, is a folder, device,
        FIFO or socket, is larger than ``max_bytes``, or cannot be opened (the OS's reason).

    Example:
        >>> check_input_file("/dev/zero", "config")
        Traceback (most recent call last):
        ...
        adamcheck._errors.DataError: config '/dev/zero' is a character device (such as /dev/null or /dev/zero), not a regular file: give a regular file
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise error(f"{what} must be a path (str or pathlib.Path), got {type(path).__name__}")
    p = Path(path)
    name = shown_repr(str(p))
    if "\x00" in str(p):
        raise error(f"{what} {name} contains a NUL byte, which no file name can hold: check the path")
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{what} {name} does not exist: check the path") from None
    except OSError as exc:
        raise error(f"cannot read {what} {name}: {os_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {name} is {_kind(st.st_mode)}, not a regular file: {fix}")
    if max_bytes is not None and st.st_size > max_bytes:
        raise error(f"{what} {name} is {st.st_size:,} bytes, too large (limit {max_bytes:,} bytes for a {what}): {fix}")
    if not os.access(p, os.R_OK):
        raise error(f"cannot read {what} {name}: {os.strerror(13)}")
    return p


def read_bytes(path: Any, what: str, *, max_bytes: int, error: type[AdamCheckError] = DataError,
               fix: str = "give a regular file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes (see :func:`check_input_file`)."""
    p = check_input_file(path, what, max_bytes=max_bytes, error=error, fix=fix)
    try:
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise error(f"cannot read {what} {shown_repr(str(p))}: {os_reason(exc)}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {shown_repr(str(p))} is too large (limit {max_bytes:,} bytes): {fix}")
    return data


def read_text(path: Any, what: str, *, max_bytes: int, error: type[AdamCheckError] = DataError,
              fix: str = "give a text file") -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes."""
    data = read_bytes(path, what, max_bytes=max_bytes, error=error, fix=fix)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {shown_repr(str(path))} is not UTF-8 text: {fix}") from None


def check_output_path(path: Any, what: str, suffixes: set[str] | None = None) -> Path:
    """Validate a file adamcheck will write, before any work: suffix, folder, permission.

    Raises:
        InvalidParameterError: wrong suffix, missing folder, the path is a folder, or
        the folder is not writable (the OS's reason).
    """
    p = Path(path)
    name = shown_repr(str(p))
    if "\x00" in str(p):
        raise InvalidParameterError(f"{what} {name} contains a NUL byte, which no file name can hold: check the path")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise InvalidParameterError(f"{what} {name} has an unsupported suffix: use {', '.join(sorted(suffixes))}")
    folder = p.parent
    if not folder.is_dir():
        raise InvalidParameterError(
            f"cannot write {what} {name}: folder {shown_repr(str(folder))} does not exist; create it first"
        )
    if p.is_dir():
        raise InvalidParameterError(f"cannot write {what} {name}: it is a folder; give a file name")
    target = p if p.exists() else folder
    if not os.access(target, os.W_OK):
        raise InvalidParameterError(f"cannot write {what} {name}: {os.strerror(13)}")
    return p


def check_not_an_input(output: Any, what: str, inputs: Any) -> None:
    """Refuse an output path that is one of the input files (same file: the same name, a
    symlink or a hard link to it), before any work: writing it would destroy the input.

    Args:
        output: the path adamcheck will write.
        what: the output in the user's words (``"--laws-out"``).
        inputs: ``(label, path)`` pairs of the files read (``("--gradients", "g.npz")``).

    Raises:
        InvalidParameterError: ``output`` is the same file as an input.

    Example:
        >>> import tempfile, os
        >>> f = os.path.join(tempfile.mkdtemp(), "g.npz"); _ = open(f, "wb").close()
        >>> check_not_an_input(f, "--laws-out", [("GRADS", f)])
        Traceback (most recent call last):
        ...
        adamcheck._errors.InvalidParameterError: --laws-out ... is the input file GRADS ...: writing it would destroy that input; give another output path
    """
    if not isinstance(output, (str, os.PathLike)) or isinstance(output, bytes):
        return
    for label, path in inputs:
        if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
            continue
        try:
            same = os.path.samefile(output, path)  # stat follows symlinks; hard links share the inode
        except (OSError, ValueError):  # either does not exist (yet): they cannot be one file
            same = False
        if same:
            shown_out, shown_in = shown_repr(str(output)), shown_repr(str(path))
            link = "" if os.path.abspath(output) == os.path.abspath(path) else " (a link to it)"
            raise InvalidParameterError(
                f"{what} {shown_out} is the input file {label} {shown_in}{link}: writing it would destroy "
                "that input; give another output path"
            )


@contextlib.contextmanager
def atomic_output(path: Any, what: str = "output file") -> Iterator[Path]:
    """Write ``path`` all or nothing: yield a temporary file in the same folder, then rename it.

    The caller writes the whole output to the yielded path; on success it is flushed to
    disk and renamed over ``path`` (``os.replace``, atomic on one file system), so a reader
    sees the old file or the new one, never a part. On any failure the temporary file is
    removed and ``path`` is left as it was (or absent). The temporary name keeps ``path``'s
    suffix (writers that pick a format from it still work) and starts with a dot. A
    symlink at ``path`` is written through (its target is replaced), as ``open`` would; an
    existing file's permission bits are kept, a new one gets the umask's. A path that is a
    device, FIFO or socket (``/dev/null``) is written directly: it has no content to keep.

    Raises:
        InvalidParameterError: ``path`` is not a str/PathLike or holds a NUL byte, or the OS
            refused a step (full disk, permission, missing folder): the message names the
            file, the OS's reason, and says that the old file is unchanged.

    Example:
        >>> import tempfile, os
        >>> f = os.path.join(tempfile.mkdtemp(), "out.txt")
        >>> with atomic_output(f, "report") as tmp:
        ...     _ = tmp.write_text("done")
        >>> open(f).read(), sorted(os.listdir(os.path.dirname(f)))
        ('done', ['out.txt'])
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise InvalidParameterError(f"{what} must be a path (str or pathlib.Path), got {type(path).__name__}")
    p = Path(path)
    name = shown_repr(str(p))
    if "\x00" in str(p):
        raise InvalidParameterError(f"{what} {name} contains a NUL byte, which no file name can hold: check the path")
    target = Path(os.path.realpath(p))
    existed = target.exists()
    if existed and not target.is_file():
        # A device, FIFO or socket (/dev/null, a pipe a reader waits on): no old content to keep,
        # and a rename would replace the device node itself. The writer gets a regular file (zip
        # and image writers seek), whose bytes are then copied to the device.
        yield from _through_temporary(target, what, name)
        return
    tmp: Path | None = None
    try:
        tmp = _new_temporary(target)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # a full disk can surface only here, before the old file is replaced
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        kept = "the existing file is unchanged" if existed else "nothing was written"
        raise InvalidParameterError(
            f"cannot write {what} {name}: {os_reason(exc)}; {kept} (check free disk space and permissions)"
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _through_temporary(target: Path, what: str, name: str) -> Iterator[Path]:
    fd, tmp_name = tempfile.mkstemp(prefix="adamcheck-", suffix=target.suffix)
    os.close(fd)
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except OSError as exc:
        raise InvalidParameterError(f"cannot write {what} {name}: {os_reason(exc)}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)


def _new_temporary(target: Path) -> Path:
    """An empty new file beside ``target``, created exclusively (never an existing file)."""
    mode = 0o666  # what open() asks for; the umask applies
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(target.stat().st_mode)
    for _ in range(100):
        tmp = target.with_name(f".{target.name[:80]}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        try:
            if target.exists():
                os.fchmod(fd, mode)  # the umask must not narrow an existing file's permissions
        finally:
            os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {target}")  # pragma: no cover
