"""The data-parallel world: what the core reduces, when, and in which order.

N workers compute what one worker computes at the same global batch (docs/distributed.md):

- every rank draws the global batch, noise, dropout keep-masks and interpolation weights
  from the run's seeded generator exactly as one process does, and keeps its contiguous
  share of each critic update's rows (`shard`);
- the gradients of every rank are gathered and summed in rank order, then divided by N
  (`reduce`): each rank's loss is the mean over its rows, so that is the gradient of the
  global batch's mean, and the same operations in the same order on every backend;
- BatchNorm's batch statistics (and their gradients) are sums over every rank's rows,
  gathered and added in rank order (`sum`), so a batch means the same for any N;
- the step's metrics and the stop flag of a signal are agreed on after every step (`agree`),
  so every rank takes the same decision (log, NaN check, rollback, stop).

Outside a training step (`stepping`) the world is one process: evaluation, sampling,
precise BatchNorm and the classifier of the image metrics run locally, on identical weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from ..errors import AigcError, ConfigError
from .env import Launch

# Random inputs whose rows are not on the first axis: D's dropout keep-masks are
# (calls, packed rows of one critic update, units).
ROW_AXIS = {"d_keep": 1}


class WorkerLost(AigcError):
    """A collective failed: another worker stopped (killed, crashed, or its machine went away)."""


class Collectives(Protocol):
    """What a backend's `join(launch)` returns: its engine's collectives, in rank order."""

    def gather(self, x: Any) -> list:
        """Inside a step: every rank's copy of the 1-d tensor x, a list in rank order."""
        ...

    def gather_host(self, x: np.ndarray) -> np.ndarray:
        """Outside a step: every rank's array x, stacked in rank order (size, *x.shape)."""
        ...

    def wrap_step(self, fn: Any) -> Any:
        """The step as the engine runs it (TensorFlow: inside `strategy.run`)."""
        ...

    def sync_batchnorm(self, net: Any, world: World) -> None:
        """Make the net's BatchNorm layers take their batch statistics from `world.sum`."""
        ...

    def peer_failure(self, exc: BaseException) -> bool:
        """Whether `exc` is a collective that failed because a peer is gone."""
        ...

    def close(self) -> None: ...


def check_batch(cfg: Any, size: int) -> None:
    """N processes must split every critic update's `train.batch_size` rows into equal,
    whole PacGAN packs: batch_size % (N * pack) == 0 (n_critic updates take a batch each)."""
    if size <= 1:
        return
    batch, pack = cfg.train.batch_size, getattr(cfg.model, "pack", 1)
    n_critic = getattr(cfg.model, "n_critic", 1)
    updates = f" (each of the n_critic={n_critic} critic updates takes a batch)" if n_critic > 1 else ""
    if size > batch:
        raise ConfigError(f"{size} processes: more than train.batch_size={batch} rows to share")
    if batch % (size * pack):
        packs = f" x model.pack={pack}" if pack > 1 else ""
        raise ConfigError(
            f"train.batch_size={batch} does not divide into {size} processes{packs}{updates}; "
            f"use a multiple of {size * pack}"
        )
    if cfg.train.compile not in ("auto", "none"):  # a backend's own mode (xla, torch_compile, ...)
        raise ConfigError(f"train.compile={cfg.train.compile} runs in one process only; use auto or none")


