"""The gradient penalties, WGAN-GP's and R1 (gradients of gradients), and spectral normalisation."""

import numpy as np
import pytest

from aigc import losses
from aigc import specs as S
from aigc.init import initial_weights
from aigc.parity.tolerances import GRAD_ATOL, GRAD_RTOL
from aigc.weights import get_weights, set_weights

from ..backend_list import assert_close_pairs, pairs
from . import reference

CRITIC = S.NetworkSpec((3,), (S.Dense(4), S.Activation("tanh"), S.Dense(1)))  # smooth: finite differences work


PENALTIES = {"wgan_gp": losses.gradient_penalty, "r1": losses.r1_penalty}


def _penalty64(w: dict[str, np.ndarray], x: np.ndarray, kind: str = "wgan_gp") -> float:
    """The penalty of CRITIC in float64, with its input gradient written out by hand."""
    a = np.tanh(x @ w["0.kernel"] + w["0.bias"])
    grad = ((1 - a**2) * w["2.kernel"][:, 0]) @ w["0.kernel"].T  # d out / d x per sample
    if kind == "r1":
        return float(np.mean(np.sum(grad**2, axis=1)))
    return float(np.mean((np.sqrt(np.sum(grad**2, axis=1) + 1e-12) - 1) ** 2))


def _setup():
    rng = np.random.default_rng(4)
    w = initial_weights(CRITIC, rng)
    w = {k: (v * 3).astype(np.float32) for k, v in w.items()}  # input gradients of norm ~1
    x = rng.normal(size=(16, 3)).astype(np.float32)
    return w, x


def _penalty_and_grads(backend, w, x, kind: str = "wgan_gp"):
    net = backend.build(CRITIC)
    set_weights(backend, net, w)
    keys = list(net.params)
    value, _, grads = backend.value_and_grad(
        lambda: (PENALTIES[kind](backend, lambda h: net(h, True), backend.tensor(x)), {}),
        [net.params[k] for k in keys],
    )
    return float(backend.numpy(value)), {k: net.to_canonical(k, g) for k, g in zip(keys, grads)}


@pytest.mark.parametrize("kind", PENALTIES)
def test_gradient_penalty_value_and_gradients(pair, kind):
    w, x = _setup()
    expected = _penalty64({k: v.astype(np.float64) for k, v in w.items()}, x.astype(np.float64), kind)
    results = {name: _penalty_and_grads(b, w, x, kind) for name, b in pair.items()}
    for name, (value, _) in results.items():
        np.testing.assert_allclose(value, expected, rtol=GRAD_RTOL, err_msg=name)
    for a, b in pairs(results):  # every pair of backends
        (_, gt), (_, gf) = results[a], results[b]
        for k in gt:
            np.testing.assert_allclose(gt[k], gf[k], rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=f"{a} vs {b} {k}")


@pytest.mark.parametrize("kind", PENALTIES)
def test_gradient_penalty_matches_finite_differences(pair, kind):
    """The penalty's gradient with respect to the critic's weights (a gradient of a gradient)
    against central differences of the float64 penalty."""
    w, x = _setup()
    w64 = {k: v.astype(np.float64) for k, v in w.items()}
    x64 = x.astype(np.float64)
    h = 1e-6
    numeric = {}
    for k, v in w64.items():
        g = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            up, down = {**w64, k: v.copy()}, {**w64, k: v.copy()}
            up[k][idx] += h
            down[k][idx] -= h
            g[idx] = (_penalty64(up, x64, kind) - _penalty64(down, x64, kind)) / (2 * h)
        numeric[k] = g
    for name, b in pair.items():
        _, grads = _penalty_and_grads(b, w, x, kind)
        for k in numeric:
            np.testing.assert_allclose(grads[k], numeric[k], rtol=1e-3, atol=1e-4, err_msg=f"{name} {k}")


def test_r1_counts_a_packed_input_once(pair):
    """Under PacGAN packing the critic judges `pack` samples at once: R1 averages the squared
    norm of the gradient over its inputs (the packs), each covering all of its samples."""
    w, x = _setup()
    packed = x.reshape(8, 6)  # two samples of 3 per critic input
    critic = S.NetworkSpec((6,), CRITIC.layers)
    w6 = {**w, "0.kernel": np.concatenate([w["0.kernel"], -0.5 * w["0.kernel"]])}  # (6, 4)
    expected = _penalty64({k: v.astype(np.float64) for k, v in w6.items()}, packed.astype(np.float64), "r1")
    values = {}
    for name, b in pair.items():
        net = b.build(critic)
        set_weights(b, net, w6)
        judge = lambda v, net=net, b=b: net(b.ops.reshape(v, (-1, 6)), True)
        values[name] = float(b.numpy(losses.r1_penalty(b, judge, b.tensor(x), pack=2)))
        np.testing.assert_allclose(values[name], expected, rtol=GRAD_RTOL, err_msg=name)
    assert_close_pairs(values, rtol=GRAD_RTOL)


def _normalized_sigma(weights: dict[str, np.ndarray], prefix: str) -> float:
    """Largest singular value of kernel / sigma(u), with sigma from the stored u."""
    kernel = weights[f"{prefix}.kernel"].astype(np.float64)
    normalized, _ = reference.spectral_normalized(kernel, weights[f"{prefix}.sn_u"].astype(np.float64), training=False)
    return float(np.linalg.svd(normalized.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


def test_spectral_norm_is_one_after_power_iterations(pair):
    """Each training call runs one power iteration; after 30 the normalised weight's largest
    singular value is 1 within 1e-2 on both backends, and the two agree."""
    spec = S.NetworkSpec(
        (6, 6, 3), (S.Conv2d(8, 3, 2, "same", spectral_norm=True), S.Flatten(), S.Dense(5, spectral_norm=True))
    )
    w = initial_weights(spec, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(4, 6, 6, 3)).astype(np.float32)
    sigmas = {}
    for name, b in pair.items():
        net = b.build(spec)
        set_weights(b, net, w)
        for _ in range(30):
            net(b.tensor(x), True)
        after = get_weights(b, net)
        sigmas[name] = [_normalized_sigma(after, "0"), _normalized_sigma(after, "2")]
        np.testing.assert_allclose(sigmas[name], 1.0, atol=1e-2, err_msg=name)
        first = [_normalized_sigma(w, "0"), _normalized_sigma(w, "2")]
        assert max(abs(s - 1) for s in first) > 0.05  # the random initial u was far from it
    assert_close_pairs(sigmas, rtol=1e-5)  # every pair of backends
