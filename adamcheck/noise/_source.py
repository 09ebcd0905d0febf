"""Read per-example gradients from ``.npy``/``.npz`` files (or arrays) in chunks.

A gradient source holds P sampled points, N examples and d coordinates, shape
(P, N, d); a file of shape (N, d) is one point. Several files concatenate along the
examples (same P and d). Files are never loaded whole and never memory-mapped for the
streaming pass: chunks are read with ``os.preadv`` into a reused buffer, so the
process's resident memory stays at one chunk however large the file (memory-mapped
pages would count in the resident set). Random access (sampled mini-batches) reads
only the rows it needs.

Accepted: float32 or float64, C order, ``.npy`` (format 1.0, 2.0 or 3.0) or one array
of an ``.npz`` (stored or compressed; a compressed member is inflated to a temporary
file on first read, after its declared size was checked against adamcheck's limits
and the free space). Never unpickles: object arrays are refused with a
:class:`DataError`. Headers are parsed here with :func:`ast.literal_eval`, as the
``.npy`` format specification describes (numpy's own header reader is private).

An ``.npz`` may carry metadata next to the gradients (:mod:`._meta`): each file's is
validated by :class:`~adamcheck.noise._meta.GradientFileMeta`, and files pooled into
one source must agree (:func:`~adamcheck.noise._meta.merge_meta`); the result is
:attr:`GradientSource.meta`. Every command reads gradients through
:func:`opened_gradients`, so a file means the same thing to all of them.

Example:
    >>> import numpy as np
    >>> src = GradientSource.from_array(np.ones((4, 3)))
    >>> src.shape, src.take(0, np.array([2, 0])).shape
    ((1, 4, 3), (2, 3))
"""

from __future__ import annotations

import ast
import io
import math
import os
import shutil
import struct
import tempfile
import threading
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._validate import nonfinite_gradients
from .._files import check_input_file, os_reason
from .._limits import human_bytes, max_bytes, max_ops
from .._progress import Progress
from .._shown import shown, shown_repr
from ._meta import META_KEYS, GradientFileMeta, merge_meta

__all__ = ["GradientSource", "gradient_source", "open_gradients", "opened_gradients"]

#: npz member names tried, in order, when no key is given.
DEFAULT_KEYS = ("grads", "gradients", "per_example_gradients")
#: Provenance arrays our writers store next to the gradients (never the gradients).
PROVENANCE_KEYS = ("coord_param", "coord_index", "param_names", "param_sizes", "step", "dtype", "seed",
                   "monitor_steps", "exp_avg", "exp_avg_sq")
#: Longest .npy header read (numpy's own reader stops at 10,000 characters too).
MAX_HEADER_BYTES = 10_000
#: Largest metadata entry read from an .npz (a number, a short text or list of beta2 values).
MAX_META_BYTES = 1 << 16


@dataclass
class _Segment:
    """One contiguous block of examples: a file region or an in-memory array."""

    name: str
    points: int
    examples: int
    dim: int
    dtype: np.dtype
    array: np.ndarray | None = None  # (P, N, d) when in memory
    path: str | None = None
    offset: int = 0
    fd: int | None = None
    temp: str | None = None  # inflated copy of a compressed npz member, removed on close
    meta: GradientFileMeta = GradientFileMeta()
    member: str | None = None  # a compressed npz member, inflated on first read
    identity: tuple[int, int] | None = None  # (device, inode) of the file

    @property
    def row_bytes(self) -> int:
        return self.dim * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.points * self.examples * self.row_bytes

    def open(self, progress: bool = False) -> None:
        if self.array is not None or self.fd is not None:
            return
        if self.member is not None and self.temp is None:
            self.temp = _inflate(self, progress)
        self.fd = os.open(self.temp or self.path, os.O_RDONLY)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except OSError:
                pass
            self.temp = None

    def read_into(self, p: int, start: int, out: np.ndarray) -> None:
        """Fill ``out`` (count, d), native dtype, with rows ``start..start+count-1`` of point p."""
        count = out.shape[0]
        if self.array is not None:
            np.copyto(out, self.array[p, start : start + count])
            return
        pos = self.offset + (p * self.examples + start) * self.row_bytes
        view = memoryview(out).cast("B")
        done = 0
        total = view.nbytes
        while done < total:
            got = _pread_into(self.fd, view[done:], pos + done)
            if got <= 0:
                raise DataError(
                    f"{self.name} ends before the {self.points}x{self.examples}x{self.dim} "
                    "array its header announces: the file is truncated, write it again"
                )
            done += got


