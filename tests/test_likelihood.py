"""The importance-weighted NLL (Burda et al.) against the ELBO, on small trained VAEs."""

import numpy as np
import pytest

import aigc
from aigc import data

QUICK = dict(train__progress=False, train__eval_images=False)


@pytest.fixture(scope="module")
def digits_test():
    return data.load({"name": "digits", "split": "test"}, 0)


@pytest.fixture(scope="module")
def vae(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae")
    return aigc.train("configs/vae_digits.yaml", out=str(out), train__steps=300, **QUICK).model


def test_iwae_bound_is_tighter_than_the_elbo(vae, digits_test):
    x = digits_test.x
    nelbo = vae.negative_elbo(x, seed=0)
    k50 = vae.iwae_nll(x, k=50, seed=0)
    k500 = vae.iwae_nll(x, k=500, seed=0, rows=2000)  # batched: 4 examples x 500 samples per call
    assert k500 <= k50 <= nelbo, (k500, k50, nelbo)
    assert nelbo - k50 > 0.1  # a real gap, not rounding


def test_iwae_with_one_sample_is_the_elbo_in_expectation(vae, digits_test):
    x = digits_test.x
    nelbo = np.mean([vae.negative_elbo(x, seed=s) for s in range(20)])
    k1 = np.mean([vae.iwae_nll(x, k=1, seed=s) for s in range(20)])
    # the single-sample estimate has a sampled KL term instead of the analytic one: more
    # variance, the same mean (20 seeds x 297 images: a standard error of ~0.1 nats)
    assert k1 == pytest.approx(nelbo, abs=0.4)


def test_iwae_is_reproducible_and_rejects_k0(vae, digits_test):
    x = digits_test.x[:50]
    assert vae.iwae_nll(x, k=20, seed=3) == vae.iwae_nll(x, k=20, seed=3)
    with pytest.raises(ValueError, match="k must be at least 1"):
        vae.iwae_nll(x, k=0)


@pytest.mark.parametrize(
    "overrides",
    [
        {"model__likelihood": "gaussian", "model__std": 0.3},
        {"model": {"name": "cvae", "latent_dim": 4, "channels": 8, "label_dim": 4}},
    ],
    ids=["gaussian", "cvae"],
)
def test_iwae_supports_gaussian_likelihoods_and_labels(tmp_path, digits_test, overrides):
    run = aigc.train("configs/vae_digits.yaml", out=str(tmp_path), train__steps=100, **QUICK, **overrides)
    model, x = run.model, digits_test.x[:100]
    labels = digits_test.labels[:100] if model.conditional else None
    assert model.iwae_nll(x, k=100, seed=0, labels=labels) <= model.negative_elbo(x, seed=0, labels=labels)
    assert "negative_elbo" in run.evaluation
