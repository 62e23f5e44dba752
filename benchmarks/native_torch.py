"""The hand-written PyTorch baseline: the same model as aigc's, written the way a PyTorch
user would, without aigc's backends.

`build` turns a neutral spec into a plain `nn.Sequential` of `nn.Linear`, `nn.BatchNorm1d`,
... (framework-default initialisation; images NCHW, as PyTorch users hold them). The steps
use `torch.optim.Adam` and `loss.backward()`:

- GAN (the PyTorch DCGAN tutorial's shape): G(z) once; D's update on `fake.detach()`; G's
  update reuses that `fake` through the updated D, with D's weights frozen
  (`requires_grad_(False)`, as pix2pix does) so its weight gradients are not computed.
  With `model.ema`, G's weight average is `torch.optim.swa_utils.AveragedModel` (EMA of
  parameters and buffers), updated after G's step. With `model.info_codes` (InfoGAN), z
  gets a one-hot code (`F.one_hot`), D's extra outputs are Q's logits, and both losses add
  `info_weight` times `F.cross_entropy` of Q against the code.
- VAE: reparameterised Gaussian encoder, Bernoulli decoder (BCE with logits), analytic KL.

Noise is drawn on the device inside the step (`torch.randn`). `compile="torch_compile"`
wraps each network and each optimizer's `step` in `torch.compile`, as PyTorch's tutorials
compile a training loop and an optimizer.
The learning-rate schedule is not reproduced: this baseline is for speed, not quality.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from aigc import specs as S
from aigc.config import Config

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def _channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[-1], *shape[:-1]) if len(shape) == 3 else tuple(shape)


def _module(layer: S.Layer, shape: tuple[int, ...]) -> nn.Module:
    if isinstance(layer, S.Dense):
        return nn.Linear(shape[0], layer.units, bias=layer.bias)
    if isinstance(layer, S.BatchNorm):
        cls = nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d
        return cls(shape[-1], eps=layer.eps, momentum=layer.momentum)
    if isinstance(layer, S.Activation):
        return nn.LeakyReLU(layer.slope) if layer.kind == "leaky_relu" else ACTIVATIONS[layer.kind]()
    if isinstance(layer, S.Conv2d):  # a PyTorch user's padding=p, or explicit pads where "same" is uneven
        (t, b), (lft, r) = layer.pads(shape)
        if t == b == lft == r:
            return nn.Conv2d(shape[-1], layer.filters, layer.kernel, layer.stride, padding=t, bias=layer.bias)
        conv = nn.Conv2d(shape[-1], layer.filters, layer.kernel, layer.stride, bias=layer.bias)
        return nn.Sequential(nn.ZeroPad2d((lft, r, t, b)), conv)
    if isinstance(layer, S.ConvTranspose2d):
        (t, b), (lft, r) = layer.crops(shape)
        if not t == b == lft == r:
            raise TypeError("the native torch baseline writes symmetric transposed-conv padding only")
        return nn.ConvTranspose2d(shape[-1], layer.filters, layer.kernel, layer.stride, padding=t, bias=layer.bias)
    if isinstance(layer, S.Flatten):
        return nn.Flatten()
    if isinstance(layer, S.Reshape):
        return nn.Unflatten(1, _channels_first(layer.shape))
    raise TypeError(
        f"the native torch baseline cannot build {type(layer).__name__}; add it to benchmarks/native_torch.py"
    )


def build(spec: S.NetworkSpec) -> nn.Sequential:
    return nn.Sequential(*(_module(layer, shape) for layer, shape in zip(spec.layers, spec.shapes())))


class Native:
    """Moves batches to the device and runs the hand-written step."""

    def __init__(self, specs: dict[str, S.NetworkSpec], cfg: Config, device: str, compile: str):
        if compile not in ("auto", "none", "torch_compile"):
            raise ValueError(f"native torch: compile {compile!r}; allowed: auto or none (eager), torch_compile")
        self.device = torch.device(device)
        self.nets = {name: build(spec).to(self.device) for name, spec in specs.items()}
        self.call = {n: torch.compile(m) if compile == "torch_compile" else m for n, m in self.nets.items()}
        opt = cfg.optim
        self.adam = dict(lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)
        self.model = cfg.model
        self.compiled = compile == "torch_compile"

    def _optimizer(self, params: list[nn.Parameter]) -> tuple[torch.optim.Adam, Callable[[], None]]:
        """Adam over `params`, and its step (compiled with the networks)."""
        opt = torch.optim.Adam(params, **self.adam)
        return opt, torch.compile(opt.step) if self.compiled else opt.step

    def batch(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(x)
        return (t.permute(0, 3, 1, 2) if t.dim() == 4 else t).to(self.device)

    def step(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError


class GAN(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        self.d_opt, self.d_update = self._optimizer(list(self.nets["D"].parameters()))
        self.g_opt, self.g_update = self._optimizer(list(self.nets["G"].parameters()))
        decay = getattr(self.model, "ema", 0.0)
        self.g_ema = (
            AveragedModel(self.nets["G"], multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True) if decay else None
        )

    def _packed(self, x: torch.Tensor) -> torch.Tensor:
        pack = getattr(self.model, "pack", 1)  # PacGAN; conv models have none
        return x if pack == 1 else x.reshape(x.shape[0] // pack, -1)

    def _latent(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.model.latent_dim, device=self.device)
        k = self.model.info_codes
        if not k:
            return z, None
        codes = torch.randint(0, k, (n,), device=self.device)
        return torch.cat([z, F.one_hot(codes, k).to(z.dtype)], dim=1), codes

    def _judge(self, D, x, codes):
        """D's real/fake logits, and InfoGAN's code loss on Q's logits (0 without codes)."""
        out = D(self._packed(x))
        if codes is None:
            return out[:, :1], 0.0
        k = self.model.info_codes
        return out[:, :1], self.model.info_weight * F.cross_entropy(out[:, 1:].reshape(-1, k), codes)

    def step(self, real):
        G, D = self.call["G"], self.call["D"]
        z, codes = self._latent(real.shape[0])
        fake = G(z)
        (d_real, _), (d_fake, d_info) = self._judge(D, real, None), self._judge(D, fake.detach(), codes)
        d_loss = (
            F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            + d_info
        )
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_update()

        self.nets["D"].requires_grad_(False)
        d_gen, g_info = self._judge(D, fake, codes)
        g_loss = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen)) + g_info
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_update()
        self.nets["D"].requires_grad_(True)
        if self.g_ema is not None:
            self.g_ema.update_parameters(self.nets["G"])
        return d_loss.detach(), g_loss.detach()


class VAE(Native):
    def __init__(self, specs, cfg, device, compile):
        super().__init__(specs, cfg, device, compile)
        self.opt, self.update = self._optimizer([*self.nets["E"].parameters(), *self.nets["Dec"].parameters()])

    def step(self, x):
        mu, logvar = self.call["E"](x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.call["Dec"](z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(1)
        loss = (rec + self.model.beta * kl).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.update()
        return (loss.detach(),)


FAMILIES = {"gan": GAN, "vae": VAE}
