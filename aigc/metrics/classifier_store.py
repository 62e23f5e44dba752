"""Trained feature classifiers on disk: `<dir>/<dataset>.safetensors` (canonical weights, the
recipe and the measured test accuracy and FID floor in its metadata) beside
`<dir>/<dataset>.safetensors.sha256` (in `sha256sum` format). The checksum is verified before
every load; a mismatch is an error, never silently retrained over.

`<dir>` is `$AIGC_CLASSIFIER_DIR`, else `~/.cache/aigc/classifiers`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from .. import data
from ..backends import Backend
from ..errors import ClassifierError
from ..schema import Section
from ..weights import get_all, set_all
from .classifier import Classifier, Recipe, fit
from .classifier_score import classifier_score
from .fid import fid
from .precision_recall import precision_recall

FORMAT = "aigc-classifier/1"
FLOOR_SIZE = 10_000  # training images compared with the test split for the FID floor


def default_dir() -> Path:
    return Path(os.environ.get("AIGC_CLASSIFIER_DIR") or Path.home() / ".cache" / "aigc" / "classifiers")


def path_for(dataset: str, directory: str | Path | None = None) -> Path:
    return Path(directory or default_dir()) / f"{dataset}.safetensors"


def sha256_of(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_section(dataset: str, split: str, root: str = "") -> Section:
    """A typed `data` section for one split of a labelled image dataset, grey levels as they are."""
    if dataset not in data.SCHEMAS or "split" not in data.SCHEMAS[dataset]:
        image_sets = [n for n, s in data.SCHEMAS.items() if "split" in s]
        raise ClassifierError(f"no classifier for {dataset!r}: the image metrics need one of {', '.join(image_sets)}")
    where = {"root": root} if "root" in data.SCHEMAS[dataset] else {}
    return data.section({"name": dataset, "split": split, **where})


def train_and_save(
    backend: Backend,
    dataset: str,
    directory: str | Path | None = None,
    recipe: Recipe = Recipe(),
    root: str = "",
    progress: bool = True,
) -> tuple[Path, dict]:
    """Train a classifier on `dataset`'s training split, measure it on the test split, write
    it and its checksum; returns the file and the measurements."""
    train = data.load(data_section(dataset, "train", root), recipe.seed)
    test = data.load(data_section(dataset, "test", root), recipe.seed)
    num_classes = int(train.labels.max()) + 1
    clf = Classifier(backend, train.sample_shape, num_classes, recipe.width)
    losses = fit(clf, train.x, train.labels, recipe, progress)
    f_test, p_test = clf.features_and_probabilities(test.x)
    f_train = clf.features_and_probabilities(train.x[:FLOOR_SIZE])[0]
    floor = precision_recall(f_test, f_train)
    info = {
        "test_accuracy": float((p_test.argmax(axis=1) == test.labels).mean()),
        "fid_train_test": fid(f_train, f_test),
        "precision_train_test": floor["precision"],
        "recall_train_test": floor["recall"],
        "classifier_score_test": classifier_score(p_test)[0],
        "train_images_for_floor": len(f_train),
        "epoch_losses": losses,
    }
    meta = {
        "format": FORMAT,
        "dataset": dataset,
        "sample_shape": json.dumps(list(train.sample_shape)),
        "num_classes": str(num_classes),
        "recipe": json.dumps(dataclasses.asdict(recipe)),
        "backend": backend.name,
        "measured": json.dumps(info),
    }
    return save(path_for(dataset, directory), get_all(backend, clf.nets), meta), info


def save(file: Path, weights: dict[str, np.ndarray], meta: dict[str, str]) -> Path:
    """Write the weights atomically, then their checksum."""
    from safetensors.numpy import save_file

    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.tmp-{os.getpid()}")
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}, str(tmp), metadata=meta)
    os.replace(tmp, file)
    Path(f"{file}.sha256").write_text(f"{sha256_of(file)}  {file.name}\n")
    return file


def load(backend: Backend, dataset: str, directory: str | Path | None = None) -> tuple[Classifier, dict]:
    """The classifier of `dataset` on `backend`, after checking its sha256; and its metadata."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    file = path_for(dataset, directory)
    retrain = f"delete {file} and its .sha256 and run: aigc classifier train {dataset}"
    if not file.is_file():
        raise ClassifierError(f"no classifier for {dataset} at {file}; train it with: aigc classifier train {dataset}")
    sums = Path(f"{file}.sha256")
    if not sums.is_file():
        raise ClassifierError(f"{sums} is missing, so {file} cannot be verified; {retrain}")
    expected, actual = sums.read_text().split()[0], sha256_of(file)
    if expected != actual:
        raise ClassifierError(
            f"{file} is corrupt or was modified: sha256 {actual}, expected {expected} ({sums}); {retrain}"
        )
    with safe_open(str(file), "numpy") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise ClassifierError(f"{file} is not an aigc classifier (format {meta.get('format')!r}); {retrain}")
    recipe = Recipe(**json.loads(meta["recipe"]))
    clf = Classifier(backend, tuple(json.loads(meta["sample_shape"])), int(meta["num_classes"]), recipe.width)
    set_all(backend, clf.nets, load_file(str(file)))
    return clf, meta


def ensure(backend: Backend, dataset: str, directory: str | Path | None = None, root: str = "") -> Classifier:
    """The stored classifier of `dataset`; trained and stored first if there is none (said on stderr)."""
    file = path_for(dataset, directory)
    if not file.exists():
        print(
            f"aigc: no feature classifier for {dataset} at {file}: training one now, once "
            f"(the same as `aigc classifier train {dataset}`)",
            file=sys.stderr,
        )
        _, info = train_and_save(backend, dataset, directory, root=root, progress=False)
        print(
            f"aigc: classifier for {dataset}: test accuracy {info['test_accuracy']:.4f}, "
            f"FID(train, test) {info['fid_train_test']:.3f}",
            file=sys.stderr,
        )
    return load(backend, dataset, directory)[0]
