"""The schema machinery: a `Field` per config key (type, default, range, help) and the
checks of a section against its `Schema`.

It sits at the bottom of the import graph (it imports only `errors`): `config` builds the
whole config's schema from it, and each model and dataset declares its own section's keys
with it, so none of them imports another to describe a key.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

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


def key_text(key: Any) -> str:
    """A key as written in messages: plain if it is a name, else its repr (keeps errors one line)."""
    return key if isinstance(key, str) and key.isidentifier() and len(key) <= 60 else excerpt(key)


def check_section(section: str, raw: Any, schema: Schema) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{section}: expected a mapping, got {excerpt(raw)}")
    out = {}
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError(f"unknown key {section}.{key_text(key)}; allowed: {', '.join(schema)}")
        out[key] = schema[key].check(f"{section}.{key}", value)
    for key, field in schema.items():
        out.setdefault(key, copy.deepcopy(field.default))
    return out


def named_section(section: str, raw: Any, registry: dict[str, Schema]) -> dict:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{section}.name is required; allowed: {', '.join(registry)}")
    name = raw["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{section}.name: expected str, got {excerpt(name)}")
    if name not in registry:
        raise ConfigError(f"{section}.name: {excerpt(name)} is not allowed; allowed: {', '.join(registry)}")
    schema = {"name": Field(str, name), **registry[name]}
    return check_section(section, raw, schema)
