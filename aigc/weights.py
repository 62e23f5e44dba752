"""Moving a network's tensors to and from the canonical layout (NumPy, float32)."""

from __future__ import annotations

import numpy as np

from .backends import Backend, BuiltNetwork
from .errors import CheckpointError
from .init import initial_weights
from .specs import NetworkSpec


def get_weights(backend: Backend, net: BuiltNetwork) -> dict[str, np.ndarray]:
    return {name: net.to_canonical(name, var) for name, var in {**net.params, **net.states}.items()}


def set_weights(backend: Backend, net: BuiltNetwork, weights: dict[str, np.ndarray]) -> None:
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


# -- several named networks (a model's G and D, a classifier's features and head) ---------
def initialize_all(backend: Backend, nets: dict[str, BuiltNetwork], specs: dict[str, NetworkSpec], rng) -> None:
    """Draw every network's initial weights from the core's generator, in spec order."""
    for name, spec in specs.items():
        set_weights(backend, nets[name], initial_weights(spec, rng))


def get_all(backend: Backend, nets: dict[str, BuiltNetwork]) -> dict[str, np.ndarray]:
    """All tensors in canonical layout, named `<net>.<layer>.<tensor>`."""
    return {f"{n}.{k}": v for n, net in nets.items() for k, v in get_weights(backend, net).items()}


def set_all(backend: Backend, nets: dict[str, BuiltNetwork], weights: dict[str, np.ndarray]) -> None:
    for n, net in nets.items():
        prefix = f"{n}."
        try:
            set_weights(backend, net, {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})
        except CheckpointError as exc:
            raise CheckpointError(f"network {n}: {exc}") from None
