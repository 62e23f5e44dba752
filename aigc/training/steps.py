"""The training steps, written once. Every random input arrives as an array argument."""

from __future__ import annotations

from .. import losses
from ..backend import Backend, Net, Tensor
from ..optim import Adam


def pack(backend: Backend, x: Tensor, size: int) -> Tensor:
    """(B, ...) -> (B / size, size * prod(...)): PacGAN's packed discriminator input."""
    if size == 1:
        return x
    per_sample = 1
    for d in tuple(x.shape)[1:]:
        per_sample *= int(d)
    return backend.ops.reshape(x, (-1, size * per_sample))


def gan_step(
    backend: Backend, G: Net, D: Net, g_opt: Adam, d_opt: Adam, loss: str, packing: int, real: Tensor, z: Tensor
) -> dict[str, Tensor]:
    """One alternating update: the discriminator first, then the generator on the same z."""
    ops = backend.ops
    fake = ops.stop_gradient(G(z, training=True))

    def d_objective():
        d_real, d_fake = D(pack(backend, real, packing), training=True), D(pack(backend, fake, packing), training=True)
        return losses.discriminator_loss(ops, loss, d_real, d_fake), {}

    d_loss, _, d_grads = backend.value_and_grad(d_objective, d_opt.params)
    d_opt.apply(d_grads)

    def g_objective():
        return losses.generator_loss(ops, loss, D(pack(backend, G(z, training=True), packing), training=True)), {}

    g_loss, _, g_grads = backend.value_and_grad(g_objective, g_opt.params)
    g_opt.apply(g_grads)
    return {"d_loss": d_loss, "g_loss": g_loss}


def vae_objective(
    backend: Backend, E: Net, Dec: Net, x: Tensor, eps: Tensor, beta: float, likelihood: str, std: float, training: bool
) -> tuple[Tensor, dict[str, Tensor]]:
    """Negative ELBO averaged over the batch: reconstruction NLL + beta * KL (nats)."""
    ops = backend.ops
    h = E(x, training=training)
    k = int(h.shape[-1]) // 2
    mu, logvar = h[:, :k], h[:, k:]
    z = mu + ops.exp(0.5 * logvar) * eps
    out = Dec(z, training=training)
    if likelihood == "bernoulli":
        rec = losses.bernoulli_nll(ops, x, out)
    else:
        rec = losses.gaussian_nll(ops, x, out, std)
    kl = losses.gaussian_kl(ops, mu, logvar)
    rec, kl = ops.mean(rec), ops.mean(kl)
    return rec + beta * kl, {"rec": rec, "kl": kl}


def vae_step(
    backend: Backend, E: Net, Dec: Net, opt: Adam, beta: float, likelihood: str, std: float, x: Tensor, eps: Tensor
) -> dict[str, Tensor]:
    loss, aux, grads = backend.value_and_grad(
        lambda: vae_objective(backend, E, Dec, x, eps, beta, likelihood, std, training=True), opt.params
    )
    opt.apply(grads)
    return {"loss": loss, **aux}
