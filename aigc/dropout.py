"""Dropout keep-masks drawn by the core's generator, so both backends drop the same units.

A network with Dropout layers takes one keep-mask per layer in training. A training step
that calls such a network several times gets all its masks as ONE array argument,
(calls, batch, units summed over the layers), drawn here; the step cuts call `i`'s masks out
of it with `split`. Keep-masks are 1.0 (keep) or 0.0 (drop); the layer scales by 1/(1-rate).
"""

from __future__ import annotations

import math

import numpy as np

from .backends import Backend, Tensor
from .specs import Dropout, NetworkSpec


def layout(spec: NetworkSpec) -> list[tuple[float, tuple[int, ...]]]:
    """(rate, per-sample mask shape) of each Dropout layer, in layer order."""
    rates = [layer.rate for layer in spec.layers if isinstance(layer, Dropout)]
    return list(zip(rates, spec.dropout_shapes()))


def draw(spec: NetworkSpec, rng: np.random.Generator, calls: int, batch: int) -> np.ndarray | None:
    """Keep-masks for `calls` calls of the network on `batch` rows, as one float32 array
    (calls, batch, units); None when the network has no Dropout layer."""
    parts = layout(spec)
    if not parts:
        return None
    masks = [rng.random((calls, batch, math.prod(shape)), dtype=np.float32) >= rate for rate, shape in parts]
    return np.concatenate(masks, axis=-1).astype(np.float32)


def split(backend: Backend, spec: NetworkSpec, masks: Tensor | None, call: int) -> list[Tensor] | None:
    """Call `call`'s keep-masks, one tensor per Dropout layer shaped (batch, *shape)."""
    if masks is None:
        return None
    out, start = [], 0
    for _, shape in layout(spec):
        size = math.prod(shape)
        out.append(backend.ops.reshape(masks[call, :, start : start + size], (-1, *shape)))
        start += size
    return out
