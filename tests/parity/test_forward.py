"""Level 1: the same canonical weights and input give the same output on both backends,
and both agree with the float64 NumPy reference."""

import numpy as np
import pytest

from aigc import layers as L
from aigc.init import initial_weights
from aigc.weights import get_weights, set_weights

from . import reference
from aigc.parity.tolerances import FORWARD_ATOL, FORWARD_RTOL

CASES = {
    "dense": L.Network((7,), (L.Dense(5),)),
    "dense_no_bias": L.Network((7,), (L.Dense(5, bias=False),)),
    "relu": L.Network((7,), (L.Dense(6), L.Activation("relu"))),
    "leaky_relu": L.Network((7,), (L.Dense(6), L.Activation("leaky_relu", slope=0.2))),
    "tanh": L.Network((7,), (L.Dense(6), L.Activation("tanh"))),
    "sigmoid": L.Network((7,), (L.Dense(6), L.Activation("sigmoid"))),
    "batchnorm": L.Network((7,), (L.Dense(6), L.BatchNorm(momentum=0.1, eps=1e-5))),
    "batchnorm_keras_like": L.Network((7,), (L.Dense(6), L.BatchNorm(momentum=0.01, eps=1e-3))),
    "flatten": L.Network((3, 4, 2), (L.Flatten(), L.Dense(5))),
    "reshape": L.Network((12,), (L.Reshape((2, 3, 2)), L.Flatten(), L.Dense(4))),
    "reshape_out": L.Network((5,), (L.Dense(12), L.Reshape((2, 3, 2)))),
}


def _weights(spec, seed=0):
    rng = np.random.default_rng(seed)
    w = initial_weights(spec, rng)
    for name in w:  # non-trivial BatchNorm parameters and statistics
        if name.endswith(("gamma", "running_var")):
            w[name] = rng.uniform(0.5, 1.5, w[name].shape).astype(np.float32)
        elif name.endswith(("beta", "running_mean")):
            w[name] = rng.normal(0, 0.5, w[name].shape).astype(np.float32)
    return w


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("case", list(CASES))
def test_layer_forward(pair, case, training):
    spec = CASES[case]
    weights = _weights(spec)
    x = np.random.default_rng(1).normal(size=(16, *spec.input_shape)).astype(np.float32)
    expected, new_state = reference.forward(spec, weights, x, training)
    outputs = {}
    for name, backend in pair.items():
        net = backend.build(spec)
        set_weights(backend, net, weights)
        outputs[name] = backend.numpy(net(backend.tensor(x), training=training))
        np.testing.assert_allclose(outputs[name], expected, rtol=FORWARD_RTOL, atol=FORWARD_ATOL, err_msg=f"{name} vs float64 reference")
        after = get_weights(backend, net)
        for key, value in new_state.items():  # BatchNorm running statistics after a training call
            np.testing.assert_allclose(after[key], value, rtol=FORWARD_RTOL, atol=FORWARD_ATOL, err_msg=f"{name} {key}")
    np.testing.assert_allclose(outputs["torch"], outputs["tensorflow"], rtol=FORWARD_RTOL, atol=FORWARD_ATOL)


def test_weights_round_trip(pair):
    spec = CASES["batchnorm"]
    weights = _weights(spec, seed=3)
    for backend in pair.values():
        net = backend.build(spec)
        set_weights(backend, net, weights)
        back = get_weights(backend, net)
        assert set(back) == set(weights)
        for k in weights:
            np.testing.assert_array_equal(back[k], weights[k])
