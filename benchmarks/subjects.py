"""What a benchmark times, for aigc and for the hand-written baselines alike.

A `Subject` offers two things to time:

- `step(batch)`: the compiled training step alone, on a batch already on the device;
- `loop(host_batch)`: one iteration of that implementation's training loop on a NumPy
  batch. For aigc it is exactly what `aigc train` does per step (`Model.train_step`: the
  core draws the noise, both arrays go to the device, the compiled step runs; then every
  loss is read back to the host and checked for NaN/inf), without the progress bar and the
  metrics line written every `train.log_every` steps. For a baseline it is moving the
  batch to the device and the step (losses are not read back).

Host batches come from a data source (`SOURCES`): `memory` hands out one batch gathered
once, `gather` is the training loop's own `x[batches.next()]`. A source is a factory
(data, batch size, seed) -> a function returning the next NumPy batch, so the prefetching
loader joins as one more entry.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from aigc import data, models
from aigc.config import Config
from aigc.training.batches import Batches


def _memory(x: np.ndarray, batch_size: int, seed: int) -> Callable[[], np.ndarray]:
    fixed = np.ascontiguousarray(x[:batch_size])
    return lambda: fixed


def _gather(x: np.ndarray, batch_size: int, seed: int) -> Callable[[], np.ndarray]:
    batches = Batches(len(x), batch_size, seed)
    return lambda: x[batches.next()]


SOURCES: dict[str, Callable[[np.ndarray, int, int], Callable[[], np.ndarray]]] = {
    "memory": _memory,
    "gather": _gather,
}


@dataclass
class Subject:
    x: np.ndarray  # the training data, host, in the model's range and the implementation's layout
    batch: Callable[[np.ndarray], Any]  # host batch -> device tensor
    step: Callable[[Any], Any]  # the compiled step on a device batch
    loop: Callable[[np.ndarray], Any]  # one training-loop iteration on a host batch
    threads: Any = None  # aigc: the loop's thread governor (`aigc.threads.Governor`)


def aigc_subject(cfg: Config) -> Subject:
    """aigc on `cfg.backend`, compiled as `cfg.train.compile` says."""
    from aigc import threads
    from aigc.training import loop

    backend, choice = loop.backend_for(cfg)
    model, dataset, rng = loop.build(cfg, backend)
    governor = threads.Governor(backend, choice)
    batch_size = cfg.train.batch_size
    tensor = model.backend.tensor
    noise = {k: tensor(v) for k, v in model.random_inputs(rng, batch_size).items()}
    count = itertools.count(1)

    def loop_step(host_batch: np.ndarray) -> dict[str, float]:
        # The body of aigc.training.loop.train (private helpers: this must be the real thing).
        governor.tick()
        losses = loop._step(model, host_batch, None, rng, batch_size)
        problem = loop._nonfinite(next(count), losses, None)
        if problem:
            raise RuntimeError(problem)
        return losses

    def step(device_batch: Any) -> Any:
        return model.next_compiled_step()(device_batch, **noise)

    return Subject(model.to_model_range(dataset.x), tensor, step, loop_step, governor)


# What the hand-written loops implement, per model family: (model key, the one value written)
NATIVE_COVERS = {"gan": ("loss", "non_saturating"), "vae": ("likelihood", "bernoulli")}


def native_subject(cfg: Config, framework: str) -> Subject:
    """The hand-written loop in `framework` for the model and data of `cfg`."""
    entry = models.REGISTRY[cfg.model.name]
    family = entry.family.family
    key, value = NATIVE_COVERS[family]
    if getattr(cfg.model, key) != value:
        raise ValueError(f"the hand-written {family.upper()} loops implement model.{key}={value} only")
    dataset = data.load(cfg.data, cfg.seed)
    specs = entry.architecture(cfg.model, dataset.sample_shape, dataset.kind)
    if framework == "torch":
        from . import native_torch as native
    elif framework == "jax":
        from . import native_jax as native
    else:
        from . import native_keras as native
    impl = native.FAMILIES[family](specs, cfg, cfg.device, cfg.train.compile)
    x = dataset.x * 2.0 - 1.0 if family == "gan" and dataset.kind == "images" else dataset.x  # as aigc's GAN: [-1, 1]
    return Subject(x.astype(np.float32), impl.batch, impl.step, lambda b: impl.step(impl.batch(b)))
