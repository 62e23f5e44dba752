"""Initial weights, drawn by the core so that every backend starts from the same numbers."""

from __future__ import annotations

import numpy as np

from .specs import NetworkSpec


def initial_weights(spec: NetworkSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Canonical float32 arrays for every tensor of `spec`.

    Kernels and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for
    Linear, written down here so that no framework default decides it.
    """
    weights = {}
    for p in spec.params():
        if p.init == "fan_in_uniform":
            bound = 1.0 / np.sqrt(p.fan_in)
            weights[p.name] = rng.uniform(-bound, bound, p.shape).astype(np.float32)
        elif p.init == "normal":  # embeddings: N(0, 1), PyTorch's default
            weights[p.name] = rng.standard_normal(p.shape).astype(np.float32)
        elif p.init == "normal_unit":  # spectral norm's power-iteration vector
            u = rng.standard_normal(p.shape)
            weights[p.name] = (u / np.linalg.norm(u)).astype(np.float32)
        elif p.init == "ones":
            weights[p.name] = np.ones(p.shape, np.float32)
        else:
            weights[p.name] = np.zeros(p.shape, np.float32)
    return weights
