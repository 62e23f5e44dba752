"""The 2-D Gaussian mixtures of the GAN mode-collapse literature (PacGAN, VEEGAN)."""

from __future__ import annotations

import numpy as np


def ring8_centers(radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(8) / 8
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_centers() -> np.ndarray:
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.array([(x, y) for x in ticks for y in ticks])


MIXTURES = {
    "ring8": (ring8_centers, 0.01),
    "grid25": (grid25_centers, 0.05),
}


def centers_and_std(name: str) -> tuple[np.ndarray, float]:
    make, std = MIXTURES[name]
    return make().astype(np.float64), std


def sample_mixture(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points: a uniformly chosen mode plus isotropic Gaussian noise of the mixture's std."""
    centers, std = centers_and_std(name)
    modes = rng.integers(0, len(centers), n)
    return (centers[modes] + std * rng.standard_normal((n, 2))).astype(np.float32)
