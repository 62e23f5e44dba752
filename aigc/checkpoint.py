"""The neutral checkpoint: one safetensors file that either backend reads and writes.

Tensors (canonical layout, float32):
    weights.<net>.<layer>.<tensor>      e.g. weights.G.0.kernel (in, out)
    optim.<optimizer>.<slot>            e.g. optim.G.m.G.0.kernel, optim.G.b1t
Metadata (safetensors' string header): format, the resolved config (JSON), step, the NumPy
generator state (JSON), the batch position, the data's sample shape and kind, the backend
that wrote it, and the SHA-256 of all tensors. Loading never runs code (no pickle), and a
file whose hash or format does not match is refused before anything is used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CheckpointError

FORMAT = "aigc-checkpoint/1"
FILENAME = "latest.safetensors"


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


def tensors_sha256(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def resolve(path: str | Path) -> Path:
    """A checkpoint directory (`<out>/checkpoint`) or the file itself."""
    path = Path(path)
    return path / FILENAME if path.is_dir() else path


def save(directory: str | Path, ckpt: Checkpoint) -> Path:
    """Write atomically: a temporary file in the same directory, fsync, then rename."""
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
        "sha256": tensors_sha256(tensors),
    }
    final = directory / FILENAME
    tmp = directory / f".{FILENAME}.tmp-{os.getpid()}"
    save_file(tensors, str(tmp), metadata=meta)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return final


def load(path: str | Path) -> Checkpoint:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    file = resolve(path)
    if not file.is_file():
        raise CheckpointError(f"no checkpoint at {path} (expected a directory with {FILENAME}, or the file)")
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
    if tensors_sha256(tensors) != meta.get("sha256"):
        raise CheckpointError(f"{file} is corrupt or was modified: its tensors do not match the recorded SHA-256")
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
