"""The image models' plumbing: shapes, labels, EMA, the per-class sample grid."""

import numpy as np
import pytest

from aigc.parity.tolerances import SAMPLE_ATOL

from .backend_list import REFERENCE, assert_close_pairs
from .parity.helpers import build_pair


@pytest.mark.parametrize("model", ["cgan", "cvae"])
def test_labels_choose_the_class(pair, model):
    """Samples follow the requested labels: equal on both backends, different per label."""
    built, dataset = build_pair(pair, model)
    out = {}
    for name, m in built.items():
        assert m.conditional
        threes, fives = m.sample(6, seed=1, labels=np.full(6, 3)), m.sample(6, seed=1, labels=np.full(6, 5))
        assert threes.shape == (6, *dataset.sample_shape)
        assert np.abs(threes - fives).max() > 1e-3  # the label reaches the output
        cycled = m.sample(20, seed=1)  # labels 0, 1, ..., 9, 0, 1, ... by default
        np.testing.assert_array_equal(cycled, m.sample(20, seed=1, labels=np.arange(20) % 10))
        out[name] = threes
    assert_close_pairs(out, atol=SAMPLE_ATOL)  # every pair of backends


@pytest.mark.parametrize("model", ["cgan", "cvae"])
def test_conditional_models_need_labels(pair, model):
    built, dataset = build_pair(pair, model)
    m = built[REFERENCE]
    with pytest.raises(ValueError, match="class-conditional"):
        m.train_step(m.to_model_range(dataset.x[:64]), np.random.default_rng(0))


@pytest.mark.parametrize("model", ["dcgan", "conv_vae"])
def test_unconditional_models_refuse_labels(pair, model):
    built, _ = build_pair(pair, model)
    with pytest.raises(ValueError, match="not class-conditional"):
        built[REFERENCE].sample(4, labels=np.zeros(4, np.int64))


def test_ema_generator_is_the_weight_average(pair):
    """G_ema follows decay * G_ema + (1 - decay) * G after every generator step."""
    built, dataset = build_pair(pair, "dcgan", **{"model.ema": 0.5})
    for name, m in built.items():
        before = {k: v for k, v in m.weights().items() if k.startswith("G.")}
        x = m.to_model_range(dataset.x[:64])
        m.train_step(x, np.random.default_rng(0))
        after = m.weights()
        for key, old in before.items():
            ema, live = after[key.replace("G.", "G_ema.", 1)], after[key]
            if key.endswith(("running_mean", "running_var")):
                np.testing.assert_allclose(ema, live, err_msg=f"{name} {key}")  # statistics: copied
            else:
                np.testing.assert_allclose(ema, 0.5 * old + 0.5 * live, rtol=1e-6, atol=1e-7, err_msg=f"{name} {key}")


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)], ids=["mnist", "cifar10"])
@pytest.mark.parametrize("model", ["dcgan", "cgan", "conv_vae", "cvae"])
def test_architectures_fit_mnist_and_cifar(model, shape):
    """The specs for 28x28 (two upsamplings from 7x7) and 32x32 (three from 4x4) images:
    G / the decoder output the image; D / the encoder take it (with a label channel)."""
    from aigc import config, models

    cfg = config.load({"model": {"name": model}, "data": {"name": "digits"}})
    specs = models.REGISTRY[model].architecture(cfg.model, shape, "images")
    out = specs["G"] if "G" in specs else specs["Dec"]
    judge = specs["D"] if "D" in specs else specs["E"]
    assert out.output_shape == shape
    assert judge.input_shape == shape[:2] + (shape[2] + ("D_label" in specs or "E_label" in specs),)
    assert judge.output_shape == ((1,) if "D" in specs else (2 * cfg.model.latent_dim,))
    for name in ("D_label", "E_label"):
        if name in specs:
            assert specs[name].output_shape == shape[:2] + (1,)


def test_hidden_dense_layers_are_infogans():
    """`g_hidden` / `d_hidden`: InfoGAN's MNIST networks, a Dense hidden layer (BatchNorm,
    activation) at G's input and before D's outputs; D's last Dense then holds Q's logits."""
    from aigc import config, models
    from aigc.specs import BatchNorm, Dense, Flatten

    raw = {"model": {"name": "dcgan", "g_hidden": 1024, "d_hidden": 1024, "info_codes": 10}, "data": {"name": "digits"}}
    cfg = config.load(raw)
    specs = models.REGISTRY["dcgan"].architecture(cfg.model, (28, 28, 1), "images")
    g, d = specs["G"].layers, specs["D"].layers
    assert isinstance(g[0], Dense) and g[0].units == 1024 and isinstance(g[1], BatchNorm)
    assert isinstance(g[3], Dense) and g[3].units == 7 * 7 * 2 * cfg.model.channels
    tail = d[[i for i, layer in enumerate(d) if isinstance(layer, Flatten)][0] + 1 :]
    assert [type(layer) for layer in tail[:2]] == [Dense, BatchNorm] and tail[0].units == 1024
    assert specs["D"].output_shape == (11,)  # real/fake and ten code logits


