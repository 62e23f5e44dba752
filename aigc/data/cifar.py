"""CIFAR-10, python version: one tarball of pickled batches, read without extracting it.

The batches are pickles, and unpickling can run code. So the archive's md5 must match
first, and even then the unpickler builds only what the batches hold (dicts, lists, bytes,
ints and NumPy arrays): any other global in the stream is refused.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .fetch import fetch

ARCHIVE = "cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # the publisher's (torchvision's `CIFAR10.tgz_md5`)
MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
FOLDER = "cifar-10-batches-py"
BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}

_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's array constructor, wherever numpy keeps it
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,  # as NumPy 1 (and the CIFAR files) name it
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # as NumPy 2 names it
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that can build NumPy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: a CIFAR batch holds only arrays and lists")


def load_cifar10(split: str, root: str = "", url: str = "", md5: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Images NHWC uint8 (N x 32 x 32 x 3) and int64 labels of `split` ("train"/"test").
    `md5` replaces the publisher's checksum (tests: the one of an archive they built)."""
    path = fetch("cifar10", ARCHIVE, md5 or MD5, MIRRORS, root, url)  # checksummed: only now may it be unpickled
    try:
        with tarfile.open(path, "r:gz") as tar:
            parts = [_read_batch(path, tar, name) for name in BATCHES[split]]
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path}: not a readable CIFAR-10 archive ({exc})") from None
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def _read_batch(path: Path, tar: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    where = f"{path}: {FOLDER}/{name}"
    try:
        stream = tar.extractfile(f"{FOLDER}/{name}")
    except KeyError:
        stream = None
    if stream is None:
        raise DatasetError(f"{where} is missing from the archive")
    try:
        batch = BatchUnpickler(io.BytesIO(stream.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DatasetError(f"{where} is not a CIFAR batch ({exc})") from None
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = np.asarray(batch.get(b"labels", []) if isinstance(batch, dict) else [])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(f"{where}: expected b'data', a uint8 array of shape (N, 3072)")
    if labels.shape != (len(data),) or not np.isin(labels, np.arange(10)).all():
        raise DatasetError(f"{where}: expected b'labels', {len(data)} integers in 0..9")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # stored as planes R, G, B of 32 rows each
    return np.ascontiguousarray(images), labels.astype(np.int64)
