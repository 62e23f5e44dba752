"""Moving a network's tensors to and from the canonical layout (NumPy, float32)."""

from __future__ import annotations

import numpy as np

from .backend import Backend, Net
from .errors import CheckpointError


def get_weights(backend: Backend, net: Net) -> dict[str, np.ndarray]:
    return {name: net.to_canonical(name, var) for name, var in {**net.params, **net.states}.items()}


def set_weights(backend: Backend, net: Net, weights: dict[str, np.ndarray]) -> None:
    """Assign every tensor of `net` from `weights`; all names and shapes are checked first."""
    expected = {p.name: p.shape for p in net.spec.params()}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise CheckpointError(f"weights do not match the model: missing {missing}, unexpected {extra}")
    for name, shape in expected.items():
        if tuple(weights[name].shape) != tuple(shape):
            raise CheckpointError(f"weight {name!r} has shape {tuple(weights[name].shape)}, the model needs {shape}")
    variables = {**net.params, **net.states}
    for name, array in weights.items():
        backend.assign(variables[name], net.from_canonical(name, np.asarray(array, np.float32)))
