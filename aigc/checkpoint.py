"""The neutral checkpoint: one safetensors file that either backend reads and writes.

Tensors (canonical layout, float32):
    weights.<net>.<layer>.<tensor>      e.g. weights.G.0.kernel (in, out)
    optim.<optimizer>.<slot>            e.g. optim.G.m.G.0.kernel, optim.G.b1t
Metadata (safetensors' string header): format, the resolved config (JSON), step, the NumPy
generator state (JSON), the batch position, the data's sample shape and kind, the backend
that wrote it, and the SHA-256 of all tensors. Loading never runs code (no pickle), and a
file whose hash or format does not match is refused before anything is used.

A run directory's `checkpoint/` holds `step-00000100.safetensors`, ...: the newest
`train.keep_checkpoints` files. Each is written atomically, so a crash at any moment leaves
complete files only, and loading the directory takes the newest file that passes the checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CheckpointError

FORMAT = "aigc-checkpoint/1"
SUFFIX = ".safetensors"
NAME = re.compile(r"step-(\d+)\.safetensors")
TEMPORARY = ".step-*.tmp-*"  # a writer killed mid-write leaves one; never loaded, removed by the next save


@dataclass
class Checkpoint:
    config: dict
    step: int
    weights: dict[str, np.ndarray]
    optim: dict[str, np.ndarray]
    rng_state: dict
    batches: dict
    sample_shape: tuple[int, ...]
    data_kind: str
    backend: str


def content_sha256(tensors: dict[str, np.ndarray], meta: dict[str, str]) -> str:
    """SHA-256 of every tensor and every metadata entry (except the hash itself)."""
    h = hashlib.sha256()
    for key in sorted(k for k in meta if k != "sha256"):
        h.update(f"{key}={meta[key]}|".encode())
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def filename(step: int) -> str:
    return f"step-{step:08d}{SUFFIX}"


def files(directory: str | Path) -> list[Path]:
    """The checkpoint files of a directory, newest (highest step) first."""
    found = [(int(m[1]), p) for p in Path(directory).glob(f"step-*{SUFFIX}") if (m := NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def clear(directory: str | Path) -> None:
    """Remove a directory's checkpoints (a run that does not resume starts over)."""
    directory = Path(directory)
    for file in [*files(directory), *directory.glob(TEMPORARY)]:
        file.unlink(missing_ok=True)


def resolve(path: str | Path) -> Path:
    """The file `load` reads: `path` itself, or in a checkpoint directory the newest valid file."""
    return _newest(Path(path))[0]


def save(directory: str | Path, ckpt: Checkpoint, keep: int = 3) -> Path:
    """Write `step-<step>.safetensors` atomically: a temporary file in the same directory,
    fsync, rename, fsync the directory. Then keep only the newest `keep` files."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"weights.{k}": np.array(v, np.float32, order="C") for k, v in ckpt.weights.items()}
    tensors.update({f"optim.{k}": np.array(v, np.float32, order="C") for k, v in ckpt.optim.items()})
    meta = {
        "format": FORMAT,
        "config": json.dumps(ckpt.config),
        "step": str(ckpt.step),
        "rng_state": json.dumps(ckpt.rng_state),
        "batches": json.dumps(ckpt.batches),
        "sample_shape": json.dumps(list(ckpt.sample_shape)),
        "data_kind": ckpt.data_kind,
        "backend": ckpt.backend,
    }
    meta["sha256"] = content_sha256(tensors, meta)
    final = directory / filename(ckpt.step)
    tmp = directory / f".{final.name}.tmp-{os.getpid()}"
    save_file(tensors, str(tmp), metadata=meta)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    if os.name == "posix":  # make the rename itself durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for old in [*files(directory)[keep:], *directory.glob(TEMPORARY)]:
        old.unlink(missing_ok=True)
    return final


def load(path: str | Path) -> Checkpoint:
    """A checkpoint file, or a directory's newest file that passes the checks (a newer file
    that fails them is skipped with a warning; if none passes, the newest one's error)."""
    return _newest(Path(path))[1]


def _newest(path: Path) -> tuple[Path, Checkpoint]:
    if not path.is_dir():
        return path, _load_file(path)
    candidates = files(path)
    if not candidates:
        raise CheckpointError(f"no checkpoint at {path} (expected step-*{SUFFIX} files in it, or a file)")
    errors: list[CheckpointError] = []
    for file in candidates:
        try:
            ckpt = _load_file(file)
        except CheckpointError as exc:
            errors.append(exc)
            continue
        for exc in errors:
            warnings.warn(f"skipped a newer checkpoint: {exc}", stacklevel=3)
        return file, ckpt
    raise errors[0]


def _load_file(file: Path) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not file.is_file():
        raise CheckpointError(f"no checkpoint at {file} (expected a directory with step-*{SUFFIX} files, or a file)")
    if file.suffix != SUFFIX:
        raise CheckpointError(
            f"{file}: aigc reads safetensors checkpoints ({SUFFIX}) only; pickle and HDF5 files "
            "(.pt, .pkl, .h5, ...) are never opened, because unpickling can run arbitrary code"
        )
    try:
        with open(file, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(header_len)) if 0 < header_len < 100_000_000 else None
        tensors = load_file(str(file))
    except (SafetensorError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{file} is not a readable safetensors checkpoint ({exc})") from None
    meta = (header or {}).get("__metadata__") or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{file} is not an aigc checkpoint (format {meta.get('format')!r}, expected {FORMAT!r})")
    if content_sha256(tensors, meta) != meta.get("sha256"):
        raise CheckpointError(f"{file} is corrupt or was modified: its contents do not match the recorded SHA-256")
    try:
        return Checkpoint(
            config=json.loads(meta["config"]),
            step=int(meta["step"]),
            weights={k[len("weights."):]: v for k, v in tensors.items() if k.startswith("weights.")},
            optim={k[len("optim."):]: v for k, v in tensors.items() if k.startswith("optim.")},
            rng_state=json.loads(meta["rng_state"]),
            batches=json.loads(meta["batches"]),
            sample_shape=tuple(json.loads(meta["sample_shape"])),
            data_kind=meta["data_kind"],
            backend=meta["backend"],
        )
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{file}: incomplete checkpoint metadata ({exc})") from None