@pytest.mark.parametrize(
    "norm, on_convs, on_denses", [("spectral", True, True), ("spectral_conv", True, False), ("none", False, False)]
)
def test_spectral_norm_covers_the_layers_d_norm_names(norm, on_convs, on_denses):
    """`d_norm: spectral` normalises every layer of D (Miyato et al.); `spectral_conv` only its
    convolutions, leaving the Dense hidden layer and the logits plain. D's BatchNorm is off
    for all three."""
    from aigc import config, models
    from aigc.specs import BatchNorm, Conv2d, Dense

    raw = {"model": {"name": "dcgan", "d_hidden": 16, "d_norm": norm}, "data": {"name": "digits"}}
    d = models.REGISTRY["dcgan"].architecture(config.load(raw).model, (28, 28, 1), "images")["D"].layers
    convs, denses = [x for x in d if isinstance(x, Conv2d)], [x for x in d if isinstance(x, Dense)]
    assert len(convs) == 3 and len(denses) == 2 and not any(isinstance(x, BatchNorm) for x in d)
    assert [x.spectral_norm for x in convs] == [on_convs] * 3
    assert [x.spectral_norm for x in denses] == [on_denses] * 2


@pytest.mark.parametrize(
    "overrides",
    [{}, {"model.n_critic": 2, "model.loss": "wasserstein", "model.gp_weight": 10.0}],
    ids=["plain", "wgan_gp"],
)
def test_discriminator_dropout_masks_come_from_the_core(pair, overrides):
    """`d_dropout`: one keep-mask per Dropout layer for every call of D in the step (real,
    fake, [interpolates] per critic update, then the generator's), dropping about `rate` of
    the units; the step's losses change with them, equally on both backends."""
    from aigc import dropout

    rate = 0.3
    built, dataset = build_pair(pair, "dcgan", **{"model.d_dropout": rate, "model.d_norm": "none", **overrides})
    plain, _ = build_pair(pair, "dcgan", **{"model.d_norm": "none", **overrides})
    m = built[REFERENCE]
    spec = m.specs["D"]
    assert len(spec.dropout_shapes()) == 3  # after each of the three LeakyReLUs
    batch = 64
    keep = m.random_inputs(np.random.default_rng(0), batch)["d_keep"]
    units = sum(int(np.prod(shape)) for shape in spec.dropout_shapes())
    assert keep.shape == (m.d_calls, batch // m.n_critic // m.pack, units)
    assert set(np.unique(keep)) == {0.0, 1.0}
    assert abs(1.0 - keep.mean() - rate) < 0.01
    assert [tuple(t.shape) for t in dropout.split(m.backend, spec, m.backend.tensor(keep), 0)] == [
        (keep.shape[1], *shape) for shape in spec.dropout_shapes()
    ]
    x = m.to_model_range(dataset.x[:batch])
    losses = {}
    for name in built:
        out = built[name].train_step(x, np.random.default_rng(0))
        losses[name] = float(built[name].backend.numpy(out["d_loss"]))
    ref = plain[REFERENCE]
    without = float(ref.backend.numpy(ref.train_step(x, np.random.default_rng(0))["d_loss"]))
    assert abs(losses[REFERENCE] - without) > 1e-4  # the masks reach D
    for name in built:  # each against the first installed backend
        np.testing.assert_allclose(losses[name], losses[REFERENCE], rtol=1e-4, err_msg=name)


@pytest.mark.slow
def test_torch_compile_runs_the_conv_gan_step_like_eager(pair):
    """torch.compile of a DCGAN step (G's channels-last output recorded for G's update)
    gives eager's losses: it once failed in AOT autograd's view replay."""
    if "torch" not in pair:  # torch.compile itself: a torch test
        pytest.skip("torch is not installed or not selected")
    losses = {}
    for mode in ("none", "torch_compile"):
        built, dataset = build_pair({"torch": pair["torch"]}, "dcgan", **{"train.compile": mode})
        m, rng = built["torch"], np.random.default_rng(0)
        x = m.to_model_range(dataset.x[:16])
        losses[mode] = [{k: float(m.backend.numpy(v)) for k, v in m.train_step(x, rng).items()} for _ in range(2)]
    for eager, compiled in zip(losses["none"], losses["torch_compile"]):
        for key in eager:
            assert compiled[key] == pytest.approx(eager[key], rel=1e-4, abs=1e-6), (key, losses)
