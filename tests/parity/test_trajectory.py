"""Level 3: K optimizer steps from the same weights, batches and noise give the same losses
step by step and the same weights after K steps."""

import numpy as np
import pytest

from aigc import models
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


# Variants beyond each model's defaults: BatchNorm and the other activation/loss choices.
VARIANTS = {
    "gan": {"bn_minimax": {"model.g_norm": "batchnorm", "model.activation": "leaky_relu", "model.loss": "minimax"},
            "packed": {"model.pack": 4}},
    "vae": {"bn": {"model.norm": "batchnorm"}, "gaussian_beta4": {"model.likelihood": "gaussian", "model.beta": 4.0}},
}
CASES = [(name, "defaults", {}) for name in models.REGISTRY] + [
    (name, label, overrides)
    for name, entry in models.REGISTRY.items()
    for label, overrides in VARIANTS[entry.family.family].items()
]


@pytest.mark.parametrize("model,label,overrides", CASES, ids=[f"{m}-{label}" for m, label, _ in CASES])
def test_trajectory(pair, model, label, overrides):
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
