"""The Inception Score (Salimans et al., 2016), on the class probabilities of aigc's own
classifier instead of Inception-v3's: exp(E_x KL(p(y|x) || p(y))), averaged over `splits`
equal parts of the samples as in the original code. It lies between 1 and the number of
classes; confident and class-balanced samples score high."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def classifier_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over the splits, for probabilities of shape (n, classes)."""
    p = np.asarray(probs, np.float64)
    if p.ndim != 2 or len(p) < splits:
        raise ValueError(f"probabilities must be (n >= splits={splits}, classes), got shape {p.shape}")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + EPS) - np.log(marginal + EPS))).sum(axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))
