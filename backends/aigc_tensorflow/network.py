"""Native Keras models built from aigc's neutral layer specs.

Keras is channels-last and its Dense kernel is (in, out), which is aigc's canonical layout,
so weights move without conversion.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from aigc import layers as L

from .batchnorm import PinnedBatchNorm


def _activation(layer: L.Activation) -> keras.layers.Layer:
    if layer.kind == "relu":
        return keras.layers.ReLU()
    if layer.kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=layer.slope)
    return keras.layers.Activation(layer.kind)


def _layer(layer: L.Layer) -> keras.layers.Layer:
    if isinstance(layer, L.Dense):
        return keras.layers.Dense(layer.units, use_bias=layer.bias)
    if isinstance(layer, L.BatchNorm):
        return PinnedBatchNorm(layer.momentum, layer.eps)
    if isinstance(layer, L.Activation):
        return _activation(layer)
    if isinstance(layer, L.Reshape):
        return keras.layers.Reshape(layer.shape)
    if isinstance(layer, L.Flatten):
        return keras.layers.Flatten()
    raise TypeError(f"the tensorflow backend cannot build {type(layer).__name__}")


_ATTRS = {
    L.Dense: (("kernel", "kernel", True), ("bias", "bias", True)),
    L.BatchNorm: (
        ("gamma", "gamma", True),
        ("beta", "beta", True),
        ("running_mean", "running_mean", False),
        ("running_var", "running_var", False),
    ),
}


class KerasNet:
    """A `Network` spec as a keras.Sequential, with canonical names for its tensors."""

    def __init__(self, spec: L.Network, device: str):
        self.spec, self.device = spec, device
        with tf.device(device):
            built = [_layer(layer) for layer in spec.layers]
            self.native = keras.Sequential([keras.Input(shape=spec.input_shape), *built])
        self.params: dict[str, tf.Variable] = {}
        self.states: dict[str, tf.Variable] = {}
        for i, (layer, native) in enumerate(zip(spec.layers, built)):
            for canonical, attr, trainable in _ATTRS.get(type(layer), ()):
                var = getattr(native, attr, None)
                if var is not None:
                    (self.params if trainable else self.states)[f"{i}.{canonical}"] = var.value

    def __call__(self, x, training: bool):
        return self.native(x, training=training)

    def to_canonical(self, name: str, value) -> np.ndarray:
        return np.array(value)

    def from_canonical(self, name: str, array: np.ndarray):
        with tf.device(self.device):
            return tf.constant(array)
