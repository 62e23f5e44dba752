"""Helpers for the dataset tests: a loopback HTTP server, the shared MNIST copy, small
datasets in the real formats, written by the tests themselves."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from aigc.data.idx import write_idx
from aigc.data.mnist import Source

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"  # CI: ../shared beside the clone


def shared_datasets() -> Path:
    """The offline dataset copy beside the repository; the test is skipped where it is absent."""
    if not (SHARED / "mnist").is_dir():
        pytest.skip(f"no offline MNIST copy at {SHARED} (CI has ../shared/datasets beside the clone)")
    return SHARED


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class Server:
    """Serves the files under `root` on 127.0.0.1; `requests` counts GETs by path and
    `damage[path]` (a function of the file's bytes -> what is sent) corrupts a reply."""

    def __init__(self, root: Path):
        self.root, self.requests, self.damage = root, Counter(), {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path] += 1
                file = server.root / self.path.lstrip("/")
                if not file.is_file():
                    self.send_error(404)
                    return
                body = file.read_bytes()
                sent = server.damage.get(self.path, lambda b: b)(body)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))  # the length of the good file
                self.end_headers()
                self.wfile.write(sent)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_mnist_like(folder: Path, n_train: int = 30, n_test: int = 10, size: int = 28) -> Source:
    """The four MNIST files (random images, labels 0..9) in `folder`, and a Source with their md5s."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, size, size), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return Source(("http://127.0.0.1:9/unused/",), {p.name: md5(p) for p in folder.iterdir()})
