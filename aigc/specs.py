"""Neutral layer specs: what a network is, independent of any framework.

A backend turns a `NetworkSpec` into a native module (`torch.nn.Module`, `keras.Model`).
Every default that differs between frameworks (BatchNorm momentum and epsilon, the
LeakyReLU slope, the kernel layout) is pinned here, never left to a framework.

Canonical conventions (the checkpoint layout, documented in the README):
- tensors are channels-last: a batch of images is NHWC;
- a Dense kernel is (in, out), so y = x @ kernel + bias;
- a Conv2d kernel is (kh, kw, in, out) and a ConvTranspose2d kernel (kh, kw, out, in),
  as Keras stores them; padding is always explicit zero padding (`Padding`), never a
  framework's own "same";
- BatchNorm normalises with the biased batch variance and updates
  running = (1 - momentum) * running + momentum * batch, with the unbiased batch
  variance for `running_var` (momentum is the weight of the NEW statistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))


def resolve_padding(padding, kernel: int, stride: int, size: tuple[int, int], transposed: bool) -> Pads:
    """Explicit pads (Conv2d) or crops (ConvTranspose2d) from "valid", "same" or an int.

    "same" is TensorFlow's rule, written down: a convolution outputs ceil(n / stride) and pads
    `total = max((out - 1) * stride + kernel - n, 0)`, `total // 2` before and the rest after
    (so an odd total puts the extra pixel bottom/right); a transposed convolution outputs
    n * stride and crops `kernel - stride` the same way. An int p is PyTorch's symmetric
    `padding=p`.
    """
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if padding == "valid":
        return ((0, 0), (0, 0))
    if padding != "same":
        raise ValueError(f"padding {padding!r}: allowed: 'same', 'valid' or an int")
    pads = []
    for n in size:
        if transposed:
            total = max(kernel - stride, 0)
        else:
            out = -(-n // stride)
            total = max((out - 1) * stride + kernel - n, 0)
        pads.append((total // 2, total - total // 2))
    return (pads[0], pads[1])


@dataclass(frozen=True)
class Dense:
    units: int
    bias: bool = True
    spectral_norm: bool = False  # W / sigma(W), sigma from one power iteration per training call


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolution of channels-last images; `padding` as in `resolve_padding`."""

    filters: int
    kernel: int
    stride: int = 1
    padding: int | str = 0
    bias: bool = True
    spectral_norm: bool = False

    def pads(self, shape: tuple[int, ...]) -> Pads:
        return resolve_padding(self.padding, self.kernel, self.stride, shape[:2], transposed=False)


@dataclass(frozen=True)
class ConvTranspose2d:
    """The transpose (gradient) of a Conv2d: a full "valid" transposed convolution,
    (n - 1) * stride + kernel pixels per side, then cropped by `padding` (PyTorch's `padding=p`
    for an int, TensorFlow's rule for "same")."""

    filters: int
    kernel: int
    stride: int = 1
    padding: int | str = 0
    bias: bool = True

    def crops(self, shape: tuple[int, ...]) -> Pads:
        return resolve_padding(self.padding, self.kernel, self.stride, shape[:2], transposed=True)


@dataclass(frozen=True)
class Embedding:
    """Integer labels (per sample: a scalar) -> learned vectors of size `dim`."""

    num: int
    dim: int


@dataclass(frozen=True)
class Dropout:
    """Zeroes units with probability `rate` in training; the keep-masks are inputs drawn by
    the core's generator (see `NetworkSpec.dropout_shapes`), so both backends drop the same units."""

    rate: float


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


Layer = Dense | Conv2d | ConvTranspose2d | BatchNorm | Activation | Reshape | Flatten | Embedding | Dropout


@dataclass(frozen=True)
class Param:
    """One tensor of a network in canonical layout."""

    name: str
    shape: tuple[int, ...]
    trainable: bool
    init: str  # "fan_in_uniform", "ones", "zeros", "normal", "normal_unit" (a random unit vector)
    fan_in: int = 0


@dataclass(frozen=True)
class NetworkSpec:
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

    def dropout_shapes(self) -> list[tuple[int, ...]]:
        """Per-sample shapes of the keep-masks this network takes in training, in layer order."""
        return [shape for layer, shape in zip(self.layers, self.shapes()) if isinstance(layer, Dropout)]

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
    if isinstance(layer, Conv2d):
        _require_rank(layer, shape, 3)
        (t, b), (lft, r) = layer.pads(shape)
        h, w = shape[0] + t + b - layer.kernel, shape[1] + lft + r - layer.kernel
        if h < 0 or w < 0:
            raise ValueError(f"Conv2d kernel {layer.kernel} is larger than its padded input {shape}")
        return (h // layer.stride + 1, w // layer.stride + 1, layer.filters)
    if isinstance(layer, ConvTranspose2d):
        _require_rank(layer, shape, 3)
        (t, b), (lft, r) = layer.crops(shape)
        full = [(n - 1) * layer.stride + layer.kernel for n in shape[:2]]
        h, w = full[0] - t - b, full[1] - lft - r
        if h <= 0 or w <= 0:
            raise ValueError(f"ConvTranspose2d crops {layer.padding!r} leave nothing of {shape}")
        return (h, w, layer.filters)
    if isinstance(layer, Embedding):
        if shape != ():
            raise ValueError(f"Embedding expects one integer label per sample, got per-sample shape {shape}")
        return (layer.dim,)
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
        return ps + _spectral_state(index, layer, layer.units)
    if isinstance(layer, Conv2d):
        fan_in = layer.kernel * layer.kernel * shape[-1]
        k = (layer.kernel, layer.kernel, shape[-1], layer.filters)
        ps = [Param(f"{index}.kernel", k, True, "fan_in_uniform", fan_in)]
        if layer.bias:
            ps.append(Param(f"{index}.bias", (layer.filters,), True, "fan_in_uniform", fan_in))
        return ps + _spectral_state(index, layer, layer.filters)
    if isinstance(layer, ConvTranspose2d):
        # PyTorch's fan-in for a transposed kernel (in, out, kh, kw) is out * kh * kw.
        fan_in = layer.kernel * layer.kernel * layer.filters
        k = (layer.kernel, layer.kernel, layer.filters, shape[-1])
        ps = [Param(f"{index}.kernel", k, True, "fan_in_uniform", fan_in)]
        if layer.bias:
            ps.append(Param(f"{index}.bias", (layer.filters,), True, "fan_in_uniform", fan_in))
        return ps
    if isinstance(layer, Embedding):
        return [Param(f"{index}.embeddings", (layer.num, layer.dim), True, "normal")]
    if isinstance(layer, BatchNorm):
        c = (shape[-1],)
        return [
            Param(f"{index}.gamma", c, True, "ones"),
            Param(f"{index}.beta", c, True, "zeros"),
            Param(f"{index}.running_mean", c, False, "zeros"),
            Param(f"{index}.running_var", c, False, "ones"),
        ]
    return []


def _spectral_state(index: int, layer: Layer, out: int) -> list[Param]:
    """Spectral norm's power-iteration vector u (one entry per output unit): state, not trained."""
    return [Param(f"{index}.sn_u", (out,), False, "normal_unit")] if layer.spectral_norm else []


def _require_rank(layer: Layer, shape: tuple[int, ...], rank: int) -> None:
    if len(shape) != rank:
        raise ValueError(f"{type(layer).__name__} expects rank-{rank} inputs per sample, got {shape}; add a Flatten")
