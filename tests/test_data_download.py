"""Downloads (aigc/data/fetch.py) against a loopback HTTP server serving files the tests
build: checksums, no second download, corrupt and truncated replies, offline messages,
where files are looked for."""

import socket
from pathlib import Path

import numpy as np
import pytest

from aigc import config, data
from aigc.data import mnist
from aigc.data.fetch import data_dir, fetch
from aigc.errors import DatasetError

from .data_helpers import Server, md5, write_mnist_like

FILE = "blob.bin"


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A server with `<root>/toy/blob.bin`; downloads go to tmp_path/cache. Returns (server, md5)."""
    monkeypatch.delenv("AIGC_DATA_URL", raising=False)
    monkeypatch.delenv("AIGC_DATA_DIR", raising=False)
    (tmp_path / "www" / "toy").mkdir(parents=True)
    blob = tmp_path / "www" / "toy" / FILE
    blob.write_bytes(np.random.default_rng(0).bytes(300_000))
    with Server(tmp_path / "www") as server:
        yield server, md5(blob)


def _fetch(tmp_path: Path, server: Server, checksum: str) -> Path:
    return fetch("toy", FILE, checksum, [], root=str(tmp_path / "cache"), url=server.url)


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "cache" / "toy").iterdir())


def test_downloads_once_and_never_again(tmp_path, served):
    server, checksum = served
    path = _fetch(tmp_path, server, checksum)
    assert path == tmp_path / "cache" / "toy" / FILE
    assert path.read_bytes() == (tmp_path / "www" / "toy" / FILE).read_bytes()
    assert _fetch(tmp_path, server, checksum) == path
    assert server.requests == {f"/toy/{FILE}": 1}  # the good file was not fetched again
    assert _leftovers(tmp_path) == [FILE]  # no temporary file left behind


def test_a_sha256_checksum_works_too(tmp_path, served):
    import hashlib

    server, _ = served
    sha = hashlib.sha256((tmp_path / "www" / "toy" / FILE).read_bytes()).hexdigest()
    assert _fetch(tmp_path, server, sha).is_file()


@pytest.mark.parametrize(
    "damage",
    {
        "corrupt": lambda b: b[:1000] + bytes([b[1000] ^ 0xFF]) + b[1001:],
        "truncated": lambda b: b[: len(b) // 2],  # the connection closes before Content-Length bytes
    }.items(),
    ids=["corrupt", "truncated"],
)
def test_a_bad_download_is_deleted_and_never_used(tmp_path, served, damage):
    server, checksum = served
    server.damage[f"/toy/{FILE}"] = damage[1]
    with pytest.raises(DatasetError) as info:
        _fetch(tmp_path, server, checksum)
    message = str(info.value)
    assert message.startswith(f"cannot download toy/{FILE} from {server.url}/toy/{FILE} (")
    if damage[0] == "corrupt":
        assert f"wrong md5 checksum: expected {checksum}, got " in message and "; not kept" in message
    else:
        assert "(incomplete: 150000 of 300000 bytes; not kept)" in message
    assert "\n" not in message
    assert _leftovers(tmp_path) == []  # neither the file nor a temporary one
    del server.damage[f"/toy/{FILE}"]
    assert _fetch(tmp_path, server, checksum).is_file()  # the next try downloads a good copy


def test_wrong_expected_checksum_is_refused(tmp_path, served):
    server, _ = served
    with pytest.raises(DatasetError, match=f"wrong md5 checksum: expected {'0' * 32}, got "):
        _fetch(tmp_path, server, "0" * 32)
    assert _leftovers(tmp_path) == []


def test_a_bad_file_already_there_is_reported_and_not_replaced(tmp_path, served):
    server, checksum = served
    path = tmp_path / "cache" / "toy" / FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")
    with pytest.raises(DatasetError) as info:
        _fetch(tmp_path, server, checksum)
    assert str(info.value) == (
        f"{path}: wrong md5 checksum (expected {checksum}, got {md5(path)}): the file is corrupt or incomplete and "
        "was not used; delete it to download it again"
    )
    assert path.read_bytes() == b"half a file" and not server.requests
    path.unlink()  # as the message says
    assert _fetch(tmp_path, server, checksum).is_file()


def test_mirrors_are_tried_in_order(tmp_path, served):
    server, checksum = served
    mirrors = [f"{server.url}/missing/", f"{server.url}/toy/"]
    assert fetch("toy", FILE, checksum, mirrors, root=str(tmp_path / "cache")).is_file()
    assert server.requests == {f"/missing/{FILE}": 1, f"/toy/{FILE}": 1}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_is_one_line_that_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("AIGC_DATA_URL", raising=False)
    dead = [f"http://127.0.0.1:{_closed_port()}/a/", f"http://127.0.0.1:{_closed_port()}/b/"]
    with pytest.raises(DatasetError) as info:
        fetch("mnist", "t10k-labels-idx1-ubyte.gz", "0" * 32, dead, root=str(tmp_path))
    message = str(info.value)
    assert message.startswith(f"cannot download mnist/t10k-labels-idx1-ubyte.gz from {dead[0]}t10k-labels")
    assert f" or {dead[1]}t10k-labels-idx1-ubyte.gz (" in message and "refused" in message
    assert message.endswith("; offline? set AIGC_DATA_DIR to a folder holding mnist/t10k-labels-idx1-ubyte.gz")
    assert "\n" not in message
    assert list((tmp_path / "mnist").iterdir()) == []


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIGC_DATA_DIR", raising=False)
    assert data_dir() == tmp_path / "home" / ".cache" / "aigc"
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    assert data_dir(str(tmp_path / "cfg")) == tmp_path / "cfg"  # data.root wins


def test_env_url_and_dir_reach_the_loader(tmp_path, monkeypatch):
    """`AIGC_DATA_URL` and `AIGC_DATA_DIR`, no config keys: mnist is downloaded into
    $AIGC_DATA_DIR/mnist/ and then read from there (checksums injected for the test's files)."""
    source = write_mnist_like(tmp_path / "www" / "mnist")
    monkeypatch.setitem(mnist.SOURCES, "mnist", source)
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "data"))
    with Server(tmp_path / "www") as server:
        monkeypatch.setenv("AIGC_DATA_URL", server.url)
        cfg = config.load({"model": {"name": "mlp_vae"}, "data": {"name": "mnist"}}).data
        train, test = data.load(cfg, 0), data.load(cfg.replace(split="test"), 0)
        assert sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir()) == sorted(source.md5)
        again = data.load(cfg, 0)
        assert sum(server.requests.values()) == 4  # each file once
    assert train.x.shape == (30, 28, 28, 1) and test.x.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(train.x, again.x)
    np.testing.assert_array_equal(train.labels, np.arange(30) % 10)


def test_an_unwritable_data_dir_says_so(tmp_path, served):
    server, checksum = served
    (tmp_path / "cache").write_text("a file where the folder should be")
    with pytest.raises(DatasetError, match=r"cannot write .*cache/toy/blob\.bin \(.*\); set data\.root to a writable"):
        _fetch(tmp_path, server, checksum)