def _pread_into(fd: int, view: memoryview, pos: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], pos)
    data = os.pread(fd, view.nbytes, pos)  # pragma: no cover - platforms without preadv
    view[: len(data)] = data
    return len(data)


class GradientSource:
    """Per-example gradients of shape (P, N, d), read in chunks.

    Use :func:`open_gradients` (files) or :meth:`from_array` (arrays). Close with
    :meth:`close` or a ``with`` block.
    """

    def __init__(self, segments: Sequence[_Segment], *, progress: bool = False) -> None:
        if not segments:
            raise DataError("no gradient files given: pass at least one .npy or .npz file")
        first = segments[0]
        seen: dict[tuple[int, int], str] = {}
        for seg in segments:
            if seg.identity is not None and seg.identity in seen:
                raise DataError(
                    f"gradient file {shown_repr(seg.path)} is given twice (also as {shown_repr(seen[seg.identity])}): "
                    "pass each file once (its examples would be counted twice)"
                )
            if seg.identity is not None:
                seen[seg.identity] = str(seg.path)
        for seg in segments[1:]:
            if seg.points != first.points:
                raise DataError(
                    f"{seg.name} has {seg.points} points but {first.name} has {first.points}: "
                    "files combine along examples, so give them the same number of points"
                )
            if seg.dim != first.dim:
                raise DataError(
                    f"{seg.name} has d = {seg.dim} coordinates but {first.name} has d = {first.dim}: "
                    "give gradients of the same parameters in every file"
                )
        #: the files' validated metadata, merged (:func:`~adamcheck.noise._meta.merge_meta`),
        #: and notes on the keys the files disagree on that were dropped
        self.meta, self.notes = merge_meta([(_file_name(s), s.meta) for s in segments])
        self.segments = list(segments)
        self.points = first.points
        self.dim = first.dim
        self.examples = sum(s.examples for s in segments)
        self._starts = np.cumsum([0] + [s.examples for s in segments])
        #: draw progress bars on stderr while inflating and over long reads (commands set it
        #: unless --quiet; the passes over the data that take this source honour it too)
        self.progress = bool(progress)
        self._lock = threading.Lock()
        self._opened = False

    def _ensure_open(self) -> None:
        """Open the files (inflating compressed members) on the first read, once."""
        if self._opened:
            return
        with self._lock:
            if not self._opened:
                for seg in self.segments:
                    seg.open(self.progress)
                self._opened = True

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_array(cls, array: Any, name: str = "array", meta: GradientFileMeta | None = None) -> "GradientSource":
        """Wrap an in-memory (N, d) or (P, N, d) float array (no copy for float32/64).

        ``meta`` says how the rows were made (default: nothing stated, per-example rows).
        """
        try:
            arr = np.asarray(array)
        except Exception as exc:  # a tensor on a GPU or with grad, a ragged list...
            raise DataError(
                f"gradients of type {type(array).__name__} cannot be read as an array ({type(exc).__name__}): "
                "give a float numpy array (for a torch tensor: t.detach().cpu().numpy()) or a path"
            ) from None
        arr = _check_layout(arr.shape, arr.dtype, name, fortran=False)(arr)
        seg = _Segment(name, *arr.shape, np.dtype(arr.dtype), array=arr, meta=meta or GradientFileMeta())
        return cls([seg])

    # -- shape -----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.points, self.examples, self.dim)

    @property
    def nbytes(self) -> int:
        return sum(s.points * s.examples * s.row_bytes for s in self.segments)

    @property
    def dtypes(self) -> list[str]:
        return sorted({str(s.dtype.newbyteorder("=")) for s in self.segments})

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.segments]

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata the files state, as plain values (:meth:`GradientFileMeta.stated`)."""
        return self.meta.stated()

    @property
    def label(self) -> str:
        """The files, for messages: ``run.npz`` or ``a.npz, b.npz``."""
        names = sorted({_file_name(s) for s in self.segments})
        return ", ".join(names) if len(names) <= 3 else f"{names[0]} and {len(names) - 1} other files"

    def batch_rows(self, batch_size: int) -> int:
        """Rows per mini-batch of ``batch_size`` examples: B / row_batch_size (DataError if not whole)."""
        return self.meta.batch_rows(batch_size, self.label)

    # -- reading ---------------------------------------------------------------------------
    def iter_chunks(
        self, p: int, start: int, stop: int, rows: int
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(global_start, block)`` over examples ``start..stop-1`` of point ``p``.

        Blocks are native-dtype views of a buffer reused between iterations (copy one to
        keep it); chunks never straddle two files.
        """
        self._ensure_open()
        buffers: dict[str, np.ndarray] = {}
        j = start
        while j < stop:
            k = int(np.searchsorted(self._starts, j, side="right") - 1)
            seg = self.segments[k]
            local = j - int(self._starts[k])
            count = min(rows, stop - j, seg.examples - local)
            if seg.array is not None:
                yield j, seg.array[p, local : local + count]
            else:
                key = seg.dtype.str
                buf = buffers.get(key)
                if buf is None or buf.shape[0] < count:
                    buf = np.empty((max(rows, count), self.dim), dtype=seg.dtype)
                    buffers[key] = buf
                out = buf[:count]
                seg.read_into(p, local, out)
                yield j, out
            j += count

    def take(self, p: int, indices: Any) -> np.ndarray:
        """Rows ``indices`` of point ``p`` as float64, in the order given (random access).

        Distinct rows are read once, in file order, consecutive ones in one call, so the
        cost is proportional to the rows asked for, not to the file.
        """
        self._ensure_open()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size == 0:
            return np.empty((0, self.dim), dtype=np.float64)
        if idx.min() < 0 or idx.max() >= self.examples:
            raise DataError(f"row index out of range 0..{self.examples - 1}")
        uniq, inverse = np.unique(idx, return_inverse=True)
        rows = np.empty((uniq.size, self.dim), dtype=np.float64)
        seg_of = np.searchsorted(self._starts, uniq, side="right") - 1
        for k in np.unique(seg_of).tolist():
            seg = self.segments[k]
            sel = np.flatnonzero(seg_of == k)
            local = uniq[sel] - int(self._starts[k])
            if seg.array is not None:
                rows[sel] = seg.array[p, local]
                continue
            buf = np.empty((local.size, self.dim), dtype=seg.dtype)
            breaks = np.flatnonzero(np.diff(local) != 1) + 1
            run_starts = np.concatenate([[0], breaks]).tolist()
            run_ends = np.concatenate([breaks, [local.size]]).tolist()
            firsts = local[run_starts].tolist()
            for a, b, first in zip(run_starts, run_ends, firsts):
                seg.read_into(p, first, buf[a:b])
            rows[sel] = buf
        out = rows[inverse]
        if not np.isfinite(out).all():
            row, coordinate = np.argwhere(~np.isfinite(out))[0]
            raise nonfinite_gradients(p, int(idx[row]), int(coordinate))
        return out

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        for seg in self.segments:
            seg.close()
        self._opened = False

    def __enter__(self) -> "GradientSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GradientSource(shape={self.shape}, files={self.names})"


