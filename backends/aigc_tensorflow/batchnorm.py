"""BatchNorm with aigc's pinned semantics, as a Keras layer.

Keras' own BatchNormalization stores the biased batch variance and weights the old
statistic by `momentum`; aigc's canonical BatchNorm (see aigc/layers.py) weights the new
statistic by `momentum` and stores the unbiased variance, so this layer implements it.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class PinnedBatchNorm(keras.layers.Layer):
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
        if training:
            axes = list(range(len(x.shape) - 1))
            mean = tf.reduce_mean(x, axes)
            var = tf.reduce_mean(tf.square(x - mean), axes)
            n = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
            m = self.momentum
            self.running_mean.assign((1.0 - m) * self.running_mean + m * mean)
            self.running_var.assign((1.0 - m) * self.running_var + m * var * n / (n - 1.0))
        else:
            mean, var = self.running_mean.value, self.running_var.value
        scale = tf.math.rsqrt(var + self.eps) * self.gamma  # per channel, as torch's CPU kernel does:
        return x * scale + (self.beta - mean * scale)  # two passes over x instead of four

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "eps": self.eps}
