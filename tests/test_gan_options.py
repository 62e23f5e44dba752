"""The GAN options that shape D's update, on every backend: D's own learning rate (two time
scales), the R1 penalty and the lazy penalties (its value and gradients: tests/parity/test_regularizers.py; the
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


LAZY = {
    "r1": ({}, {"model.r1_gamma": 10.0, "model.r1_every": 3}, 15.0),
    "gp": ({"model.loss": "wasserstein"}, {"model.gp_weight": 10.0, "model.gp_every": 3}, 30.0),
}


@pytest.mark.parametrize("penalty", sorted(LAZY))
def test_lazy_penalty_is_taken_once_every_k_steps_weighted_by_k(pair, penalty):
    """Lazy R1 (r1_every 3) and the lazy gradient penalty (gp_every 3): the penalty on steps 0,
    3, 6 only, at gamma * 3 / 2 (R1) or gp_weight * 3 (WGAN-GP) times it (step 0 against the
    run without it, same weights, batch and noise); the rhythm is counted by D's optimizer, so
    a model given another's weights and optimizer state after 4 steps goes on exactly as that
    one does (steps 4 and 5 plain, step 6 with the penalty)."""
    base, options, weight = LAZY[penalty]
    options = {**base, **options}
    plain, dataset = build_pair(pair, "mlp_gan", **base)
    lazy, _ = build_pair(pair, "mlp_gan", **options)
    for name in pair:
        (a,), history = run_steps(plain[name], dataset, 1), run_steps(lazy[name], dataset, 7)
        assert [i for i, h in enumerate(history) if penalty in h] == [0, 3, 6], name
        assert history[0]["d_loss"] == pytest.approx(a["d_loss"] + weight * history[0][penalty], rel=1e-5), name

        first, _ = build_pair({name: pair[name]}, "mlp_gan", **options)
        run_steps(first[name], dataset, 4)
        second, _ = build_pair({name: pair[name]}, "mlp_gan", **options)
        second[name].load_weights(first[name].weights())
        second[name].load_optimizer_state(first[name].optimizer_state())
        go_on = [run_steps(m[name], dataset, 3, seed=5) for m in (first, second)]
        assert [sorted(h) for h in go_on[1]] == [["d_loss", "g_loss"]] * 2 + [["d_loss", "g_loss", penalty]], name
        assert go_on[0] == go_on[1], name


def test_info_codes_are_learned_only_through_the_code_loss(pair):
    """InfoGAN: the step reports Q's cross-entropy on the code ("info"), about log K at the
    start; in 300 steps G and Q make the codes recognisable (measured: 1.39 -> 0.21 on
    torch and TensorFlow alike), which they cannot without the loss (`info_weight` 0: Q's guess
    stays at chance, as it does if G ignores the code)."""
    for weight, bound in ((1.0, 0.5), (0.0, None)):
        built, dataset = build_pair(pair, "mlp_gan", **{"model.info_codes": 4, "model.info_weight": weight})
        for name, m in built.items():
            history = run_steps(m, dataset, 300)
            first, last = history[0]["info"], float(np.mean([h["info"] for h in history[-10:]]))
            assert abs(first - np.log(4)) < 0.3, (name, first)
            if bound is None:
                assert last > 0.9 * np.log(4), (name, last)
            else:
                assert last < bound, (name, last)


def test_sample_takes_codes_and_keeps_the_noise_stream_of_models_without(pair):
    """`sample(codes=...)` puts the one-hot code after z; a model without codes refuses them
    and draws exactly the noise it always drew."""
    name = next(iter(pair))
    m = build_pair({name: pair[name]}, "mlp_gan", **{"model.info_codes": 3})[0][name]
    z = m.latent(np.random.default_rng(1), 6, np.array([0, 1, 2, 2, 1, 0]))
    assert z.shape == (6, m.latent_dim + 3) and z[:, m.latent_dim :].argmax(axis=1).tolist() == [0, 1, 2, 2, 1, 0]
    np.testing.assert_array_equal(m.sample(6, seed=1, codes=np.array([0, 1, 2, 2, 1, 0])), m.generate(z))
    with pytest.raises(ValueError, match=r"codes: 6 integers in \[0, 3\) expected"):
        m.sample(6, codes=np.array([0, 1, 2, 3, 1, 0]))
    p = build_pair({name: pair[name]}, "mlp_gan")[0][name]
    with pytest.raises(ValueError, match="has no latent code"):
        p.sample(2, codes=np.array([0, 1]))
    z = np.random.default_rng(4).standard_normal((5, p.latent_dim), dtype=np.float32)
    np.testing.assert_array_equal(p.sample(5, seed=4), p.generate(z))


def test_hinge_margin_reaches_ds_step(pair):
    """`model.hinge_margin`: while every margin is active (D's first outputs are near 0), D's
    hinge loss is 2m + E[D(G(z))] - E[D(x)], so with the same weights, batch and noise it grows
    by exactly 2 * (1000 - 1) from the margin of 1 to one of 1000."""
    plain, dataset = build_pair(pair, "mlp_gan", **{"model.loss": "hinge"})
    wide, _ = build_pair(pair, "mlp_gan", **{"model.loss": "hinge", "model.hinge_margin": 1000.0})
    for name in pair:
        (a,), (b,) = run_steps(plain[name], dataset, 1), run_steps(wide[name], dataset, 1)
        assert b["d_loss"] - a["d_loss"] == pytest.approx(1998.0, rel=1e-5), name
