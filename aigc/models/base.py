"""What every model shares: networks built from specs on a backend, optimizers, weights."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import distributed
from ..backends import Backend, BuiltNetwork, Tensor
from ..optim import Adam, AdamConfig
from ..schema import Section
from ..specs import NetworkSpec
from ..weights import get_all, initialize_all, set_all

# (the config's typed `model` section, per-sample data shape, data kind) -> {network name: spec}
Architecture = Callable[[Section, tuple, str], dict]


class Model:
    """A generative model bound to one backend. `nets[name].native` is the framework module;
    `cfg` is the run's typed config, an `aigc.config.Config` (not imported here: `config`
    imports the model registry)."""

    family = ""

    def __init__(
        self, cfg: Any, backend: Backend, sample_shape: tuple[int, ...], data_kind: str, architecture: Architecture
    ):
        self.cfg, self.backend = cfg, backend
        self.sample_shape, self.data_kind = tuple(sample_shape), data_kind
        self.specs: dict[str, NetworkSpec] = architecture(cfg.model, self.sample_shape, data_kind)
        self.nets: dict[str, BuiltNetwork] = {name: backend.build(spec) for name, spec in self.specs.items()}
        opt = cfg.optim
        self.adam = AdamConfig(
            lr=opt.lr,
            beta1=opt.beta1,
            beta2=opt.beta2,
            eps=opt.eps,
            schedule=opt.schedule,
            total_steps=cfg.train.steps,
        )
        self.optimizers: dict[str, Adam] = self.build_optimizers()
        self._compiled: dict[tuple, Callable[..., dict[str, Tensor]]] = {}

    # -- to be provided by a family -------------------------------------------------
    def build_optimizers(self) -> dict[str, Adam]:
        raise NotImplementedError

    def random_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """The step's random arrays (noise, epsilon), drawn from the core's generator."""
        raise NotImplementedError

    def step(self, batch: Tensor, **inputs: Tensor) -> dict[str, Tensor]:
        """One training step, un-compiled: (batch, **random_inputs, [labels]) -> scalar tensors."""
        raise NotImplementedError

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        raise NotImplementedError

    def finish_training(self, rng: np.random.Generator) -> None:
        """Called once after the last training step, before the final checkpoint (e.g. a GAN's
        precise BatchNorm statistics); `rng` is its own generator, not the training one."""

    # -- shared ----------------------------------------------------------------------
    @property
    def data_range(self) -> tuple[float, float] | None:
        """Range the model's data lives in (images are rescaled from [0, 1]); None: as is."""
        return None

    @property
    def point_scale(self) -> float:
        """Points train as `x * data.scale` (the grid's +-4 span trains badly as is)."""
        return float(getattr(self.cfg.data, "scale", 1.0)) if self.data_kind == "points" else 1.0

    def to_model_range(self, x: np.ndarray) -> np.ndarray:
        if self.data_range is None:
            return x if self.point_scale == 1.0 else (x * self.point_scale).astype(np.float32)
        lo, hi = self.data_range
        return (x * (hi - lo) + lo).astype(np.float32)

    def from_model_range(self, x: np.ndarray) -> np.ndarray:
        if self.data_range is None:
            return x if self.point_scale == 1.0 else (x / self.point_scale).astype(np.float32)
        lo, hi = self.data_range
        return ((x - lo) / (hi - lo)).astype(np.float32)

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw every network's initial weights from the core's generator, in spec order."""
        initialize_all(self.backend, self.nets, self.specs, rng)

    def weights(self) -> dict[str, np.ndarray]:
        """All tensors in canonical layout, named `<net>.<layer>.<tensor>`."""
        return get_all(self.backend, self.nets)

    def load_weights(self, weights: dict[str, np.ndarray]) -> None:
        set_all(self.backend, self.nets, weights)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return {f"{n}.{k}": v for n, opt in self.optimizers.items() for k, v in opt.state_dict().items()}

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        for n, opt in self.optimizers.items():
            prefix = f"{n}."
            opt.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})

    @property
    def conditional(self) -> bool:
        """Whether the model takes class labels (with its data, and when sampling)."""
        return False

    def with_labels(
        self, net: str, label_net: str, x: Tensor, labels: Tensor | None, training: bool, masks: list | None = None
    ) -> Tensor:
        """`nets[net]` on x, with `nets[label_net](labels)` concatenated to x's last axis when
        there are labels (how every conditional model conditions a network); `masks`: the
        net's dropout keep-masks."""
        if labels is not None:
            x = self.backend.ops.concat([x, self.nets[label_net](labels, training=training)], axis=-1)
        return self.nets[net](x, training=training, masks=masks)

    def sample_labels(self, n: int, labels: np.ndarray | None) -> np.ndarray | None:
        """The labels for n samples: as given, or 0, 1, 2, ... cycling over the classes for a
        conditional model; an unconditional model takes none."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{self.cfg.model.name} is not class-conditional: it takes no labels")
            return None
        return np.arange(n) % self.cfg.model.num_classes if labels is None else labels

    @property
    def batch_multiple(self) -> int:
        """A step consumes this many batches of `train.batch_size` (WGAN's n_critic)."""
        return 1

    def step_options(self) -> dict[str, Any]:
        """The next step's python-valued options of `step` (e.g. a GAN's lazy R1): each
        combination is compiled once (`compiled_step`); none by default."""
        return {}

    def compiled_step(self, **options: Any) -> Callable[..., dict[str, Tensor]]:
        """`step` compiled as `train.compile` says: (batch tensor, **input tensors), with
        `options` (`step_options`) fixed in it."""
        key = tuple(sorted(options.items()))
        if key not in self._compiled:
            fn = functools.partial(self.step, **options) if options else self.step
            self._compiled[key] = self.backend.compile(fn, self.cfg.train.compile)
        return self._compiled[key]

    def next_compiled_step(self) -> Callable[..., dict[str, Tensor]]:
        """The compiled step the next update runs: `compiled_step` with `step_options`."""
        return self.compiled_step(**self.step_options())

    def train_step(
        self, batch: np.ndarray, rng: np.random.Generator, labels: np.ndarray | None = None
    ) -> dict[str, Tensor]:
        """One optimisation step on a batch (model range), random inputs drawn from `rng`;
        a conditional model also takes the batch's labels."""
        tensor = self.backend.tensor
        batch, inputs, labels = distributed.current().shard(self, batch, self.random_inputs(rng, len(batch)), labels)
        inputs = {k: tensor(v) for k, v in inputs.items()}
        if self.conditional:
            if labels is None:
                raise ValueError(f"{self.cfg.model.name} is class-conditional: its data needs labels")
            inputs["labels"] = tensor(np.asarray(labels, np.int64))
        return self.next_compiled_step()(tensor(batch), **inputs)
