"""MNIST and Fashion-MNIST: four gzip-compressed IDX files each, checksummed before use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError
from .fetch import fetch
from .idx import read_idx


@dataclass(frozen=True)
class Source:
    mirrors: tuple[str, ...]  # base URLs, tried in order
    md5: dict[str, str]  # file name -> the publisher's md5


# The publishers' md5 sums (the same as torchvision's `MNIST.resources` / `FashionMNIST.resources`).
# yann.lecun.com is often down, so the PyTorch team's S3 copy comes first, as in torchvision.
SOURCES: dict[str, Source] = {
    "mnist": Source(
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion_mnist": Source(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
PREFIX = {"train": "train", "test": "t10k"}


def load_mnist(
    name: str, split: str, root: str = "", url: str = "", source: Source | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images NHWC uint8 (N x H x W x 1) and int64 labels of `split` ("train"/"test");
    `source` (tests: files they built) replaces the dataset's mirrors and checksums."""
    source = source or SOURCES[name]
    files = {kind: f"{PREFIX[split]}-{kind}-idx{dims}-ubyte.gz" for kind, dims in (("images", 3), ("labels", 1))}
    paths = {kind: fetch(name, file, source.md5[file], source.mirrors, root, url) for kind, file in files.items()}
    images, labels = read_idx(paths["images"]), read_idx(paths["labels"])
    if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(
            f"{paths['images']}, {paths['labels']}: expected uint8 images (N, H, W) and labels (N,), "
            f"got {images.dtype} {images.shape} and {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise DatasetError(f"{paths['images']}: {len(images)} images but {len(labels)} labels")
    return images[..., None], labels.astype(np.int64)
