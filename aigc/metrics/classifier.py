"""The feature network of the image metrics: a small convolutional classifier that aigc
trains itself (no pretrained download), written as neutral specs so either backend computes
the same features from the same weights.

    features: Conv2d(w, 3, pad 1) ReLU, Conv2d(2w, 4, stride 2, same) ReLU,
              Conv2d(2w, 4, stride 2, same) ReLU, Flatten, Dense(128) ReLU   -> the features
    head:     Dense(classes)                                                 -> logits

It trains with the core's machinery: a classification step against the backend's ops,
`backend.value_and_grad` and the core's Adam, batches shuffled by the core's generator.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..backends import Backend, BuiltNetwork, Tensor
from ..optim import Adam, AdamConfig
from ..specs import Activation, Conv2d, Dense, Flatten, NetworkSpec
from ..weights import initialize_all

FEATURES = 128
BATCH = 500  # inference batch


@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained (recorded in its file)."""

    epochs: int = 6
    batch_size: int = 128
    lr: float = 1e-3  # decays linearly to 0 over the run
    width: int = 32
    shift: int = -1  # training images move by up to this many pixels (augmentation); -1: side // 28
    seed: int = 0


def specs(sample_shape: tuple[int, ...], num_classes: int, width: int = 32) -> dict[str, NetworkSpec]:
    relu = Activation("relu")
    features = NetworkSpec(
        tuple(sample_shape),
        (
            Conv2d(width, 3, 1, 1),
            relu,
            Conv2d(2 * width, 4, 2, "same"),
            relu,
            Conv2d(2 * width, 4, 2, "same"),
            relu,
            Flatten(),
            Dense(FEATURES),
            relu,
        ),
    )
    return {"features": features, "head": NetworkSpec((FEATURES,), (Dense(num_classes),))}


def cross_entropy(ops, logits: Tensor, onehot: Tensor) -> Tensor:
    """Mean -log softmax(logits)[label] over the batch."""
    return ops.mean(ops.logsumexp(logits, axis=1) - ops.sum(onehot * logits, axis=1))


def classification_step(
    backend: Backend, nets: dict[str, BuiltNetwork], opt: Adam, x: Tensor, onehot: Tensor
) -> dict[str, Tensor]:
    def objective():
        return cross_entropy(backend.ops, nets["head"](nets["features"](x, True), True), onehot), {}

    loss, _, grads = backend.value_and_grad(objective, opt.params)
    opt.apply(grads)
    return {"loss": loss}


class Classifier:
    """A classifier bound to a backend: penultimate-layer features and class probabilities."""

    def __init__(self, backend: Backend, sample_shape: tuple[int, ...], num_classes: int, width: int = 32):
        self.backend, self.num_classes = backend, num_classes
        self.specs = specs(sample_shape, num_classes, width)
        self.nets = {name: backend.build(spec) for name, spec in self.specs.items()}
        self._forward = backend.compile(self._features_and_logits, "none")

    def _features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.nets["features"](x, False)
        return f, self.nets["head"](f, False)

    def features_and_probabilities(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Penultimate-layer features (n, 128) and softmax probabilities (n, classes), float64,
        of images NHWC in [0, 1]."""
        feats, logits = [], []
        for start in range(0, len(images), BATCH):
            f, lg = self._forward(self.backend.tensor(np.asarray(images[start : start + BATCH], np.float32)))
            feats.append(self.backend.numpy(f))
            logits.append(self.backend.numpy(lg))
        lg = np.concatenate(logits).astype(np.float64)
        p = np.exp(lg - lg.max(axis=1, keepdims=True))
        return np.concatenate(feats).astype(np.float64), p / p.sum(axis=1, keepdims=True)

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.features_and_probabilities(images)[1].argmax(axis=1) == labels).mean())


def translate(x: np.ndarray, rng: np.random.Generator, shift: int) -> np.ndarray:
    """Each image moved by a random whole-pixel offset in [-shift, shift]^2, zero-filled."""
    if shift == 0:
        return x
    n, h, w = x.shape[:3]
    padded = np.pad(x, ((0, 0), (shift, shift), (shift, shift), (0, 0)))
    dy, dx = rng.integers(0, 2 * shift + 1, (2, n))
    return np.stack([padded[i, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])


def fit(classifier: Classifier, x: np.ndarray, y: np.ndarray, recipe: Recipe, progress: bool = True) -> list[float]:
    """Train from freshly drawn weights on images x (NHWC, [0, 1]) and int labels y; returns
    the mean loss of each epoch."""
    backend = classifier.backend
    rng = np.random.default_rng(recipe.seed)
    initialize_all(backend, classifier.nets, classifier.specs, rng)
    per_epoch = len(x) // recipe.batch_size
    if per_epoch == 0:
        raise ValueError(f"{len(x)} training images are fewer than one batch of {recipe.batch_size}")
    adam = AdamConfig(lr=recipe.lr, beta1=0.9, beta2=0.999, schedule="linear", total_steps=recipe.epochs * per_epoch)
    opt = Adam(backend, classifier.nets, adam)
    step = backend.compile(lambda xb, yb: classification_step(backend, classifier.nets, opt, xb, yb), "auto")
    eye = np.eye(classifier.num_classes, dtype=np.float32)
    shift = recipe.shift if recipe.shift >= 0 else x.shape[1] // 28  # MNIST and CIFAR: 1, 8x8 digits: 0
    from tqdm.auto import tqdm

    history = []
    for epoch in range(recipe.epochs):
        order = rng.permutation(len(x))
        total = 0.0
        bar = tqdm(
            range(per_epoch),
            disable=not progress,
            desc=f"classifier epoch {epoch + 1}/{recipe.epochs}",
            file=sys.stderr,
        )
        for i in bar:
            rows = order[i * recipe.batch_size : (i + 1) * recipe.batch_size]
            out = step(backend.tensor(translate(x[rows], rng, shift)), backend.tensor(eye[y[rows]]))
            total += float(backend.numpy(out["loss"]))
        history.append(total / per_epoch)
    return history
