"""Config validation: one line naming the key and the allowed values, exit 2, nothing written."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigc import config
from aigc.errors import ConfigError

MAIN = "configs/gan_ring8.yaml"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.hiden=64", "unknown key model.hiden; allowed: name, latent_dim, hidden"),
        ("colour=red", "unknown key colour; allowed: backend, seed, device, out"),
        ("train.steps=many", "train.steps: expected int, got 'many'"),
        ("train.batch_size=true", "train.batch_size: expected int, got True"),
        ("backend=mxnet", "backend: 'mxnet' is not allowed; allowed: torch, tensorflow, jax"),
        ("model.name=stylegan", "model.name: 'stylegan' is not allowed; allowed: mlp_gan, mlp_vae"),
        ("data.name=imagenet", "data.name: 'imagenet' is not allowed; allowed: ring8, grid25, digits"),
        ("device=tpu", "device: 'tpu' does not match cpu, cuda or cuda:N"),
        ("optim.lr=-1", "optim.lr: -1.0 is below the minimum 0.0"),
        ("model.hinge_margin=0.5", "model.hinge_margin: 0.5 applies to loss hinge only, not non_saturating"),
    ],
)
def test_cli_config_errors(tmp_path, override, message):
    out = tmp_path / "run"
    r = cli("train", MAIN, override, f"out={out}")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert message in lines[0]
    assert not out.exists()


def test_config_file_with_unknown_key(tmp_path):
    raw = yaml.safe_load(Path(MAIN).read_text())
    raw["train"]["epochs"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    r = cli("train", str(path), f"out={tmp_path}/run")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "aigc: error: unknown key train.epochs; allowed: steps, batch_size, log_every, checkpoint_every, "
        "compile, progress, eval_samples, eval_every, eval_iwae_k, eval_images, keep_checkpoints, on_nonfinite, threads"
    )
    assert not (tmp_path / "run").exists()


def test_overrides_parse_yaml_scalars():
    cfg = config.load(MAIN, ["train.steps=7", "optim.lr=1e-3", "train.progress=false", "backend=tensorflow"])
    assert cfg.train.steps == 7 and cfg.optim.lr == 1e-3 and cfg.train.progress is False
    assert cfg.backend == "tensorflow"


def test_defaults_are_filled_and_resolved_config_round_trips():
    cfg = config.load({"model": {"name": "mlp_vae"}, "data": {"name": "digits"}})
    assert cfg.model.beta == 1.0 and cfg.train.batch_size == 128
    assert config.validate(yaml.safe_load(config.dump(cfg))) == cfg.to_dict()
    assert config.load(yaml.safe_load(config.dump(cfg))) == cfg


def test_yaml_object_tags_are_refused(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("backend: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(path)


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config.load(MAIN, ["train.steps"])


def test_path_with_nul_byte_is_a_config_error():
    """Found by tests/test_hostile_config.py: a NUL byte made pathlib raise ValueError."""
    with pytest.raises(ConfigError, match="cannot read config"):
        config.load("\x00")


def test_compile_mapping_names_each_backends_mode():
    """`train.compile: {tensorflow: xla}`: the named backend's mode, `auto` for the others;
    the resolved config (config.yaml) records the mode the run used."""
    raw = yaml.safe_load(Path(MAIN).read_text())
    raw["train"]["compile"] = {"tensorflow": "xla", "jax": "auto"}
    assert config.load(raw, backend="tensorflow").train.compile == "xla"
    assert config.load(raw, backend="torch").train.compile == "auto"
    assert config.load(raw, backend="tensorflow").to_dict()["train"]["compile"] == "xla"
    assert config.load(raw, ["train.compile=none"], backend="tensorflow").train.compile == "none"
    assert config.load(raw, ["train.compile.torch=none"], backend="torch").train.compile == "none"


@pytest.mark.parametrize(
    "mapping,message",
    [
        ({"tensorflw": "xla"}, "train.compile: 'tensorflw' is not a backend; allowed: torch, tensorflow, jax"),
        ({3: "xla"}, "train.compile: 3 is not a backend; allowed: torch, tensorflow, jax"),
        ({"tensorflow": 3}, "train.compile.tensorflow: expected str, got 3"),
        ({"tensorflow": "XLA!"}, "train.compile.tensorflow: 'XLA!' does not match a mode name"),
    ],
)
def test_compile_mapping_errors(mapping, message):
    raw = yaml.safe_load(Path(MAIN).read_text())
    raw["train"]["compile"] = mapping
    with pytest.raises(ConfigError) as exc:
        config.load(raw, backend="torch")
    assert message in str(exc.value) and "\n" not in str(exc.value)
