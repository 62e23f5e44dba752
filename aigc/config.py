"""YAML configs: strict schema, command-line overrides, one-line errors, a typed form.

Every key is declared here (or by the model / dataset it selects); anything else is an error
that names the key and the allowed values. `validate` turns a raw nested dict into the
resolved one (every key checked, every default filled in, in the schemas' order): the plain
form that checkpoints and config.yaml store. `load` returns that config's typed form, a
frozen `Config` read as `cfg.model.n_critic`; `Config.to_dict()` gives the plain form back.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from . import backends, data, models, threads
from .errors import ConfigError, excerpt
from .schema import Field, Schema, Section, check_section, key_text, named_schema, named_section, typed

MAX_IWAE_K = 100_000  # importance samples per example (Burda et al. use 5,000)


def _safe_yaml(text: str) -> Any:
    """yaml.safe_load, with every failure as yaml.YAMLError: PyYAML's scalar constructors raise
    ValueError, AttributeError, ... for e.g. `2020-02-30`, `0x_` or `!!timestamp no`."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise
    except Exception as exc:
        raise yaml.YAMLError(f"{type(exc).__name__}: {exc}") from None


TRAIN: Schema = {
    "steps": Field(int, 2000, minimum=0, help="optimizer steps (a GAN step: n_critic D updates and one G update)"),
    "batch_size": Field(
        int, 128, minimum=1, help="examples per batch (a GAN with n_critic > 1 takes n_critic batches per step)"
    ),
    "log_every": Field(int, 100, minimum=1, help="steps between metric log lines"),
    "checkpoint_every": Field(int, 0, minimum=0, help="0: only at the end"),
    "compile": Field(
        str,
        "auto",
        pattern=r"[a-z][a-z0-9_]{0,39}",
        expected="a mode name such as auto or none",
        help="how the step runs: auto (the backend's default), none (eager), or one of the backend's own "
        "modes (its compile_modes; `aigc backends` lists them), checked when training starts; or a mapping "
        "backend -> mode, `auto` for a backend it leaves out ({tensorflow: xla})",
    ),
    "progress": Field(bool, True, help="show a progress bar"),
    "eval_samples": Field(int, 2500, minimum=1, help="samples drawn for the evaluation"),
    "eval_every": Field(
        int, 0, minimum=0, help="steps between evaluations (metrics.jsonl); 0: only at the end (eval.json)"
    ),
    "eval_iwae_k": Field(
        int,
        0,
        minimum=0,
        maximum=MAX_IWAE_K,
        help="VAEs: importance samples of the IWAE NLL in evaluations; 0: skip it",
    ),
    "eval_images": Field(
        bool,
        False,
        help="images: FID, precision/recall and classifier score at evaluation "
        "(trains the classifier on first use: minutes); `aigc eval` computes them afterwards",
    ),
    "keep_checkpoints": Field(int, 3, minimum=1, help="newest checkpoints kept in <out>/checkpoint"),
    "on_nonfinite": Field(str, "stop", choices=("stop", "rollback"), help="what a NaN/inf loss or weight does"),
    "threads": Field(
        int,
        "auto",
        minimum=1,
        maximum=threads.MAX_THREADS,
        keywords=threads.SETTINGS,
        help="framework threads: auto (this process's cores, shared with the other aigc processes "
        "running; docs/threads.md), a number, or framework (its own default); OMP_NUM_THREADS "
        "set by the user wins over auto",
    ),
}

OPTIM: Schema = {
    "name": Field(str, "adam", choices=("adam",), help="the optimizer: aigc's Adam, one formula on every backend"),
    "lr": Field(float, 2e-4, minimum=0.0, help="learning rate"),
    "beta1": Field(float, 0.5, minimum=0.0, below=1.0, help="Adam's first-moment decay"),
    "beta2": Field(float, 0.999, minimum=0.0, below=1.0, help="Adam's second-moment decay"),
    "eps": Field(
        float, 1e-8, minimum=0.0, help="Adam's epsilon, added to the bias-corrected sqrt(v) (torch's placement)"
    ),
    "schedule": Field(str, "constant", choices=("constant", "linear"), help="linear: lr decays to 0 at train.steps"),
}

DEVICE_PATTERN = r"cpu|cuda(:\d+)?"


def top_level(backend_names: list[str]) -> Schema:
    return {
        "backend": Field(
            str, "torch", choices=tuple(backend_names), help="torch or tensorflow (any installed aigc.backends plugin)"
        ),
        "seed": Field(int, 0, minimum=0, help="seeds everything: initial weights, data, batches, noise"),
        "device": Field(str, "cpu", pattern=DEVICE_PATTERN, help="cpu, cuda or cuda:N"),
        "out": Field(
            str, "runs/default", help="the run directory (config.yaml, metrics.jsonl, eval.json, checkpoint/)"
        ),
        "resume": Field(bool, False, help="continue from the newest checkpoint in <out>/checkpoint"),
    }


SECTIONS = ("model", "data", "train", "optim")