# --------------------------------------------------------------------------------------
def open_gradients(paths: Any, key: str | None = None, *, progress: bool = False) -> GradientSource:
    """Open one or several gradient files (``.npy``/``.npz``) as one :class:`GradientSource`.

    Only the headers and the metadata are read here; the data are read (a compressed
    member inflated) on first use.

    Args:
        paths: a path or a list of paths; several files concatenate along examples.
        key: the array to use inside ``.npz`` files (default: ``grads``, ``gradients``,
            ``per_example_gradients`` or the file's only array).
        progress: a progress bar on stderr while a compressed member is inflated.

    Raises:
        DataError: missing, empty, pickled, truncated or wrongly shaped files, a malformed
            header or metadata entry, d or P mismatch across files, files whose metadata
            disagree, the same file given twice, a compressed array above the limits.
    """
    if isinstance(paths, (str, os.PathLike, bytes)):
        paths = [paths]
    try:
        paths = list(paths)
    except TypeError:
        raise InvalidParameterError(
            f"gradients is a {type(paths).__name__}: give a path or a list of paths to .npy/.npz files"
        ) from None
    segments: list[_Segment] = []
    try:
        for path in paths:
            segments.append(_open_file(path, key))
        return GradientSource(segments, progress=progress)
    except BaseException:
        for seg in segments:
            seg.close()
        raise


