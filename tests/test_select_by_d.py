"""Discriminator rejection (`GAN.sample(..., keep=f)`, `aigc sample/eval --keep`): of
ceil(n / keep) draws, the n that D scores highest, per asked-for label; the same choice on
every backend from the same weights."""

import math

import numpy as np
import pytest

from aigc.weights import get_weights, set_weights

from .backend_list import REFERENCE, assert_close_pairs
from .parity.helpers import build_pair


def _d_scores(model, x: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    t = model.backend.tensor
    y = None if labels is None else t(np.asarray(labels, np.int64))
    out = model._discriminate(t(model.to_model_range(x).astype(np.float32)), y, training=False)
    return model.backend.numpy(out)[:, 0]


def test_kept_samples_are_the_draws_d_scores_highest(pair):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "dcgan")
    m = built[REFERENCE]
    n, keep = 50, 0.4
    pool = m.sample(math.ceil(n / keep), seed=3)  # the same draws: the same generator, seeded alike
    scores = _d_scores(m, pool)
    kept = m.sample(n, seed=3, keep=keep)
    assert kept.shape == (n, *m.sample_shape)
    chosen = np.sort(np.argsort(-scores)[:n])
    np.testing.assert_allclose(kept, pool[chosen], atol=1e-6)  # in the order drawn
    dropped = np.setdiff1d(np.arange(len(pool)), chosen)
    assert scores[chosen].min() >= scores[dropped].max()
    np.testing.assert_array_equal(m.sample(n, seed=3, keep=1.0), m.sample(n, seed=3))


def test_a_conditional_model_keeps_the_asked_for_labels(pair):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "cgan")
    m = built[REFERENCE]
    labels = np.array([3, 7, 3, 3, 7, 1])
    kept = m.sample(len(labels), seed=0, labels=labels, keep=0.5)
    rng = np.random.default_rng(0)
    for label in (1, 3, 7):  # groups in sorted order, each drawing twice its size from one generator
        where = np.flatnonzero(labels == label)
        drawn = 2 * len(where)
        pool = m.generate(m.latent(rng, drawn), np.full(drawn, label))
        best = np.sort(np.argsort(-_d_scores(m, pool, np.full(drawn, label)))[: len(where)])
        np.testing.assert_allclose(kept[where], pool[best], atol=1e-6, err_msg=str(label))


@pytest.mark.parametrize("keep", [0.0, -0.5, 1.5, float("nan")])
def test_keep_outside_zero_to_one_is_refused(pair, keep):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "dcgan")
    with pytest.raises(ValueError, match=r"keep .*\(0, 1\]"):
        built[REFERENCE].sample(4, keep=keep)


def test_packed_discriminators_cannot_choose_one_sample(pair):
    built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "mlp_gan", **{"model.pack": 2})
    with pytest.raises(ValueError, match="packs of 2"):
        built[REFERENCE].sample(4, keep=0.5)


def test_backends_keep_the_same_samples(pair):
    """From the same weights (trained a little apart from the initial ones so that D's scores
    spread), every backend keeps the same draws."""
    built, _ = build_pair(pair, "dcgan", **{"model.ema": 0.9})
    for m in built.values():
        w = get_weights(m.backend, m.nets["G"])
        set_weights(m.backend, m.nets["G_ema"], {k: v * 1.3 for k, v in w.items()})
    kept = {name: m.sample(64, seed=5, keep=0.5) for name, m in built.items()}
    assert_close_pairs(kept, rtol=1e-4, atol=1e-4)
