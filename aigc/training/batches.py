"""Shuffled mini-batches: a fresh permutation per epoch, drawn from the run's seed.

The position (epoch, offset) is the whole state, so a resumed run continues with exactly
the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np


class Batches:
    def __init__(self, n: int, batch_size: int, seed: int, epoch: int = 0, offset: int = 0):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.offset = epoch, offset
        self._perm = self._permutation(epoch)

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, 0xBA7C, epoch]).permutation(self.n)

    def next(self) -> np.ndarray:
        """Indices of the next full batch (the tail of an epoch that cannot fill one is dropped)."""
        if self.offset + self.batch_size > self.n:
            self.epoch, self.offset = self.epoch + 1, 0
            self._perm = self._permutation(self.epoch)
        idx = self._perm[self.offset : self.offset + self.batch_size]
        self.offset += self.batch_size
        return idx

    def state(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset}
