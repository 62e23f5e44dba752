"""Networks built from aigc's neutral layer specs as plain JAX functions over boxes.

JAX's convolutions take NHWC images and HWIO kernels, which is aigc's canonical layout, so
weights move without conversion (a transposed conv's canonical (kh, kw, out, in) kernel is
the HWIO kernel of the convolution it transposes). No module library is needed: a layer is
a few lines of `jax.numpy`/`jax.lax` reading its boxes; in training, BatchNorm and spectral
norm assign their state boxes, which the backend's transformations thread (`state.py`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from aigc import specs as S

from .state import Box, assign

_DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def _normalize(x):
    return x / jnp.maximum(jnp.sqrt(jnp.sum(x * x)), 1e-12)


def spectral_normalized(kernel, u_box: Box, training: bool):
    """`kernel / sigma` (Miyato et al.'s one power iteration on the (out, -1) matrix, only u
    kept), assigning the new u in training; u and v carry no gradient."""
    matrix = jnp.reshape(kernel, (-1, kernel.shape[-1])).T  # (out, -1)
    frozen = lax.stop_gradient(matrix)
    u = u_box.value
    v = _normalize(frozen.T @ u)
    if training:
        u = _normalize(frozen @ v)
        assign(u_box, u)
    u, v = lax.stop_gradient(u), lax.stop_gradient(v)
    return kernel / jnp.dot(u, matrix @ v)


def _activation(layer: S.Activation):
    if layer.kind == "relu":
        return jax.nn.relu
    if layer.kind == "leaky_relu":
        slope = layer.slope
        return lambda x: jnp.where(x >= 0, x, slope * x)
    return {"tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[layer.kind]


class JaxNet:
    """A `NetworkSpec` as a function of its boxes; `native` is the pure function
    `(params, states, x, training, masks) -> (y, new states)` for users of JAX itself."""

    def __init__(self, spec: S.NetworkSpec, device: jax.Device | None):
        self.spec, self.device = spec, device
        self.params: dict[str, Box] = {}
        self.states: dict[str, Box] = {}
        for p in spec.params():
            box = Box(jax.device_put(np.zeros(p.shape, np.float32), device))
            (self.params if p.trainable else self.states)[p.name] = box
        shapes = spec.shapes()
        self._layers = [self._layer(i, layer, shape) for i, (layer, shape) in enumerate(zip(spec.layers, shapes))]

    def _layer(self, i: int, layer: S.Layer, shape: tuple[int, ...]):
        """layer(x, training, next_mask) -> y, reading (and in training assigning) boxes."""
        params, states = self.params, self.states
        if isinstance(layer, (S.Dense, S.Conv2d, S.ConvTranspose2d)):
            kernel_box, bias_box = params[f"{i}.kernel"], params.get(f"{i}.bias")
            sn_box = states.get(f"{i}.sn_u")
            if isinstance(layer, S.Dense):
                apply = lambda x, k: x @ k
            elif isinstance(layer, S.Conv2d):
                stride, pads = (layer.stride,) * 2, layer.pads(shape)
                apply = lambda x, k: lax.conv_general_dilated(x, k, stride, pads, dimension_numbers=_DIMENSIONS)
            else:
                apply = _conv_transpose(layer, shape)

            def kernel_layer(x, training, masks):
                k = kernel_box.value
                if sn_box is not None:
                    k = spectral_normalized(k, sn_box, training)
                y = apply(x, k)
                return y if bias_box is None else y + bias_box.value

            return kernel_layer
        if isinstance(layer, S.Embedding):
            table = params[f"{i}.embeddings"]
            return lambda x, training, masks: jnp.take(table.value, x, axis=0)
        if isinstance(layer, S.Dropout):
            rate = layer.rate

            def dropout(x, training, masks):
                if not training or rate == 0:
                    return x
                if not masks:
                    raise RuntimeError("a Dropout layer in training needs its keep-mask from the core")
                return x * masks.pop(0) / (1.0 - rate)

            return dropout
        if isinstance(layer, S.BatchNorm):
            return _batchnorm(layer, *(self._box(i, n) for n in ("gamma", "beta", "running_mean", "running_var")))
        if isinstance(layer, S.Activation):
            f = _activation(layer)
            return lambda x, training, masks: f(x)
        if isinstance(layer, (S.Reshape, S.Flatten)):
            target = tuple(layer.shape) if isinstance(layer, S.Reshape) else (-1,)
            return lambda x, training, masks: jnp.reshape(x, (x.shape[0], *target))
        raise TypeError(f"the jax backend cannot build {type(layer).__name__}")

    def _box(self, i: int, name: str) -> Box:
        return self.params.get(f"{i}.{name}") or self.states[f"{i}.{name}"]

    def __call__(self, x, training: bool, masks: list | None = None):
        pending = list(masks or [])
        for layer in self._layers:
            x = layer(x, training, pending)
        return x

    def native(self, params: dict, states: dict, x, training: bool = False, masks: list | None = None):
        """The network as a pure function: (output, the states after the call)."""
        from .state import Scope

        boxes = [*self.params.values(), *self.states.values()]
        with Scope() as scope:
            scope.swap(boxes, [*(params[k] for k in self.params), *(states[k] for k in self.states)])
            y = self(x, training, masks)
            after = {k: b._value for k, b in self.states.items()}
        return y, after

    def to_canonical(self, name: str, value) -> np.ndarray:
        return np.array(value.value if isinstance(value, Box) else value)

    def from_canonical(self, name: str, array: np.ndarray):
        return jax.device_put(np.asarray(array, np.float32), self.device)


def _conv_transpose(layer: S.ConvTranspose2d, shape: tuple[int, ...]):
    """The full "valid" transposed convolution, cropped: a convolution of the input dilated by
    the stride, padded by kernel - 1 less the crops, with the kernel flipped and its channel
    axes swapped ((kh, kw, out, in) read as HWOI)."""
    k, stride = layer.kernel, layer.stride
    (t, b), (lft, r) = layer.crops(shape)
    pads = ((k - 1 - t, k - 1 - b), (k - 1 - lft, k - 1 - r))

    def apply(x, kernel):
        return lax.conv_general_dilated(
            x,
            kernel[::-1, ::-1],
            (1, 1),
            pads,
            lhs_dilation=(stride, stride),
            dimension_numbers=("NHWC", "HWOI", "NHWC"),
        )

    return apply


def _batchnorm(layer: S.BatchNorm, gamma: Box, beta: Box, running_mean: Box, running_var: Box):
    """aigc's pinned BatchNorm (`aigc.specs`): normalised with the biased batch variance,
    y = x * scale + (beta - mean * scale), scale = gamma / sqrt(var + eps) (torch's CPU
    kernel, and the TensorFlow backend's); the running statistics take the new batch's with
    weight `momentum`, the unbiased variance for `running_var` (the same expression as the
    TensorFlow backend's). The gradient is JAX's derivative of these ops."""
    m, eps = layer.momentum, layer.eps

    def batchnorm(x, training, masks):
        if not training:
            return (x - running_mean.value) * lax.rsqrt(running_var.value + eps) * gamma.value + beta.value
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axes)
        var = jnp.mean(jnp.square(x - mean), axes)
        scale = lax.rsqrt(var + eps) * gamma.value
        y = x * scale + (beta.value - mean * scale)
        n = float(np.prod(x.shape[:-1]))
        mean, var = lax.stop_gradient(mean), lax.stop_gradient(var)
        assign(running_mean, (1.0 - m) * running_mean.value + m * mean)
        assign(running_var, (1.0 - m) * running_var.value + m * var * n / (n - 1.0))
        return y

    return batchnorm
