"""The hand-written JAX baseline: the same model as aigc's, written the way a JAX user would,
without aigc's backends: parameters as pytrees, pure functions, `optax.adam`, one `jax.jit`
step that takes and returns all state (parameters, optimizer state, BatchNorm statistics,
the PRNG key). `compile="none"` runs the same step un-jitted.

- GAN (the PyTorch DCGAN tutorial's shape, as the torch baseline): G(z) once; D's update on
  `stop_gradient(fake)`; G's update through the updated D, only G differentiated. With
  `model.ema`, G's weight average is an `optax.ema`-style tree average after G's step.
- VAE: reparameterised Gaussian encoder, Bernoulli decoder (`optax.sigmoid_binary_cross_entropy`),
  analytic KL.

Noise is drawn inside the step (`jax.random`). Images are NHWC, kernels HWIO (JAX's own
convolution layout), with the spec's explicit pads. The learning-rate schedule is not
reproduced: this baseline is for speed, not quality.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from aigc import specs as S
from aigc.config import Config

_NHWC = ("NHWC", "HWIO", "NHWC")


def _init(spec: S.NetworkSpec, key) -> tuple[list, list]:
    """(params, BatchNorm states) per layer, fan-in uniform as JAX users write it."""
    params, states = [], []
    for layer, shape in zip(spec.layers, spec.shapes()):
        key, k1, k2 = jax.random.split(key, 3)
        p, s = {}, {}
        if isinstance(layer, (S.Dense, S.Conv2d, S.ConvTranspose2d)):
            if isinstance(layer, S.Dense):
                kshape, fan_in, out = (shape[0], layer.units), shape[0], layer.units
            elif isinstance(layer, S.Conv2d):
                kshape = (layer.kernel, layer.kernel, shape[-1], layer.filters)
                fan_in, out = layer.kernel**2 * shape[-1], layer.filters
            else:  # HWIO of the transposed conv as lax.conv_transpose takes it
                kshape = (layer.kernel, layer.kernel, shape[-1], layer.filters)
                fan_in, out = layer.kernel**2 * layer.filters, layer.filters
            bound = 1.0 / math.sqrt(fan_in)
            p["w"] = jax.random.uniform(k1, kshape, jnp.float32, -bound, bound)
            if layer.bias:
                p["b"] = jax.random.uniform(k2, (out,), jnp.float32, -bound, bound)
        elif isinstance(layer, S.BatchNorm):
            p = {"gamma": jnp.ones(shape[-1]), "beta": jnp.zeros(shape[-1])}
            s = {"mean": jnp.zeros(shape[-1]), "var": jnp.ones(shape[-1])}
        elif not isinstance(layer, (S.Activation, S.Flatten, S.Reshape)):
            raise TypeError(
                f"the native JAX baseline cannot build {type(layer).__name__}; add it to benchmarks/native_jax.py"
            )
        params.append(p)
        states.append(s)
    return params, states


def _apply(spec: S.NetworkSpec, params: list, states: list, x, training: bool):
    """(output, new BatchNorm states)."""
    new_states = []
    for layer, shape, p, s in zip(spec.layers, spec.shapes(), params, states):
        if isinstance(layer, S.Dense):
            x = x @ p["w"]
        elif isinstance(layer, S.Conv2d):
            x = lax.conv_general_dilated(x, p["w"], (layer.stride,) * 2, layer.pads(shape), dimension_numbers=_NHWC)
        elif isinstance(layer, S.ConvTranspose2d):
            (t, b), (lft, r) = layer.crops(shape)
            k = layer.kernel
            pads = ((k - 1 - t, k - 1 - b), (k - 1 - lft, k - 1 - r))
            x = lax.conv_transpose(x, p["w"], (layer.stride,) * 2, pads, dimension_numbers=_NHWC)
        elif isinstance(layer, S.BatchNorm):
            if training:
                axes = tuple(range(x.ndim - 1))
                mean, var = jnp.mean(x, axes), jnp.var(x, axes)
                n = math.prod(x.shape[:-1])
                m = layer.momentum
                s = {"mean": (1 - m) * s["mean"] + m * mean, "var": (1 - m) * s["var"] + m * var * n / (n - 1)}
            else:
                mean, var = s["mean"], s["var"]
            x = (x - mean) * lax.rsqrt(var + layer.eps) * p["gamma"] + p["beta"]
        elif isinstance(layer, S.Activation):
            if layer.kind == "leaky_relu":
                x = jax.nn.leaky_relu(x, layer.slope)
            else:
                x = {"relu": jax.nn.relu, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid}[layer.kind](x)
        elif isinstance(layer, S.Flatten):
            x = x.reshape(x.shape[0], -1)
        elif isinstance(layer, S.Reshape):
            x = x.reshape(x.shape[0], *layer.shape)
        if "b" in p:
            x = x + p["b"]
        new_states.append(s)
    return x, new_states


class Native:
    """Moves batches to the device and runs the hand-written step (state kept here)."""

    def __init__(self, specs: dict[str, S.NetworkSpec], cfg: Config, device: str, compile: str):
        if compile not in ("auto", "none"):
            raise ValueError(f"native jax: compile {compile!r}; allowed: auto (jax.jit), none (eager)")
        self.specs, self.model = specs, cfg.model
        self.device = jax.devices("cpu" if device == "cpu" else "gpu")[0]
        key = jax.random.PRNGKey(cfg.seed)
        self.params, self.states = {}, {}
        for name, spec in specs.items():
            key, sub = jax.random.split(key)
            self.params[name], self.states[name] = _init(spec, sub)
        opt = cfg.optim
        self.optimizer = optax.adam(opt.lr, b1=opt.beta1, b2=opt.beta2, eps=opt.eps)
        self.key = key
        self._step = self.train_step if compile == "none" else jax.jit(self.train_step)

    def net(self, name: str, params, states, x, training: bool = True):
        return _apply(self.specs[name], params[name], states[name], x, training)

    def batch(self, x: np.ndarray):
        return jax.device_put(x, self.device)

    def step(self, x):
        self.state, out = self._step(self.state, x)
        return out


class GAN(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        G, D = self.params["G"], self.params["D"]
        self.ema = float(getattr(self.model, "ema", 0.0))
        average = G if self.ema else None
        self.state = (self.params, self.states, self.optimizer.init(D), self.optimizer.init(G), average, self.key)

    def _packed(self, x):
        pack = getattr(self.model, "pack", 1)  # PacGAN; conv models have none
        return x if pack == 1 else x.reshape(x.shape[0] // pack, -1)

    def _split(self, out, codes):
        """D's real/fake logits, and InfoGAN's code loss on Q's logits (0 without codes)."""
        k = self.model.info_codes
        if not k or codes is None:
            return out[:, :1], 0.0
        q = out[:, 1:].reshape(-1, k)
        return out[:, :1], self.model.info_weight * optax.softmax_cross_entropy_with_integer_labels(q, codes).mean()

    def train_step(self, state, real):
        params, states, d_opt, g_opt, average, key = state
        key, sub, code_key = jax.random.split(key, 3)
        n, k = real.shape[0], self.model.info_codes
        z = jax.random.normal(sub, (n, self.model.latent_dim))
        codes = jax.random.randint(code_key, (n,), 0, k) if k else None
        z = jnp.concatenate([z, jax.nn.one_hot(codes, k)], axis=1) if k else z
        fake, g_states = _apply(self.specs["G"], params["G"], states["G"], z, True)

        def d_loss_fn(d_params):
            d_real, s = _apply(self.specs["D"], d_params, states["D"], self._packed(real), True)
            d_fake, s = _apply(self.specs["D"], d_params, s, self._packed(lax.stop_gradient(fake)), True)
            (d_real, _), (d_fake, info) = self._split(d_real, None), self._split(d_fake, codes)
            loss = jnp.mean(optax.sigmoid_binary_cross_entropy(d_real, jnp.ones_like(d_real)))
            return loss + jnp.mean(optax.sigmoid_binary_cross_entropy(d_fake, jnp.zeros_like(d_fake))) + info, s

        (d_loss, d_states), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(params["D"])
        updates, d_opt = self.optimizer.update(d_grads, d_opt, params["D"])
        d_params = optax.apply_updates(params["D"], updates)

        def g_loss_fn(g_params):
            generated, _ = _apply(self.specs["G"], g_params, states["G"], z, True)
            d_gen, s = _apply(self.specs["D"], d_params, d_states, self._packed(generated), True)
            d_gen, info = self._split(d_gen, codes)
            return jnp.mean(optax.sigmoid_binary_cross_entropy(d_gen, jnp.ones_like(d_gen))) + info, s

        (g_loss, d_states), g_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(params["G"])
        updates, g_opt = self.optimizer.update(g_grads, g_opt, params["G"])
        g_params = optax.apply_updates(params["G"], updates)
        if average is not None:
            average = jax.tree.map(lambda a, p: self.ema * a + (1.0 - self.ema) * p, average, g_params)
        params = {"G": g_params, "D": d_params}
        states = {"G": g_states, "D": d_states}
        return (params, states, d_opt, g_opt, average, key), (d_loss, g_loss)


class VAE(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        self.state = (self.params, self.states, self.optimizer.init(self.params), self.key)

    def train_step(self, state, x):
        params, states, opt, key = state
        key, sub = jax.random.split(key)

        def loss_fn(p):
            h, e_states = _apply(self.specs["E"], p["E"], states["E"], x, True)
            mu, logvar = jnp.split(h, 2, axis=1)
            z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(sub, mu.shape)
            logits, dec_states = _apply(self.specs["Dec"], p["Dec"], states["Dec"], z, True)
            rec = optax.sigmoid_binary_cross_entropy(logits, x).reshape(x.shape[0], -1).sum(1)
            kl = 0.5 * jnp.sum(jnp.square(mu) + jnp.exp(logvar) - 1.0 - logvar, 1)
            return jnp.mean(rec + self.model.beta * kl), {"E": e_states, "Dec": dec_states}

        (loss, states), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt = self.optimizer.update(grads, opt, params)
        return (optax.apply_updates(params, updates), states, opt, key), (loss,)


FAMILIES = {"gan": GAN, "vae": VAE}
