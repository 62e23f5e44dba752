"""The hand-written Keras/TensorFlow baseline: the same model as aigc's, written the way a
Keras user would, without aigc's backends.

`build` turns a neutral spec into a plain `keras.Sequential` of `keras.layers.Dense`,
`BatchNormalization` (its momentum is the weight of the OLD statistic: 1 - the spec's), ...
with Keras' default initialisation. The step is one `tf.function` (`jit_compile=True` for
`compile="xla"`) with `tf.GradientTape` and `keras.optimizers.Adam`, as in the keras.io
GAN examples:

- GAN: D's update on a fake G(z); then G's update under its own tape, G(z) again (the
  keras.io DCGAN shape), through the updated D; only G's variables are differentiated.
  With `model.ema`, G's optimizer keeps the weight average (`use_ema=True`).
- VAE: reparameterised Gaussian encoder, Bernoulli decoder (sigmoid cross-entropy with
  logits), analytic KL.

Noise is drawn inside the step (`tf.random.normal`). The learning-rate schedule is not
reproduced: this baseline is for speed, not quality.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from aigc import specs as S
from aigc.config import Config

from .frameworks import tf_device


def _layer(layer: S.Layer) -> keras.layers.Layer:
    if isinstance(layer, S.Dense):
        return keras.layers.Dense(layer.units, use_bias=layer.bias)
    if isinstance(layer, S.BatchNorm):
        return keras.layers.BatchNormalization(momentum=1.0 - layer.momentum, epsilon=layer.eps)
    if isinstance(layer, S.Activation):
        if layer.kind == "leaky_relu":
            return keras.layers.LeakyReLU(negative_slope=layer.slope)
        return keras.layers.Activation(layer.kind)
    if isinstance(layer, (S.Conv2d, S.ConvTranspose2d)):  # a Keras user's padding="same"/"valid"
        if layer.padding not in ("same", "valid"):
            raise TypeError("the native Keras baseline writes padding 'same' or 'valid' only")
        cls = keras.layers.Conv2D if isinstance(layer, S.Conv2d) else keras.layers.Conv2DTranspose
        return cls(layer.filters, layer.kernel, strides=layer.stride, padding=layer.padding, use_bias=layer.bias)
    if isinstance(layer, S.Flatten):
        return keras.layers.Flatten()
    if isinstance(layer, S.Reshape):
        return keras.layers.Reshape(layer.shape)
    raise TypeError(
        f"the native Keras baseline cannot build {type(layer).__name__}; add it to benchmarks/native_keras.py"
    )


def build(spec: S.NetworkSpec) -> keras.Sequential:
    return keras.Sequential([keras.Input(shape=spec.input_shape), *(_layer(layer) for layer in spec.layers)])


class Native:
    """Moves batches to the device and runs the hand-written step."""

    def __init__(self, specs: dict[str, S.NetworkSpec], cfg: Config, device: str, compile: str):
        if compile not in ("auto", "none", "xla"):
            raise ValueError(f"native keras: compile {compile!r}; allowed: auto (tf.function), none (eager), xla")
        self.device = tf_device(device)
        with tf.device(self.device):
            self.nets = {name: build(spec) for name, spec in specs.items()}
        opt = cfg.optim
        self.adam = dict(learning_rate=opt.lr, beta_1=opt.beta1, beta_2=opt.beta2, epsilon=opt.eps)
        self.model = cfg.model
        self.step = self.train_step if compile == "none" else tf.function(self.train_step, jit_compile=compile == "xla")

    def _optimizer(self, variables: list, ema: float = 0.0) -> keras.optimizers.Adam:
        average = dict(use_ema=True, ema_momentum=ema) if ema else {}
        opt = keras.optimizers.Adam(**self.adam, **average)
        opt.build(variables)
        return opt

    def batch(self, x: np.ndarray) -> tf.Tensor:
        with tf.device(self.device):
            return tf.constant(x)

    def train_step(self, x: tf.Tensor) -> tuple[tf.Tensor, ...]:
        raise NotImplementedError


class GAN(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.cce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.d_opt = self._optimizer(self.nets["D"].trainable_variables)
        self.g_opt = self._optimizer(self.nets["G"].trainable_variables, getattr(self.model, "ema", 0.0))

    def _packed(self, x):
        pack = getattr(self.model, "pack", 1)  # PacGAN; conv models have none
        return x if pack == 1 else tf.reshape(x, (tf.shape(x)[0] // pack, -1))

    def _latent(self, n):
        z = tf.random.normal((n, self.model.latent_dim))
        k = self.model.info_codes
        if not k:
            return z, None
        codes = tf.random.uniform((n,), 0, k, dtype=tf.int32)
        return tf.concat([z, tf.one_hot(codes, k)], axis=1), codes

    def _judge(self, D, x, codes):
        """D's real/fake logits, and InfoGAN's code loss on Q's logits (0 without codes)."""
        out = D(self._packed(x), training=True)
        if codes is None:
            return out[:, :1], 0.0
        q = tf.reshape(out[:, 1:], (-1, self.model.info_codes))
        return out[:, :1], self.model.info_weight * self.cce(codes, q)

    def train_step(self, real):
        G, D = self.nets["G"], self.nets["D"]
        z, codes = self._latent(tf.shape(real)[0])
        fake = G(z, training=True)
        with tf.GradientTape() as tape:
            (d_real, _), (d_fake, d_info) = self._judge(D, real, None), self._judge(D, fake, codes)
            d_loss = self.bce(tf.ones_like(d_real), d_real) + self.bce(tf.zeros_like(d_fake), d_fake) + d_info
        self.d_opt.apply_gradients(zip(tape.gradient(d_loss, D.trainable_variables), D.trainable_variables))
        with tf.GradientTape() as tape:
            d_gen, g_info = self._judge(D, G(z, training=True), codes)
            g_loss = self.bce(tf.ones_like(d_gen), d_gen) + g_info
        self.g_opt.apply_gradients(zip(tape.gradient(g_loss, G.trainable_variables), G.trainable_variables))
        return d_loss, g_loss


class VAE(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        self.variables = self.nets["E"].trainable_variables + self.nets["Dec"].trainable_variables
        self.opt = self._optimizer(self.variables)

    def train_step(self, x):
        with tf.GradientTape() as tape:
            mu, logvar = tf.split(self.nets["E"](x, training=True), 2, axis=1)
            z = mu + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mu))
            logits = self.nets["Dec"](z, training=True)
            rec = tf.reduce_sum(tf.reshape(tf.nn.sigmoid_cross_entropy_with_logits(x, logits), (tf.shape(x)[0], -1)), 1)
            kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - 1.0 - logvar, 1)
            loss = tf.reduce_mean(rec + self.model.beta * kl)
        self.opt.apply_gradients(zip(tape.gradient(loss, self.variables), self.variables))
        return (loss,)


FAMILIES = {"gan": GAN, "vae": VAE}
