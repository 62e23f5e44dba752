"""A step compiled with `tf.function`, called through its concrete functions.

Calling a `tf.function` binds the call to the function's signature in Python, flattens the
nested inputs and looks up the concrete function for their shapes on every call, which costs
a few times what calling the concrete function itself does: a noticeable share of a small
model's step (measured in the docs' benchmarks).

aigc's steps take tensors only, so the lookup can be a dict keyed by what makes a trace
differ: how many positional inputs, the keyword names, and each input's shape and dtype.
Anything else (a python number, an array) goes through the `tf.function` as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf


class CompiledStep:
    """`fn` under `tf.function` (`jit_compile` for XLA), its ops placed on `device`."""

    def __init__(self, fn: Callable, jit_compile: bool, device: str):
        self._fn, self._jit_compile, self._device = fn, jit_compile, device
        # The general path, for inputs that are not all tensors: a tuple and a dict, since
        # binding keyword arguments to the signature costs more on every call.
        self.function = tf.function(
            lambda args, kwargs: fn(*args, **kwargs), jit_compile=jit_compile, reduce_retracing=True
        )
        # (number of positional inputs, keyword names, dtype and shape of each) -> the
        # tf.function over the flat inputs and its concrete function (kept together)
        self.traced: dict[tuple, tuple[Any, Any]] = {}

    def __call__(self, *args, **kwargs):
        flat = (*args, *kwargs.values())
        with tf.device(self._device):
            if not all(isinstance(t, tf.Tensor) for t in flat):
                return self.function(args, kwargs)
            key = (len(args), *kwargs, *((t.dtype, *t.shape) for t in flat))
            traced = self.traced.get(key)
            if traced is None:
                traced = self.traced[key] = self._trace(len(args), tuple(kwargs), flat)
            return traced[1](*flat)

    def _trace(self, n_args: int, names: tuple[str, ...], flat: tuple) -> tuple[Any, Any]:
        fn = self._fn

        def flat_step(*inputs):
            return fn(*inputs[:n_args], **dict(zip(names, inputs[n_args:])))

        function = tf.function(flat_step, jit_compile=self._jit_compile)
        return function, function.get_concrete_function(*flat)
