"""Mode statistics against data whose answer is known."""

import numpy as np

from aigc.data import mixtures
from aigc.metrics.modes import TRUE_SPREAD, mode_statistics


def test_true_mixture_scores_perfectly():
    for name in ("ring8", "grid25"):
        centers, std = mixtures.centers_and_std(name)
        x = mixtures.sample_mixture(name, 2500, np.random.default_rng(0))
        s = mode_statistics(x, centers, std)
        assert s["modes"] == len(centers)
        # P(|N(0, I_2)| < 3) = 1 - exp(-4.5) = 0.9889
        assert abs(s["high_quality"] - 0.9889) < 0.01
        assert s["reverse_kl"] < 0.02
        assert abs(s["mode_spread"] - TRUE_SPREAD) < 0.02 and abs(TRUE_SPREAD - 0.9744) < 1e-4


def test_collapsed_generator():
    centers, std = mixtures.centers_and_std("ring8")
    x = np.repeat(centers[:2], [2000, 500], axis=0)
    s = mode_statistics(x, centers, std)
    assert s["modes"] == 2 and s["high_quality"] == 1.0 and s["mode_spread"] == 0.0  # modes far too tight
    p = np.array([0.8, 0.2])
    assert abs(s["reverse_kl"] - float(np.sum(p * np.log(p * 8)))) < 1e-12


def test_off_manifold_samples_are_low_quality():
    centers, std = mixtures.centers_and_std("ring8")
    s = mode_statistics(np.zeros((100, 2)), centers, std)
    assert s["modes"] == 0 and s["high_quality"] == 0.0


def test_mode_spread_measures_how_wide_the_generated_modes_are():
    """Half the data's std: half the true spread; nothing high quality: no spread."""
    centers, std = mixtures.centers_and_std("grid25")
    rng = np.random.default_rng(1)
    x = centers[rng.integers(0, 25, 20000)] + rng.normal(scale=std / 2, size=(20000, 2))
    assert abs(mode_statistics(x, centers, std)["mode_spread"] - 0.5) < 0.01
    assert np.isnan(mode_statistics(np.zeros((10, 2)) + 100, centers, std)["mode_spread"])
