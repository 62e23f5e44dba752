"""GAN and VAE losses, written once against a backend's ops.

All GAN losses take the discriminator's logits (never probabilities), so no framework's
clipping of log(0) enters the math.
"""

from __future__ import annotations

import math

from .backend import Ops, Tensor

GAN_LOSSES = ("non_saturating", "minimax")


def discriminator_loss(ops: Ops, kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))], with log sigmoid(l) = -softplus(-l)."""
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; allowed: {', '.join(GAN_LOSSES)}")
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def generator_loss(ops: Ops, kind: str, fake_logits: Tensor) -> Tensor:
    """non_saturating: -E[log D(G(z))]; minimax: E[log(1 - D(G(z)))]."""
    if kind == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    if kind == "minimax":
        return -ops.mean(ops.softplus(fake_logits))
    raise ValueError(f"unknown GAN loss {kind!r}; allowed: {', '.join(GAN_LOSSES)}")


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