def gradient_source(gradients: Any, key: str | None = None, *, progress: bool = False) -> tuple[GradientSource, bool]:
    """``(source, owned)`` for path(s), an (N, d)/(P, N, d) array or a :class:`GradientSource`.

    ``owned`` is False for a source given as is: the caller that opened it closes it.
    """
    if isinstance(gradients, GradientSource):
        return gradients, False
    if isinstance(gradients, (str, os.PathLike, bytes)) or (
        isinstance(gradients, (list, tuple)) and gradients
        and all(isinstance(g, (str, os.PathLike, bytes)) for g in gradients)
    ):
        return open_gradients(gradients, key=key, progress=progress), True
    if isinstance(gradients, (list, tuple)) and not gradients:
        raise InvalidParameterError("gradients is empty: give a path, a list of paths or an (N, d) array")
    if not isinstance(gradients, (list, tuple, np.ndarray)) and not hasattr(gradients, "__array__"):
        raise InvalidParameterError(
            f"gradients is a {type(gradients).__name__}: give a path, a list of paths or an (N, d) array"
        )
    return GradientSource.from_array(gradients), True


@contextmanager
def opened_gradients(gradients: Any, key: str | None = None, *, progress: bool = False) -> Iterator[GradientSource]:
    """The one loader of gradients for every command: a :class:`GradientSource`, closed on exit
    unless it was given open.

    Example:
        >>> with opened_gradients(np.zeros((8, 2))) as src:
        ...     src.shape, src.meta.rows_per_example
        ((1, 8, 2), 1)
    """
    source, owned = gradient_source(gradients, key, progress=progress)
    try:
        yield source
    finally:
        if owned:
            source.close()


def _file_name(seg: _Segment) -> str:
    return seg.path if seg.path is not None else seg.name


