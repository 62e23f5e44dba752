"""Mode coverage on the 2-D Gaussian mixtures, as PacGAN (Lin et al., 2018) defines it.

Each sample is registered to its nearest mode; it is high quality if it lies within
3 standard deviations of that mode. A mode is captured when at least `min_count` high
quality samples are registered to it (PacGAN: 20 of 2,500). Reverse KL is KL(generated
mode histogram || uniform over the modes), over the high-quality samples.
"""

from __future__ import annotations

import numpy as np


def mode_statistics(samples: np.ndarray, centers: np.ndarray, std: float, min_count: int = 20) -> dict:
    samples = np.asarray(samples, np.float64)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    if counts.sum() == 0:
        reverse_kl = float("inf")
    else:
        p = counts / counts.sum()
        nz = p > 0
        reverse_kl = float(np.sum(p[nz] * np.log(p[nz] * len(centers))))
    return {
        "modes": int((counts >= min_count).sum()),
        "high_quality": float(good.mean()),
        "reverse_kl": reverse_kl,
    }
