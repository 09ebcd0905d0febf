"""Read per-example gradients from ``.npy``/``.npz`` files (or arrays) in chunks.

A gradient source holds P sampled points, N examples and d coordinates, shape
(P, N, d); a file of shape (N, d) is one point. Several files concatenate along the
examples (same P and d). Files are never loaded whole and never memory-mapped for the
streaming pass: chunks are read with ``os.preadv`` into a reused buffer, so the
process's resident memory stays at one chunk however large the file (memory-mapped
pages would count in the resident set). Random access (sampled mini-batches) reads
only the rows it needs.

Accepted: float32 or float64, C order, ``.npy`` or one array of an ``.npz`` (stored
or compressed; a compressed member is first inflated to a temporary file). Never
unpickles: object arrays are refused with a :class:`DataError`.

Example:
    >>> import numpy as np
    >>> src = GradientSource.from_array(np.ones((4, 3)))
    >>> src.shape, src.take(0, np.array([2, 0])).shape
    ((1, 4, 3), (2, 3))
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .._errors import DataError

__all__ = ["GradientSource", "open_gradients"]

#: npz member names tried, in order, when no key is given.
DEFAULT_KEYS = ("grads", "gradients", "per_example_gradients")
#: Scalar metadata an npz may carry next to the gradients (written by our torch helpers).
#: ``row_batch_size`` R > 1: each row is a mini-batch gradient of R examples (a GradientMonitor file).
META_KEYS = ("reduction", "loss_scale", "mean_over", "row_batch_size")


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
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def row_bytes(self) -> int:
        return self.dim * self.dtype.itemsize

    def open(self) -> None:
        if self.array is None and self.fd is None:
            self.fd = os.open(self.path, os.O_RDONLY)

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

    def __init__(self, segments: Sequence[_Segment]) -> None:
        if not segments:
            raise DataError("no gradient files given: pass at least one .npy or .npz file")
        first = segments[0]
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
        self.segments = list(segments)
        self.points = first.points
        self.dim = first.dim
        self.examples = sum(s.examples for s in segments)
        self._starts = np.cumsum([0] + [s.examples for s in segments])
        for seg in self.segments:
            seg.open()

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_array(cls, array: Any, name: str = "array") -> "GradientSource":
        """Wrap an in-memory (N, d) or (P, N, d) float array (no copy for float32/64)."""
        arr = np.asarray(array)
        arr = _check_layout(arr.shape, arr.dtype, name, fortran=False)(arr)
        return cls([_Segment(name, *arr.shape, np.dtype(arr.dtype), array=arr)])

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
        """Scale metadata stored next to the gradients (npz), if every file agrees."""
        metas = [s.meta for s in self.segments]
        if metas and all(m == metas[0] for m in metas):
            return dict(metas[0])
        return {}

    # -- reading ---------------------------------------------------------------------------
    def iter_chunks(
        self, p: int, start: int, stop: int, rows: int
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(global_start, block)`` over examples ``start..stop-1`` of point ``p``.

        Blocks are native-dtype views of a buffer reused between iterations (copy one to
        keep it); chunks never straddle two files.
        """
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
            bad = int(idx[np.argwhere(~np.isfinite(out))[0][0]])
            raise DataError(
                f"gradients contain NaN or inf (point {p}, example {bad}): "
                "drop or recompute those examples"
            )
        return out

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        for seg in self.segments:
            seg.close()

    def __enter__(self) -> "GradientSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GradientSource(shape={self.shape}, files={self.names})"


