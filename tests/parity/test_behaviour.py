"""Level 4 (reduced for CI): independent runs per backend, statistically indistinguishable
quality. The full 10-seed table is `aigc parity behaviour` (README, "Behaviour")."""

import pytest

from aigc.parity.behaviour import agree, compare_runs, run_seeds

from ..backend_list import BACKENDS, REFERENCE, need_two

SEEDS = [0, 1, 2]
VAE = ["train.steps=400", "model.hidden=64"]


@pytest.mark.slow
def test_vae_digits_backends_agree_and_the_test_has_power(tmp_path):
    need_two()
    runs = {b: run_seeds("configs/vae_digits.yaml", b, SEEDS, VAE, out=str(tmp_path)) for b in BACKENDS}
    (row,) = compare_runs(runs, ("negative_elbo",))
    assert row["agree"] and len(row["pairs"]) == len(BACKENDS) * (len(BACKENDS) - 1) // 2, row  # every pair
    # the same statistic flags a real difference: a 10x smaller learning rate (measured:
    # held-out negative ELBO 26.1 vs 28.7 nats, z = 12)
    slow = run_seeds("configs/vae_digits.yaml", REFERENCE, SEEDS, [*VAE, "optim.lr=1e-4"], out=str(tmp_path / "slow"))
    ok, z = agree([r["negative_elbo"] for r in runs[REFERENCE]], [r["negative_elbo"] for r in slow])
    assert not ok and z > 6


@pytest.mark.slow
def test_gan_ring8_backends_agree(ring8_runs):
    rows = compare_runs(ring8_runs, ("modes", "high_quality", "reverse_kl"))
    assert all(r["agree"] for r in rows), rows
