"""The downloaded image datasets (MNIST, Fashion-MNIST, CIFAR-10): their config options and
the steps every one of them shares: split, subset, [0, 1] floats, static binarisation.

Images stay in [0, 1]: each model maps them to the range of its output
(`Model.to_model_range`: a GAN's tanh [-1, 1], a VAE's [0, 1]).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from ..schema import Field, Schema, Section
from . import binarize
from .cifar import load_cifar10
from .mnist import load_mnist

# name -> (split, root, url) -> (uint8 images NHWC, int64 labels)
LOADERS: dict[str, Callable[[str, str, str], tuple[np.ndarray, np.ndarray]]] = {
    "mnist": functools.partial(load_mnist, "mnist"),
    "fashion_mnist": functools.partial(load_mnist, "fashion_mnist"),
    "cifar10": load_cifar10,
}

SCHEMA: Schema = {
    "split": Field(str, "train", choices=("train", "test"), help="which split of the dataset"),
    "subset": Field(int, 0, minimum=0, help="0: the whole split; N: its first N examples"),
    "binarize": Field(
        str,
        "none",
        choices=("none", "static", "dynamic"),
        help="static: one fixed Bernoulli draw; dynamic: a fresh draw for every batch",
    ),
    "root": Field(str, "", help="data directory; empty: $AIGC_DATA_DIR, else ~/.cache/aigc"),
    "url": Field(
        str, "", help="base URL of a mirror holding <dataset>/<file>; empty: $AIGC_DATA_URL, else the canonical sources"
    ),
}


def load_images(name: str, cfg: Section) -> tuple[np.ndarray, np.ndarray]:
    """Float32 images NHWC in [0, 1] and int64 labels for a resolved `data` section; the
    first `subset` examples, binarised once if `binarize` is static."""
    images, labels = LOADERS[name](cfg.split, cfg.root, cfg.url)
    if cfg.subset:
        if cfg.subset > len(images):
            raise ConfigError(
                f"data.subset: {cfg.subset} exceeds the {len(images)} examples of {name} split={cfg.split}"
            )
        images, labels = images[: cfg.subset], labels[: cfg.subset]
    x = images.astype(np.float32) / np.float32(255)
    if cfg.binarize == "static":
        x = binarize.static(x, cfg.split)
    return x, labels
