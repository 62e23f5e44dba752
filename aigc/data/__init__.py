"""Datasets: NumPy arrays produced by the core; each backend moves batches to its device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import Field, Schema
from . import mixtures
from .digits import load_digits

_MIXTURE: Schema = {
    "size": Field(int, 100_000, minimum=1, help="training points drawn once from the mixture"),
    "scale": Field(
        float, 1.0, minimum=1e-6,
        help="the model trains on points * scale and its samples are divided by it (metrics stay in data units)",
    ),
}
SCHEMAS: dict[str, Schema] = {
    "ring8": dict(_MIXTURE),
    "grid25": dict(_MIXTURE),
    "digits": {"split": Field(str, "train", choices=("train", "test", "all"))},
}


@dataclass
class Dataset:
    name: str
    x: np.ndarray  # float32; points (N, 2) or images NHWC in [0, 1]
    kind: str  # "points" or "images"
    labels: np.ndarray | None = None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


DIGITS_TEST_SIZE = 297  # the last 297 of 1797 images are held out


def load(cfg: dict, seed: int) -> Dataset:
    """The dataset named by a resolved `data` section; mixtures are drawn from `seed`."""
    name = cfg["name"]
    if name in mixtures.MIXTURES:
        rng = np.random.default_rng([seed, 0xDA7A])
        return Dataset(name, mixtures.sample_mixture(name, cfg["size"], rng), "points")
    if name == "digits":
        x, y = load_digits()
        cut = len(x) - DIGITS_TEST_SIZE
        part = {"train": slice(0, cut), "test": slice(cut, None), "all": slice(None)}[cfg["split"]]
        return Dataset(name, x[part], "images", y[part])
    raise KeyError(name)
