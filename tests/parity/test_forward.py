"""Level 1: the same canonical weights and input give the same output on both backends,
and both agree with the float64 NumPy reference."""

import numpy as np
import pytest

from aigc import specs as S
from aigc.init import initial_weights
from aigc.parity.tolerances import FORWARD_ATOL, FORWARD_RTOL
from aigc.weights import get_weights, set_weights

from ..backend_list import assert_close_pairs
from . import reference

CASES = {
    "dense": S.NetworkSpec((7,), (S.Dense(5),)),
    "dense_no_bias": S.NetworkSpec((7,), (S.Dense(5, bias=False),)),
    "relu": S.NetworkSpec((7,), (S.Dense(6), S.Activation("relu"))),
    "leaky_relu": S.NetworkSpec((7,), (S.Dense(6), S.Activation("leaky_relu", slope=0.2))),
    "tanh": S.NetworkSpec((7,), (S.Dense(6), S.Activation("tanh"))),
    "sigmoid": S.NetworkSpec((7,), (S.Dense(6), S.Activation("sigmoid"))),
    # no bias before BatchNorm: its exact gradient is 0, so the gradient test would compare rounding noise
    "batchnorm": S.NetworkSpec((7,), (S.Dense(6, bias=False), S.BatchNorm(momentum=0.1, eps=1e-5))),
    "batchnorm_keras_like": S.NetworkSpec((7,), (S.Dense(6, bias=False), S.BatchNorm(momentum=0.01, eps=1e-3))),
    "flatten": S.NetworkSpec((3, 4, 2), (S.Flatten(), S.Dense(5))),
    "reshape": S.NetworkSpec((12,), (S.Reshape((2, 3, 2)), S.Flatten(), S.Dense(4))),
    "reshape_out": S.NetworkSpec((5,), (S.Dense(12), S.Reshape((2, 3, 2)))),
    # convolutions: symmetric, "same" with the uneven TensorFlow split, "valid", strides
    "conv_k4_s2_p1": S.NetworkSpec((8, 8, 3), (S.Conv2d(5, 4, 2, 1),)),
    "conv_k3_s1_same": S.NetworkSpec((7, 6, 2), (S.Conv2d(4, 3, 1, "same"),)),
    "conv_k4_s2_same_odd": S.NetworkSpec((7, 7, 2), (S.Conv2d(3, 4, 2, "same"), S.Flatten(), S.Dense(2))),
    "conv_k5_s2_valid_no_bias": S.NetworkSpec((9, 9, 1), (S.Conv2d(2, 5, 2, "valid", bias=False),)),
    "conv_transpose_k4_s2_p1": S.NetworkSpec((4, 4, 3), (S.ConvTranspose2d(2, 4, 2, 1),)),
    "conv_transpose_k4_s1_same": S.NetworkSpec((5, 5, 3), (S.ConvTranspose2d(2, 4, 1, "same"),)),
    "conv_transpose_k3_s2_valid": S.NetworkSpec((3, 4, 2), (S.ConvTranspose2d(3, 3, 2, "valid"),)),
    "conv_transpose_k5_s2_same": S.NetworkSpec((4, 4, 2), (S.ConvTranspose2d(3, 5, 2, "same", bias=False),)),
    "batchnorm2d": S.NetworkSpec((5, 5, 3), (S.Conv2d(4, 3, 1, 1, bias=False), S.BatchNorm())),
    "dcgan_like": S.NetworkSpec(
        (6,),
        (
            S.Dense(4 * 4 * 3),
            S.Reshape((4, 4, 3)),
            S.ConvTranspose2d(2, 4, 2, 1),
            S.Activation("tanh"),
            S.Conv2d(3, 4, 2, 1),
            S.Activation("leaky_relu", 0.2),
            S.Flatten(),
            S.Dense(1),
        ),
    ),
    "spectral_dense": S.NetworkSpec((7,), (S.Dense(5, spectral_norm=True),)),
    "spectral_conv": S.NetworkSpec((6, 6, 2), (S.Conv2d(3, 3, 2, "same", spectral_norm=True),)),
    "spectral_conv_asymmetric_pad": S.NetworkSpec((7, 7, 2), (S.Conv2d(3, 4, 2, "same", spectral_norm=True),)),
    "embedding": S.NetworkSpec((), (S.Embedding(10, 4), S.Dense(3))),
    "dropout": S.NetworkSpec((7,), (S.Dense(6), S.Dropout(0.3), S.Dense(2))),
    "dropout_conv": S.NetworkSpec((4, 4, 2), (S.Conv2d(3, 3, 1, 1), S.Dropout(0.5), S.Flatten(), S.Dense(2))),
}


