"""The VAE family: a Gaussian encoder q(z|x) and a Bernoulli or Gaussian decoder p(x|z)."""

from __future__ import annotations

import functools

import numpy as np

from ..optim import Adam
from ..training.steps import vae_objective, vae_step
from .base import Model


class VAE(Model):
    family = "vae"

    @property
    def data_range(self):
        return (0.0, 1.0) if self.data_kind == "images" else None

    def build_optimizers(self) -> dict[str, Adam]:
        return {"VAE": Adam(self.backend, {"E": self.nets["E"], "Dec": self.nets["Dec"]}, self.adam)}

    @property
    def latent_dim(self) -> int:
        return self.cfg["model"]["latent_dim"]

    def random_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {"eps": rng.standard_normal((n, self.latent_dim), dtype=np.float32)}

    def _loss_args(self) -> tuple:
        m = self.cfg["model"]
        return (m["beta"], m["likelihood"], m["std"])

    def step_fn(self):
        E, Dec = self.nets["E"], self.nets["Dec"]
        return functools.partial(vae_step, self.backend, E, Dec, self.optimizers["VAE"], *self._loss_args())

    def negative_elbo(self, x: np.ndarray, seed: int = 0, batch_size: int = 500) -> float:
        """Mean negative ELBO (nats per example) of data x, one epsilon draw per example.
        Always the true ELBO (KL weight 1), whatever `beta` the model was trained with."""
        _, likelihood, std = self._loss_args()
        rng = np.random.default_rng(seed)
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb = self.to_model_range(x[start : start + batch_size])
            eps = self.random_inputs(rng, len(xb))["eps"]
            loss, _ = vae_objective(
                self.backend, self.nets["E"], self.nets["Dec"], self.backend.tensor(xb),
                self.backend.tensor(eps), 1.0, likelihood, std, training=False,
            )
            total += float(self.backend.numpy(loss)) * len(xb)
        return total / len(x)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """The decoder's mean for latent codes z, in the data's range."""
        ops, t = self.backend.ops, self.backend.tensor
        out = self.nets["Dec"](t(np.asarray(z, np.float32)), training=False)
        if self.cfg["model"]["likelihood"] == "bernoulli":
            out = ops.sigmoid(out)
        return self.from_model_range(self.backend.numpy(out))

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """Decoder means for z ~ N(0, I) drawn from NumPy's generator seeded with `seed`."""
        return self.decode(self.random_inputs(np.random.default_rng(seed), n)["eps"])
