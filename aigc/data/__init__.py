"""Datasets: NumPy arrays produced by the core; each backend moves batches to its device.

Embedded: the 2-D mixtures `ring8`, `grid25` and scikit-learn's 8x8 `digits`. Downloaded and
checksummed (`fetch.py`, `images.py`): `mnist`, `fashion_mnist`, `cifar10`. Images are float32 NHWC
in [0, 1]; each model maps them to its own range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..schema import Field, Schema, Section, named_schema, named_section, typed
from . import images, mixtures
from .digits import load_digits

_MIXTURE: Schema = {
    "size": Field(int, 100_000, minimum=1, help="training points drawn once from the mixture"),
    "scale": Field(
        float,
        1.0,
        minimum=1e-6,
        help="the model trains on points * scale and its samples are divided by it (metrics stay in data units)",
    ),
}
SCHEMAS: dict[str, Schema] = {
    "ring8": dict(_MIXTURE),
    "grid25": dict(_MIXTURE),
    "digits": {
        "split": Field(
            str,
            "train",
            choices=("train", "test", "all"),
            help="train: the first 1,500 images; test: the last 297; all",
        )
    },
    **{name: images.SCHEMA for name in images.LOADERS},
}


@dataclass
class Dataset:
    name: str
    x: np.ndarray  # float32; points (N, 2) or images NHWC in [0, 1]
    kind: str  # "points" or "images"
    labels: np.ndarray | None = None
    binarize_each_batch: bool = False  # data.binarize=dynamic: the training feed draws the bits

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


DIGITS_TEST_SIZE = 297  # the last 297 of 1797 images are held out


def section(cfg: Section | Mapping) -> Section:
    """A `data` section in its typed form: a typed config's `cfg.data` as is; a mapping such
    as `{"name": "mnist", "split": "test"}` checked and completed with the defaults."""
    if isinstance(cfg, Section):
        return cfg
    checked = named_section("data", dict(cfg), SCHEMAS)
    return typed(f"data.{checked['name']}", checked, named_schema(checked["name"], SCHEMAS))


def load(cfg: Section | Mapping, seed: int) -> Dataset:
    """The dataset a `data` section names (`section`); mixtures are drawn from `seed`."""
    cfg = section(cfg)
    name = cfg.name
    if name in mixtures.MIXTURES:
        rng = np.random.default_rng([seed, 0xDA7A])
        return Dataset(name, mixtures.sample_mixture(name, cfg.size, rng), "points")
    if name == "digits":
        x, y = load_digits()
        cut = len(x) - DIGITS_TEST_SIZE
        part = {"train": slice(0, cut), "test": slice(cut, None), "all": slice(None)}[cfg.split]
        return Dataset(name, x[part], "images", y[part])
    if name in images.LOADERS:
        x, y = images.load_images(name, cfg)
        return Dataset(name, x, "images", y, binarize_each_batch=cfg.binarize == "dynamic")
    raise KeyError(name)


def held_out(cfg: Section | Mapping, seed: int) -> Dataset | None:
    """The test split of the dataset a `data` section names (None if it has none), for
    evaluation: all of it, binarised once (static) where training binarises each batch."""
    cfg = section(cfg)
    split = SCHEMAS[cfg.name].get("split")
    if split is None or "test" not in (split.choices or ()):
        return None
    test = cfg.replace(split="test")
    if hasattr(cfg, "subset"):
        test = test.replace(subset=0)
    return load(binarised_once(test), seed)


def binarised_once(cfg: Section | Mapping) -> Section:
    """A `data` section as evaluation reads it: binarised once (static) where training
    binarises each batch (dynamic), otherwise as it is."""
    cfg = section(cfg)
    return cfg.replace(binarize="static") if getattr(cfg, "binarize", None) == "dynamic" else cfg
