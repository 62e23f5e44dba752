"""Binarisation for VAEs with a Bernoulli likelihood: each pixel is 1 with probability its
grey level, drawn by the core (so both backends see the same bits).

static: one fixed draw per split, the same for every run and seed (in the spirit of
Larochelle & Murray's binarised MNIST; the bits differ from their published file).
dynamic: a fresh draw for every training batch (`aigc.training.feed`), from a generator
derived from the run's seed and the batch's position, so a resumed run draws the same bits.
"""

from __future__ import annotations

import numpy as np

STATIC_SEED = 0xB1
SPLITS = ("train", "test")


def bernoulli(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0/1 float32 with P(1) = x (x in [0, 1])."""
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def static(x: np.ndarray, split: str) -> np.ndarray:
    """The fixed draw of `split`: the first n examples get the same bits as the first n of the
    whole split (the generator fills the array in order), so `data.subset` keeps them."""
    return bernoulli(x, np.random.default_rng([STATIC_SEED, SPLITS.index(split)]))


def dynamic_rng(seed: int, epoch: int, offset: int) -> np.random.Generator:
    """The generator for the batch that ends at `offset` of `epoch`."""
    return np.random.default_rng([seed, STATIC_SEED, epoch, offset])
