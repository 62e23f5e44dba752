"""Level 2: the same loss gives the same gradient for every parameter (canonical layout)."""

import numpy as np
import pytest

from aigc import losses
from aigc.parity.tolerances import GRAD_ATOL, GRAD_RTOL
from aigc.weights import set_weights

from ..backend_list import REFERENCE, assert_close_pairs, pairs
from .helpers import build_pair, canonical_grads
from .test_forward import CASES, _inputs, _weights


def _compare(per_backend: dict[str, dict[str, np.ndarray]]) -> None:
    """Every pair of backends: the same gradient for every parameter."""
    for a, b in pairs(per_backend):
        t, f = per_backend[a], per_backend[b]
        assert set(t) == set(f) and t
        for k in t:
            scale = max(1.0, float(np.abs(t[k]).max()))  # see GRAD_ATOL in tolerances.py
            np.testing.assert_allclose(t[k], f[k], rtol=GRAD_RTOL, atol=GRAD_ATOL * scale, err_msg=f"{a} vs {b} {k}")


@pytest.mark.parametrize("loss", losses.GAN_LOSSES)
@pytest.mark.parametrize("g_norm", ["none", "batchnorm"])
def test_gan_loss_gradients(pair, loss, g_norm):
    built, dataset = build_pair(pair, "mlp_gan", **{"model.loss": loss, "model.g_norm": g_norm})
    rng = np.random.default_rng(7)
    real = dataset.x[:64]
    z = rng.standard_normal((64, built[REFERENCE].latent_dim)).astype(np.float32)
    d_grads, g_grads, values = {}, {}, {}
    for name, m in built.items():
        b, ops, G, D = m.backend, m.backend.ops, m.nets["G"], m.nets["D"]
        fake = ops.stop_gradient(G(b.tensor(z), training=True))
        d_loss, _, dg = b.value_and_grad(
            lambda: (losses.discriminator_loss(ops, loss, D(b.tensor(real), True), D(fake, True)), {}),
            list(D.params.values()),
        )
        g_loss, _, gg = b.value_and_grad(
            lambda: (losses.generator_loss(ops, loss, D(G(b.tensor(z), True), True)), {}), list(G.params.values())
        )
        d_grads[name] = canonical_grads(m, ["D"], dg)
        g_grads[name] = canonical_grads(m, ["G"], gg)
        values[name] = (float(b.numpy(d_loss)), float(b.numpy(g_loss)))
    assert_close_pairs(values, rtol=GRAD_RTOL)  # every pair of backends
    _compare(d_grads)
    _compare(g_grads)


def test_code_cross_entropy_value_and_gradient(pair):
    """InfoGAN's code loss (`losses.categorical_nll`) against float64: the value, and its
    gradient in the logits, softmax(logits) - one_hot over the batch size."""
    rng = np.random.default_rng(5)
    logits = (rng.normal(size=(16, 5)) * 3).astype(np.float32)
    one_hot = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]
    x = logits.astype(np.float64)
    expected = float(np.mean(np.log(np.exp(x).sum(axis=1)) - (x * one_hot).sum(axis=1)))
    softmax = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    expected_grad = (softmax - one_hot) / len(x)
    results = {}
    for name, b in pair.items():
        loss = lambda x, b=b: losses.categorical_nll(b.ops, x, b.tensor(one_hot))
        results[name] = (float(b.numpy(loss(b.tensor(logits)))), b.numpy(b.input_gradient(loss, b.tensor(logits))))
        np.testing.assert_allclose(results[name][0], expected, rtol=GRAD_RTOL, err_msg=name)
        np.testing.assert_allclose(results[name][1], expected_grad, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)
    assert_close_pairs({n: r[0] for n, r in results.items()}, rtol=GRAD_RTOL)


