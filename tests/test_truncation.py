"""The truncation trick (`GAN.sample(..., truncation=t)`, `aigc sample/eval --truncation`):
every entry of z drawn within [-t, t] from the core's generator, so every backend samples
the same images from the same weights; it combines with discriminator rejection."""

import numpy as np
import pytest

from aigc.evaluate import evaluate
from aigc.weights import get_weights, set_weights

from .backend_list import REFERENCE, assert_close_pairs
from .parity.helpers import build_pair


def test_truncated_noise_lies_within_the_bound_and_is_seeded(pair):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "dcgan")
    m = built[REFERENCE]
    z = m.latent(np.random.default_rng(4), 5000, truncation=0.5)
    again = m.latent(np.random.default_rng(4), 5000, truncation=0.5)
    plain = m.latent(np.random.default_rng(4), 5000)
    assert z.shape == plain.shape and np.abs(z).max() <= 0.5
    np.testing.assert_array_equal(z, again)
    inside = np.abs(plain) <= 0.5  # a draw already inside the bound is kept as drawn
    np.testing.assert_array_equal(z[inside], plain[inside])
    # a standard normal conditioned on [-0.5, 0.5] has variance 0.0806, not N(0, I)'s 1
    assert z.var() == pytest.approx(0.0806, rel=0.02)
    np.testing.assert_array_equal(m.sample(6, seed=2, truncation=None), m.sample(6, seed=2))
    assert np.abs(m.sample(6, seed=2, truncation=0.5) - m.sample(6, seed=2)).max() > 1e-3


@pytest.mark.parametrize("bound", [0.0, -1.0, 0.01, float("nan"), float("inf")])
def test_a_bound_that_is_not_a_usable_number_is_refused(pair, bound):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "dcgan")
    with pytest.raises(ValueError, match=r"truncation .*at least 0.05"):
        built[REFERENCE].sample(4, truncation=bound)


def test_a_vae_has_no_truncation(pair):
    built, dataset = build_pair({REFERENCE: pair[REFERENCE]}, "mlp_vae")
    with pytest.raises(ValueError, match="only a GAN"):
        evaluate(built[REFERENCE], dataset, 8, images=False, truncation=1.0)


def test_backends_draw_the_same_truncated_samples_and_choose_alike(pair):
    """From the same weights, truncated noise gives the same samples on every backend, with
    discriminator rejection on top too; each InfoGAN code keeps its one-hot part untouched."""
    built, _ = build_pair(pair, "dcgan", **{"model.ema": 0.9})
    for m in built.values():
        w = get_weights(m.backend, m.nets["G"])
        set_weights(m.backend, m.nets["G_ema"], {k: v * 1.3 for k, v in w.items()})
    assert_close_pairs({n: m.sample(32, seed=5, truncation=1.0) for n, m in built.items()}, rtol=1e-4, atol=1e-4)
    kept = {n: m.sample(32, seed=5, keep=0.5, truncation=1.0) for n, m in built.items()}
    assert_close_pairs(kept, rtol=1e-4, atol=1e-4)


def test_info_codes_stay_one_hot_under_truncation(pair):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "dcgan", **{"model.info_codes": 10})
    m = built[REFERENCE]
    z = m.latent(np.random.default_rng(0), 50, codes=np.arange(50) % 10, truncation=0.3)
    assert np.abs(z[:, : m.latent_dim]).max() <= 0.3
    np.testing.assert_array_equal(z[:, m.latent_dim :], np.eye(10, dtype=np.float32)[np.arange(50) % 10])
