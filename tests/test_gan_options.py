"""The GAN options that shape D's update, on every backend: D's own learning rate (two time
scales) and the R1 penalty (its value and gradients: tests/parity/test_regularizers.py; the
whole step: the r1_ttur case of tests/parity/test_trajectory.py)."""

import numpy as np
import pytest

from aigc.weights import get_weights

from .parity.helpers import build_pair, run_steps


def _moved(before: dict, after: dict) -> float:
    return max(float(np.abs(after[k] - before[k]).max()) for k in before)


def test_d_lr_sets_the_discriminators_step_and_leaves_the_generators(pair):
    """Adam's first step moves a weight by about lr (exactly lr where the gradient is far from
    0): D's weights move by model.d_lr, G's by optim.lr."""
    built, dataset = build_pair(pair, "mlp_gan", **{"optim.lr": 1e-4, "model.d_lr": 1e-2})
    for name, m in built.items():
        assert (m.optimizers["D"].config.lr, m.optimizers["G"].config.lr) == (1e-2, 1e-4)
        before = {n: get_weights(m.backend, m.nets[n]) for n in ("G", "D")}
        run_steps(m, dataset, 1)
        moved = {n: _moved(before[n], get_weights(m.backend, m.nets[n])) for n in ("G", "D")}
        assert moved["D"] == pytest.approx(1e-2, rel=1e-3), name
        assert moved["G"] == pytest.approx(1e-4, rel=1e-3), name


def test_r1_is_reported_and_adds_to_ds_loss(pair):
    """The step reports the penalty; D's loss grows by gamma / 2 times it (same weights, batch
    and noise as the run without it)."""
    plain, dataset = build_pair(pair, "mlp_gan")
    with_r1, _ = build_pair(pair, "mlp_gan", **{"model.r1_gamma": 10.0})
    for name in pair:
        (a,), (b,) = run_steps(plain[name], dataset, 1), run_steps(with_r1[name], dataset, 1)
        assert "r1" not in a and b["r1"] > 0, name
        assert b["d_loss"] == pytest.approx(a["d_loss"] + 5.0 * b["r1"], rel=1e-5), name
