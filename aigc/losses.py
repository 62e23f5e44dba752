"""GAN and VAE losses, written once against a backend's ops.

All GAN losses take the discriminator's logits (never probabilities), so no framework's
clipping of log(0) enters the math.
"""

from __future__ import annotations

import math

from .backends import Backend, Ops, Tensor

GAN_LOSSES = ("non_saturating", "minimax", "wasserstein", "hinge", "least_squares")


def discriminator_loss(ops: Ops, kind: str, real_logits: Tensor, fake_logits: Tensor, margin: float = 1.0) -> Tensor:
    """The discriminator's (critic's) loss on its raw outputs for real and generated data.

    non_saturating / minimax: -E[log D(x)] - E[log(1 - D(G(z)))], log sigmoid(l) = -softplus(-l);
    wasserstein (WGAN): E[D(G(z))] - E[D(x)];
    hinge (Lim & Ye; Miyato et al.): E[relu(m - D(x))] + E[relu(m + D(G(z)))], margin m = 1 in
    both papers; a sample D already places beyond the margin gives no gradient;
    least_squares (LSGAN, Mao et al., targets 0 and 1): (E[(D(x) - 1)^2] + E[D(G(z))^2]) / 2.
    """
    if kind in ("non_saturating", "minimax"):
        return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
    if kind == "wasserstein":
        return ops.mean(fake_logits) - ops.mean(real_logits)
    if kind == "hinge":
        return ops.mean(ops.relu(margin - real_logits)) + ops.mean(ops.relu(margin + fake_logits))
    if kind == "least_squares":
        return 0.5 * (ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits)))
    raise ValueError(f"unknown GAN loss {kind!r}; allowed: {', '.join(GAN_LOSSES)}")


def generator_loss(ops: Ops, kind: str, fake_logits: Tensor) -> Tensor:
    """non_saturating: -E[log D(G(z))]; minimax: E[log(1 - D(G(z)))];
    wasserstein and hinge: -E[D(G(z))]; least_squares: E[(D(G(z)) - 1)^2] / 2."""
    if kind == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    if kind == "minimax":
        return -ops.mean(ops.softplus(fake_logits))
    if kind in ("wasserstein", "hinge"):
        return -ops.mean(fake_logits)
    if kind == "least_squares":
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))
    raise ValueError(f"unknown GAN loss {kind!r}; allowed: {', '.join(GAN_LOSSES)}")


def gradient_penalty(backend: Backend, critic, x_hat: Tensor) -> Tensor:
    """WGAN-GP (Gulrajani et al.): E[(||grad_x critic(x_hat)||_2 - 1)^2] over the batch.

    The norm is taken per sample over all data dimensions; 1e-12 inside the square root keeps
    its gradient finite where a sample's input gradient vanishes."""
    ops = backend.ops
    grad = backend.input_gradient(critic, x_hat)
    norms = ops.sqrt(ops.sum(ops.reshape(ops.square(grad), (-1, _size(grad))), axis=1) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty(backend: Backend, critic, real: Tensor, pack: int = 1) -> Tensor:
    """R1 (Mescheder et al., 2018): E[||grad_x critic(x)||^2] at real data, over the critic's
    inputs; under PacGAN packing one input holds `pack` samples, and its gradient covers them all."""
    ops = backend.ops
    grad = backend.input_gradient(critic, real)
    return ops.sum(ops.square(grad)) / float(int(real.shape[0]) // pack)


def categorical_nll(ops: Ops, logits: Tensor, one_hot: Tensor) -> Tensor:
    """-E log softmax(logits)[class], the class given one-hot: the cross-entropy of a
    classifier's logits (InfoGAN's Q head against the code G was given)."""
    return ops.mean(ops.logsumexp(logits, axis=1) - ops.sum(logits * one_hot, axis=1))


def bernoulli_nll(ops: Ops, x: Tensor, logits: Tensor) -> Tensor:
    """-log p(x | logits) per sample, summed over the data dimensions (x in [0, 1])."""
    per_dim = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(per_dim, (-1, _size(per_dim))), axis=1)


def gaussian_nll(ops: Ops, x: Tensor, mean: Tensor, std: float) -> Tensor:
    """-log N(x; mean, std^2 I) per sample, summed over the data dimensions."""
    per_dim = 0.5 * ops.square((x - mean) / std) + (math.log(std) + 0.5 * math.log(2 * math.pi))
    return ops.sum(ops.reshape(per_dim, (-1, _size(per_dim))), axis=1)


def gaussian_kl(ops: Ops, mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, analytic."""
    return 0.5 * ops.sum(ops.square(mu) + ops.exp(logvar) - 1.0 - logvar, axis=1)


def _size(x: Tensor) -> int:
    n = 1
    for d in tuple(x.shape)[1:]:
        n *= int(d)
    return n
