"""Quality numbers for a trained model: the one entry point of `aigc eval` and of training's
evaluations (`train.eval_every`). Everything is computed in NumPy from the model's samples,
its likelihood terms or a classifier's features (README, "Metrics").

- 2-D mixtures (GANs): PacGAN's modes, high-quality fraction and reverse KL.
- images: FID, precision and recall (k = 3) and the classifier score, on the features of
  aigc's own classifier for the dataset (`aigc.metrics.classifier_store`), against the real
  test split; for class-conditional models also the label accuracy (how often the
  classifier names the class that was asked for).
- VAEs: held-out negative ELBO and, with `iwae_k` > 0, the importance-weighted NLL.
"""

from __future__ import annotations

import numpy as np

from . import aggregate_prior
from .data import Dataset, mixtures
from .metrics import classifier_store
from .metrics.classifier_score import classifier_score
from .metrics.fid import fid
from .metrics.modes import mode_statistics
from .metrics.precision_recall import precision_recall
from .models import Model
from .models.gan import check_keep, check_truncation


def sampling(keep: float = 1.0, truncation: float | None = None, prior: str = "standard") -> dict:
    """`sample`'s keywords for a fraction of draws kept, a bound on |z| and a VAE's prior (none
    for the plain sampler: every draw kept, z untruncated, N(0, I)); also what the results
    record."""
    return {
        **({} if keep == 1.0 else {"keep": keep}),
        **({} if truncation is None else {"truncation": truncation}),
        **({} if prior == "standard" else {"prior": prior}),
    }


def prepare_prior(model: Model, prior: str = "standard") -> None:
    """A VAE sampled with `prior="aggregate"`: its aggregate posterior fitted, once, on its
    training split (binarised once where training binarises each batch, as the held-out split
    is for evaluation)."""
    aggregate_prior.check_prior(prior, model.family)
    if prior != "aggregate" or model.aggregate is not None:
        return
    from . import data

    train = data.load(data.binarised_once(model.cfg.data), model.cfg.seed)
    model.fit_aggregate_posterior(train.x, train.labels if model.conditional else None)


def image_metrics(
    model: Model,
    n_samples: int,
    seed: int = 0,
    classifier_dir: str | None = None,
    keep: float = 1.0,
    truncation: float | None = None,
    prior: str = "standard",
) -> dict:
    """FID, precision, recall and classifier score of n samples against the real test split;
    a conditional model's samples (labels 0, 1, 2, ... cycling) also get `label_accuracy`.
    `keep` < 1: a GAN's samples are the best of its draws by D (`GAN.select_by_d`);
    `truncation` t: its noise is drawn within [-t, t] (`GAN.latent`); `prior="aggregate"`: a
    VAE's z from its fitted aggregate posterior (`prepare_prior`)."""
    prepare_prior(model, prior)
    data_cfg = model.cfg.data
    root = getattr(data_cfg, "root", "")
    clf = classifier_store.ensure(model.backend, data_cfg.name, classifier_dir, root)
    reference = classifier_store.data_section(data_cfg.name, "test", root)
    from . import data

    real = clf.features_and_probabilities(data.load(reference, seed).x)[0]
    fake, probs = clf.features_and_probabilities(
        model.sample(n_samples, seed=seed, **sampling(keep, truncation, prior))
    )
    score, score_std = classifier_score(probs)
    out = {
        "fid": fid(fake, real),
        **precision_recall(real, fake),
        "classifier_score": score,
        "classifier_score_std": score_std,
        "image_samples": n_samples,
    }
    if model.conditional:
        out["label_accuracy"] = float(np.mean(probs.argmax(axis=1) == model.sample_labels(n_samples, None)))
    return out


def evaluate(
    model: Model,
    dataset: Dataset | None,
    n_samples: int,
    seed: int = 0,
    iwae_k: int = 0,
    images: bool = True,
    classifier_dir: str | None = None,
    keep: float = 1.0,
    truncation: float | None = None,
    prior: str = "standard",
) -> dict:
    """Every metric that applies to the model and its held-out `dataset` (see the module doc);
    `images=False` skips the classifier-based ones; `keep` < 1 samples a GAN with
    discriminator rejection (`GAN.select_by_d`), `truncation` with its noise truncated
    (`GAN.latent`), `prior="aggregate"` a VAE from its aggregate posterior, and the results
    say so (`keep`, `truncation`, `prior`)."""
    check_keep(keep, model)
    check_truncation(truncation, model)
    aggregate_prior.check_prior(prior, model.family)
    results: dict = {}
    if dataset is None:
        return results
    if model.family == "gan" and dataset.name in mixtures.MIXTURES:
        centers, std = mixtures.centers_and_std(dataset.name)
        results.update(mode_statistics(model.sample(n_samples, seed=seed, **sampling(keep, truncation)), centers, std))
    if model.family == "vae":
        labels = dataset.labels if model.conditional else None
        results["negative_elbo"] = model.negative_elbo(dataset.x, seed=seed, labels=labels)
        if iwae_k:
            results["iwae_nll"] = model.iwae_nll(dataset.x, k=iwae_k, seed=seed, labels=labels)
            results["iwae_k"] = iwae_k
    if images and dataset.kind == "images":
        results.update(image_metrics(model, n_samples, seed, classifier_dir, keep, truncation, prior))
    if results:
        results.update(sampling(keep, truncation, prior))
    return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in results.items()}
