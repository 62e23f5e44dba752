"""Parity traces: what a run did, step by step, in a file another process can compare.

A trace holds every step's losses, the canonical weights and a fixed batch of samples at
snapshot steps, and where it ran (backend, device, versions). It is a safetensors file, so
two processes, two machines, or a GPU run and a CPU run can be compared afterwards.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import config as config_mod
from ..checkpoint import portable
from ..training.loop import build, feed_for

FORMAT = "aigc-trace/1"
SAMPLE_SEED, SAMPLE_COUNT = 1234, 64


def snapshot_steps(k: int) -> list[int]:
    """0, then 1, 2, 5, 10, 20, 50, ... up to and including k."""
    steps, base = [0], 1
    while base <= k:
        steps.extend(s for s in (base, 2 * base, 5 * base) if s <= k)
        base *= 10
    return sorted(set(steps + [k]))


@dataclass
class Trace:
    backend: str
    device: str
    config: dict  # the plain resolved config (what the trace file stores)
    metric_names: list[str]
    losses: np.ndarray  # (steps, metrics)
    weights: dict[int, dict[str, np.ndarray]]  # step -> canonical weights
    samples: dict[int, np.ndarray]  # step -> model samples for a fixed seed
    info: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.losses)


def perturb_one_ulp(model) -> None:
    """Move the first element of the first kernel up by one float32 ulp: the control run."""
    weights = model.weights()
    first = next(k for k in weights if k.endswith("kernel"))
    flat = weights[first].reshape(-1)
    flat[0] = np.nextafter(flat[0], np.float32(np.inf))
    model.load_weights(weights)


def perturb_every_ulp(model, seed: int = 0) -> None:
    """Move every trainable weight by one float32 ulp up or down (random signs from `seed`):
    a control whose rounding-sized differences are everywhere, as between two frameworks'
    kernels, rather than in one number."""
    rng = np.random.default_rng(seed)
    weights = model.weights()
    for key, value in weights.items():
        if key.endswith(("kernel", "bias", "gamma", "beta", "embeddings")):
            direction = np.where(rng.random(value.shape) < 0.5, -np.inf, np.inf).astype(np.float32)
            weights[key] = np.nextafter(value, direction).astype(np.float32)
    model.load_weights(weights)


def record(cfg: config_mod.Config, steps: int, perturb: bool = False, snapshots: list[int] | None = None) -> Trace:
    """Run `steps` training steps of a typed config, determinism switches on (no TF32),
    and record the trace. `perturb` moves one initial weight by one float32 ulp: the
    control run that shows how fast rounding differences alone grow."""
    model, dataset, rng = build(cfg)  # train.steps stays: it sets the learning-rate schedule
    model.backend.set_determinism(True)
    if perturb:
        perturb_one_ulp(model)
    feed = feed_for(model, dataset, cfg)  # the training loop's batches (dynamic binarisation included)
    snaps = set(snapshots if snapshots is not None else snapshot_steps(steps))
    rows, names = [], None
    weights, samples = {}, {}
    with feed:
        for step in range(steps + 1):
            if step in snaps:
                weights[step] = model.weights()
                samples[step] = model.sample(SAMPLE_COUNT, seed=SAMPLE_SEED)
            if step == steps:
                break
            batch, labels = feed.next_labeled()
            metrics = model.train_step(batch, rng, labels)
            names = names or sorted(metrics)
            rows.append([float(model.backend.numpy(metrics[k])) for k in names])
    info = {
        "backend_version": type(model.backend).info()["version"],
        "python": platform.python_version(),
        "machine": platform.machine(),
        "node": platform.node(),
    }
    return Trace(
        cfg.backend,
        cfg.device,
        cfg.to_dict(),
        names or [],
        np.array(rows, np.float64).reshape(steps, -1),
        weights,
        samples,
        info,
    )


def save(trace: Trace, path: str | Path) -> None:
    from safetensors.numpy import save_file

    tensors = {"losses": trace.losses}
    for step, w in trace.weights.items():
        tensors.update({f"weights@{step}.{k}": v for k, v in w.items()})
    tensors.update({f"samples@{step}": v for step, v in trace.samples.items()})
    meta = {
        "format": FORMAT,
        "backend": trace.backend,
        "device": trace.device,
        "config": json.dumps(portable(trace.config)),
        "metric_names": json.dumps(trace.metric_names),
        "info": json.dumps(trace.info),
    }
    save_file(tensors, str(path), metadata=meta)


def load(path: str | Path) -> Trace:
    from safetensors import safe_open

    from ..errors import AigcError

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a mapping
    except Exception as exc:  # safetensors raises several types for unreadable files
        raise AigcError(f"{path} is not a readable trace ({exc})") from None
    if meta.get("format") != FORMAT:
        raise AigcError(f"{path} is not an aigc trace (format {meta.get('format')!r})")
    weights: dict[int, dict[str, np.ndarray]] = {}
    samples: dict[int, np.ndarray] = {}
    for key, value in tensors.items():
        if key.startswith("weights@"):
            step, name = key[len("weights@") :].split(".", 1)
            weights.setdefault(int(step), {})[name] = value
        elif key.startswith("samples@"):
            samples[int(key[len("samples@") :])] = value
    return Trace(
        meta["backend"],
        meta["device"],
        config_mod.validate(json.loads(meta["config"])),
        json.loads(meta["metric_names"]),
        tensors["losses"],
        weights,
        samples,
        json.loads(meta["info"]),
    )
