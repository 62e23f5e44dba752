"""The neutral checkpoint: one safetensors file that either backend reads and writes.

Tensors (canonical layout, float32):
    weights.<net>.<layer>.<tensor>      e.g. weights.G.0.kernel (in, out)
    optim.<optimizer>.<slot>            e.g. optim.G.m.G.0.kernel, optim.G.b1t
Metadata (safetensors' string header): format, the resolved config (JSON, without the
places of the machine that trained it: see `portable`), step, the NumPy
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

from .errors import CheckpointError, CheckpointWriteError, excerpt

FORMAT = "aigc-checkpoint/1"
SUFFIX = ".safetensors"
NAME = re.compile(r"step-(\d+)\.safetensors")
TEMPORARY = ".step-*.tmp-*"  # a writer killed mid-write leaves one; never loaded, removed by the next save


def _machine_path(text: str) -> bool:
    """An absolute path (or a file: URL) of the machine that wrote it."""
    return text.startswith("file:") or os.path.isabs(os.path.expanduser(text))


def portable(config: dict) -> dict:
    """The config as a checkpoint stores it: what a shared file should not carry is left out,
    the run directory `out` always and `data.root` / `data.url` where they name a place on the
    training machine (an absolute path, a file: URL). Nothing that shapes the numbers: reading
    it back, `config.validate` gives their defaults, `out` is wherever a run resumes or loads
    it from, and resuming lets the data's location differ (`loop.RESUME_MAY_DIFFER`)."""
    out = {k: v for k, v in config.items() if k != "out"}
    data = out.get("data")
    if isinstance(data, dict):
        out["data"] = {k: v for k, v in data.items() if not (k in ("root", "url") and _machine_path(str(v)))}
    return out


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
        "config": json.dumps(portable(ckpt.config)),
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
    try:
        save_file(tensors, str(tmp), metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except Exception as exc:  # OSError, or safetensors' SafetensorError wrapping one (a full disk)
        if not isinstance(exc, OSError) and type(exc).__name__ != "SafetensorError":
            raise
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        kept = f"the checkpoints already in {directory} are intact" if files(directory) else "no checkpoint was written"
        raise CheckpointWriteError(
            f"cannot write the checkpoint of step {ckpt.step} to {directory} "
            f"({_os_reason(exc)}); {kept}; free disk space, then resume"
        ) from None
    if os.name == "posix":  # make the rename itself durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for old in [*files(directory)[keep:], *directory.glob(TEMPORARY)]:
        old.unlink(missing_ok=True)
    return final


def _os_reason(exc: Exception) -> str:
    """The OS's words for a failed write: strerror, or the message inside a SafetensorError."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    found = re.search(r'message: "([^"]{1,200})"', str(exc))
    return found[1] if found else excerpt(str(exc), 160)


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
    except (SafetensorError, ValueError, OSError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        # RecursionError: a header of deeply nested brackets
        reason = excerpt(f"{type(exc).__name__}: {exc}", 160)[1:-1]
        raise CheckpointError(f"{file} is not a readable safetensors checkpoint ({reason})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{file} is not an aigc checkpoint (its header is not a JSON object)")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{file} is not an aigc checkpoint (format {excerpt(got)}, expected {FORMAT!r})")
    if content_sha256(tensors, meta) != meta.get("sha256"):
        raise CheckpointError(f"{file} is corrupt or was modified: its contents do not match the recorded SHA-256")
    try:
        ckpt = Checkpoint(
            config=json.loads(meta["config"]),
            step=_int(meta["step"]),
            weights={k[len("weights.") :]: v for k, v in tensors.items() if k.startswith("weights.")},
            optim={k[len("optim.") :]: v for k, v in tensors.items() if k.startswith("optim.")},
            rng_state=json.loads(meta["rng_state"]),
            batches=json.loads(meta["batches"]),
            sample_shape=json.loads(meta["sample_shape"]),
            data_kind=meta["data_kind"],
            backend=meta["backend"],
        )
    except (KeyError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{file}: incomplete checkpoint metadata ({excerpt(str(exc), 120)})") from None
    problem = _metadata_problem(ckpt, tensors)
    if problem:
        raise CheckpointError(f"{file}: {problem}")
    ckpt.sample_shape = tuple(ckpt.sample_shape)
    return ckpt


def _int(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise ValueError(f"step {excerpt(text)} is not a non-negative integer")
    return int(text)


def _is_int(v: object, minimum: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _metadata_problem(ckpt: Checkpoint, tensors: dict[str, np.ndarray]) -> str | None:
    """What is wrong with metadata that parsed (types, ranges, a config that validates), or
    None; tensors' shapes are checked by the model that loads them."""
    from .config import validate
    from .errors import ConfigError

    for name, a in tensors.items():
        if a.dtype != np.float32:
            return f"tensor {excerpt(name)} is {a.dtype}, aigc checkpoints hold float32 only"
    if not any(k.startswith("weights.") for k in tensors):
        return "it holds no weights"
    if not isinstance(ckpt.config, dict):
        return f"its config is {type(ckpt.config).__name__}, not a mapping"
    try:  # the backend that wrote it need not be installed here: another one may load it
        validate({k: v for k, v in ckpt.config.items() if k != "backend"})
    except ConfigError as exc:
        return f"its config does not validate ({excerpt(str(exc), 160)[1:-1]})"
    shape = ckpt.sample_shape
    if not (isinstance(shape, list) and 1 <= len(shape) <= 3 and all(_is_int(v, 1) and v <= 1 << 20 for v in shape)):
        return f"sample_shape {excerpt(shape)} is not 1 to 3 positive integers"
    if ckpt.data_kind not in ("points", "images"):
        return f"data_kind {excerpt(ckpt.data_kind)} is not points or images"
    b = ckpt.batches
    if not (isinstance(b, dict) and set(b) == {"epoch", "offset"} and all(_is_int(v) for v in b.values())):
        return f"batches {excerpt(b)} is not {{'epoch': int >= 0, 'offset': int >= 0}}"
    try:
        np.random.PCG64().state = ckpt.rng_state
    except Exception:  # NumPy raises TypeError, ValueError, KeyError, OverflowError for bad states
        return f"rng_state {excerpt(ckpt.rng_state)} is not a NumPy PCG64 generator state"
    return None
