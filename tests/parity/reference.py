"""An independent float64 NumPy forward pass of aigc's layer specs and losses.

When torch and TensorFlow disagree, this says which one is wrong: both are compared
with it, not only with each other.
"""

from __future__ import annotations

import numpy as np

from aigc import layers as L


def _activation(layer: L.Activation, x: np.ndarray) -> np.ndarray:
    if layer.kind == "relu":
        return np.maximum(x, 0.0)
    if layer.kind == "leaky_relu":
        return np.where(x >= 0, x, layer.slope * x)
    if layer.kind == "tanh":
        return np.tanh(x)
    return 1.0 / (1.0 + np.exp(-x))


def forward(spec: L.Network, weights: dict[str, np.ndarray], x: np.ndarray, training: bool) -> tuple[np.ndarray, dict]:
    """Output and the updated BatchNorm running statistics (training mode)."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    h = np.asarray(x, np.float64)
    new_state = {}
    for i, layer in enumerate(spec.layers):
        if isinstance(layer, L.Dense):
            h = h @ w[f"{i}.kernel"] + (w[f"{i}.bias"] if layer.bias else 0.0)
        elif isinstance(layer, L.BatchNorm):
            axes = tuple(range(h.ndim - 1))
            if training:
                mean, var = h.mean(axis=axes), h.var(axis=axes)
                n = h.size // h.shape[-1]
                m = layer.momentum
                new_state[f"{i}.running_mean"] = (1 - m) * w[f"{i}.running_mean"] + m * mean
                new_state[f"{i}.running_var"] = (1 - m) * w[f"{i}.running_var"] + m * var * n / (n - 1)
            else:
                mean, var = w[f"{i}.running_mean"], w[f"{i}.running_var"]
            h = (h - mean) / np.sqrt(var + layer.eps) * w[f"{i}.gamma"] + w[f"{i}.beta"]
        elif isinstance(layer, L.Activation):
            h = _activation(layer, h)
        elif isinstance(layer, L.Flatten):
            h = h.reshape(len(h), -1)
        elif isinstance(layer, L.Reshape):
            h = h.reshape(len(h), *layer.shape)
        else:
            raise TypeError(type(layer).__name__)
    return h, new_state


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def discriminator_loss(real_logits: np.ndarray, fake_logits: np.ndarray) -> float:
    return float(softplus(-real_logits).mean() + softplus(fake_logits).mean())


def generator_loss(kind: str, fake_logits: np.ndarray) -> float:
    return float(softplus(-fake_logits).mean() if kind == "non_saturating" else -softplus(fake_logits).mean())


def negative_elbo(x, h, logits, eps, beta: float) -> float:
    """Bernoulli likelihood; h is the encoder output [mu, logvar]."""
    k = h.shape[1] // 2
    mu, logvar = h[:, :k], h[:, k:]
    rec = (softplus(logits) - x.reshape(len(x), -1) * logits.reshape(len(x), -1)).sum(axis=1)
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar).sum(axis=1)
    return float((rec + beta * kl).mean())
