"""A training step compiled with `jax.jit`, its variables threaded through as inputs and outputs.

The core's step (`Model.step`) is a Python function of a batch and random arrays that reads
and assigns variables (`state.Box`): weights, Adam's moments and powers, BatchNorm's running
statistics, spectral norm's u. `jax.jit` compiles pure functions, and a value a traced
function reads from a box it was not given would be compiled in as a constant, so:

1. the first call traces the step once without compiling it (`jax.eval_shape`), recording
   every box it reads or assigns (`state.Tracking`): the step's state;
2. the compiled function takes those boxes' values with the step's own arguments, swaps them
   (tracers) into the boxes, runs the step, and returns its outputs with the new value of
   every box the step assigned; the call then assigns those values to the boxes.

Everything that changes from one step to the next must therefore be a box or an argument;
aigc's core passes per-step values as tensors (Adam's step counter and powers are one
variable, `Adam.powers`). A trace that reads a box outside the recorded set (none in the
shipped models) makes the next call record the state again, so such a value is never stale.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable

import jax

from . import state


class CompiledStep:
    def __init__(self, fn: Callable):
        self._fn = fn
        self._refs: list[weakref.ref] | None = None  # the step's state, recorded on the first call
        self._boxes: list[state.Box] = []  # those boxes, during a call
        self._jitted: Callable | None = None
        self._stale = False
        self._order = state.KeyOrder()  # the step's output dict keeps its own key order
        functools.update_wrapper(self, fn)

    def _record(self, args: tuple, kwargs: dict) -> None:
        """Trace the step without compiling it; its state is every box it touched."""
        fn = self._fn

        def traced(a, k):
            return self._order.remember(fn(*a, **k))

        with state.Tracking() as seen, state.Scope():
            jax.eval_shape(traced, args, kwargs)
        self._refs = [weakref.ref(b) for b in seen.boxes()]
        self._stale = False

        def pure(values: list, args: tuple, kwargs: dict):
            boxes = self._boxes
            known = {b.serial for b in boxes}
            with state.Tracking() as touched, state.Scope() as scope:
                scope.swap(boxes, values)
                out = fn(*args, **kwargs)
                new = {i: b._value for i, b in enumerate(boxes) if b._value is not values[i]}
            if any(serial not in known for serial in touched.touched):
                self._stale = True  # a box outside the recorded state: record it again next call
            return out, new

        self._jitted = jax.jit(pure)  # a new function: a new cache, its traces bound to these boxes

    def __call__(self, *args, **kwargs):
        boxes = None if self._refs is None or self._stale else [ref() for ref in self._refs]
        if boxes is None or any(b is None for b in boxes):
            self._record(args, kwargs)
            boxes = [ref() for ref in self._refs]
        self._boxes = boxes
        try:
            out, new = self._jitted([b._value for b in boxes], args, kwargs)
        finally:
            self._boxes = []
        for i, value in new.items():
            state.assign(boxes[i], value)
        return self._order.restore(out)
