"""The VAE family: a Gaussian encoder q(z|x) and a Bernoulli or Gaussian decoder p(x|z), its
objective (the negative ELBO) and its training step (`VAE.step`), written once for every backend.

Class-conditional when the architecture adds `E_label` (labels -> a feature map or vector
concatenated to the encoder's input) and `Dec_label` (labels -> a vector concatenated to z).
"""

from __future__ import annotations

import numpy as np

from .. import aggregate_prior, losses
from ..backends import Tensor
from ..metrics.likelihood import DEFAULT_K, DEFAULT_ROWS, iwae_nll
from ..optim import Adam
from .base import Model


class VAE(Model):
    family = "vae"

    @property
    def data_range(self):
        return (0.0, 1.0) if self.data_kind == "images" else None

    @property
    def conditional(self) -> bool:
        return "E_label" in self.specs

    def build_optimizers(self) -> dict[str, Adam]:
        return {"VAE": Adam(self.backend, dict(self.nets), self.adam)}

    aggregate: aggregate_prior.Moments | None = None  # fitted by `fit_aggregate_posterior`

    @property
    def latent_dim(self) -> int:
        return self.cfg.model.latent_dim

    def random_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {"eps": rng.standard_normal((n, self.latent_dim), dtype=np.float32)}

    def _encode(self, x, labels, training: bool):
        return self.with_labels("E", "E_label", x, labels, training)

    def _posterior(self, x, labels, training: bool):
        """q(z | x)'s mean and log-variance: the two halves of the encoder's output."""
        h = self._encode(x, labels, training)
        k = int(h.shape[-1]) // 2
        return h[:, :k], h[:, k:]

    def _decode(self, z, labels, training: bool):
        return self.with_labels("Dec", "Dec_label", z, labels, training)

    def objective(
        self, x: Tensor, eps: Tensor, beta: float, training: bool, labels: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Negative ELBO averaged over the batch: reconstruction NLL + beta * KL (nats), with
        z = mu + sigma * eps (the reparameterisation; eps drawn by the core)."""
        ops, m = self.backend.ops, self.cfg.model
        mu, logvar = self._posterior(x, labels, training)
        z = mu + ops.exp(0.5 * logvar) * eps
        out = self._decode(z, labels, training)
        if m.likelihood == "bernoulli":
            rec = losses.bernoulli_nll(ops, x, out)
        else:
            rec = losses.gaussian_nll(ops, x, out, m.std)
        kl = losses.gaussian_kl(ops, mu, logvar)
        rec, kl = ops.mean(rec), ops.mean(kl)
        return rec + beta * kl, {"rec": rec, "kl": kl}

    def step(self, x: Tensor, eps: Tensor, labels: Tensor | None = None) -> dict[str, Tensor]:
        """One training step: the objective's gradients (KL weight `beta`) through Adam."""
        opt = self.optimizers["VAE"]
        loss, aux, grads = self.backend.value_and_grad(
            lambda: self.objective(x, eps, self.cfg.model.beta, True, labels), opt.params
        )
        opt.apply(grads)
        return {"loss": loss, **aux}

    def _labels(self, labels, n: int):
        if self.conditional and labels is None:
            raise ValueError(f"{self.cfg.model.name} is class-conditional: pass the labels")
        return None if labels is None or not self.conditional else self.backend.tensor(np.asarray(labels[:n], np.int64))

    def negative_elbo(
        self, x: np.ndarray, seed: int = 0, batch_size: int = 500, labels: np.ndarray | None = None
    ) -> float:
        """Mean negative ELBO (nats per example) of data x, one epsilon draw per example.
        Always the true ELBO (KL weight 1), whatever `beta` the model was trained with."""
        rng = np.random.default_rng(seed)
        total = 0.0
        for start in range(0, len(x), batch_size):
            xb = self.to_model_range(x[start : start + batch_size])
            y = None if labels is None else labels[start : start + batch_size]
            eps = self.random_inputs(rng, len(xb))["eps"]
            x_t, eps_t = self.backend.tensor(xb), self.backend.tensor(eps)
            loss, _ = self.objective(x_t, eps_t, 1.0, training=False, labels=self._labels(y, len(xb)))
            total += float(self.backend.numpy(loss)) * len(xb)
        return total / len(x)

    def iwae_nll(
        self,
        x: np.ndarray,
        k: int = DEFAULT_K,
        seed: int = 0,
        labels: np.ndarray | None = None,
        rows: int = DEFAULT_ROWS,
    ) -> float:
        """Importance-weighted NLL estimate (Burda et al.; nats per example) with k samples each
        (`aigc.metrics.likelihood`); a lower bound on log p(x), so at most the negative ELBO."""
        m = self.cfg.model
        if self.conditional and labels is None:
            raise ValueError(f"{self.cfg.model.name} is class-conditional: pass the labels")
        labels = labels if self.conditional else None
        return iwae_nll(
            self.backend, self._encode, self._decode, self.to_model_range(x), m.likelihood, m.std, k, seed, labels, rows
        )

    def decode(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """The decoder's mean for latent codes z, in the data's range."""
        ops, t = self.backend.ops, self.backend.tensor
        out = self._decode(t(np.asarray(z, np.float32)), self._labels(labels, len(z)), training=False)
        if self.cfg.model.likelihood == "bernoulli":
            out = ops.sigmoid(out)
        return self.from_model_range(self.backend.numpy(out))

    def fit_aggregate_posterior(
        self, x: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 500
    ) -> aggregate_prior.Moments:
        """Fit the aggregate posterior's moments (`aigc.aggregate_prior`) to the encoder's
        outputs on data x (per class for a conditional model) and keep them for
        `sample(..., prior="aggregate")`."""
        if self.conditional and labels is None:
            raise ValueError(f"{self.cfg.model.name} is class-conditional: pass the labels")
        mus, variances = [], []
        for start in range(0, len(x), batch_size):
            xb = self.backend.tensor(self.to_model_range(x[start : start + batch_size]))
            y = self._labels(labels[start:] if self.conditional else None, len(xb))
            mu, logvar = self._posterior(xb, y, False)
            mus.append(self.backend.numpy(mu))
            variances.append(np.exp(self.backend.numpy(logvar).astype(np.float64)))
        groups = np.asarray(labels, np.int64) if self.conditional else None
        self.aggregate = aggregate_prior.fit(np.concatenate(mus), np.concatenate(variances), groups)
        return self.aggregate

    def sample(self, n: int, seed: int = 0, labels: np.ndarray | None = None, prior: str = "standard") -> np.ndarray:
        """Decoder means for z drawn from NumPy's generator seeded with `seed`: from N(0, I), or
        with `prior="aggregate"` from the fitted aggregate posterior (`fit_aggregate_posterior`,
        the same N(0, I) draws mapped through its moments); conditional models take `labels`
        (default: 0, 1, 2, ... cycling over the classes)."""
        aggregate_prior.check_prior(prior)
        labels = self.sample_labels(n, labels)
        eps = self.random_inputs(np.random.default_rng(seed), n)["eps"]
        if prior == "aggregate":
            if self.aggregate is None:
                raise ValueError(
                    "prior aggregate: fit the aggregate posterior first "
                    "(aigc.evaluate.prepare_prior(model, 'aggregate'), or model.fit_aggregate_posterior(x, labels))"
                )
            eps = aggregate_prior.draw(self.aggregate, eps, labels if self.conditional else None)
        return self.decode(eps, labels)
