"""The GAN family: a generator G(z) and a discriminator D(x) that outputs logits."""

from __future__ import annotations

import functools

import numpy as np

from ..optim import Adam
from ..training.steps import gan_step
from .base import Model


class GAN(Model):
    family = "gan"

    @property
    def data_range(self):
        return (-1.0, 1.0) if self.data_kind == "images" else None

    def build_optimizers(self) -> dict[str, Adam]:
        return {
            "G": Adam(self.backend, {"G": self.nets["G"]}, self.adam),
            "D": Adam(self.backend, {"D": self.nets["D"]}, self.adam),
        }

    @property
    def latent_dim(self) -> int:
        return self.cfg["model"]["latent_dim"]

    def random_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {"z": rng.standard_normal((n, self.latent_dim), dtype=np.float32)}

    def step_fn(self):
        G, D = self.nets["G"], self.nets["D"]
        opts = self.optimizers
        m = self.cfg["model"]
        return functools.partial(gan_step, self.backend, G, D, opts["G"], opts["D"], m["loss"], m.get("pack", 1))

    def generate(self, z: np.ndarray) -> np.ndarray:
        """G(z) in inference mode, mapped back to the data's range."""
        out = self.nets["G"](self.backend.tensor(np.asarray(z, np.float32)), training=False)
        return self.from_model_range(self.backend.numpy(out))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """n samples; the noise comes from NumPy's generator seeded with `seed`, so equal
        weights give equal samples on every backend."""
        return self.generate(self.random_inputs(np.random.default_rng(seed), n)["z"])
