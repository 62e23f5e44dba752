"""CIFAR-10 (aigc/data/cifar.py) on archives the tests build in the python-version format:
the layout of the pixels, the checksum before any unpickling, and a refused payload."""

import io
import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from aigc import config, data
from aigc.data import cifar
from aigc.data.cifar import load_cifar10
from aigc.errors import DatasetError

from .data_helpers import Server, md5
from .test_reliability import _Payload  # unpickling it creates a file: proof that a loader ran code

N_TRAIN, N_TEST = 4, 3  # images per batch


def _batch(n: int, first: int) -> dict:
    """n images whose R, G, B planes are constant (image k: first+k, 100+k, 200+k at pixel
    (0, 0), growing with the pixel index) and labels (first+k) % 10, with the real files' keys."""
    k = np.arange(first, first + n)
    pixel = np.arange(1024)
    planes = [(base + k[:, None] + pixel[None, :]) % 256 for base in (0, 100, 200)]
    flat = np.concatenate(planes, axis=1).astype(np.uint8)  # (n, 3072): R plane, G plane, B plane
    return {
        b"batch_label": b"training batch",
        b"labels": list((k % 10).tolist()),
        b"data": flat,
        b"filenames": [b"img_%d.png" % i for i in k],
    }


def write_archive(path: Path, members: dict[str, object] | None = None) -> str:
    """A CIFAR-10 python tarball at `path` (members replace or add batches); its md5."""
    batches = {f"data_batch_{i}": _batch(N_TRAIN, (i - 1) * N_TRAIN) for i in range(1, 6)}
    batches["test_batch"] = _batch(N_TEST, 1000)
    batches.update(members or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, content in batches.items():
            # protocol 3 stores bytes as bytes; protocol 2 (the real files are Python 2 pickles)
            # would route them through _codecs.encode, which the loader rightly refuses
            blob = content if isinstance(content, bytes) else pickle.dumps(content, protocol=3)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return md5(path)


@pytest.fixture
def archive(tmp_path):
    """root (the data directory) and the md5 of root/cifar10/cifar-10-python.tar.gz."""
    return tmp_path, write_archive(tmp_path / "cifar10" / cifar.ARCHIVE)


def test_reads_both_splits_as_nhwc(archive):
    root, checksum = archive
    x, y = load_cifar10("train", str(root), md5=checksum)
    assert x.shape == (5 * N_TRAIN, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.arange(20) % 10)
    h, w = 3, 17  # pixel index 3 * 32 + 17 of image 7 (the last of data_batch_2)
    assert x[7, h, w].tolist() == [(7 + 113) % 256, (107 + 113) % 256, (207 + 113) % 256]
    xt, yt = load_cifar10("test", str(root), md5=checksum)
    assert xt.shape == (N_TEST, 32, 32, 3) and yt.tolist() == [0, 1, 2]


def test_the_dataset_is_float_in_0_1(archive, monkeypatch):
    root, checksum = archive
    monkeypatch.setattr(cifar, "MD5", checksum)
    cfg = config.load({"model": {"name": "mlp_gan"}, "data": {"name": "cifar10", "root": str(root), "subset": 6}})
    ds = data.load(cfg.data, 0)
    assert ds.x.shape == (6, 32, 32, 3) and ds.x.dtype == np.float32 and ds.kind == "images"
    raw, _ = load_cifar10("train", str(root), md5=checksum)
    np.testing.assert_array_equal(ds.x, raw[:6] / np.float32(255))
    assert data.held_out(cfg.data, 0).x.shape == (N_TEST, 32, 32, 3)


def test_downloads_from_a_mirror(tmp_path, monkeypatch):
    checksum = write_archive(tmp_path / "www" / "cifar10" / cifar.ARCHIVE)
    with Server(tmp_path / "www") as server:
        x, _ = load_cifar10("test", str(tmp_path / "data"), server.url, md5=checksum)
        load_cifar10("train", str(tmp_path / "data"), server.url, md5=checksum)
        assert server.requests == {f"/cifar10/{cifar.ARCHIVE}": 1}
    assert x.shape == (N_TEST, 32, 32, 3)


def test_an_archive_with_the_wrong_checksum_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    write_archive(tmp_path / "cifar10" / cifar.ARCHIVE, {"data_batch_1": pickle.dumps(_Payload(marker))})
    with pytest.raises(DatasetError, match=f"wrong md5 checksum \\(expected {cifar.MD5}, got "):
        load_cifar10("train", str(tmp_path))  # the publisher's checksum
    assert not marker.exists()


def test_a_payload_is_refused_even_with_a_matching_checksum(tmp_path):
    marker = tmp_path / "pwned"
    payload = {b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _Payload(marker)}
    checksum = write_archive(tmp_path / "cifar10" / cifar.ARCHIVE, {"data_batch_3": pickle.dumps(payload)})
    with pytest.raises(
        DatasetError,
        match=r"cifar-10-batches-py/data_batch_3 is not a CIFAR batch "
        r"\(refused to load pathlib.*Path\.touch",
    ):
        load_cifar10("train", str(tmp_path), md5=checksum)
    assert not marker.exists()
    assert load_cifar10("test", str(tmp_path), md5=checksum)[0].shape == (N_TEST, 32, 32, 3)  # other batches are fine


@pytest.mark.parametrize(
    "member, message",
    [
        (
            {"test_batch": {b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}},
            "expected b'data', a uint8 array of shape (N, 3072)",
        ),
        (
            {"test_batch": {b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}},
            "expected b'data', a uint8 array of shape (N, 3072)",
        ),
        (
            {"test_batch": {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}},
            "expected b'labels', 2 integers in 0..9",
        ),
        ({"test_batch": [1, 2, 3]}, "expected b'data', a uint8 array of shape (N, 3072)"),
        ({"test_batch": b"\x80\x03garbage"}, "is not a CIFAR batch ("),
    ],
)
def test_malformed_batches_are_clear_errors(tmp_path, member, message):
    checksum = write_archive(tmp_path / "cifar10" / cifar.ARCHIVE, member)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_cifar10("test", str(tmp_path), md5=checksum)


def test_a_missing_batch_or_a_broken_archive_is_a_clear_error(tmp_path):
    path = tmp_path / "cifar10" / cifar.ARCHIVE
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(DatasetError, match="cifar-10-batches-py/test_batch is missing from the archive"):
        load_cifar10("test", str(tmp_path), md5=md5(path))
    path.write_bytes(b"not a tarball")
    with pytest.raises(DatasetError, match="not a readable CIFAR-10 archive"):
        load_cifar10("test", str(tmp_path), md5=md5(path))