def _inputs(spec, n=16, seed=1):
    """A batch for `spec` (integer labels for an Embedding) and its dropout keep-masks."""
    rng = np.random.default_rng(seed)
    if spec.layers and isinstance(spec.layers[0], S.Embedding):
        x = rng.integers(0, spec.layers[0].num, n).astype(np.int64)
    else:
        x = rng.normal(size=(n, *spec.input_shape)).astype(np.float32)
    masks = [(rng.uniform(size=(n, *s)) >= 0.4).astype(np.float32) for s in spec.dropout_shapes()]
    return x, masks


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
    x, masks = _inputs(spec)
    expected, new_state = reference.forward(spec, weights, x, training, masks)
    outputs = {}
    for name, backend in pair.items():
        net = backend.build(spec)
        set_weights(backend, net, weights)
        native_masks = [backend.tensor(m) for m in masks]
        outputs[name] = backend.numpy(net(backend.tensor(x), training=training, masks=native_masks))
        np.testing.assert_allclose(
            outputs[name], expected, rtol=FORWARD_RTOL, atol=FORWARD_ATOL, err_msg=f"{name} vs float64 reference"
        )
        after = get_weights(backend, net)
        for key, value in new_state.items():  # running statistics / spectral norm's u after a training call
            np.testing.assert_allclose(after[key], value, rtol=FORWARD_RTOL, atol=FORWARD_ATOL, err_msg=f"{name} {key}")
    assert_close_pairs(outputs, rtol=FORWARD_RTOL, atol=FORWARD_ATOL)  # every pair of backends


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


@pytest.mark.parametrize(
    "layer, shape",
    [
        (S.Conv2d(3, 4, 2, "same"), (7, 7, 2)),
        (S.Conv2d(3, 3, 1, "same"), (6, 5, 2)),
        (S.ConvTranspose2d(3, 4, 1, "same"), (5, 5, 2)),
        (S.ConvTranspose2d(3, 5, 2, "same"), (4, 4, 2)),
    ],
    ids=["conv_k4_s2", "conv_k3_s1", "conv_transpose_k4_s1", "conv_transpose_k5_s2"],
)
def test_same_padding_is_keras_same(layer, shape):
    """aigc's written-down "same" rule is Keras' padding="same", so a Keras user's weights
    load and give the same outputs (and PyTorch gets the same explicit pads)."""
    keras = pytest.importorskip("keras")
    spec = S.NetworkSpec(shape, (layer,))
    weights = _weights(spec)
    x = np.random.default_rng(2).normal(size=(3, *shape)).astype(np.float32)
    cls = keras.layers.Conv2D if isinstance(layer, S.Conv2d) else keras.layers.Conv2DTranspose
    native = cls(layer.filters, layer.kernel, strides=layer.stride, padding="same")
    native.build((None, *shape))
    native.kernel.assign(weights["0.kernel"])
    native.bias.assign(weights["0.bias"])
    expected, _ = reference.forward(spec, weights, x, training=False)
    np.testing.assert_allclose(np.asarray(native(x)), expected, rtol=FORWARD_RTOL, atol=FORWARD_ATOL)
