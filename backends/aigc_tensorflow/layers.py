"""Keras layers for the neutral layers that Keras has no exact built-in for.

Spectral normalisation follows Miyato et al.'s original code (only u is kept):
v = normalize(W^T u), u' = normalize(W v), sigma = u'^T W v; a training call stores u'.
W is the kernel as an (out, -1) matrix; u' and v carry no gradient.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _normalize(x):
    return x / tf.maximum(tf.norm(x), 1e-12)


def spectral_normalized(layer: keras.layers.Layer, kernel, training: bool):
    """`kernel / sigma` for a kernel whose last axis is the output, updating `sn_u` in training."""
    matrix = tf.transpose(tf.reshape(kernel, (-1, kernel.shape[-1])))  # (out, -1)
    frozen = tf.stop_gradient(matrix)
    u = layer.sn_u.value
    v = _normalize(tf.linalg.matvec(frozen, u, transpose_a=True))
    if training:
        u = _normalize(tf.linalg.matvec(frozen, v))
        layer.sn_u.assign(u)
    u, v = tf.stop_gradient(u), tf.stop_gradient(v)
    return kernel / tf.tensordot(u, tf.linalg.matvec(matrix, v), 1)


class _SpectralState:
    def _add_sn_u(self, units: int) -> None:
        self.sn_u = self.add_weight(shape=(units,), initializer="zeros", trainable=False, name="sn_u")


class SNDense(keras.layers.Dense, _SpectralState):
    def build(self, input_shape):
        super().build(input_shape)
        self._add_sn_u(self.units)

    def call(self, x, training=False):
        y = tf.matmul(x, spectral_normalized(self, self.kernel, training))
        return y + self.bias if self.use_bias else y


class SNConv2D(keras.layers.Conv2D, _SpectralState):
    def build(self, input_shape):
        super().build(input_shape)
        self._add_sn_u(self.filters)

    def call(self, x, training=False):
        y = self.convolution_op(x, spectral_normalized(self, self.kernel, training))
        return y + self.bias if self.use_bias else y


class MaskedDropout(keras.layers.Layer):
    """x * mask / (1 - rate) in training, with the keep-mask set by the caller (`mask`);
    the identity in inference."""

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.mask = None

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        if self.mask is None:
            raise RuntimeError("a Dropout layer in training needs its keep-mask from the core")
        return x * self.mask / (1.0 - self.rate)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}
