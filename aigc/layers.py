"""Neutral layer specs: what a network is, independent of any framework.

A backend turns a `Network` into a native module (`torch.nn.Module`, `keras.Model`).
Every default that differs between frameworks (BatchNorm momentum and epsilon, the
LeakyReLU slope, the kernel layout) is pinned here, never left to a framework.

Canonical conventions (the checkpoint layout, documented in the README):
- tensors are channels-last: a batch of images is NHWC;
- a Dense kernel is (in, out), so y = x @ kernel + bias;
- BatchNorm normalises with the biased batch variance and updates
  running = (1 - momentum) * running + momentum * batch, with the unbiased batch
  variance for `running_var` (momentum is the weight of the NEW statistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Dense:
    units: int
    bias: bool = True


@dataclass(frozen=True)
class BatchNorm:
    momentum: float = 0.1
    eps: float = 1e-5


ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")


@dataclass(frozen=True)
class Activation:
    kind: str
    slope: float = 0.2  # used by leaky_relu only; always explicit, never a framework default

    def __post_init__(self) -> None:
        if self.kind not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.kind!r}; allowed: {', '.join(ACTIVATIONS)}")


@dataclass(frozen=True)
class Reshape:
    shape: tuple[int, ...]  # per-sample target shape, channels-last


@dataclass(frozen=True)
class Flatten:
    pass


Layer = Union[Dense, BatchNorm, Activation, Reshape, Flatten]


@dataclass(frozen=True)
class Param:
    """One tensor of a network in canonical layout."""

    name: str
    shape: tuple[int, ...]
    trainable: bool
    init: str  # "fan_in_uniform", "ones", "zeros"
    fan_in: int = 0


@dataclass(frozen=True)
class Network:
    """A feed-forward stack of layers applied to per-sample inputs of `input_shape`."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]

    def shapes(self) -> list[tuple[int, ...]]:
        """Per-sample input shape of every layer, then the output shape."""
        shapes = [tuple(self.input_shape)]
        for layer in self.layers:
            shapes.append(output_shape(layer, shapes[-1]))
        return shapes

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes()[-1]

    def params(self) -> list[Param]:
        """All tensors (trainable first within a layer), named `<layer index>.<tensor>`."""
        out: list[Param] = []
        for i, (layer, shape) in enumerate(zip(self.layers, self.shapes())):
            out.extend(layer_params(i, layer, shape))
        return out


def output_shape(layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(layer, Dense):
        _require_rank(layer, shape, 1)
        return (layer.units,)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    if isinstance(layer, Reshape):
        if math.prod(layer.shape) != math.prod(shape):
            raise ValueError(f"cannot reshape {shape} to {layer.shape}")
        return tuple(layer.shape)
    return shape


def layer_params(index: int, layer: Layer, shape: tuple[int, ...]) -> list[Param]:
    if isinstance(layer, Dense):
        fan_in = shape[0]
        ps = [Param(f"{index}.kernel", (fan_in, layer.units), True, "fan_in_uniform", fan_in)]
        if layer.bias:
            ps.append(Param(f"{index}.bias", (layer.units,), True, "fan_in_uniform", fan_in))
        return ps
    if isinstance(layer, BatchNorm):
        c = (shape[-1],)
        return [
            Param(f"{index}.gamma", c, True, "ones"),
            Param(f"{index}.beta", c, True, "zeros"),
            Param(f"{index}.running_mean", c, False, "zeros"),
            Param(f"{index}.running_var", c, False, "ones"),
        ]
    return []


def _require_rank(layer: Layer, shape: tuple[int, ...], rank: int) -> None:
    if len(shape) != rank:
        raise ValueError(f"{type(layer).__name__} expects rank-{rank} inputs per sample, got {shape}; add a Flatten")
