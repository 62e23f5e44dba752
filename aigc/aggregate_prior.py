"""A VAE's aggregate posterior as its sampling prior (ex-post density estimation, Ghosh et al.,
2020; the second stage of Dai & Wipf, 2019, reduced to its moments).

A VAE trained with a KL term seldom fills N(0, I) evenly: the codes of the training data, its
aggregate posterior q(z) = E_x q(z | x), leave holes in the prior, and z drawn there decode
to images unlike the data. Sampling z from a density fitted to q(z) instead avoids them. Here
that density is the Gaussian with q(z)'s own mean and covariance (per class for a conditional
model, q(z | y)): the mean of the encoder's means, and their covariance plus the mean of the
encoder's variances (the law of total variance). Fitted in float64 NumPy from the encoder's
outputs, so every backend samples the same way; z = mean + L eps with L the Cholesky factor
and eps the same N(0, I) draws the standard prior would use.
"""

from __future__ import annotations

import numpy as np

PRIORS = ("standard", "aggregate")
Moments = dict[int, tuple[np.ndarray, np.ndarray]]  # group -> (mean, Cholesky factor of the covariance)


def check_prior(prior: str, family: str | None = None) -> None:
    """`prior`, a VAE's sampling prior: standard (N(0, I)) or aggregate (fitted to the
    training codes); the latter only for a model `family` with an encoder (a VAE)."""
    if prior not in PRIORS:
        raise ValueError(f"prior {prior!r}: expected one of {', '.join(PRIORS)}")
    if family is not None and prior != "standard" and family != "vae":
        raise ValueError(f"prior {prior}: only a VAE has an encoder whose codes it is fitted to")


def fit(mu: np.ndarray, var: np.ndarray, groups: np.ndarray | None = None) -> Moments:
    """The moments of the aggregate posterior per group (one group, 0, when `groups` is None):
    mean E[mu], covariance Cov(mu) + diag(E[var]), over the rows of each group."""
    mu, var = np.asarray(mu, np.float64), np.asarray(var, np.float64)
    groups = np.zeros(len(mu), np.int64) if groups is None else np.asarray(groups, np.int64)
    out: Moments = {}
    for g in np.unique(groups):
        m, v = mu[groups == g], var[groups == g]
        if len(m) < 2:
            raise ValueError(f"the aggregate posterior of group {int(g)} needs at least 2 codes, got {len(m)}")
        mean = m.mean(axis=0)
        cov = np.cov(m, rowvar=False, bias=True).reshape(len(mean), len(mean)) + np.diag(v.mean(axis=0))
        out[int(g)] = (mean, np.linalg.cholesky(cov))
    return out


def draw(moments: Moments, eps: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """z = mean_g + L_g eps for each row's group g (float32), from standard normal `eps`."""
    groups = np.zeros(len(eps), np.int64) if groups is None else np.asarray(groups, np.int64)
    missing = sorted(set(np.unique(groups).tolist()) - set(moments))
    if missing:
        raise ValueError(f"the aggregate posterior was fitted without group(s) {missing}")
    z = np.empty(eps.shape, np.float64)
    for g, (mean, chol) in moments.items():
        rows = groups == g
        z[rows] = mean + np.asarray(eps[rows], np.float64) @ chol.T
    return z.astype(np.float32)
