"""Quality numbers for a trained model, computed in NumPy from its samples."""

from __future__ import annotations

from .data import Dataset, mixtures
from .metrics.modes import mode_statistics
from .models import Model


def evaluate(model: Model, dataset: Dataset | None, n_samples: int, seed: int = 0) -> dict:
    """Mixtures: PacGAN's mode statistics; VAEs: held-out negative ELBO (nats)."""
    results: dict = {}
    if model.family == "gan" and dataset is not None and dataset.name in mixtures.MIXTURES:
        centers, std = mixtures.centers_and_std(dataset.name)
        results.update(mode_statistics(model.sample(n_samples, seed=seed), centers, std))
    if model.family == "vae" and dataset is not None:
        labels = dataset.labels if model.conditional else None
        results["negative_elbo"] = model.negative_elbo(dataset.x, seed=seed, labels=labels)
    return results
