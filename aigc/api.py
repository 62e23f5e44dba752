"""The Python API: `aigc.train(...)`, `aigc.load(...)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import checkpoint, config, models
from .errors import CheckpointError, excerpt
from .models import Model
from .training.loop import Run, backend_for
from .training.loop import train as _train


def train(config_or_path: str | Path | dict | config.Config, *overrides: str, **kwargs: Any) -> Run:
    """Train from a YAML path, a config dict or a typed `Config`. Overrides as "model.hidden=64" strings or
    keywords (`backend="tensorflow"`, `train__steps=100` for nested keys); `resume=True`
    continues from the newest checkpoint in `<out>/checkpoint`."""
    return _train(config.load(config_or_path, list(overrides), **kwargs))


def load(
    path: str | Path | checkpoint.Checkpoint,
    backend: str | None = None,
    device: str = "cpu",
    threads: int | str = "auto",
) -> Model:
    """A model from a checkpoint (a path, or one already read), on `backend` (default: the one
    that wrote it), with `threads` as `train.threads` takes them (docs/threads.md). Every
    tensor the model and its optimizers need is checked (name, shape)."""
    ckpt = path if isinstance(path, checkpoint.Checkpoint) else checkpoint.load(path)
    cfg = config.load(ckpt.config, backend=backend or ckpt.backend, device=device, train__threads=threads)
    be = backend_for(cfg)[0]
    try:
        model = models.build(cfg, be, ckpt.sample_shape, ckpt.data_kind)
    except (ValueError, IndexError) as exc:  # a sample_shape the architecture cannot take
        raise CheckpointError(
            f"the checkpoint's sample_shape {ckpt.sample_shape} does not fit "
            f"{cfg.model.name} ({excerpt(str(exc), 120)})"
        ) from None
    model.load_weights(ckpt.weights)
    model.load_optimizer_state(ckpt.optim)
    return model
