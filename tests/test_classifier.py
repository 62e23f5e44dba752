"""The feature classifier: trained by the core, stored with a sha256 that is checked on load."""

import os
from pathlib import Path

import pytest

from aigc import backends
from aigc.errors import ClassifierError
from aigc.metrics import classifier_store
from aigc.metrics.classifier import FEATURES, Recipe, specs

from .backend_list import BACKENDS, REFERENCE


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    directory = tmp_path_factory.mktemp("classifiers")
    file, info = classifier_store.train_and_save(
        backends.get(REFERENCE), "digits", directory, Recipe(epochs=3, batch_size=64), progress=False
    )
    return directory, file, info


def test_spec_features_are_the_penultimate_layer():
    s = specs((28, 28, 1), 10)
    assert s["features"].output_shape == (FEATURES,)
    assert s["head"].output_shape == (10,)


def test_trains_on_digits_and_loads_after_the_checksum(stored):
    directory, file, info = stored
    assert info["test_accuracy"] > 0.8, info  # 3 epochs on 1,500 8x8 digits
    assert info["epoch_losses"][-1] < info["epoch_losses"][0]
    sums = Path(f"{file}.sha256").read_text().split()
    assert sums == [classifier_store.sha256_of(file), file.name]
    # trained on the first backend, loaded on the last: across backends where two are installed
    clf, meta = classifier_store.load(backends.get(BACKENDS[-1]), "digits", directory)
    assert meta["dataset"] == "digits" and meta["backend"] == REFERENCE


def test_a_wrong_checksum_is_a_clear_error(stored, tmp_path):
    directory, file, _ = stored
    copy = tmp_path / file.name
    data = bytearray(file.read_bytes())
    data[-1] ^= 1  # one flipped bit in the last weight
    copy.write_bytes(bytes(data))
    Path(f"{copy}.sha256").write_text(Path(f"{file}.sha256").read_text())
    with pytest.raises(ClassifierError, match="corrupt or was modified.*aigc classifier train digits"):
        classifier_store.load(backends.get(REFERENCE), "digits", tmp_path)
    os.remove(f"{copy}.sha256")
    with pytest.raises(ClassifierError, match="cannot be verified"):
        classifier_store.load(backends.get(REFERENCE), "digits", tmp_path)


def test_a_missing_classifier_names_the_command(tmp_path):
    with pytest.raises(ClassifierError, match="aigc classifier train mnist"):
        classifier_store.load(backends.get(REFERENCE), "mnist", tmp_path)


def test_datasets_without_labels_have_no_classifier():
    with pytest.raises(ClassifierError, match="image metrics need one of"):
        classifier_store.data_section("ring8", "test")


@pytest.mark.slow
def test_mnist_classifier_recipe_learns_in_one_epoch(tmp_path):
    """`aigc classifier train mnist`'s recipe (shifts of up to 1 pixel, torch) shortened to one
    epoch at half the width (16; a quarter of the convolutions' cost), its learning rate decaying
    over that epoch: test accuracy >= 97% (measured 97.61% in 57 s on one thread; width 32 gave
    98.12% in 139 s; the full recipe, 6 epochs at width 32, reaches 99.37%, docs/metrics.md)."""
    if not os.environ.get("AIGC_DATA_DIR"):
        pytest.skip("set AIGC_DATA_DIR to a folder with mnist/ (README, Datasets)")
    recipe = Recipe(epochs=1, width=16)
    _, info = classifier_store.train_and_save(backends.get(REFERENCE), "mnist", tmp_path, recipe=recipe, progress=False)
    assert info["test_accuracy"] >= 0.97, info
