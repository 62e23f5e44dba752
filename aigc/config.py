"""YAML configs: strict schema, command-line overrides, one-line errors.

A config is a plain nested dict. Every key is declared here (or by the model / dataset
it selects); anything else is an error that names the key and the allowed values.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import threads
from .errors import ConfigError, excerpt


@dataclass(frozen=True)
class Field:
    type: type
    default: Any
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    help: str = ""
    keywords: tuple[str, ...] = ()  # words allowed besides values of `type` (threads: auto)
    below: float | None = None  # an exclusive maximum: beta1 in [0, 1)

    def check(self, key: str, value: Any) -> Any:
        if isinstance(value, str) and value in self.keywords:
            return value
        if self.type is list:  # a list of positive ints (layer widths)
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
            ):
                raise ConfigError(
                    f"{key}: expected a list of positive integers such as [256, 512], got {excerpt(value)}"
                )
            if len(value) > MAX_LIST:
                raise ConfigError(f"{key}: at most {MAX_LIST} widths, got {len(value)}")
            return list(value)
        if self.type is float:
            value = _as_float(key, value)
        if self.type is not bool and isinstance(value, bool) or not isinstance(value, self.type):
            expected = " or ".join([*self.keywords, self.type.__name__])
            raise ConfigError(f"{key}: expected {expected}, got {excerpt(value)}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{key}: {excerpt(value)} is not allowed; allowed: {', '.join(map(str, self.choices))}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{key}: {excerpt(value)} is below the minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{key}: {excerpt(value)} is above the maximum {self.maximum:g}")
        if self.below is not None and value >= self.below:
            raise ConfigError(
                f"{key}: {excerpt(value)} must be below {self.below:g} "
                f"(allowed: [{self.minimum or 0:g}, {self.below:g}))"
            )
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ConfigError(f"{key}: {excerpt(value)} does not match {self.help or self.pattern}")
        return value


Schema = dict[str, Field]
MAX_LIST = 1000  # layer widths in a list
MAX_DEPTH = 1000  # hidden layers
MAX_IWAE_K = 100_000  # importance samples per example (Burda et al. use 5,000)


def _as_float(key: str, value: Any) -> Any:
    """Ints and strings such as "1e-3" (PyYAML reads a float without a dot as a string) as a
    float; NaN, infinity and ints too big for a float are refused. Anything else is left to
    the type check."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{key}: expected a finite float, got {excerpt(value)}")
    return number


def _key(key: Any) -> str:
    """A key as written in messages: plain if it is a name, else its repr (keeps errors one line)."""
    return key if isinstance(key, str) and key.isidentifier() and len(key) <= 60 else excerpt(key)


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
    "steps": Field(int, 2000, minimum=0),
    "batch_size": Field(int, 128, minimum=1),
    "log_every": Field(int, 100, minimum=1, help="steps between metric log lines"),
    "checkpoint_every": Field(int, 0, minimum=0, help="0: only at the end"),
    "compile": Field(str, "auto", choices=("auto", "none", "xla", "torch_compile")),
    "progress": Field(bool, True),
    "eval_samples": Field(int, 2500, minimum=1),
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
    "name": Field(str, "adam", choices=("adam",)),
    "lr": Field(float, 2e-4, minimum=0.0),
    "beta1": Field(float, 0.5, minimum=0.0, below=1.0),
    "beta2": Field(float, 0.999, minimum=0.0, below=1.0),
    "eps": Field(float, 1e-8, minimum=0.0),
    "schedule": Field(str, "constant", choices=("constant", "linear"), help="linear: lr decays to 0 at train.steps"),
}

DEVICE_PATTERN = r"cpu|cuda(:\d+)?"


def top_level(backends: list[str]) -> Schema:
    return {
        "backend": Field(str, "torch", choices=tuple(backends)),
        "seed": Field(int, 0, minimum=0),
        "device": Field(str, "cpu", pattern=DEVICE_PATTERN, help="cpu, cuda or cuda:N"),
        "out": Field(str, "runs/default"),
        "resume": Field(bool, False, help="continue from the newest checkpoint in <out>/checkpoint"),
    }


SECTIONS = ("model", "data", "train", "optim")


def _check_section(section: str, raw: Any, schema: Schema) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping, got {excerpt(raw)}")
    out = {}
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError(f"unknown key {section}.{_key(key)}; allowed: {', '.join(schema)}")
        out[key] = schema[key].check(f"{section}.{key}", value)
    for key, field in schema.items():
        out.setdefault(key, copy.deepcopy(field.default))
    return out


def _named_section(section: str, raw: Any, registry: dict[str, Schema]) -> dict:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{section}.name is required; allowed: {', '.join(registry)}")
    name = raw["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{section}.name: expected str, got {excerpt(name)}")
    if name not in registry:
        raise ConfigError(f"{section}.name: {excerpt(name)} is not allowed; allowed: {', '.join(registry)}")
    schema = {"name": Field(str, name), **registry[name]}
    return _check_section(section, raw, schema)


def validate(raw: Any) -> dict:
    """The resolved config: every key checked, every default filled in."""
    from . import backend, data, models

    if not isinstance(raw, dict):
        raise ConfigError(f"a config is a mapping of keys, got {type(raw).__name__}")
    top = top_level(backend.names())
    allowed = list(top) + list(SECTIONS)
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"unknown key {_key(key)}; allowed: {', '.join(allowed)}")
    cfg = {key: field.check(key, raw[key]) if key in raw else field.default for key, field in top.items()}
    cfg["model"] = _named_section("model", raw.get("model"), models.SCHEMAS)
    cfg["data"] = _named_section("data", raw.get("data"), data.SCHEMAS)
    cfg["train"] = _check_section("train", raw.get("train"), TRAIN)
    cfg["optim"] = _check_section("optim", raw.get("optim"), OPTIM)
    return cfg


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


def load(source: str | Path | dict, overrides: list[str] | None = None, **kwargs: Any) -> dict:
    """Read (if a path), apply `KEY=VALUE` overrides and keyword overrides, validate."""
    raw = read_yaml(source) if isinstance(source, (str, Path)) else copy.deepcopy(source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"a config is a mapping of keys, got {type(raw).__name__}")
    items = list(overrides or [])
    raw = apply_overrides(raw, items)
    for key, value in kwargs.items():
        raw = _set_path(raw, key.split("__") if "__" in key else key.split("."), value)
    return validate(raw)


def _set_path(raw: dict, path: list[str], value: Any) -> dict:
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a section")
    node[path[-1]] = value
    return raw


def dump(cfg: dict) -> str:
    return yaml.safe_dump(cfg, sort_keys=False)
