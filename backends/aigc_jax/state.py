"""Mutable state on a functional framework: variables as boxes, threaded through JAX's
transformations.

aigc's contract is imperative: a network's weights, Adam's moments and BatchNorm's running
statistics are variables, updated in place by `Backend.assign`, and gradients are taken of
zero-argument closures over them. JAX arrays are immutable and JAX's transformations
(`jax.value_and_grad`, `jax.vjp`, `jax.jit`) differentiate and compile pure functions of
their arguments. This module joins the two the way Keras 3's JAX trainer does with its
stateless scope:

- a `Box` is a small mutable object holding a `jax.Array` (`Box.value`); `assign` replaces
  the array, never mutates it;
- `Scope` records, while it is open, the value every box had before its first assignment,
  and puts those values back when it closes; `Scope.swap` puts given values (tracers) into
  boxes for the scope's duration. A transformation's pure function opens a scope, swaps
  the tracers of its inputs into the boxes, runs the core's closure, and returns the values
  of the boxes the closure assigned as outputs; outside, those outputs are assigned to the
  boxes again (into the enclosing scope, when transformations nest);
- `Tracking` records which boxes a function reads and assigns while it is traced, so that a
  compiled step takes exactly those boxes' values as inputs (see `compile.py`).
"""

from __future__ import annotations

import itertools
import operator
import weakref
from typing import Any

_serials = itertools.count()
_scopes: list[Scope] = []
_tracking: list[Tracking] = []


class Box:
    """A variable: a mutable reference to an immutable `jax.Array`. Arithmetic, indexing and
    `jnp` functions see its current value, so the core's math reads a Box as a tensor."""

    __slots__ = ("_value", "serial", "__weakref__")

    def __init__(self, value: Any):
        self._value = value
        self.serial = next(_serials)  # creation order: a stable order for a step's inputs

    @property
    def value(self) -> Any:
        for tracking in _tracking:
            tracking.read(self)
        return self._value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    def __jax_array__(self) -> Any:
        return self.value

    def __array__(self, dtype=None, copy=None):  # numpy conversion (a copy: never aliases the buffer)
        import numpy as np

        return np.array(self.value, dtype=dtype)

    def __getitem__(self, index):
        return self.value[index]

    def __neg__(self):
        return -self.value

    def __repr__(self) -> str:
        return f"Box({self._value!r})"


def _binary(op):
    def forward(self, other):
        return op(self.value, other.value if isinstance(other, Box) else other)

    def reflected(self, other):
        return op(other, self.value)

    return forward, reflected


for _name, _op in {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "pow": operator.pow,
    "matmul": operator.matmul,
}.items():
    _forward, _reflected = _binary(_op)
    setattr(Box, f"__{_name}__", _forward)
    setattr(Box, f"__r{_name}__", _reflected)


def assign(box: Box, value: Any) -> None:
    """box <- value; inside a scope, its value before the scope's first assignment is kept."""
    if _scopes:
        _scopes[-1].saved.setdefault(box, box._value)
    for tracking in _tracking:
        tracking.write(box)
    box._value = value


class Scope:
    """Assignments made while the scope is open are undone when it closes; `written()` are
    the boxes assigned inside (in assignment order) and their values before closing."""

    def __init__(self) -> None:
        self.saved: dict[Box, Any] = {}

    def __enter__(self) -> Scope:
        _scopes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _scopes.pop()
        for box, value in self.saved.items():
            box._value = value

    def swap(self, boxes: list[Box], values: list) -> None:
        """Put `values` into `boxes` until the scope closes (not an assignment: a swapped box
        counts as written only if the function assigns it)."""
        for box, value in zip(boxes, values):
            self.saved.setdefault(box, box._value)
            box._value = value
        self._swapped = {id(b): v for b, v in zip(boxes, values)}

    def written(self) -> tuple[list[Box], list]:
        swapped = getattr(self, "_swapped", {})
        boxes = [b for b in self.saved if b._value is not swapped.get(id(b), self.saved[b])]
        return boxes, [b._value for b in boxes]


def apply(boxes: list[Box], values: list) -> None:
    """The assignments a transformation's pure function returned, made for real."""
    for box, value in zip(boxes, values):
        assign(box, value)


class Tracking:
    """The boxes a function reads or assigns while it runs (or is traced)."""

    def __init__(self) -> None:
        self.touched: dict[int, weakref.ref] = {}

    def read(self, box: Box) -> None:
        if box.serial not in self.touched:
            self.touched[box.serial] = weakref.ref(box)

    write = read

    def __enter__(self) -> Tracking:
        _tracking.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _tracking.remove(self)

    def boxes(self) -> list[Box]:
        """The live boxes touched, in creation order."""
        found = [(serial, ref()) for serial, ref in sorted(self.touched.items())]
        return [box for _, box in found if box is not None]


class KeyOrder:
    """A dict's own key order across a JAX transformation. `jax.jit` and `has_aux` hand a dict
    back as a pytree, with its keys sorted (a step's metrics would list `kl` before `rec`):
    `remember` the order inside the traced function, `restore` it on what comes out."""

    def __init__(self) -> None:
        self.keys: list | None = None

    def remember(self, out: Any) -> Any:
        self.keys = list(out) if isinstance(out, dict) else None
        return out

    def restore(self, out: Any) -> Any:
        if self.keys is None or not isinstance(out, dict):
            return out
        return {k: out[k] for k in self.keys}