class World:
    """One process (`size` 1: every method returns its input) or rank `rank` of `size`."""

    def __init__(self, launch: Launch | None = None, comm: Collectives | None = None, backend: Any = None):
        launch = launch or Launch()
        self.launch, self.comm, self.backend = launch, comm, backend
        self.rank, self.size = launch.rank, launch.size
        self.stepping = False  # inside a training step: the collectives are live
        self._attached: Any = None

    @property
    def chief(self) -> bool:
        """Rank 0 writes checkpoints, metrics, evaluations, plots and the progress bar."""
        return self.rank == 0

    @contextmanager
    def step(self) -> Iterator[None]:
        """A training step: collectives live; a peer's failure is one line naming this rank."""
        if self.size == 1:
            yield
            return
        self.stepping = True
        try:
            yield
        except Exception as exc:
            if self.comm is not None and self.comm.peer_failure(exc):
                raise self.lost(exc) from None
            raise
        finally:
            self.stepping = False

    def lost(self, exc: BaseException) -> WorkerLost:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return WorkerLost(f"rank {self.rank} of {self.size}: another worker stopped ({first}); stopping too")

    # -- the batch -------------------------------------------------------------------------
    def shard(self, model: Any, batch: np.ndarray, inputs: dict, labels: np.ndarray | None) -> tuple:
        """This rank's rows of the global batch, its random inputs and labels: of each of the
        step's `batch_multiple` consecutive batches (WGAN's critic updates), the rank's
        contiguous share."""
        if self.size == 1:
            return batch, inputs, labels
        if self._attached is not model:
            self._attach(model)
        chunks = model.batch_multiple

        def mine(array: np.ndarray | None, axis: int = 0, groups: int = chunks) -> np.ndarray | None:
            if array is None:
                return None
            a = np.moveaxis(np.asarray(array), axis, 0)
            n = a.shape[0] // groups
            a = a.reshape(groups, n, *a.shape[1:])[:, self.rank * n // self.size : (self.rank + 1) * n // self.size]
            return np.ascontiguousarray(np.moveaxis(a.reshape(-1, *a.shape[2:]), 0, axis))

        out = {}
        for name, value in inputs.items():
            if name in ROW_AXIS:
                out[name] = mine(value, ROW_AXIS[name], 1)
            elif np.shape(value)[0] == len(batch):
                out[name] = mine(value)
            else:
                raise ValueError(f"{name}: {np.shape(value)} has no rows of the batch ({len(batch)}) to share")
        return mine(batch), out, mine(labels)

    def _attach(self, model: Any) -> None:
        """Once per model: its BatchNorm layers synchronised; what cannot run distributed refused."""
        from ..specs import BatchNorm

        has_norm = lambda name: name in model.specs and any(isinstance(x, BatchNorm) for x in model.specs[name].layers)
        penalty = next((k for k in ("gp_weight", "r1_gamma") if getattr(model.cfg.model, k, 0)), None)
        if penalty and has_norm("D"):
            raise ConfigError(
                f"model.{penalty} with BatchNorm in D runs in one process only (the penalty's second "
                "derivative of synchronised statistics is not implemented)"
            )
        for net in model.nets.values():
            self.comm.sync_batchnorm(net, self)
        self._attached = model

    # -- inside a step -----------------------------------------------------------------------
    def sum(self, x: Any) -> Any:
        """Every rank's 1-d tensor x added in rank order (the same on every rank and backend)."""
        parts = self.comm.gather(x)
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total

    def reduce(self, backend: Any, grads: list) -> list:
        """The gradients of the global batch's mean: every rank's, summed in rank order, / N.
        One gather of all tensors flattened into one vector."""
        if not self.stepping:
            return grads
        ops = backend.ops
        shapes = [tuple(int(d) for d in g.shape) for g in grads]
        flat = ops.concat([ops.reshape(g, (-1,)) for g in grads], axis=0)
        total = self.sum(flat) / float(self.size)
        out, start = [], 0
        for shape in shapes:
            n = math.prod(shape)
            out.append(ops.reshape(total[start : start + n], shape))
            start += n
        return out

    # -- after a step ------------------------------------------------------------------------
    def agree(self, losses: dict[str, float], stop: bool) -> tuple[dict[str, float], bool]:
        """The step's metrics as the mean over ranks (the global batch's, for means over
        rows; a NaN anywhere is a NaN everywhere) and whether any rank got a signal."""
        if self.size == 1:
            return losses, stop
        values = np.array([*losses.values(), float(stop)], np.float64)
        try:
            every = self.comm.gather_host(values)
        except Exception as exc:
            if self.comm.peer_failure(exc):
                raise self.lost(exc) from None
            raise
        total = every[0].copy()
        for row in every[1:]:
            total += row
        mean = total / self.size
        return dict(zip(losses, (float(v) for v in mean[:-1]))), bool(total[-1])

    def barrier(self) -> None:
        """Wait until every rank is here: a run ends on no rank before the chief's files
        (the last checkpoint, eval.json) are written, so a next run that resumes finds them."""
        self.agree({}, False)

    def close(self) -> None:
        if self.comm is not None:
            self.comm.close()