@pytest.mark.parametrize("margin", [1.0, 0.1])
def test_hinge_margin_value_and_gradient(pair, margin):
    """The hinge loss with margin m (`model.hinge_margin`) against float64, logits on both sides
    of +-m: the value, and its gradient in the logits, -1 / n for a real logit below m and
    +1 / n for a fake one above -m (0 beyond the margin)."""
    rng = np.random.default_rng(11)
    real, fake = ((rng.normal(size=(32, 1)) * 2 * margin).astype(np.float32) for _ in range(2))
    r, f = real.astype(np.float64), fake.astype(np.float64)
    expected = float(np.maximum(margin - r, 0).mean() + np.maximum(margin + f, 0).mean())
    expected_grads = (-(r < margin).astype(np.float64) / len(r), (f > -margin).astype(np.float64) / len(f))
    assert 0 < (r < margin).mean() < 1 and 0 < (f > -margin).mean() < 1  # both sides of the margin
    values = {}
    for name, b in pair.items():
        rt, ft = b.tensor(real), b.tensor(fake)
        hinge = lambda r, f, b=b: losses.discriminator_loss(b.ops, "hinge", r, f, margin)
        values[name] = float(b.numpy(hinge(rt, ft)))
        np.testing.assert_allclose(values[name], expected, rtol=GRAD_RTOL, err_msg=name)
        grads = (b.input_gradient(lambda x: hinge(x, ft), rt), b.input_gradient(lambda x: hinge(rt, x), ft))
        for got, want in zip(grads, expected_grads):
            np.testing.assert_allclose(b.numpy(got), want, rtol=GRAD_RTOL, atol=GRAD_ATOL, err_msg=name)
    assert_close_pairs(values, rtol=GRAD_RTOL)


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_vae_loss_gradients(pair, beta):
    built, dataset = build_pair(pair, "mlp_vae", **{"model.beta": beta})
    x = dataset.x[:64]
    eps = np.random.default_rng(3).standard_normal((64, 8)).astype(np.float32)
    grads, values = {}, {}
    for name, m in built.items():
        b = m.backend
        loss, aux, g = b.value_and_grad(
            lambda: m.objective(b.tensor(x), b.tensor(eps), beta, training=True),
            m.optimizers["VAE"].params,
        )
        grads[name] = canonical_grads(m, ["E", "Dec"], g)
        values[name] = float(b.numpy(loss))
    assert_close_pairs(values, rtol=GRAD_RTOL)  # every pair of backends
    _compare(grads)


@pytest.mark.parametrize("case", list(CASES))
def test_layer_gradients(pair, case):
    """Every layer's parameter gradients agree (training mode, with dropout masks)."""
    spec = CASES[case]
    weights = _weights(spec)
    x, masks = _inputs(spec)
    probe = np.random.default_rng(5).normal(size=(len(x), *spec.output_shape)).astype(np.float32)
    grads = {}
    for name, b in pair.items():
        net = b.build(spec)
        set_weights(b, net, weights)
        keys = list(net.params)
        native_masks = [b.tensor(m) for m in masks]
        _, _, g = b.value_and_grad(
            lambda: (b.ops.sum(net(b.tensor(x), True, masks=native_masks) * b.tensor(probe)), {}),
            [net.params[k] for k in keys],
        )
        grads[name] = {k: net.to_canonical(k, v) for k, v in zip(keys, g)}
    _compare(grads)


@pytest.mark.parametrize("model,d_norm", [("mlp_gan", "batchnorm"), ("dcgan", "batchnorm"), ("dcgan", "none")])
def test_gradient_penalty_gradients(pair, model, d_norm):
    """WGAN-GP differentiates D's input gradient: second order through every D layer,
    BatchNorm's batch statistics included (the TensorFlow BatchNorm has a hand-written
    gradient, which must itself be differentiable). Compared at the gradient level: with
    BatchNorm in D a trajectory is not comparable, since the penalty's gradient for the last
    BatchNorm's beta is exactly 0 and Adam turns its rounding noise into +-lr steps."""
    built, dataset = build_pair(pair, model, **{"model.d_norm": d_norm})
    x_hat = dataset.x[:32] if model == "mlp_gan" else dataset.x[:32] * 2.0 - 1.0
    grads, values = {}, {}
    for name, m in built.items():
        b, D = m.backend, m.nets["D"]
        x = b.tensor(x_hat.astype(np.float32))
        penalty = lambda: b.value_and_grad(
            lambda: (losses.gradient_penalty(b, lambda v: D(v, True), x), {}), list(D.params.values())
        )
        gp, _, g = b.compile(penalty, m.cfg.train.compile)()  # as in a training step (tf.function)
        grads[name] = canonical_grads(m, ["D"], g)
        values[name] = float(b.numpy(gp))
    assert values[REFERENCE] > 1e-3  # a penalty, not a vanishing one
    assert_close_pairs(values, rtol=GRAD_RTOL)  # every pair of backends
    _compare(grads)
