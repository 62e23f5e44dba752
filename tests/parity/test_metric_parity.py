"""The same samples or checkpoint give the same metric values on every backend (every pair)."""

import numpy as np
import pytest

import aigc
from aigc import data
from aigc.metrics.classifier import Classifier
from aigc.metrics.classifier_score import classifier_score
from aigc.metrics.fid import fid
from aigc.metrics.precision_recall import precision_recall
from aigc.parity.tolerances import FORWARD_ATOL, FORWARD_RTOL, METRIC_COUNT_FLIPS, METRIC_RTOL
from aigc.weights import get_all, initialize_all, set_all

from ..backend_list import BACKENDS, REFERENCE, assert_close_pairs, need_two, pairs


def test_image_metrics_agree(pair):
    """One tiny classifier's weights on both backends, the same real and 'generated' images."""
    test = data.load({"name": "digits", "split": "test"}, 0)
    real = test.x
    noise = np.random.default_rng(0).uniform(0, 1, real.shape)
    fake = np.where(np.arange(len(real))[:, None, None, None] % 2, real[::-1], noise).astype(np.float32)
    ref = Classifier(pair[REFERENCE], real.shape[1:], 10, width=8)
    initialize_all(pair[REFERENCE], ref.nets, ref.specs, np.random.default_rng(1))
    weights = get_all(pair[REFERENCE], ref.nets)
    results = {}
    for name, backend in pair.items():
        clf = Classifier(backend, real.shape[1:], 10, width=8)
        set_all(backend, clf.nets, weights)
        f_real, _ = clf.features_and_probabilities(real)
        f_fake, p_fake = clf.features_and_probabilities(fake)
        results[name] = {
            "features": f_fake,
            "fid": fid(f_fake, f_real),
            "score": classifier_score(p_fake)[0],
            **precision_recall(f_real, f_fake),
        }
    t = results[REFERENCE]
    assert t["fid"] > 10 * np.trace(np.cov(t["features"], rowvar=False)) * METRIC_RTOL  # far from 0
    for a, b in pairs(results):  # every pair of backends
        t, tf = results[a], results[b]
        np.testing.assert_allclose(t["features"], tf["features"], rtol=FORWARD_RTOL, atol=FORWARD_ATOL)
        for key in ("fid", "score"):
            assert t[key] == pytest.approx(tf[key], rel=METRIC_RTOL), (a, b, key)
        for key in ("precision", "recall"):
            assert abs(t[key] - tf[key]) <= METRIC_COUNT_FLIPS / len(real), (a, b, key)


def test_vae_likelihoods_agree(tmp_path):
    need_two()
    run = aigc.train(
        "configs/vae_digits.yaml",
        backend=REFERENCE,
        out=str(tmp_path),
        train__steps=100,
        train__progress=False,
        train__eval_images=False,
    )
    x = data.load({"name": "digits", "split": "test"}, 0).x
    values = {}
    for name in BACKENDS:
        model = aigc.load(tmp_path / "checkpoint", backend=name)
        values[name] = (model.negative_elbo(x, seed=0), model.iwae_nll(x, k=50, seed=0))
    assert_close_pairs(values, rtol=METRIC_RTOL)  # every pair of backends
    assert run.model.iwae_nll(x, k=50, seed=0) == pytest.approx(values[REFERENCE][1], rel=1e-6)
