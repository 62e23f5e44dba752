"""MNIST from the offline copy (`AIGC_DATA_DIR`, `../shared/datasets` beside the clone) and
the options every downloaded dataset has: split, subset, binarisation, and their errors."""

import numpy as np
import pytest

from aigc import config, data
from aigc.data import binarize
from aigc.errors import ConfigError

from .data_helpers import shared_datasets


def _cfg(**data_options):
    return config.load({"model": {"name": "mlp_vae"}, "data": {"name": "mnist", **data_options}}).data


@pytest.fixture(scope="module")
def mnist_dir():
    return shared_datasets()


@pytest.fixture
def offline(mnist_dir, monkeypatch):
    """AIGC_DATA_DIR at the offline copy, and no way to download: only the copy can be used."""
    monkeypatch.setenv("AIGC_DATA_DIR", str(mnist_dir))
    monkeypatch.setenv("AIGC_DATA_URL", "http://127.0.0.1:9")
    return mnist_dir


@pytest.fixture(scope="module")
def train_set(mnist_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIGC_DATA_DIR", str(mnist_dir))
        return data.load(_cfg(), 0)


def test_the_real_mnist(offline, train_set):
    assert train_set.x.shape == (60000, 28, 28, 1) and train_set.x.dtype == np.float32 and train_set.kind == "images"
    assert train_set.labels.dtype == np.int64 and train_set.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(train_set.labels).tolist()[:3] == [5923, 6742, 5958]
    assert train_set.x.min() == 0.0 and train_set.x.max() == 1.0
    assert abs(float(train_set.x.mean()) - 0.1307) < 5e-4  # the well-known normalisation constant
    test = data.load(_cfg(split="test"), 0)
    assert test.x.shape == (10000, 28, 28, 1) and test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_subset_is_the_first_n(offline, train_set):
    small = data.load(_cfg(subset=100), 0)
    np.testing.assert_array_equal(small.x, train_set.x[:100])
    np.testing.assert_array_equal(small.labels, train_set.labels[:100])
    with pytest.raises(ConfigError, match="^data.subset: 60001 exceeds the 60000 examples of mnist split=train$"):
        data.load(_cfg(subset=60001), 0)


def test_static_binarisation_is_one_fixed_draw(offline, train_set):
    a = data.load(_cfg(binarize="static", subset=2000), 0)
    b = data.load(_cfg(binarize="static", subset=2000), seed=7)  # the run's seed does not change it
    assert set(np.unique(a.x).tolist()) == {0.0, 1.0} and not a.binarize_each_batch
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.x, binarize.static(train_set.x, "train")[:2000])  # a subset keeps its bits
    assert abs(float(a.x.mean()) - float(train_set.x[:2000].mean())) < 0.005  # P(1) is the grey level
    assert np.all(a.x[train_set.x[:2000] == 0] == 0) and np.all(a.x[train_set.x[:2000] == 1] == 1)


def test_dynamic_binarisation_keeps_the_grey_levels_for_the_feed(offline, train_set):
    cfg = _cfg(binarize="dynamic", subset=500)
    ds = data.load(cfg, 0)
    assert ds.binarize_each_batch
    np.testing.assert_array_equal(ds.x, train_set.x[:500])
    held_out = data.held_out(cfg, 0)  # evaluation: the whole test split, binarised once
    assert held_out.x.shape == (10000, 28, 28, 1) and not held_out.binarize_each_batch
    assert set(np.unique(held_out.x).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(held_out.x, data.load(_cfg(split="test", binarize="static"), 0).x)


def test_datasets_without_a_test_split_have_no_held_out_set():
    assert data.held_out({"name": "ring8", "size": 10}, 0) is None


@pytest.mark.parametrize(
    "override, message",
    [
        ({"binarize": "yes"}, "data.binarize: 'yes' is not allowed; allowed: none, static, dynamic"),
        ({"split": "all"}, "data.split: 'all' is not allowed; allowed: train, test"),
        ({"subset": -1}, "data.subset: -1 is below the minimum 0"),
        ({"cache": "/tmp"}, "unknown key data.cache; allowed: name, split, subset, binarize, root, url"),
    ],
)
def test_options_are_checked(override, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        _cfg(**override)
