"""The TensorFlow backend's compiled step: called through concrete functions (one trace per
input structure and shapes), with the step's values and side effects of a plain call."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")


@pytest.mark.parametrize("mode", ["auto", "xla"])
def test_compiled_step_traces_once_per_shape_and_runs_every_call(mode):
    import tensorflow as tf

    from aigc import backends

    be = backends.get("tensorflow")
    counter = be.variable(np.zeros((), np.float32))
    traces = []

    def step(x, *, z):
        traces.append(tuple(x.shape))  # python runs while tracing only
        be.assign(counter, counter + 1.0)
        return {"y": x * 2.0 + z, "count": counter + 0.0}

    compiled = be.compile(step, mode)
    x = be.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    z = be.tensor(np.ones((2, 3), np.float32))
    for i in range(3):
        out = compiled(x, z=z)
        np.testing.assert_array_equal(be.numpy(out["y"]), np.arange(6).reshape(2, 3) * 2.0 + 1.0)
        assert float(be.numpy(out["count"])) == i + 1  # the assignment ran on every call
    assert traces == [(2, 3)]

    x4 = be.tensor(np.zeros((4, 3), np.float32))
    out = compiled(x4, z=be.tensor(np.ones((4, 3), np.float32)))
    np.testing.assert_array_equal(be.numpy(out["y"]), np.ones((4, 3)))
    compiled(x4, z=be.tensor(np.ones((4, 3), np.float32)))
    assert traces == [(2, 3), (4, 3)]  # a new shape is a new trace, then reused

    # inputs that are not all tensors take tf.function's own path, with the same result
    out = compiled(np.zeros((2, 3), np.float32), z=z)
    np.testing.assert_array_equal(be.numpy(out["y"]), np.ones((2, 3)))
    assert float(be.numpy(counter)) == 6
    assert isinstance(out["y"], tf.Tensor)
