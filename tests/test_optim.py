"""The core's Adam: a backend's fused update is the generic formula, bit for bit, and the
formula is torch.optim.Adam's arithmetic (to rounding)."""

import numpy as np
import pytest

from aigc.optim import Adam, AdamConfig

from .backend_list import params


@pytest.mark.parametrize("width", [4, 1500])  # 1500: 164 K weights, torch's update cuts them in 3 blocks
@pytest.mark.parametrize("schedule", ["constant", "linear"])
@pytest.mark.parametrize("name", params())
def test_fused_adam_is_bit_identical_to_the_generic_formula(name, schedule, width):
    from aigc import backends
    from aigc.specs import BatchNorm, Conv2d, Dense, Flatten, NetworkSpec

    be = backends.get(name)
    if not hasattr(be, "adam_update"):  # optional: the core runs update_generic itself
        pytest.skip(f"{name} has no fused adam_update")
    spec = NetworkSpec((6, 6, 2), (Conv2d(3, 3, 1, 1), BatchNorm(), Flatten(), Dense(width)))
    runs = {}
    for fused in (True, False):
        net = be.build(spec)
        for p in net.params.values():
            be.assign(p, be.tensor(np.random.default_rng(1).standard_normal(tuple(p.shape), dtype=np.float32)))
        opt = Adam(be, {"N": net}, AdamConfig(lr=1e-2, schedule=schedule, total_steps=7))
        if not fused:
            opt.backend = _Generic(be)
        grads_rng = np.random.default_rng(2)
        for _ in range(5):
            grads = [  # float32, of scales from 1e-6 to 10
                be.tensor(
                    (grads_rng.standard_normal(tuple(p.shape)) * 10.0 ** grads_rng.integers(-6, 2)).astype(np.float32)
                )
                for p in opt.params
            ]
            opt.apply(grads)
        runs[fused] = [be.numpy(t) for t in [*opt.params, *opt.m, *opt.v]]
    for a, b in zip(runs[True], runs[False]):
        np.testing.assert_array_equal(a, b)  # bit-identical, not close
    start = np.random.default_rng(1).standard_normal(runs[True][0].shape, dtype=np.float32)
    assert np.abs(runs[True][0] - start).max() > 1e-3  # the weights moved


@pytest.mark.parametrize("name", params())
def test_the_formula_is_torch_optim_adams_arithmetic(name):
    """eps_hat = eps * sqrt(1 - beta2^t) keeps torch's placement of eps: a float64 replay of
    torch.optim.Adam's formula, lr / c1 * m / (sqrt(v) / sqrt(c2) + eps), agrees to float32
    rounding, also for gradients of eps's size, where eps matters."""
    from aigc import backends
    from aigc.specs import Dense, NetworkSpec

    be = backends.get(name)
    net = be.build(NetworkSpec((5,), (Dense(7),)))
    start = {
        k: np.random.default_rng(3).standard_normal(tuple(p.shape)).astype(np.float32) for k, p in net.params.items()
    }
    for k, p in net.params.items():
        be.assign(p, be.tensor(start[k]))
    config = AdamConfig(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8)
    opt = Adam(be, {"N": net}, config)
    ref = {"p": [s.astype(np.float64) for s in start.values()]}
    ref["m"] = [np.zeros_like(p) for p in ref["p"]]
    ref["v"] = [np.zeros_like(p) for p in ref["p"]]
    rng = np.random.default_rng(4)
    for t in range(1, 11):
        grads = [
            (rng.standard_normal(p.shape) * 10.0 ** rng.integers(-9, 1, p.shape)).astype(np.float32) for p in ref["p"]
        ]
        opt.apply([be.tensor(g) for g in grads])
        c1, c2 = 1 - config.beta1**t, 1 - config.beta2**t
        for i, g in enumerate(grads):
            ref["m"][i] = config.beta1 * ref["m"][i] + (1 - config.beta1) * g
            ref["v"][i] = config.beta2 * ref["v"][i] + (1 - config.beta2) * g.astype(np.float64) ** 2
            ref["p"][i] -= config.lr / c1 * ref["m"][i] / (np.sqrt(ref["v"][i]) / np.sqrt(c2) + config.eps)
    for p, expected, s in zip(opt.params, ref["p"], start.values()):
        np.testing.assert_allclose(be.numpy(p), expected, rtol=0, atol=2e-6)
        assert np.abs(expected - s).max() > 0.05  # 10 steps of ~lr moved the weights


@pytest.mark.parametrize("name", params())
def test_fused_moving_average_is_bit_identical_to_the_core_expression(name):
    """G's weight average: a backend's `moving_average` is `GAN._update_average`'s expression,
    bit for bit, on tensors of one element to several of torch's blocks."""
    from aigc import backends

    be = backends.get(name)
    if not hasattr(be, "moving_average"):  # optional: the core writes the expression itself
        pytest.skip(f"{name} has no fused moving_average")
    rng = np.random.default_rng(3)
    shapes = [(1,), (300, 500), (4, 4, 2, 3)]  # 150 K weights: torch cuts them in 3 blocks
    live = [be.variable(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    start = [(rng.standard_normal(s) * 10.0 ** rng.integers(-6, 2)).astype(np.float32) for s in shapes]
    fused, generic = [be.variable(a) for a in start], [be.variable(a) for a in start]
    decay = float(np.float32(0.99))  # as GAN keeps it: exactly a float32
    for _ in range(3):
        be.moving_average(fused, live, decay)
        for a, x in zip(generic, live):
            be.assign(a, decay * a + (1.0 - decay) * x)
    for a, b, s in zip(fused, generic, start):
        np.testing.assert_array_equal(be.numpy(a), be.numpy(b))  # bit-identical, not close
        assert not np.array_equal(be.numpy(a), s)  # and they moved


class _Generic:
    """A backend with its fused update hidden: Adam falls back to `update_generic`."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        if name == "adam_update":
            raise AttributeError(name)
        return getattr(self._backend, name)
