"""Mode coverage on the 2-D Gaussian mixtures, as PacGAN (Lin et al., 2018) defines it.

Each sample is registered to its nearest mode; it is high quality if it lies within
3 standard deviations of that mode. A mode is captured when at least `min_count` high
quality samples are registered to it (PacGAN: 20 of 2,500). Reverse KL is KL(generated
mode histogram || uniform over the modes), over the high-quality samples.

PacGAN's figures do not see a generator whose modes are too tight: one that puts every
sample on the centres scores 100% high quality. `mode_spread` does: the high-quality samples'
root-mean-square distance from their mode, per axis, in units of the data's std. The data
itself scores `TRUE_SPREAD` (0.9744: a 2-D Gaussian cut at 3 stds), a generator whose modes
are too tight less, one whose modes are too wide more (at most 3 / sqrt(2) = 2.12).
"""

from __future__ import annotations

import numpy as np

# sqrt(E[r^2 | r < 3] / 2) for r = |N(0, I_2)|: r^2 is exponential with mean 2, cut at 9.
TRUE_SPREAD = float(np.sqrt((2 - 9 * np.exp(-4.5) / (1 - np.exp(-4.5))) / 2))


def mode_statistics(samples: np.ndarray, centers: np.ndarray, std: float, min_count: int = 20) -> dict:
    samples = np.asarray(samples, np.float64)
    dist = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    nearest_dist = dist[np.arange(len(samples)), nearest]
    good = nearest_dist <= 3 * std
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
        "mode_spread": float(np.sqrt(np.mean(nearest_dist[good] ** 2) / 2) / std) if good.any() else float("nan"),
    }