def _open_file(path: Any, key: str | None) -> _Segment:
    p = check_input_file(path, "gradient file", fix="give a .npy or .npz file")
    name = str(p)
    try:
        st = p.stat()
        with open(p, "rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise DataError(f"cannot read gradient file {shown_repr(name)}: {os_reason(exc)}") from None
    if st.st_size == 0:
        raise DataError(f"gradient file {shown_repr(name)} is empty: write the gradients again")
    if head.startswith(b"PK"):
        seg = _open_npz(p, key)
    elif head != b"\x93NUMPY":
        if head[:1] == b"\x80":
            raise DataError(
                f"{shown_repr(name)} is a pickle, which adamcheck never loads: save the gradients "
                "with numpy.save (float32 or float64 array)"
            )
        raise DataError(f"{shown_repr(name)} is not a .npy or .npz file: save the gradients with numpy.save")
    else:
        with open(p, "rb") as fh:
            shape, fortran, dtype = _read_npy_header(fh, name)
            offset = fh.tell()
        check = _check_layout(shape, dtype, name, fortran)
        seg = _Segment(name, *check.shape3, np.dtype(dtype), path=name, offset=offset)
        _check_size(seg, st.st_size)
    seg.identity = (st.st_dev, st.st_ino)
    return seg


def _read_npy_header(fh: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype of the ``.npy`` header at ``fh``'s position; ``fh`` is
    left at the first data byte.

    The layout of the numpy documentation's "npy format" page: the magic ``\\x93NUMPY``,
    two version bytes, the header length (little-endian uint16 for 1.0, uint32 for 2.0 and
    3.0) and a Python dict literal (latin-1 text before 3.0, UTF-8 from 3.0) with exactly
    the keys ``descr``, ``fortran_order`` and ``shape``. Parsed with
    :func:`ast.literal_eval` on at most :data:`MAX_HEADER_BYTES` bytes.
    """

    def bad(why: str) -> DataError:
        return DataError(f"{shown_repr(name)} has an unreadable .npy header ({why}): write it again with numpy.save")

    magic = fh.read(8)
    if len(magic) < 8 or magic[:6] != b"\x93NUMPY":
        raise bad("no .npy magic string")
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise bad(f"format version {version[0]}.{version[1]}; the .npy formats are 1.0, 2.0 and 3.0")
    size_format = "<H" if version == (1, 0) else "<I"
    raw = fh.read(struct.calcsize(size_format))
    if len(raw) < struct.calcsize(size_format):
        raise bad("the file ends inside the header")
    (length,) = struct.unpack(size_format, raw)
    if length > MAX_HEADER_BYTES:
        raise bad(f"a header of {length:,} bytes, more than the {MAX_HEADER_BYTES:,} adamcheck reads")
    text = fh.read(length)
    if len(text) < length:
        raise bad("the file ends inside the header")
    try:
        header = ast.literal_eval(text.decode("utf-8" if version == (3, 0) else "latin-1"))
    except (ValueError, SyntaxError, TypeError, UnicodeDecodeError, MemoryError, RecursionError):
        raise bad("the header is not a Python dict literal") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise bad("the header does not hold exactly the keys descr, fortran_order and shape")
    shape, fortran, descr = header["shape"], header["fortran_order"], header["descr"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
        raise bad(f"shape {_shape_text(shape)} is not a tuple of whole numbers")
    if any(n < 0 for n in shape):
        raise DataError(f"{shown_repr(name)} has shape {_shape_text(shape)} with a negative dimension: "
                        "write it again with numpy.save")
    if not isinstance(fortran, bool):
        raise bad("fortran_order is not True or False")
    if not isinstance(descr, str):
        raise DataError(f"{shown_repr(name)} holds a structured array: gradients must be a float32 or float64 array")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError):
        raise bad(f"descr {shown_repr(descr)} is not a numpy dtype") from None
    return shape, fortran, dtype


def _shape_text(shape: Any) -> str:
    if isinstance(shape, tuple) and len(shape) <= 8:
        return "(" + ", ".join(shown(n, 24) for n in shape) + ("," if len(shape) == 1 else "") + ")"
    return shown(shape)


class _Layout:
    def __init__(self, shape3: tuple[int, int, int]) -> None:
        self.shape3 = shape3

    def __call__(self, arr: np.ndarray) -> np.ndarray:
        arr = arr.reshape(self.shape3) if arr.ndim == 2 else arr
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        return arr


def _check_layout(shape: tuple[int, ...], dtype: np.dtype, name: str, fortran: bool) -> _Layout:
    dtype = np.dtype(dtype)
    name = shown_repr(name)
    if dtype.hasobject:
        raise DataError(
            f"{name} holds a pickled (object) array, which adamcheck never loads: "
            "save a float32 or float64 array"
        )
    if dtype.kind != "f" or dtype.itemsize not in (4, 8):
        raise DataError(
            f"{name} has dtype {dtype}: per-example gradients must be float32 or float64"
        )
    if len(shape) not in (2, 3):
        raise DataError(
            f"{name} has shape {_shape_text(tuple(shape))} (rank {len(shape)}): expected (N, d) "
            "per-example gradients at one point or (P, N, d) at P points"
        )
    if fortran and len(shape) > 1:
        raise DataError(
            f"{name} is stored in Fortran order: save numpy.ascontiguousarray(grads) instead"
        )
    shape3 = (1, *shape) if len(shape) == 2 else tuple(shape)
    if min(shape3) == 0:
        raise DataError(f"{name} has shape {_shape_text(tuple(shape))} with no entries: give at least one example")
    return _Layout(shape3)  # type: ignore[arg-type]


def _check_size(seg: _Segment, file_size: int) -> None:
    need = seg.offset + seg.nbytes
    if file_size < need:
        raise DataError(
            f"{shown_repr(seg.name)} is truncated ({file_size:,} bytes, its header needs {need:,}): write it again"
        )


#: What a damaged or exotic zip archive can raise while it is read.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
               ValueError, struct.error, OSError)


def _damaged(name: str, exc: BaseException) -> DataError:
    why = os_reason(exc) if isinstance(exc, OSError) else type(exc).__name__
    return DataError(f"{shown_repr(name)} is not a readable .npz file ({why}): save it again with numpy.savez")


def _open_npz(path: Path, key: str | None = None) -> _Segment:
    name = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise _damaged(name, exc) from None
    with zf:
        members = {m.filename[:-4] if m.filename.endswith(".npy") else m.filename: m for m in zf.infolist()}
        if not members:
            raise DataError(f"{shown_repr(name)} is an empty .npz archive: save the gradients into it")
        meta = _read_npz_meta(zf, members, name)
        if key is not None:
            if key not in members:
                raise DataError(f"{shown_repr(name)} has no array {shown_repr(key)}: its arrays are "
                                f"{shown(sorted(members))}")
            chosen = key
        else:
            chosen = next((k for k in DEFAULT_KEYS if k in members), None)
            if chosen is None:
                candidates = [k for k in members
                              if k not in META_KEYS and k not in PROVENANCE_KEYS and not k.startswith("param_")]
                if len(candidates) != 1:
                    raise DataError(
                        f"{shown_repr(name)} holds arrays {shown(sorted(members))}: name the gradients with key "
                        "(CLI --key) (or store them as 'grads')"
                    )
                chosen = candidates[0]
        info = members[chosen]
        label = f"{name}[{chosen}]"
        if info.flag_bits & 0x1:
            raise DataError(f"{shown_repr(name)} is encrypted: save the gradients with numpy.savez")
        if info.compress_type == zipfile.ZIP_STORED:
            try:
                with open(path, "rb") as fh:
                    fh.seek(info.header_offset)
                    local = fh.read(30)
                    if len(local) < 30 or local[:4] != b"PK\x03\x04":
                        raise DataError(f"{shown_repr(name)} has a damaged zip entry for {shown_repr(chosen)}: "
                                        "write it again")
                    name_len, extra_len = struct.unpack("<HH", local[26:30])
                    start = info.header_offset + 30 + name_len + extra_len
                    fh.seek(start)
                    shape, fortran, dtype = _read_npy_header(fh, label)
                    offset = fh.tell()
            except OSError as exc:
                raise _damaged(name, exc) from None
            check = _check_layout(shape, dtype, label, fortran)
            seg = _Segment(label, *check.shape3, np.dtype(dtype), path=name, offset=offset, meta=meta)
            _check_size(seg, path.stat().st_size)
            if info.file_size < offset - start + seg.nbytes:
                raise DataError(f"{shown_repr(label)} is truncated (its zip entry holds {info.file_size:,} bytes, "
                                f"its header needs {offset - start + seg.nbytes:,}): write it again")
            return seg
        # compressed member: its header now; the data are inflated to a temporary .npy on
        # first read (so chunks can be read anywhere), after the size checks below
        try:
            with zf.open(info) as member:
                shape, fortran, dtype = _read_npy_header(member, label)
        except DataError:
            raise
        except _ZIP_ERRORS as exc:
            raise _damaged(name, exc) from None
        check = _check_layout(shape, dtype, label, fortran)
        seg = _Segment(label, *check.shape3, np.dtype(dtype), path=name, member=info.filename, meta=meta)
        _check_inflate(seg, info.file_size)
        return seg


def _check_inflate(seg: _Segment, member_size: int) -> None:
    """Refuse, before inflating, a compressed array larger than its zip entry, than the
    limits of :mod:`adamcheck._limits` or than the free space of the temporary folder.

    A small compressed member can claim terabytes ("zip bomb"): only the bytes the
    header's shape needs are ever inflated, and only when they fit.
    """
    need = seg.nbytes
    if member_size < need:
        raise DataError(f"{shown_repr(seg.name)} is truncated (its zip entry holds {member_size:,} bytes, its "
                        f"header needs {need:,}): write it again")
    limit, ops = max_bytes(), max_ops()
    if need > limit or need / seg.dtype.itemsize > ops:
        raise DataError(
            f"{shown_repr(seg.path)} holds a compressed array of {need:,} bytes ({human_bytes(need)}), above "
            f"adamcheck's limit of {human_bytes(limit)} (set ADAMCHECK_MAX_MEMORY_GB to raise it): save it "
            "uncompressed with numpy.savez, which is read in place without inflating"
        )
    _check_free(seg, need)


def _check_free(seg: _Segment, need: int) -> None:
    folder = tempfile.gettempdir()
    free = shutil.disk_usage(folder).free
    if need > free:
        raise DataError(
            f"{shown_repr(seg.path)} holds a compressed array of {need:,} bytes, more than the {free:,} bytes free "
            f"in {shown_repr(folder)} where it would be inflated: save it uncompressed (numpy.savez) or free space"
        )


def _inflate(seg: _Segment, progress: bool) -> str:
    """Inflate the compressed member's data (no header) to a temporary file; return its path."""
    need = seg.nbytes
    _check_free(seg, need)
    fd, tmp = tempfile.mkstemp(suffix=".raw", prefix="adamcheck-")
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(seg.path) as zf, zf.open(seg.member) as member:
            _read_npy_header(member, seg.name)
            left = need
            with Progress(total=need, label=f"inflating {Path(seg.path).name}", enabled=progress) as bar:
                while left > 0:
                    block = member.read(min(left, 1 << 22))
                    if not block:
                        break
                    out.write(block)
                    left -= len(block)
                    bar.update(len(block))
        if left > 0:
            raise DataError(f"{shown_repr(seg.name)} ends before the {need:,} bytes its header announces: "
                            "the file is truncated, write it again")
    except DataError:
        _unlink(tmp)
        raise
    except OSError as exc:
        _unlink(tmp)
        raise DataError(f"cannot inflate {shown_repr(seg.name)} into {shown_repr(tempfile.gettempdir())}: "
                        f"{os_reason(exc)} (free space, or set TMPDIR)") from None
    except _ZIP_ERRORS as exc:
        _unlink(tmp)
        raise _damaged(str(seg.path), exc) from None
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_npz_meta(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str) -> GradientFileMeta:
    """The metadata entries of an ``.npz``, read without numpy's loader and validated."""
    values = {k: _read_small_member(zf, members[k], f"{name}[{k}]") for k in META_KEYS if k in members}
    return GradientFileMeta.from_mapping(values, name)


def _read_small_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> np.ndarray:
    if info.file_size > MAX_META_BYTES:
        raise DataError(f"{shown_repr(label)} is {info.file_size:,} bytes, too large for a metadata entry "
                        "(a number or a short text): write the file again")
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_META_BYTES + 1)
    except _ZIP_ERRORS as exc:
        raise _damaged(label, exc) from None
    buf = io.BytesIO(data)
    shape, fortran, dtype = _read_npy_header(buf, label)
    if dtype.hasobject:
        raise DataError(f"{shown_repr(label)} is a pickled (object) array, which adamcheck never loads: "
                        "store it as a plain number or text")
    if dtype.kind not in "biufU":
        raise DataError(f"{shown_repr(label)} has dtype {dtype}: a metadata entry is a number or a text")
    count = math.prod(shape)
    start = buf.tell()
    if count * dtype.itemsize > len(data) - start:
        raise DataError(f"{shown_repr(label)} is truncated: write the file again")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=start)
    return arr.reshape(shape, order="F" if fortran else "C").copy()
