"""The training feed (aigc/training/feed.py): the same batches as `Batches`, prepared ahead
in a thread; dynamic binarisation that depends only on the seed and the batch's position."""

import threading
import time

import numpy as np
import pytest

from aigc.data import Dataset
from aigc.training.batches import Batches
from aigc.training.feed import AHEAD, Feed

N, BATCH = 50, 8  # 6 batches an epoch, the tail of 2 dropped


def _grey(binarize_each_batch: bool = False) -> Dataset:
    x = np.random.default_rng(0).random((N, 4, 4, 1), dtype=np.float32)
    return Dataset("toy", x, "images", np.arange(N) % 10, binarize_each_batch=binarize_each_batch)


def _feed(ds: Dataset, seed: int = 3, to_model_range=lambda x: x) -> Feed:
    return Feed(ds, BATCH, seed, to_model_range)


def _feed_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aigc-feed"]


def test_same_batches_and_positions_as_batches_in_the_models_range():
    ds = _grey()
    reference = Batches(N, BATCH, 3)
    with _feed(ds, to_model_range=lambda x: 2 * x - 1) as feed:
        for _ in range(20):  # three epochs and more
            np.testing.assert_array_equal(feed.next(), 2 * ds.x[reference.next()] - 1)
            assert feed.state() == reference.state()
    assert not _feed_threads()


def test_dynamic_binarisation_depends_only_on_the_position():
    ds = _grey(binarize_each_batch=True)
    with _feed(ds) as feed:
        first = [feed.next() for _ in range(9)]
        position = [None] * 9
    with _feed(ds) as feed:
        for i in range(9):
            feed.next()
            position[i] = feed.state()
        feed.seek(**position[3])  # what a resume or a rollback does
        np.testing.assert_array_equal(feed.next(), first[4])
        np.testing.assert_array_equal(feed.next(), first[5])
    for batch in first:
        assert set(np.unique(batch).tolist()) <= {0.0, 1.0}
    with _feed(ds, seed=4) as other:
        assert not np.array_equal(other.next(), first[0])  # another seed, other batches and bits


def test_every_batch_is_a_fresh_draw_with_the_grey_level_as_probability():
    x = np.full((N, 4, 4, 1), 0.3, np.float32)
    x[:, 0] = 0.0
    x[:, 1] = 1.0
    ds = Dataset("flat", x, "images", binarize_each_batch=True)
    with _feed(ds) as feed:
        draws = np.stack([feed.next() for _ in range(600)])  # 100 epochs of the same images
    assert np.all(draws[:, :, 0] == 0) and np.all(draws[:, :, 1] == 1)
    grey = draws[:, :, 2:]
    assert abs(grey.mean() - 0.3) < 0.005  # 38,400 draws: the standard error is 0.0023
    assert not np.array_equal(draws[0], draws[6])  # the same images in the next epoch get new bits


def test_batches_are_prepared_ahead_in_a_thread():
    prepared, training_thread = [], threading.current_thread()

    def record(x):
        prepared.append(threading.current_thread())
        return x

    with _feed(_grey(), to_model_range=record) as feed:
        feed.next()
        deadline = time.time() + 10
        while len(prepared) < 2 + AHEAD and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert len(prepared) == 2 + AHEAD  # the one returned, AHEAD queued, one waiting for room; no more
        assert training_thread not in prepared
    assert not _feed_threads()


def test_an_error_while_preparing_reaches_the_training_loop():
    def fail(x):
        raise MemoryError("no room for the batch")

    feed = _feed(_grey(), to_model_range=fail)
    with pytest.raises(MemoryError, match="no room for the batch"):
        feed.next()
    assert not _feed_threads()
