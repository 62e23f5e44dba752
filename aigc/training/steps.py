"""The training steps, written once. Every random input arrives as an array argument."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .. import dropout, losses
from ..backends import Backend, Tensor
from ..optim import Adam
from ..specs import NetworkSpec


def pack(backend: Backend, x: Tensor, size: int) -> Tensor:
    """(B, ...) -> (B / size, size * prod(...)): PacGAN's packed discriminator input."""
    if size == 1:
        return x
    per_sample = 1
    for d in tuple(x.shape)[1:]:
        per_sample *= int(d)
    return backend.ops.reshape(x, (-1, size * per_sample))


@dataclass(frozen=True)
class GANSettings:
    loss: str
    pack: int = 1
    n_critic: int = 1  # discriminator updates per generator update
    gp_weight: float = 0.0  # WGAN-GP's lambda; 0 = no gradient penalty
    ema_decay: float = 0.0  # generator weight average; 0 = none


@dataclass(frozen=True)
class GANParts:
    """What a GAN step needs from a model: how to generate and judge (labels may be None;
    `discriminate` takes D's dropout keep-masks or None), the two optimizers, the
    generator's EMA copy (a list of (average, live) pairs) and D's spec (its Dropout layers)."""

    generate: Callable[[Tensor, Tensor | None, bool], Tensor]
    discriminate: Callable[[Tensor, Tensor | None, bool, list | None], Tensor]
    g_opt: Adam
    d_opt: Adam
    ema: list = field(default_factory=list)
    d_spec: NetworkSpec | None = None


def d_calls_per_update(settings: GANSettings) -> int:
    """D's calls in one critic update: real, fake (and interpolates under the penalty)."""
    return 3 if settings.gp_weight else 2


def d_calls(settings: GANSettings) -> int:
    """How many times a step calls D: every critic update's calls, then once for the
    generator; each call gets its own dropout keep-masks."""
    return settings.n_critic * d_calls_per_update(settings) + 1


def gan_step(
    backend: Backend,
    parts: GANParts,
    settings: GANSettings,
    real: Tensor,
    z: Tensor,
    labels: Tensor | None = None,
    alpha: Tensor | None = None,
    d_keep: Tensor | None = None,
) -> dict[str, Tensor]:
    """`n_critic` discriminator updates on consecutive slices of the batch (real rows, noise,
    interpolation weights), then one generator update on the last slice's G(z), computed
    once (as the PyTorch DCGAN tutorial does; G is unchanged in between). Conditional models
    generate with the real labels.
    `d_keep`: D's dropout keep-masks for every call (`d_calls`), or None."""
    ops, s = backend.ops, settings
    rows = int(real.shape[0]) // s.n_critic
    per_update = d_calls_per_update(s)

    def judge(x, y, call):
        return parts.discriminate(pack(backend, x, s.pack), y, True, dropout.split(backend, parts.d_spec, d_keep, call))

    aux: dict[str, Tensor] = {}
    for i in range(s.n_critic):
        part = slice(i * rows, (i + 1) * rows)
        r, zi = real[part], z[part]
        y = None if labels is None else labels[part]
        if i == s.n_critic - 1:  # G(z) of the last update is recorded once and reused for G's update
            fake, pullback = backend.forward_for_grad(
                lambda zi=zi, y=y: parts.generate(zi, y, True), parts.g_opt.params
            )
        else:
            fake = parts.generate(zi, y, True)
        fake = ops.stop_gradient(fake)

        def d_objective(r=r, y=y, fake=fake, part=part, call=i * per_update):
            loss = losses.discriminator_loss(ops, s.loss, judge(r, y, call), judge(fake, y, call + 1))
            if not s.gp_weight:
                return loss, {}
            a = alpha[part]
            gp = losses.gradient_penalty(backend, lambda x: judge(x, y, call + 2), a * r + (1.0 - a) * fake)
            return loss + s.gp_weight * gp, {"gp": gp}

        d_loss, aux, d_grads = backend.value_and_grad(d_objective, parts.d_opt.params)
        parts.d_opt.apply(d_grads)

    def g_objective(fake):
        return losses.generator_loss(ops, s.loss, judge(fake, y, s.n_critic * per_update)), {}

    g_loss, _, g_grads = pullback(g_objective)
    parts.g_opt.apply(g_grads)
    ema_update(backend, parts.ema, s.ema_decay)
    return {"d_loss": d_loss, "g_loss": g_loss, **aux}


def ema_update(backend: Backend, pairs: list, decay: float) -> None:
    """average <- decay * average + (1 - decay) * live for weights; statistics are copied."""
    for average, live, trainable in pairs:
        backend.assign(average, decay * average + (1.0 - decay) * live if trainable else live)


Coder = Callable[[Tensor, Tensor | None, bool], Tensor]  # (input, labels or None, training) -> output


def vae_objective(
    backend: Backend,
    encode: Coder,
    decode: Coder,
    x: Tensor,
    eps: Tensor,
    beta: float,
    likelihood: str,
    std: float,
    training: bool,
    labels: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Negative ELBO averaged over the batch: reconstruction NLL + beta * KL (nats)."""
    ops = backend.ops
    h = encode(x, labels, training)
    k = int(h.shape[-1]) // 2
    mu, logvar = h[:, :k], h[:, k:]
    z = mu + ops.exp(0.5 * logvar) * eps
    out = decode(z, labels, training)
    if likelihood == "bernoulli":
        rec = losses.bernoulli_nll(ops, x, out)
    else:
        rec = losses.gaussian_nll(ops, x, out, std)
    kl = losses.gaussian_kl(ops, mu, logvar)
    rec, kl = ops.mean(rec), ops.mean(kl)
    return rec + beta * kl, {"rec": rec, "kl": kl}


def vae_step(
    backend: Backend,
    encode: Coder,
    decode: Coder,
    opt: Adam,
    beta: float,
    likelihood: str,
    std: float,
    x: Tensor,
    eps: Tensor,
    labels: Tensor | None = None,
) -> dict[str, Tensor]:
    loss, aux, grads = backend.value_and_grad(
        lambda: vae_objective(backend, encode, decode, x, eps, beta, likelihood, std, True, labels), opt.params
    )
    opt.apply(grads)
    return {"loss": loss, **aux}
