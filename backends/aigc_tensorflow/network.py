"""Native Keras models built from aigc's neutral layer specs.

Keras is channels-last and its Dense kernel is (in, out), which is aigc's canonical layout,
so weights move without conversion.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from aigc import specs as S

from .batchnorm import PinnedBatchNorm
from .layers import MaskedDropout, SNConv2D, SNDense


def _activation(layer: S.Activation) -> keras.layers.Layer:
    if layer.kind == "relu":
        return keras.layers.ReLU()
    if layer.kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=layer.slope)
    return keras.layers.Activation(layer.kind)


def _keras_padding(layer, shape: tuple[int, ...]) -> str | None:
    """ "same" or "valid" where Keras' own padding gives exactly the layer's explicit pads
    (crops for a transposed conv) at this input size, else None. Keras' "same" is the rule
    `aigc.specs.resolve_padding` writes down; letting Keras pad saves a pad (crop) op and
    its gradient per layer: 1.2-1.45x on the conv models at batch 64 (README, Benchmarks)."""
    transposed = isinstance(layer, S.ConvTranspose2d)
    mine = layer.crops(shape) if transposed else layer.pads(shape)
    if not any(map(any, mine)):
        return "valid"
    if mine == S.resolve_padding("same", layer.kernel, layer.stride, shape[:2], transposed):
        return "same"
    return None


def _layers(layer: S.Layer, shape: tuple[int, ...]) -> tuple[list[keras.layers.Layer], keras.layers.Layer]:
    """The Keras layers for one spec layer (Keras' own padding where it is the same, else
    explicit padding or cropping around a "valid" convolution), and the one among them that
    holds its tensors."""
    if isinstance(layer, S.Dense):
        main = (SNDense if layer.spectral_norm else keras.layers.Dense)(layer.units, use_bias=layer.bias)
        return [main], main
    if isinstance(layer, S.Conv2d):
        cls = SNConv2D if layer.spectral_norm else keras.layers.Conv2D
        native = _keras_padding(layer, shape)
        main = cls(layer.filters, layer.kernel, strides=layer.stride, padding=native or "valid", use_bias=layer.bias)
        return ([] if native else [keras.layers.ZeroPadding2D(layer.pads(shape))]) + [main], main
    if isinstance(layer, S.ConvTranspose2d):
        native = _keras_padding(layer, shape)
        main = keras.layers.Conv2DTranspose(
            layer.filters, layer.kernel, strides=layer.stride, padding=native or "valid", use_bias=layer.bias
        )
        return [main] + ([] if native else [keras.layers.Cropping2D(layer.crops(shape))]), main
    single = _single(layer)
    return [single], single


def _single(layer: S.Layer) -> keras.layers.Layer:
    if isinstance(layer, S.BatchNorm):
        return PinnedBatchNorm(layer.momentum, layer.eps)
    if isinstance(layer, S.Activation):
        return _activation(layer)
    if isinstance(layer, S.Reshape):
        return keras.layers.Reshape(layer.shape)
    if isinstance(layer, S.Flatten):
        return keras.layers.Flatten()
    if isinstance(layer, S.Embedding):
        return keras.layers.Embedding(layer.num, layer.dim)
    if isinstance(layer, S.Dropout):
        return MaskedDropout(layer.rate)
    raise TypeError(f"the tensorflow backend cannot build {type(layer).__name__}")


_KERNEL = (("kernel", "kernel", True), ("bias", "bias", True), ("sn_u", "sn_u", False))
_ATTRS = {
    S.Dense: _KERNEL,
    S.Conv2d: _KERNEL,
    S.ConvTranspose2d: _KERNEL,
    S.Embedding: (("embeddings", "embeddings", True),),
    S.BatchNorm: (
        ("gamma", "gamma", True),
        ("beta", "beta", True),
        ("running_mean", "running_mean", False),
        ("running_var", "running_var", False),
    ),
}


class KerasNet:
    """A `NetworkSpec` built as a keras.Sequential, with canonical names for its tensors."""

    def __init__(self, spec: S.NetworkSpec, device: str):
        self.spec, self.device = spec, device
        with tf.device(device):
            built = [_layers(layer, shape) for layer, shape in zip(spec.layers, spec.shapes())]
            dtype = "int64" if spec.layers and isinstance(spec.layers[0], S.Embedding) else "float32"
            inputs = keras.Input(shape=spec.input_shape, dtype=dtype)
            self.native = keras.Sequential([inputs, *(k for group, _ in built for k in group)])
        self.params: dict[str, tf.Variable] = {}
        self.states: dict[str, tf.Variable] = {}
        self.dropouts = [main for _, main in built if isinstance(main, MaskedDropout)]
        for i, (layer, (_, native)) in enumerate(zip(spec.layers, built)):
            for canonical, attr, trainable in _ATTRS.get(type(layer), ()):
                var = getattr(native, attr, None)
                if var is not None:
                    (self.params if trainable else self.states)[f"{i}.{canonical}"] = var.value

    def __call__(self, x, training: bool, masks: list | None = None):
        for layer, mask in zip(self.dropouts, masks or [None] * len(self.dropouts)):
            layer.mask = mask
        return self.native(x, training=training)

    def to_canonical(self, name: str, value) -> np.ndarray:
        return np.array(value)

    def from_canonical(self, name: str, array: np.ndarray):
        with tf.device(self.device):
            return tf.constant(array)