def validate(raw: Any) -> dict:
    """The resolved config: every key checked, every default filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config is a mapping of keys, got {type(raw).__name__}")
    top = top_level(backends.names())
    allowed = list(top) + list(SECTIONS)
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"unknown key {key_text(key)}; allowed: {', '.join(allowed)}")
    cfg = {key: field.check(key, raw[key]) if key in raw else field.default for key, field in top.items()}
    cfg["model"] = named_section("model", raw.get("model"), models.SCHEMAS)
    margin, loss = cfg["model"].get("hinge_margin", 1.0), cfg["model"].get("loss")
    if margin != 1.0 and loss != "hinge":
        raise ConfigError(f"model.hinge_margin: {margin} applies to loss hinge only, not {loss}")
    cfg["data"] = named_section("data", raw.get("data"), data.SCHEMAS)
    cfg["train"] = check_section("train", _compile_for(raw.get("train"), cfg["backend"]), TRAIN)
    cfg["optim"] = check_section("optim", raw.get("optim"), OPTIM)
    return cfg


def _compile_for(train: Any, backend: str) -> Any:
    """The train section with a per-backend `compile` mapping ({tensorflow: xla}) replaced by
    `backend`'s mode (`auto` where the mapping leaves it out): the resolved config, and so
    config.yaml, records the mode the run used."""
    if not isinstance(train, dict) or not isinstance(train.get("compile"), dict):
        return train
    known = backends.names()
    for key, mode in train["compile"].items():
        if key not in known:
            raise ConfigError(f"train.compile: {excerpt(key)} is not a backend; allowed: {', '.join(known)}")
        TRAIN["compile"].check(f"train.compile.{key}", mode)
    return {**train, "compile": train["compile"].get(backend, "auto")}


def parse_override(text: str) -> tuple[list[str], Any]:
    """`model.hidden=256` -> (["model", "hidden"], 256); the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise ConfigError(f"override {excerpt(text)}: expected KEY=VALUE or KEY.SUB=VALUE")
    try:
        parsed = _safe_yaml(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, (dict, list)) or parsed is None:
        parsed = value
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    raw = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {excerpt(text)}: {part} is not a section")
            node = child
        node[path[-1]] = value
    return raw


def read_yaml(path: str | Path) -> Any:
    try:
        text = Path(path).read_text()
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        raise ConfigError(f"cannot read config {excerpt(str(path))}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return _safe_yaml(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise ConfigError(f"{excerpt(str(path))}: not valid YAML ({first[:160]})") from None


@dataclasses.dataclass(frozen=True)
class Config:
    """A resolved config in its typed form: the top-level keys, then one frozen section each.

    The sections are dataclasses generated from their schemas (`aigc.schema.section_type`),
    so their fields are the keys `validate` checks, with the types it checks; `model` and
    `data` are the classes of the model and dataset they name (`cfg.model.n_critic` exists
    for a GAN, `cfg.model.beta` for a VAE). Build one with `load` or `Config.from_dict`;
    `to_dict()` is the plain dict (checkpoints, config.yaml); `replace` derives a changed,
    checked copy."""

    backend: str
    seed: int
    device: str
    out: str
    resume: bool
    model: Section
    data: Section
    train: Section
    optim: Section

    @classmethod
    def from_dict(cls, raw: dict) -> Config:
        """A config dict (a checkpoint's, or one written by hand) validated and typed."""
        cfg = validate(raw)
        named = lambda key, registry: typed(
            f"{key}.{cfg[key]['name']}", cfg[key], named_schema(cfg[key]["name"], registry)
        )
        sections = {
            "model": named("model", models.SCHEMAS),
            "data": named("data", data.SCHEMAS),
            "train": typed("train", cfg["train"], TRAIN),
            "optim": typed("optim", cfg["optim"], OPTIM),
        }
        return cls(**{**cfg, **sections})

    def to_dict(self) -> dict:
        """The plain resolved dict: `validate`'s result, equal keys, values and order."""
        return {
            f.name: value.to_dict() if isinstance(value, Section) else value
            for f in dataclasses.fields(self)
            for value in [getattr(self, f.name)]
        }

    def replace(self, *overrides: str, **changes: Any) -> Config:
        """A changed copy, checked again: `KEY=VALUE` strings as on the command line and
        keywords as `load` takes them (`train__steps=5`, or `**{"train.steps": 5}`); a whole
        section may be given as a mapping (`model={"name": "mlp_vae"}` replaces the model)."""
        return load(self.to_dict(), list(overrides), **changes)

    def __reduce__(self):  # pickled as the plain dict: the section classes are made at run time
        return (Config.from_dict, (self.to_dict(),))


def load(source: str | Path | dict | Config, overrides: list[str] | None = None, **kwargs: Any) -> Config:
    """Read (if a path), apply `KEY=VALUE` overrides and keyword overrides (`train__steps=5`
    or `**{"train.steps": 5}`), validate: the typed `Config`."""
    if isinstance(source, Config):
        source = source.to_dict()
    raw = read_yaml(source) if isinstance(source, (str, Path)) else copy.deepcopy(source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"a config is a mapping of keys, got {type(raw).__name__}")
    items = list(overrides or [])
    raw = apply_overrides(raw, items)
    for key, value in kwargs.items():
        value = value.to_dict() if isinstance(value, Section) else value
        raw = _set_path(raw, key.split("__") if "__" in key else key.split("."), value)
    return Config.from_dict(raw)


def _set_path(raw: dict, path: list[str], value: Any) -> dict:
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
    node[path[-1]] = value
    return raw


def dump(cfg: Config | dict) -> str:
    """config.yaml's text: the plain resolved dict as YAML, in the schemas' order."""
    return yaml.safe_dump(cfg.to_dict() if isinstance(cfg, Config) else cfg, sort_keys=False)
