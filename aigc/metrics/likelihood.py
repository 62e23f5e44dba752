"""The importance-weighted estimate of a VAE's log-likelihood (Burda et al., 2016, IWAE):

    log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log k,   z_k ~ q(z|x)

a lower bound on log p(x) that tightens as k grows (k = 1: the ELBO with a sampled KL term,
equal to the analytic-KL ELBO in expectation). Reported as a negative log-likelihood in nats
per example. The decoder's log p(x|z) runs on the backend (the same likelihood code as
training); the Gaussian log-densities and the log-sum-exp are NumPy float64. The epsilons come
from the core's generator, so both backends average the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import losses
from ..backends import Backend

DEFAULT_K = 1000
DEFAULT_ROWS = 5000  # decoder inputs per call: bounds memory whatever k is

Coder = Callable  # (input tensor, labels tensor or None, training) -> output tensor


def _log_normal(x: np.ndarray, logvar: np.ndarray | float = 0.0) -> np.ndarray:
    """log N(x; 0, exp(logvar)) summed over the last axis, for standardised x (x = value / std)."""
    return -0.5 * (np.square(x) + logvar + math.log(2 * math.pi)).sum(axis=-1)


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))


def iwae_nll(
    backend: Backend,
    encode: Coder,
    decode: Coder,
    x: np.ndarray,
    likelihood: str,
    std: float,
    k: int = DEFAULT_K,
    seed: int = 0,
    labels: np.ndarray | None = None,
    rows: int = DEFAULT_ROWS,
) -> float:
    """Mean -log p(x) estimate (nats per example) of data `x` (model range) with k importance
    samples each; `labels` for conditional VAEs; at most `rows` decoder inputs per call."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    t, ops = backend.tensor, backend.ops
    rng = np.random.default_rng(seed)
    chunk = min(k, rows)
    per_batch = max(1, rows // chunk)
    total = 0.0
    for start in range(0, len(x), per_batch):
        xb = np.asarray(x[start : start + per_batch], np.float32)
        yb = None if labels is None else np.asarray(labels[start : start + per_batch], np.int64)
        h = backend.numpy(encode(t(xb), None if yb is None else t(yb), False)).astype(np.float64)
        d = h.shape[1] // 2
        mu, logvar = h[:, None, :d], h[:, None, d:]
        log_w = []
        for done in range(0, k, chunk):
            c = min(chunk, k - done)
            eps = rng.standard_normal((len(xb), c, d), dtype=np.float32)
            z = (mu + np.exp(0.5 * logvar) * eps).astype(np.float32)
            y_rep = None if yb is None else t(np.repeat(yb, c))
            out = decode(t(z.reshape(-1, d)), y_rep, False)
            x_rep = t(np.repeat(xb, c, axis=0))
            nll = (
                losses.bernoulli_nll(ops, x_rep, out)
                if likelihood == "bernoulli"
                else losses.gaussian_nll(ops, x_rep, out, std)
            )
            log_px_z = -backend.numpy(nll).astype(np.float64).reshape(len(xb), c)
            log_pz = _log_normal(z.astype(np.float64))
            log_qz = _log_normal(eps.astype(np.float64), logvar)
            log_w.append(log_px_z + log_pz - log_qz)
        total += float((logsumexp(np.concatenate(log_w, axis=1), axis=1) - math.log(k)).sum())
    return -total / len(x)
