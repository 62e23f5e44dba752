"""Hostile configs: any tree of YAML-ish values and any override string either validates or
raises ConfigError (one line for the CLI), never another exception."""

import copy
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aigc import config
from aigc.errors import ConfigError

MAIN = "configs/gan_ring8.yaml"
VALID = yaml.safe_load(Path(MAIN).read_text())

# Real names and values, so that random trees get past the first check and reach the deep ones.
KEYS = [
    "backend",
    "seed",
    "device",
    "out",
    "resume",
    "model",
    "data",
    "train",
    "optim",
    "name",
    "hidden",
    "latent_dim",
    "std",
    "size",
    "split",
    "steps",
    "batch_size",
    "keep_checkpoints",
    "on_nonfinite",
    "lr",
]
VALUES = ["mlp_gan", "mlp_vae", "ring8", "digits", "torch", "tensorflow", "cuda:0", "stop", "rollback", "adam"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(VALUES)
    | st.integers(min_value=10**308, max_value=10**400)
)
trees = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5) | st.integers() | st.none(), children, max_size=4)
    ),
    max_leaves=12,
)
PATHS = [[key] for key in ("backend", "seed", "device", "out", "resume", "model", "data", "train", "optim")] + [
    [section, key] for section, values in VALID.items() if isinstance(values, dict) for key in values
]
# YAML scalars that trip PyYAML's constructors (impossible dates, bad tags, aliases) or float().
TRICKY = [
    "2020-02-30",
    "2020-13-01 10:00:00",
    "!!float abc",
    "!!int x",
    "!!binary ???",
    "!!timestamp no",
    "!!set {a}",
    "&a [*a]",
    "!!python/name:os.system",
    ".nan",
    "-.inf",
    "1e400",
    "9" * 400,
    "[",
    "{a: 1}",
    "~",
    "!!omap [a, b]",
    "!!str",
    "'",
    "\x00",
    "0x_",
    "0b2",
    "1_000",
    "2001-12-14t21:59:43.10-05:00",
]


def _outcome(fn, *args) -> None:
    """A resolved config that validates to itself, or a one-line ConfigError."""
    try:
        cfg = fn(*args)
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        plain = cfg.to_dict()
        assert set(plain) >= {"backend", "resume", "model", "data", "train", "optim"}
        assert config.validate(copy.deepcopy(plain)) == plain
        assert config.Config.from_dict(plain) == cfg


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees)
@example(tree={"model": {"name": ["mlp_gan"]}, "data": {"name": "ring8"}})
@example(tree={"model": {"name": "mlp_gan"}, "data": {"name": "ring8"}, "optim": {"lr": 10**400}})
def test_random_trees_validate_or_raise_config_error(tree):
    _outcome(config.load, tree)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=trees)
def test_one_hostile_value_in_a_valid_config(path, value):
    raw = copy.deepcopy(VALID)
    node = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    _outcome(config.load, raw)


known_keys = st.sampled_from([".".join(p) for p in PATHS])
any_keys = st.from_regex(r"[a-z_]{1,8}(\.[a-z_]{1,8}){0,3}", fullmatch=True)
overrides = (
    st.text(max_size=30)
    | st.builds("{}={}".format, known_keys, st.sampled_from(TRICKY) | st.text(max_size=12))
    | st.builds("{}={}".format, any_keys, st.text(max_size=12))
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(override=overrides)
@example(override="seed=2020-02-30")
@example(override="model.name=!!set {a}")
@example(override="optim.lr=" + "9" * 400)
@example(override="seed=!!timestamp no")
def test_random_overrides_validate_or_raise_config_error(override):
    _outcome(config.load, MAIN, [override])


def test_findings_are_one_line_config_errors(tmp_path):
    """What the property tests found (each was a raw traceback before), pinned with its message."""
    cases = {
        "seed=2020-02-30": "seed: expected int, got '2020-02-30'",  # PyYAML's date() raised ValueError
        "seed=0x_": "seed: expected int, got '0x_'",  # PyYAML's int('', 16) raised ValueError
        "data.size=!!timestamp no": "data.size: expected int, got '!!timestamp no'",  # AttributeError
        "model.name=!!set {a}": "model.name: expected str, got {'a'}",  # unhashable name: TypeError
        "optim.lr=" + "9" * 400: "optim.lr: expected a finite float, got 999",  # float(int): OverflowError
        "optim.lr=.nan": "optim.lr: expected a finite float, got nan",  # NaN passed every check
    }
    for override, message in cases.items():
        with pytest.raises(ConfigError) as info:
            config.load(MAIN, [override])
        assert str(info.value).startswith(message), (override, str(info.value))
    with pytest.raises(ConfigError, match=r"^unknown key 'a\\nb'; allowed: backend"):
        config.load({"a\nb": 1})  # a key with a newline is quoted: the error stays one line
    path = tmp_path / "date.yaml"
    path.write_text("seed: 2020-02-30\n")
    with pytest.raises(ConfigError, match="not valid YAML .ValueError: day is out of range for month"):
        config.load(path)
