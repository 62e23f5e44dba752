"""Downloaded datasets: find a file in the data directory or fetch it, checksum first.

A file is used only after its checksum matched. A download streams into a temporary file
beside its final place and is renamed only once its checksum matched, so an interrupted or
corrupted download never takes a file's name, and a good file is never fetched twice.

Where files live: `data.root`, else `$AIGC_DATA_DIR`, else `~/.cache/aigc`; each dataset
in its own folder, `<dir>/<dataset>/<file>`. Where they come from: `data.url`, else
`$AIGC_DATA_URL` (a base URL with the same `<dataset>/<file>` layout, e.g. a mirror or a
local server), else the dataset's canonical mirrors, tried in order.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import DatasetError

CHUNK = 1 << 20
TIMEOUT_S = 60.0


def data_dir(root: str = "") -> Path:
    """The directory the datasets live in: `root` (the config's `data.root`), else
    `$AIGC_DATA_DIR`, else `~/.cache/aigc`."""
    chosen = root or os.environ.get("AIGC_DATA_DIR", "") or "~/.cache/aigc"
    return Path(chosen).expanduser()


def file_digest(path: Path, algorithm: str) -> str:
    """The hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def algorithm(checksum: str) -> str:
    """`md5` for a 32-digit hex checksum, `sha256` for a 64-digit one."""
    return {32: "md5", 64: "sha256"}[len(checksum)]


def verified(path: Path, checksum: str) -> Path:
    """`path`, if its checksum matches; else a DatasetError that says what to do."""
    name = algorithm(checksum)
    try:
        got = file_digest(path, name)
    except OSError as exc:
        raise DatasetError(f"cannot read {path} ({exc.strerror or exc})") from None
    if got != checksum.lower():
        raise DatasetError(
            f"{path}: wrong {name} checksum (expected {checksum}, got {got}): the file is corrupt "
            "or incomplete and was not used; delete it to download it again"
        )
    return path


def fetch(dataset: str, filename: str, checksum: str, mirrors: Sequence[str], root: str = "", url: str = "") -> Path:
    """A verified local copy of `<dataset>/<filename>`: the one in the data directory, or a
    fresh download from the first base URL that serves a good copy. `url` (else
    `$AIGC_DATA_URL`) replaces the mirrors with `<url>/<dataset>/<filename>`."""
    path = data_dir(root) / dataset / filename
    if path.is_file():
        return verified(path, checksum)
    base = url or os.environ.get("AIGC_DATA_URL", "")
    sources = [f"{base.rstrip('/')}/{dataset}/{filename}"] if base else [m + filename for m in mirrors]
    failures = []
    for source in sources:
        try:
            return _download(source, path, checksum)
        except _Failed as failure:
            failures.append(f"{source} ({failure})")
    raise DatasetError(
        f"cannot download {dataset}/{filename} from {' or '.join(failures)}; offline? "
        f"set AIGC_DATA_DIR to a folder holding {dataset}/{filename}"
    )


class _Failed(Exception):
    """One source did not give a good copy; the next one is tried."""


def _download(source: str, path: Path, checksum: str) -> Path:
    """Stream `source` into a temporary file beside `path`; rename it to `path` only if its
    checksum matches, delete it otherwise."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)  # noqa: SIM115 - closed below, renamed or deleted
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise DatasetError(
            f"cannot write {path} ({getattr(exc, 'strerror', None) or exc}); set data.root to a writable folder"
        ) from None
    h = hashlib.new(algorithm(checksum))
    print(f"aigc: downloading {source}", file=sys.stderr)
    try:
        with part, urllib.request.urlopen(source, timeout=TIMEOUT_S) as response:
            announced, received = int(response.headers.get("Content-Length") or -1), 0
            while chunk := response.read(CHUNK):
                h.update(chunk)
                received += part.write(chunk)
        if received < announced:
            raise _Failed(f"incomplete: {received} of {announced} bytes; not kept")
        if h.hexdigest() != checksum.lower():
            raise _Failed(f"wrong {h.name} checksum: expected {checksum}, got {h.hexdigest()}; not kept")
        os.replace(part.name, path)
        return path
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise _Failed(getattr(exc, "reason", None) or exc) from None
    finally:
        if os.path.exists(part.name):
            os.unlink(part.name)
