"""Improved precision and recall (Kynkäänniemi et al., 2019) on feature vectors.

Each set's manifold is the union of balls around its points, each ball's radius the distance
to the point's k-th nearest neighbour in the same set (k = 3, the paper's choice). Precision:
the fraction of generated points inside the real manifold (quality); recall: the fraction of
real points inside the generated manifold (coverage). Distances are Euclidean, float64,
computed in blocks so that memory stays bounded.
"""

from __future__ import annotations

import numpy as np

K = 3
BLOCK = 1024


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def knn_radii(points: np.ndarray, k: int = K) -> np.ndarray:
    """Squared distance from every point to its k-th nearest neighbour in the set (itself excluded)."""
    points = np.asarray(points, np.float64)
    if len(points) <= k:
        raise ValueError(f"k-NN radii need more than k={k} points, got {len(points)}")
    radii = np.empty(len(points))
    for start in range(0, len(points), BLOCK):
        d = _squared_distances(points[start : start + BLOCK], points)
        radii[start : start + BLOCK] = np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself
    return radii


def coverage(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Fraction of `queries` within the radius of at least one point of `manifold`."""
    manifold, queries = np.asarray(manifold, np.float64), np.asarray(queries, np.float64)
    inside = 0
    for start in range(0, len(queries), BLOCK):
        d = _squared_distances(queries[start : start + BLOCK], manifold)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / len(queries)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K) -> dict[str, float]:
    return {
        "precision": coverage(real, knn_radii(real, k), fake),
        "recall": coverage(fake, knn_radii(fake, k), real),
    }
