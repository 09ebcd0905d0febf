"""Byte-reproducible ``.npz`` writing: same arrays, same bytes (fixed zip timestamps).

``numpy.savez`` stamps each member with the current time, so two runs differ in bytes;
adamcheck's rule is same seed, same bytes.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._files import atomic_output

__all__ = ["write_npz"]


def write_npz(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    """Write ``arrays`` uncompressed (readable in place) with member times fixed at 1980-01-01.

    All or nothing (:func:`adamcheck._files.atomic_output`): on a full disk the old file
    stays as it was and no partial file is left; the error
    (:class:`~adamcheck._errors.InvalidParameterError`) names the file and the OS's reason.
    """
    with atomic_output(path, "file") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, value in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                zf.writestr(info, buf.getvalue())
    return Path(path)
