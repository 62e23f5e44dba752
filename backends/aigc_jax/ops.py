"""The core's tensor ops on JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp as _logsumexp


def mean(x, axis=None):
    return jnp.mean(x, axis=axis)


def sum(x, axis=None):
    return jnp.sum(x, axis=axis)


softplus = jax.nn.softplus  # log(1 + exp(x)) as logaddexp(x, 0): stable at both ends, like torch's and TensorFlow's
sigmoid = jax.nn.sigmoid
exp = jnp.exp
log = jnp.log
sqrt = jnp.sqrt
square = jnp.square
relu = jax.nn.relu
stop_gradient = lax.stop_gradient


def reshape(x, shape):
    return jnp.reshape(x, tuple(shape))


def logsumexp(x, axis):
    return _logsumexp(x, axis=axis)


def concat(xs, axis=-1):
    return jnp.concatenate(list(xs), axis=axis)
