"""The schema machinery: a `Field` per config key (type, default, range, help), the checks
of a section against its `Schema`, and the typed form of a checked section.

It sits at the bottom of the import graph (it imports only `errors`): `config` builds the
whole config's schema from it, and each model and dataset declares its own section's keys
with it, so none of them imports another to describe a key.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
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
    expected: str = ""  # what `pattern` asks for, in words (else the help text says it)

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
            raise ConfigError(f"{key}: {excerpt(value)} does not match {self.expected or self.help or self.pattern}")
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
    given = {}
    for key, value in raw.items():
        if key not in schema:
            raise ConfigError(f"unknown key {section}.{key_text(key)}; allowed: {', '.join(schema)}")
        given[key] = schema[key].check(f"{section}.{key}", value)
    # in the schema's order, whatever the order written: the same order as the typed form's fields
    return {key: given[key] if key in given else copy.deepcopy(field.default) for key, field in schema.items()}


def named_section(section: str, raw: Any, registry: dict[str, Schema]) -> dict:
    if not isinstance(raw, dict) or "name" not in raw:
        raise ConfigError(f"{section}.name is required; allowed: {', '.join(registry)}")
    name = raw["name"]
    if not isinstance(name, str):
        raise ConfigError(f"{section}.name: expected str, got {excerpt(name)}")
    if name not in registry:
        raise ConfigError(f"{section}.name: {excerpt(name)} is not allowed; allowed: {', '.join(registry)}")
    return check_section(section, raw, named_schema(name, registry))


# -- the typed form -------------------------------------------------------------------------
# A checked section as a frozen dataclass, generated from its schema (not written out beside
# it), so a key and its type cannot drift from the validation: one field per key, in the
# schema's order, typed as the schema checks it. Lists (layer widths) are tuples in the typed
# form (a frozen section holds nothing mutable) and lists again in `to_dict()`, the plain
# dict that checkpoints and config.yaml store.


class Section:
    """The base of every generated section class: `to_dict()` and `replace(**changes)`."""

    __slots__ = ()

    def to_dict(self) -> dict:
        """The section as the checked dict: the same keys, values and order."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> Section:
        """A copy with `changes` (not checked again: `Config.replace` checks a whole config)."""
        return dataclasses.replace(self, **changes)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _annotation(field: Field) -> Any:
    kind: Any = tuple[int, ...] if field.type is list else field.type
    return kind | str if field.keywords else kind  # train.threads: an int or "auto"


def _class_name(section: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", section) if part) + "Section"


@functools.cache
def _section_class(name: str, fields: tuple[tuple[str, Any], ...]) -> type:
    cls = dataclasses.make_dataclass(name, list(fields), bases=(Section,), frozen=True)
    cls.__module__ = __name__
    return cls


def section_type(section: str, schema: Schema) -> type:
    """The frozen dataclass of a section with `schema`'s keys (one class per section and key
    set, made once): e.g. `section_type("train", TRAIN)` or, for a named section,
    `section_type("model.mlp_gan", {"name": Field(str, "mlp_gan"), **MLP_GAN})`."""
    clash = [key for key in schema if key in ("to_dict", "replace") or not key.isidentifier()]
    if clash:  # a key the typed form cannot hold as a field: a mistake in a schema, not a config
        raise ValueError(f"{section}: {', '.join(clash)} cannot be a field of a typed section")
    return _section_class(_class_name(section), tuple((key, _annotation(f)) for key, f in schema.items()))


def typed(section: str, values: dict, schema: Schema) -> Section:
    """A checked section (`check_section`'s or `named_section`'s dict) in its typed form."""
    return section_type(section, schema)(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def named_schema(name: str, registry: dict[str, Schema]) -> Schema:
    """The schema of a named section (`model`, `data`): its `name`, then the registry's keys."""
    return {"name": Field(str, name), **registry[name]}
