"""The IDX reader and writer (aigc/data/idx.py): round trips, and every way a file can be
damaged is a DatasetError that names the file."""

import gzip
import re

import numpy as np
import pytest

from aigc.data.idx import read_idx, write_idx
from aigc.errors import DatasetError


@pytest.mark.parametrize("suffix", [".idx", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path, suffix, dtype):
    array = (np.random.default_rng(0).standard_normal((3, 5, 7)) * 100).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype).newbyteorder("=") and back.shape == (3, 5, 7)
    np.testing.assert_array_equal(back, array)


def test_the_header_is_the_documented_one(tmp_path):
    """MNIST's label file layout: magic 2049 (0x00000801), the count, then the bytes."""
    write_idx(tmp_path / "labels.idx", np.array([5, 0, 4], np.uint8))
    assert (tmp_path / "labels.idx").read_bytes() == bytes.fromhex("00000801 00000003 050004")
    write_idx(tmp_path / "i.idx", np.array([[1, -2]], np.int16))
    assert (tmp_path / "i.idx").read_bytes() == bytes.fromhex("00000b02 00000001 00000002 0001 fffe")


def test_unsupported_arrays_are_refused_by_the_writer(tmp_path):
    with pytest.raises(ValueError, match="IDX cannot hold a 1-d uint16 array"):
        write_idx(tmp_path / "x.idx", np.zeros(3, np.uint16))


def _write(path, data: bytes):
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


GOOD = bytes.fromhex("00000802 00000002 00000003") + bytes(range(6))


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", r"not an IDX file \(bad magic number empty\)"),
        (b"PK\x03\x04" + GOOD[4:], r"not an IDX file \(bad magic number 504b0304\)"),
        (bytes.fromhex("00000a02") + GOOD[4:], r"not an IDX file \(bad magic number 00000a02\)"),  # no type 0x0a
        (bytes.fromhex("00000800"), r"bad IDX header \(0 dimensions, 4 bytes\)"),
        (GOOD[:10], r"bad IDX header \(2 dimensions, 10 bytes\)"),
        (GOOD[:-1], r"truncated \(17 bytes, the header \(2, 3\) needs 18\)"),
        (GOOD + b"\x00", r"longer than its header says \(19 bytes, the header \(2, 3\) needs 18\)"),
    ],
)
@pytest.mark.parametrize("suffix", [".idx", ".gz"])
def test_bad_files_are_clear_errors(tmp_path, raw, message, suffix):
    path = _write(tmp_path / f"x{suffix}", raw)
    with pytest.raises(DatasetError, match=f"^{re.escape(str(path))}: {message}$"):
        read_idx(path)


def test_a_good_file_reads(tmp_path):
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "x.gz", GOOD)), np.arange(6, dtype=np.uint8).reshape(2, 3))


def test_damaged_gzip_streams_are_clear_errors(tmp_path):
    packed = gzip.compress(GOOD * 1000)
    cases = {
        "truncated.gz": packed[: len(packed) // 2],
        "not_gzip.gz": GOOD,
        "flipped.gz": packed[:20] + bytes([packed[20] ^ 0xFF]) + packed[21:],
    }
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(DatasetError, match=f"^{re.escape(str(tmp_path / name))}: not a readable gzip file"):
            read_idx(tmp_path / name)
    with pytest.raises(DatasetError, match="not a readable file"):
        read_idx(tmp_path / "missing.idx")
