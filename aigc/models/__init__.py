"""The model registry: a name in `model.name` -> family, architecture and config schema.

A new model is one entry here; the CLI, the config validation and the parity suite pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import Schema
from .base import Architecture, Model
from .conv import CONV_VAE, DCGAN, LABELS, cgan, conv_vae, cvae, dcgan
from .gan import GAN
from .mlp import MLP_GAN, MLP_VAE, mlp_gan, mlp_vae
from .vae import VAE


@dataclass(frozen=True)
class Entry:
    family: type[Model]
    architecture: Architecture
    schema: Schema


REGISTRY: dict[str, Entry] = {
    "mlp_gan": Entry(GAN, mlp_gan, MLP_GAN),
    "mlp_vae": Entry(VAE, mlp_vae, MLP_VAE),
    "dcgan": Entry(GAN, dcgan, DCGAN),
    "cgan": Entry(GAN, cgan, {**DCGAN, **LABELS}),
    "conv_vae": Entry(VAE, conv_vae, CONV_VAE),
    "cvae": Entry(VAE, cvae, {**CONV_VAE, **LABELS}),
}
SCHEMAS: dict[str, Schema] = {name: entry.schema for name, entry in REGISTRY.items()}


def build(cfg, backend, sample_shape: tuple[int, ...], data_kind: str) -> Model:
    """The model a typed config (`aigc.config.Config`) names in `cfg.model.name`, on `backend`,
    not yet initialised."""
    entry = REGISTRY[cfg.model.name]
    return entry.family(cfg, backend, sample_shape, data_kind, entry.architecture)


__all__ = ["GAN", "VAE", "Model", "REGISTRY", "SCHEMAS", "build"]
