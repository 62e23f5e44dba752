"""The typed config: frozen sections generated from the schemas, read as `cfg.model.n_critic`,
the plain dict (checkpoints, config.yaml) given back unchanged."""

import dataclasses
import pickle
from pathlib import Path

import pytest
import yaml

from aigc import backends, config, data, models
from aigc.errors import ConfigError
from aigc.schema import Section, named_schema, section_type

SHIPPED = sorted(Path("configs").rglob("*.yaml"))


def test_attribute_access_and_section_types():
    cfg = config.load("configs/wgan_gp_mnist.yaml")
    assert cfg.backend == "torch" and cfg.seed == 0 and cfg.resume is False
    assert cfg.model.name == "dcgan" and cfg.model.n_critic == 5 and cfg.model.gp_weight == 10.0
    assert cfg.data.name == "mnist" and cfg.data.split == "train"
    assert cfg.train.steps == 1000 and cfg.optim.beta1 == 0.0
    assert type(cfg.model).__name__ == "ModelDcganSection" and isinstance(cfg.model, Section)
    vae = config.load("configs/vae_digits.yaml")
    assert vae.model.beta == 1.0 and not hasattr(vae.model, "n_critic")  # each model its own keys


def test_frozen():
    cfg = config.load("configs/gan_ring8.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model.hidden = 64
    assert cfg.model.g_widths == ()  # lists are tuples in the typed form: nothing in it is mutable
    assert hash(cfg) == hash(config.load("configs/gan_ring8.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p) for p in SHIPPED])
def test_every_shipped_config_round_trips(path):
    """dict -> typed -> dict gives `validate`'s dict: the same keys, values and order."""
    resolved = config.validate(yaml.safe_load(path.read_text()))
    cfg = config.Config.from_dict(resolved)
    assert cfg.to_dict() == resolved
    assert list(cfg.to_dict()) == list(resolved) and list(cfg.to_dict()["model"]) == list(resolved["model"])
    assert yaml.safe_dump(cfg.to_dict(), sort_keys=False) == config.dump(resolved) == config.dump(cfg)
    assert config.load(path) == cfg and pickle.loads(pickle.dumps(cfg)) == cfg


def test_unknown_keys_and_bad_values_are_still_config_errors():
    with pytest.raises(ConfigError, match="unknown key model.hiden; allowed: name, latent_dim"):
        config.load("configs/gan_ring8.yaml", ["model.hiden=64"])
    cfg = config.load("configs/gan_ring8.yaml")
    with pytest.raises(ConfigError, match="unknown key train.epochs"):
        cfg.replace("train.epochs=3")
    with pytest.raises(ConfigError, match="optim.lr: -1.0 is below the minimum"):
        cfg.replace(optim__lr=-1)
    with pytest.raises(ConfigError, match="unknown key colour"):
        config.Config.from_dict({**cfg.to_dict(), "colour": "red"})


def test_replace_derives_a_checked_copy():
    cfg = config.load("configs/gan_ring8.yaml")
    other = cfg.replace("train.steps=5", seed=3, **{"model.hidden": 64})
    assert (other.train.steps, other.seed, other.model.hidden) == (5, 3, 64)
    assert cfg.train.steps == 12000 and cfg.model.hidden == 128  # the original is unchanged
    assert cfg.replace(train__steps=5) == other.replace(seed=0, model__hidden=128)
    vae = cfg.replace(model={"name": "mlp_vae"}, data={"name": "digits"})  # a whole section
    assert vae.model.name == "mlp_vae" and vae.model.beta == 1.0 and vae.data.split == "train"
    assert cfg.replace(model=cfg.model.replace(hidden=32)).model.hidden == 32  # a section, checked again
    assert dataclasses.replace(cfg.train, steps=7).steps == 7  # unchecked, within a section


def test_sections_are_generated_from_the_schemas():
    """One field per schema key, in order, typed as the schema checks it: the typed form
    cannot drift from the validation."""
    for name in models.SCHEMAS:
        fields = dataclasses.fields(section_type(f"model.{name}", named_schema(name, models.SCHEMAS)))
        assert [f.name for f in fields] == ["name", *models.SCHEMAS[name]]
    for name in data.SCHEMAS:
        fields = dataclasses.fields(section_type(f"data.{name}", named_schema(name, data.SCHEMAS)))
        assert [f.name for f in fields] == ["name", *data.SCHEMAS[name]]
    train = {f.name: f.type for f in dataclasses.fields(section_type("train", config.TRAIN))}
    assert list(train) == list(config.TRAIN) and train["steps"] is int and train["threads"] == int | str
    assert section_type("train", config.TRAIN) is section_type("train", dict(config.TRAIN))  # made once
    top = [f.name for f in dataclasses.fields(config.Config)]
    assert top == [*config.top_level(backends.names()), *config.SECTIONS]


def test_data_sections_from_mappings():
    section = data.section({"name": "digits", "split": "test"})
    assert section == config.load({"model": {"name": "mlp_vae"}, "data": {"name": "digits", "split": "test"}}).data
    assert data.section(section) is section
    with pytest.raises(ConfigError, match="unknown key data.colour"):
        data.section({"name": "digits", "colour": "red"})
