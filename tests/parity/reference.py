"""An independent float64 NumPy forward pass of aigc's layer specs and losses.

When torch and TensorFlow disagree, this says which one is wrong: both are compared
with it, not only with each other.
"""

from __future__ import annotations

import numpy as np

from aigc import specs as S


def _activation(layer: S.Activation, x: np.ndarray) -> np.ndarray:
    if layer.kind == "relu":
        return np.maximum(x, 0.0)
    if layer.kind == "leaky_relu":
        return np.where(x >= 0, x, layer.slope * x)
    if layer.kind == "tanh":
        return np.tanh(x)
    return 1.0 / (1.0 + np.exp(-x))


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / max(np.linalg.norm(x), 1e-12)


def spectral_normalized(kernel: np.ndarray, u: np.ndarray, training: bool) -> tuple[np.ndarray, np.ndarray]:
    """Miyato et al.'s one power iteration on the (out, -1) matrix: (kernel / sigma, new u)."""
    matrix = kernel.reshape(-1, kernel.shape[-1]).T
    v = _normalize(matrix.T @ u)
    if training:
        u = _normalize(matrix @ v)
    return kernel / (u @ matrix @ v), u


def conv2d(x: np.ndarray, kernel: np.ndarray, stride: int, pads) -> np.ndarray:
    """NHWC cross-correlation of the zero-padded input, kernel (kh, kw, in, out)."""
    (t, b), (lft, r) = pads
    x = np.pad(x, ((0, 0), (t, b), (lft, r), (0, 0)))
    k = kernel.shape[0]
    ho, wo = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.zeros((len(x), ho, wo, kernel.shape[-1]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i : i + stride * (ho - 1) + 1 : stride, j : j + stride * (wo - 1) + 1 : stride, :]
            out += patch @ kernel[i, j]
    return out


def conv_transpose2d(x: np.ndarray, kernel: np.ndarray, stride: int, crops) -> np.ndarray:
    """Each input pixel scatters kernel (kh, kw, out, in) @ its channels into a full
    (n - 1) * stride + k output, which is then cropped."""
    k = kernel.shape[0]
    n, h, w, _ = x.shape
    full = np.zeros((n, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]))
    for i in range(k):
        for j in range(k):
            contrib = x @ kernel[i, j].T  # (n, h, w, out)
            full[:, i : i + stride * (h - 1) + 1 : stride, j : j + stride * (w - 1) + 1 : stride, :] += contrib
    (t, b), (lft, r) = crops
    return full[:, t : full.shape[1] - b, lft : full.shape[2] - r, :]


def forward(
    spec: S.NetworkSpec, weights: dict[str, np.ndarray], x: np.ndarray, training: bool, masks: list | None = None
) -> tuple[np.ndarray, dict]:
    """Output and the updated state (BatchNorm running statistics, spectral norm's u) in training."""
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    h = np.asarray(x, np.float64)
    new_state = {}
    masks = list(masks or [])
    for i, layer in enumerate(spec.layers):
        kernel = w.get(f"{i}.kernel")
        if getattr(layer, "spectral_norm", False):
            kernel, u = spectral_normalized(kernel, w[f"{i}.sn_u"], training)
            if training:
                new_state[f"{i}.sn_u"] = u
        bias = w[f"{i}.bias"] if getattr(layer, "bias", False) else 0.0
        if isinstance(layer, S.Dense):
            h = h @ kernel + bias
        elif isinstance(layer, S.Conv2d):
            h = conv2d(h, kernel, layer.stride, layer.pads(h.shape[1:])) + bias
        elif isinstance(layer, S.ConvTranspose2d):
            h = conv_transpose2d(h, kernel, layer.stride, layer.crops(h.shape[1:])) + bias
        elif isinstance(layer, S.Embedding):
            h = w[f"{i}.embeddings"][np.asarray(x, np.int64)]
        elif isinstance(layer, S.Dropout):
            if training:
                h = h * masks.pop(0) / (1.0 - layer.rate)
        elif isinstance(layer, S.BatchNorm):
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
        elif isinstance(layer, S.Activation):
            h = _activation(layer, h)
        elif isinstance(layer, S.Flatten):
            h = h.reshape(len(h), -1)
        elif isinstance(layer, S.Reshape):
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
