"""Data-parallel training on the frameworks' own engines (docs/distributed.md).

`detect` reads who this process is from the launcher's environment (torchrun's variables or
TF_CONFIG); `join` starts the backend's engine (`Backend.join`: torch.distributed, or
TensorFlow's MultiWorkerMirroredStrategy) and makes its `World` the current one; `current()`
is what the hooks in the step, the optimizer and the loop consult: a one-process world
unless a run has joined one. `launch` starts N local workers (`aigc train --nproc N`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import BackendUnavailable
from .env import Launch, detect
from .world import Collectives, WorkerLost, World, check_batch

_SINGLE = World()
_current = _SINGLE


def current() -> World:
    """The world of the run in progress (one process unless it joined one)."""
    return _current


def join(backend: Any, cfg: Any, launch: Launch | None = None) -> World:
    """This process joins the run's world: one process, or (from torchrun's variables or
    TF_CONFIG) rank r of N through the backend's engine; the batch is checked first."""
    global _current
    launch = detect(cfg.backend) if launch is None else launch
    if launch.size == 1:
        _current = _SINGLE
        return _current
    check_batch(cfg, launch.size)
    if not hasattr(backend, "join"):
        raise BackendUnavailable(f"backend {backend.name!r} cannot train in several processes")
    _current = World(launch, backend.join(launch), backend)
    return _current


@contextmanager
def session() -> Iterator[None]:
    """A run's lifetime: the world it joins is closed and forgotten at the end."""
    global _current
    try:
        yield
    finally:
        world, _current = _current, _SINGLE
        world.close()


__all__ = ["Collectives", "Launch", "World", "WorkerLost", "check_batch", "current", "detect", "join", "session"]
