"""model.precise_bn: after training, the sampling generator's BatchNorm statistics are
re-estimated with its final weights. Both backends run the same passes from the same weights
and noise, so their statistics (and samples) agree; and the statistics are the population's
(a fresh large batch's), not the running average of the last training batches."""

import numpy as np
import pytest

from aigc.weights import get_weights, set_weights

from ..backend_list import REFERENCE, assert_close_pairs
from .helpers import build_pair


def _stats(model, net: str) -> dict[str, np.ndarray]:
    w = get_weights(model.backend, model.nets[net])
    return {k: v for k, v in w.items() if "running" in k}


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_precise_bn_agrees_across_backends_and_is_the_population_statistic(pair, ema):
    built, _ = build_pair(pair, "mlp_gan", **{"model.g_norm": "batchnorm", "model.precise_bn": 4096, "model.ema": ema})
    net = "G_ema" if ema else "G"
    for m in built.values():  # leave the initial statistics (0 and 1) far from the population's
        w = get_weights(m.backend, m.nets["G"])
        set_weights(m.backend, m.nets[net], {k: (v * 1.5 if "kernel" in k else v) for k, v in w.items()})
    stats, samples = {}, {}
    for name, m in built.items():
        m.finish_training(np.random.default_rng([0, 0xF1]))
        stats[name] = _stats(m, net)
        samples[name] = m.sample(256, seed=3)
    assert stats[REFERENCE] and all(s.keys() == stats[REFERENCE].keys() for s in stats.values())
    for k in stats[REFERENCE]:  # every pair of backends
        assert_close_pairs({b: s[k] for b, s in stats.items()}, err_msg=k, rtol=1e-4, atol=1e-5)
    assert_close_pairs(samples, rtol=1e-4, atol=1e-4)

    # the population statistic: the first BatchNorm's input is z @ kernel (no bias before BatchNorm)
    m = built[REFERENCE]
    w = get_weights(m.backend, m.nets[net])
    z = np.random.default_rng(9).standard_normal((200_000, m.latent_dim)).astype(np.float64)
    h = z @ w["0.kernel"].astype(np.float64)
    np.testing.assert_allclose(stats[REFERENCE]["1.running_mean"], h.mean(0), atol=0.03 * h.std(0).max())
    np.testing.assert_allclose(stats[REFERENCE]["1.running_var"], h.var(0), rtol=0.05)


def test_precise_bn_off_or_without_batchnorm_changes_nothing(pair):
    for overrides in ({"model.g_norm": "batchnorm"}, {"model.g_norm": "none", "model.precise_bn": 1024}):
        built, _ = build_pair({REFERENCE: pair[REFERENCE]}, "mlp_gan", **overrides)
        m = built[REFERENCE]
        before = get_weights(m.backend, m.nets["G"])
        m.finish_training(np.random.default_rng(0))
        after = get_weights(m.backend, m.nets["G"])
        assert all(np.array_equal(before[k], after[k]) for k in before)


def test_precise_bn_depends_on_the_final_weights_alone(pair):
    """Resume-safety: the statistics start from BatchNorm's initial values, so whatever the
    running averages were before (here: a first finish's result), the same weights and noise
    give bit-identical statistics."""
    built, _ = build_pair(
        {REFERENCE: pair[REFERENCE]}, "mlp_gan", **{"model.g_norm": "batchnorm", "model.precise_bn": 512}
    )
    m = built[REFERENCE]
    m.finish_training(np.random.default_rng([0, 0xF1]))
    first = _stats(m, "G")
    w = get_weights(m.backend, m.nets["G"])
    set_weights(m.backend, m.nets["G"], {k: (v + 0.5 if "running" in k else v) for k, v in w.items()})
    m.finish_training(np.random.default_rng([0, 0xF1]))
    again = _stats(m, "G")
    assert all(np.array_equal(first[k], again[k]) for k in first)
