"""The core's Adam: a backend's fused update is the generic formula, bit for bit."""

import numpy as np
import pytest

from aigc.optim import Adam, AdamConfig


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_torch_fused_adam_is_bit_identical_to_the_generic_formula(schedule):
    torch = pytest.importorskip("torch")
    from aigc import backend as backends
    from aigc.layers import BatchNorm, Conv2d, Dense, Flatten, Network

    be = backends.get("torch")
    assert hasattr(be, "adam_update")
    spec = Network((6, 6, 2), (Conv2d(3, 3, 1, 1), BatchNorm(), Flatten(), Dense(4)))
    runs = {}
    for fused in (True, False):
        net = be.build(spec)
        with torch.no_grad():
            for p in net.params.values():
                p.copy_(torch.from_numpy(np.random.default_rng(1).standard_normal(tuple(p.shape), dtype=np.float32)))
        opt = Adam(be, {"N": net}, AdamConfig(lr=1e-2, schedule=schedule, total_steps=7))
        if not fused:
            opt.backend = _Generic(be)
        grads_rng = np.random.default_rng(2)
        for _ in range(5):
            grads = [  # float32, of scales from 1e-6 to 10
                be.tensor((grads_rng.standard_normal(tuple(p.shape)) * 10.0 ** grads_rng.integers(-6, 2)).astype(np.float32))
                for p in opt.params
            ]
            with torch.no_grad():
                opt.apply(grads)
        runs[fused] = [be.numpy(t) for t in [*opt.params, *opt.m, *opt.v]]
    for a, b in zip(runs[True], runs[False]):
        np.testing.assert_array_equal(a, b)  # bit-identical, not close
    start = np.random.default_rng(1).standard_normal(runs[True][0].shape, dtype=np.float32)
    assert np.abs(runs[True][0] - start).max() > 1e-3  # the weights moved


class _Generic:
    """The torch backend with its fused update hidden: Adam falls back to `update_generic`."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        if name == "adam_update":
            raise AttributeError(name)
        return getattr(self._backend, name)
