"""FID, improved precision/recall and the classifier score against known answers."""

import numpy as np
import pytest

from aigc.metrics.classifier_score import classifier_score
from aigc.metrics.fid import fid, frechet_distance
from aigc.metrics.precision_recall import knn_radii, precision_recall


def test_fid_of_identical_features_is_zero():
    f = np.random.default_rng(0).standard_normal((2000, 16))
    assert fid(f, f) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6))
    s1 = a @ a.T + np.eye(6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    # equal covariances: the trace terms cancel, d^2 = |mu1 - mu2|^2
    assert frechet_distance(mu1, s1, mu2, s1) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-9)
    # diagonal (commuting) covariances: d^2 = |dmu|^2 + sum (sqrt(s1) - sqrt(s2))^2
    d1, d2 = rng.uniform(0.5, 3, 6), rng.uniform(0.5, 3, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    assert frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) == pytest.approx(expected, rel=1e-9)


def test_fid_of_shifted_gaussian_samples():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20000, 4))
    shift = np.array([1.0, 0.0, -2.0, 0.5])
    # same covariance (sample estimates differ slightly): FID ~ |shift|^2 = 5.25
    assert fid(x, rng.standard_normal((20000, 4)) + shift) == pytest.approx(5.25, rel=0.02)
    # scaled: N(0, I) vs N(0, 4 I) in 4 dimensions: 4 * (1 - 2)^2 = 4
    assert fid(x, 2 * rng.standard_normal((20000, 4))) == pytest.approx(4.0, rel=0.03)


def test_knn_radius_excludes_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    # k = 3: neighbours of 0 are at 1, 3, 6 -> squared radius 36
    assert knn_radii(points, 3)[0] == 36.0


def test_precision_and_recall_on_constructed_sets():
    rng = np.random.default_rng(3)
    real = rng.uniform(0, 1, (500, 2))
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    # a generator that covers only the left half: precise, half the recall
    left = real[real[:, 0] < 0.5]
    pr = precision_recall(real, left)
    assert pr["precision"] == 1.0
    assert 0.4 < pr["recall"] < 0.6
    # samples far away from the data: neither precise nor covering
    far = rng.uniform(0, 1, (300, 2)) + 10
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}
    # half on the data, half far away
    pr = precision_recall(real, np.concatenate([real[:250], far[:250]]))
    assert pr["precision"] == 0.5


def test_classifier_score_on_constructed_probabilities():
    eye = np.eye(10)
    confident_balanced = np.tile(eye, (100, 1))
    assert classifier_score(confident_balanced)[0] == pytest.approx(10.0, rel=1e-6)
    uniform = np.full((1000, 10), 0.1)
    assert classifier_score(uniform)[0] == pytest.approx(1.0, rel=1e-6)
    one_class = np.tile(eye[3], (1000, 1))  # mode collapse: confident, one class
    assert classifier_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)
    two_classes = np.tile(eye[:2], (500, 1))
    assert classifier_score(two_classes)[0] == pytest.approx(2.0, rel=1e-6)
