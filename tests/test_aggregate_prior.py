"""A VAE's aggregate posterior as its sampling prior (`aigc.aggregate_prior`,
`VAE.fit_aggregate_posterior`, `sample(..., prior="aggregate")`, `aigc eval/sample --prior`):
the moments are the law of total variance over the encoder's outputs, per class for a
conditional VAE, and every backend fits and samples the same ones from the same weights."""

import numpy as np
import pytest

from aigc import aggregate_prior
from aigc.evaluate import prepare_prior

from .backend_list import REFERENCE, assert_close_pairs
from .parity.helpers import build_pair, run_steps


def test_the_moments_are_the_mean_and_total_covariance_of_each_group():
    rng = np.random.default_rng(0)
    mu = rng.standard_normal((4000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.3]]) + [1, -2, 0]
    var = rng.uniform(0.1, 0.5, (4000, 3))
    groups = np.repeat([0, 7], 2000)
    moments = aggregate_prior.fit(mu, var, groups)
    assert sorted(moments) == [0, 7]
    for g in (0, 7):
        m, v = mu[groups == g], var[groups == g]
        mean, chol = moments[g]
        np.testing.assert_allclose(mean, m.mean(axis=0), rtol=1e-12)
        expected = (m - m.mean(axis=0)).T @ (m - m.mean(axis=0)) / len(m) + np.diag(v.mean(axis=0))
        np.testing.assert_allclose(chol @ chol.T, expected, rtol=1e-10)
    # drawn through the moments, N(0, I) noise takes each group's mean and covariance
    eps = rng.standard_normal((200_000, 3)).astype(np.float32)
    z = aggregate_prior.draw(moments, eps, np.full(len(eps), 7))
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), moments[7][0], atol=0.02)
    np.testing.assert_allclose(np.cov(z, rowvar=False), moments[7][1] @ moments[7][1].T, atol=0.03)
    with pytest.raises(ValueError, match=r"fitted without group\(s\) \[3\]"):
        aggregate_prior.draw(moments, eps[:4], np.array([0, 3, 7, 0]))
    with pytest.raises(ValueError, match="at least 2 codes"):
        aggregate_prior.fit(mu[:3], var[:3], np.array([0, 0, 1]))


def test_an_unknown_prior_or_one_for_a_gan_is_refused():
    with pytest.raises(ValueError, match="expected one of standard, aggregate"):
        aggregate_prior.check_prior("gmm")
    with pytest.raises(ValueError, match="only a VAE has an encoder"):
        aggregate_prior.check_prior("aggregate", "gan")
    aggregate_prior.check_prior("standard", "gan")


def test_backends_fit_the_same_aggregate_posterior_and_sample_alike(pair):
    """A conditional VAE trained for 100 steps from the same weights on every backend: the same
    per-class moments (fitted on the 8x8 digits' training split) and the same samples from
    them; sampling from them differs from N(0, I) and needs the fit first."""
    built, dataset = build_pair(pair, "cvae")
    for m in built.values():
        run_steps(m, dataset, 100)
    reference = built[REFERENCE]
    with pytest.raises(ValueError, match="fit the aggregate posterior first"):
        reference.sample(4, prior="aggregate")
    for m in built.values():
        prepare_prior(m, "aggregate")
    moments = {n: m.aggregate for n, m in built.items()}
    assert sorted(moments[REFERENCE]) == list(range(10))
    for g in range(10):
        assert_close_pairs({n: mo[g][0] for n, mo in moments.items()}, rtol=1e-4, atol=1e-5)
        assert_close_pairs({n: mo[g][1] for n, mo in moments.items()}, rtol=1e-4, atol=1e-5)
    samples = {n: m.sample(30, seed=3, prior="aggregate") for n, m in built.items()}
    assert_close_pairs(samples, rtol=1e-4, atol=1e-4)
    assert np.abs(samples[REFERENCE] - reference.sample(30, seed=3)).max() > 1e-3
    eps = reference.random_inputs(np.random.default_rng(3), 30)["eps"]
    z = aggregate_prior.draw(moments[REFERENCE], eps, np.arange(30) % 10)
    assert np.abs(z - eps).mean() > 0.02  # the codes' moments are not N(0, I)'s
    # its own fit, from its own codes: the encoder's means of class 4 average to that class's mean
    x = dataset.x[dataset.labels == 4]
    refit = reference.fit_aggregate_posterior(x, dataset.labels[dataset.labels == 4])
    assert sorted(refit) == [4]
