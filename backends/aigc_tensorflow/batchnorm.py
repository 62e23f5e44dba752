"""BatchNorm with aigc's pinned semantics, as a Keras layer.

Keras' own BatchNormalization stores the biased batch variance and weights the old
statistic by `momentum`; aigc's canonical BatchNorm (see aigc/specs.py) weights the new
statistic by `momentum` and stores the unbiased variance, so this layer implements it.

In training, the layer computes y = x * scale + (beta - mean * scale) with scale = gamma /
sqrt(var + eps), as torch's CPU kernel does, and its gradient is BatchNorm's closed form
(torch's kernels round it as (dy - mean(dy) - (x - mean) * k) * invstd * gamma):

    dx = dy * scale - mean(dy) * scale - (x - mean) * (sum(dy * (x - mean)) / (n * (var + eps)) * scale)

TensorFlow's derivative of the forward ops is the same function, but it also
differentiates the variance through the batch mean (a term whose true value is 0), one
more pass over the activations: dcgan's step under XLA was 17% slower than the Keras loop
with it. The closed form is written in TensorFlow ops, so it is itself differentiable: the
WGAN-GP penalty differentiates it again (tests/parity/test_gradients.py).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def _normalize(x, gamma, beta, eps: float):
    """(y, batch mean, biased batch variance); the gradient reaches x, gamma and beta."""
    axes = list(range(len(x.shape) - 1))

    @tf.custom_gradient
    def normalize(x, gamma, beta):
        mean = tf.reduce_mean(x, axes)
        centered = x - mean
        var = tf.reduce_mean(tf.square(centered), axes)
        invstd = tf.math.rsqrt(var + eps)
        scale = invstd * gamma
        y = x * scale + (beta - mean * scale)

        def grad(dy, _dmean, _dvar):
            n = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
            sum_dy = tf.reduce_sum(dy, axes)
            dot = tf.reduce_sum(centered * dy, axes)
            k = dot * invstd * invstd / n
            # Written as full - full, not (...) * scale: XLA copies an elementwise chain whose
            # last op takes one full-size operand into each of its consumers, here into the
            # transpose that feeds the kernel gradient, where it runs strided (dcgan under
            # XLA is measurably slower that way; see the benchmarks in the docs).
            dx = (dy * scale - (sum_dy / n) * scale) - centered * (k * scale)
            return dx, dot * invstd, sum_dy

        return (y, tf.stop_gradient(mean), tf.stop_gradient(var)), grad

    return normalize(x, gamma, beta)


class PinnedBatchNorm(keras.layers.Layer):
    sync = None  # data-parallel: (x, gamma, beta, eps) -> every rank's statistics or None (distributed.py)

    def __init__(self, momentum: float, eps: float, **kwargs):
        super().__init__(**kwargs)
        self.momentum, self.eps = momentum, eps

    def build(self, input_shape):
        c = (input_shape[-1],)
        self.gamma = self.add_weight(shape=c, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=c, initializer="zeros", name="beta")
        self.running_mean = self.add_weight(shape=c, initializer="zeros", trainable=False, name="running_mean")
        self.running_var = self.add_weight(shape=c, initializer="ones", trainable=False, name="running_var")

    def call(self, x, training=False):
        if not training:
            mean, var = self.running_mean.value, self.running_var.value
            return (x - mean) * tf.math.rsqrt(var + self.eps) * self.gamma + self.beta
        gamma, beta = tf.convert_to_tensor(self.gamma), tf.convert_to_tensor(self.beta)
        synced = self.sync and self.sync(x, gamma, beta, self.eps)
        n = synced[3] if synced else tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
        y, mean, var = synced[:3] if synced else _normalize(x, gamma, beta, self.eps)
        m = self.momentum
        self.running_mean.assign((1.0 - m) * self.running_mean + m * mean)
        self.running_var.assign((1.0 - m) * self.running_var + m * var * n / (n - 1.0))
        return y

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "eps": self.eps}
