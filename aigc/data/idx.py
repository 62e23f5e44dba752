"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.), gzip-compressed or raw.

Header: two zero bytes, a type code, the number of dimensions, then each dimension as a
big-endian uint32; then the data, big-endian, row-major. A file whose header or length does
not add up is a DatasetError naming it, so a damaged file is never half read.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError

DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {dtype.newbyteorder(">").str: code for code, dtype in DTYPES.items()}


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (`.gz`: gzip-compressed), in native byte order."""
    path = Path(path)
    try:
        with _open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetError(f"{path}: not a readable {'gzip ' if path.suffix == '.gz' else ''}file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path}: bad IDX header ({ndim} dimensions, {len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise DatasetError(f"{path}: {what} ({len(raw)} bytes, the header {shape} needs {expected})")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file (`.gz`: gzip-compressed); the inverse of `read_idx`."""
    path = Path(path)
    big = array.astype(array.dtype.newbyteorder(">"))
    if big.dtype.str not in CODES or not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX cannot hold a {array.ndim}-d {array.dtype} array")
    header = bytes([0, 0, CODES[big.dtype.str], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with _open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(big).tobytes())
