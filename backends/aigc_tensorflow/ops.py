"""The core's tensor ops on TensorFlow."""

from __future__ import annotations

import tensorflow as tf


def mean(x, axis=None):
    return tf.reduce_mean(x, axis=axis)


def sum(x, axis=None):
    return tf.reduce_sum(x, axis=axis)


softplus = tf.math.softplus
sigmoid = tf.math.sigmoid
exp = tf.math.exp
log = tf.math.log
sqrt = tf.math.sqrt
square = tf.math.square
stop_gradient = tf.stop_gradient


def reshape(x, shape):
    return tf.reshape(x, tuple(shape))


relu = tf.nn.relu


def logsumexp(x, axis):
    return tf.reduce_logsumexp(x, axis=axis)


def concat(xs, axis=-1):
    return tf.concat(list(xs), axis=axis)