# --------------------------------------------------------------------------------------
def open_gradients(paths: Any, key: str | None = None) -> GradientSource:
    """Open one or several gradient files (``.npy``/``.npz``) as one :class:`GradientSource`.

    Args:
        paths: a path or a list of paths; several files concatenate along examples.
        key: the array to use inside ``.npz`` files (default: ``grads``, ``gradients``,
            ``per_example_gradients`` or the file's only array).

    Raises:
        DataError: missing, empty, pickled, truncated or wrongly shaped files, d or P
            mismatch across files.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    segments: list[_Segment] = []
    try:
        for path in paths:
            segments.append(_open_file(Path(path), key))
        return GradientSource(segments)
    except BaseException:
        for seg in segments:
            seg.close()
        raise


def _open_file(path: Path, key: str | None) -> _Segment:
    name = str(path)
    if not path.exists():
        raise DataError(f"gradient file {name!r} does not exist: check the path")
    if path.is_dir():
        raise DataError(f"{name!r} is a folder: give a .npy or .npz file")
    if path.stat().st_size == 0:
        raise DataError(f"gradient file {name!r} is empty: write the gradients again")
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head.startswith(b"PK"):
        return _open_npz(path, key)
    if head != b"\x93NUMPY":
        if head[:1] == b"\x80":
            raise DataError(
                f"{name!r} is a pickle, which adamcheck never loads: save the gradients "
                "with numpy.save (float32 or float64 array)"
            )
        raise DataError(f"{name!r} is not a .npy or .npz file: save the gradients with numpy.save")
    with open(path, "rb") as fh:
        shape, fortran, dtype = _read_npy_header(fh, name)
        offset = fh.tell()
    check = _check_layout(shape, dtype, name, fortran)
    seg = _Segment(name, *check.shape3, np.dtype(dtype), path=str(path), offset=offset)
    _check_size(seg, path.stat().st_size)
    return seg


def _read_npy_header(fh: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fh)
        else:
            shape, fortran, dtype = fmt._read_array_header(fh, version)  # noqa: SLF001 (v3 headers)
    except (ValueError, EOFError, OSError, SyntaxError) as exc:
        raise DataError(f"{name!r} has an unreadable .npy header ({exc}): write it again with numpy.save") from None
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype)


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
    if dtype.hasobject:
        raise DataError(
            f"{name!r} holds a pickled (object) array, which adamcheck never loads: "
            "save a float32 or float64 array"
        )
    if dtype.kind != "f" or dtype.itemsize not in (4, 8):
        raise DataError(
            f"{name!r} has dtype {dtype}: per-example gradients must be float32 or float64"
        )
    if len(shape) not in (2, 3):
        raise DataError(
            f"{name!r} has shape {tuple(shape)} (rank {len(shape)}): expected (N, d) "
            "per-example gradients at one point or (P, N, d) at P points"
        )
    if fortran and len(shape) > 1:
        raise DataError(
            f"{name!r} is stored in Fortran order: save numpy.ascontiguousarray(grads) instead"
        )
    shape3 = (1, *shape) if len(shape) == 2 else tuple(shape)
    if min(shape3) == 0:
        raise DataError(f"{name!r} has shape {tuple(shape)} with no entries: give at least one example")
    return _Layout(shape3)  # type: ignore[arg-type]


def _check_size(seg: _Segment, file_size: int) -> None:
    need = seg.offset + seg.points * seg.examples * seg.row_bytes
    if file_size < need:
        raise DataError(
            f"{seg.name} is truncated ({file_size} bytes, its header needs {need}): write it again"
        )


def _open_npz(path: Path, key: str | None) -> _Segment:
    name = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError(f"{name!r} is not a readable .npz file: save it with numpy.savez") from None
    with zf:
        members = {m.filename[:-4] if m.filename.endswith(".npy") else m.filename: m for m in zf.infolist()}
        if not members:
            raise DataError(f"{name!r} is an empty .npz archive: save the gradients into it")
        meta = _read_npz_meta(path, members)
        if key is not None:
            if key not in members:
                raise DataError(f"{name!r} has no array {key!r}: its arrays are {sorted(members)}")
            chosen = key
        else:
            chosen = next((k for k in DEFAULT_KEYS if k in members), None)
            if chosen is None:
                candidates = [k for k in members if k not in META_KEYS and not k.startswith("param_")]
                if len(candidates) != 1:
                    raise DataError(
                        f"{name!r} holds arrays {sorted(members)}: name the gradients with key (CLI --key) "
                        "(or store them as 'grads')"
                    )
                chosen = candidates[0]
        info = members[chosen]
        label = f"{name}[{chosen}]"
        if info.compress_type == zipfile.ZIP_STORED:
            with open(path, "rb") as fh:
                fh.seek(info.header_offset)
                local = fh.read(30)
                if len(local) < 30 or local[:4] != b"PK\x03\x04":
                    raise DataError(f"{name!r} has a damaged zip entry for {chosen!r}: write it again")
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                shape, fortran, dtype = _read_npy_header(fh, label)
                offset = fh.tell()
            check = _check_layout(shape, dtype, label, fortran)
            seg = _Segment(label, *check.shape3, np.dtype(dtype), path=str(path), offset=offset, meta=meta)
            _check_size(seg, path.stat().st_size)
            return seg
        # compressed member: inflate once to a temporary .npy so chunks can be read anywhere
        with zf.open(info) as member:
            shape, fortran, dtype = _read_npy_header(member, label)
            check = _check_layout(shape, dtype, label, fortran)
            fd, tmp = tempfile.mkstemp(suffix=".npy", prefix="adamcheck-")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(member, out, length=1 << 22)
        seg = _Segment(label, *check.shape3, np.dtype(dtype), path=tmp, offset=0, temp=tmp, meta=meta)
        _check_size(seg, os.path.getsize(tmp))
        return seg


def _read_npz_meta(path: Path, members: dict[str, zipfile.ZipInfo]) -> dict[str, Any]:
    wanted = [k for k in META_KEYS if k in members]
    if not wanted:
        return {}
    meta: dict[str, Any] = {}
    with np.load(path, allow_pickle=False) as npz:
        for k in wanted:
            try:
                value = npz[k]
            except ValueError:
                raise DataError(f"{path}[{k}] is a pickled array: store it as a plain scalar") from None
            if value.shape != ():
                continue
            meta[k] = value.item()
    return meta
