"""The Python API: `aigc.train(...)`, `aigc.load(...)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checkpoint, config, models
from .models import Model
from .training.loop import Run, backend_for
from .training.loop import train as _train


def train(config_or_path: str | Path | dict, *overrides: str, **kwargs: Any) -> Run:
    """Train from a YAML path or a config dict. Overrides as "model.hidden=64" strings or
    keywords (`backend="tensorflow"`, `train__steps=100` for nested keys); `resume=True`
    continues from the newest checkpoint in `<out>/checkpoint`."""
    return _train(config.load(config_or_path, list(overrides), **kwargs))


def load(path: str | Path, backend: str | None = None, device: str = "cpu", threads: int | str = "auto") -> Model:
    """A model from a checkpoint, on `backend` (default: the one that wrote it), with
    `threads` as `train.threads` takes them (docs/threads.md)."""
    ckpt = checkpoint.load(path)
    cfg = config.validate(ckpt.config)
    cfg["backend"], cfg["device"] = backend or ckpt.backend, device
    cfg["train"]["threads"] = threads
    model = models.build(cfg, backend_for(cfg)[0], ckpt.sample_shape, ckpt.data_kind)
    model.load_weights(ckpt.weights)
    model.load_optimizer_state(ckpt.optim)
    return model
