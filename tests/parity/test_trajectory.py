"""Level 3: K optimizer steps from the same weights, batches and noise give the same losses
step by step and the same weights after K steps."""

import numpy as np
import pytest

from aigc.training.batches import Batches

from .helpers import build_pair
from aigc.parity.tolerances import TRAJECTORY_LOSS_ATOL, TRAJECTORY_LOSS_RTOL, TRAJECTORY_WEIGHT_ATOL

STEPS = 20


def run_steps(model, x, steps: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    batches = Batches(len(x), 64, seed)
    history = []
    for _ in range(steps):
        metrics = model.train_step(x[batches.next()], rng)
        history.append({k: float(model.backend.numpy(v)) for k, v in metrics.items()})
    return history


@pytest.mark.parametrize(
    "model,overrides",
    [
        ("mlp_gan", {}),
        ("mlp_gan", {"model.g_norm": "batchnorm", "model.activation": "leaky_relu", "model.loss": "minimax"}),
        ("mlp_vae", {}),
        ("mlp_vae", {"model.norm": "batchnorm"}),
    ],
    ids=["mlp_gan", "mlp_gan_bn_minimax", "mlp_vae", "mlp_vae_bn"],
)
def test_trajectory(pair, model, overrides):
    built, dataset = build_pair(pair, model, **overrides)
    histories, weights = {}, {}
    for name, m in built.items():
        histories[name] = run_steps(m, m.to_model_range(dataset.x), STEPS)
        weights[name] = m.weights()
    for step, (t, f) in enumerate(zip(histories["torch"], histories["tensorflow"]), start=1):
        for key in t:
            np.testing.assert_allclose(
                t[key], f[key], rtol=TRAJECTORY_LOSS_RTOL, atol=TRAJECTORY_LOSS_ATOL, err_msg=f"{key} at step {step}"
            )
    for key in weights["torch"]:
        np.testing.assert_allclose(weights["torch"][key], weights["tensorflow"][key], atol=TRAJECTORY_WEIGHT_ATOL, err_msg=key)
    first, last = histories["torch"][0], histories["torch"][-1]
    assert first != last  # the models did train
