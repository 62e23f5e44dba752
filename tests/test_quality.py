"""Training reaches a measured quality on each backend (the issue's acceptance numbers)."""

import numpy as np
import pytest

import aigc

from .backend_list import params


@pytest.mark.xdist_group("ring8_runs")  # one worker trains the shared fixture
@pytest.mark.slow
@pytest.mark.parametrize("backend", params())
def test_gan_ring8_reduced_recipe_keeps_its_precision(ring8_runs, backend):
    """gan_ring8's recipe at a sixth of its steps (2,000; `ring8_runs`, seeds 0-2), PacGAN's
    statistics on 2,500 samples. Measured single-threaded (docs/results/sweeps.md, rows
    r8_new_2k / r8_old_2k): high quality 55.5 / 61.4 / 73.2% on torch (mean 63.4%), 43.2 /
    64.8 / 64.7% on TensorFlow (mean 57.6%), 58.7 / 57.9 / 72.7% on JAX (mean 63.1%); the recipe
    before issue #14 (no data.scale, no precise_bn) 17.6 / 61.7 / 11.3% (mean 30.2%), so it
    fails here. Coverage is not settled this early (JAX seed 1: 7 modes; all 8 at the full
    12,000), so only a lower bound on modes."""
    runs = ring8_runs[backend]
    assert min(r["modes"] for r in runs) >= 5, runs
    assert np.mean([r["high_quality"] for r in runs]) >= 0.45, runs


@pytest.mark.slow
@pytest.mark.parametrize("backend", params())
def test_vae_digits_held_out_elbo(tmp_path, backend):
    run = aigc.train("configs/vae_digits.yaml", backend=backend, out=str(tmp_path), train__progress=False)
    # held-out negative ELBO in nats per 8x8 image: an untrained model scores ~44 (64 * log 2),
    # the default training reaches ~23.7 on both backends
    assert run.evaluation["negative_elbo"] < 25.0, run.evaluation
