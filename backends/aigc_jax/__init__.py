"""aigc's JAX backend (entry point `aigc.backends: jax`).

State threading, and why it lives here rather than in the contract
-------------------------------------------------------------------
aigc's backend contract is imperative: `value_and_grad(loss_fn, params)` differentiates a
zero-argument closure over variables, and Adam, the generator's average and BatchNorm's
running statistics change through `assign`. JAX's transformations take pure functions. This
backend keeps the contract and threads the state itself, as Keras 3's JAX trainer does with
its stateless scope (`state.py`):

- a variable is a `Box` holding a `jax.Array`; `assign` replaces the array;
- `value_and_grad` runs `jax.value_and_grad` over a function that swaps the tracers of the
  parameters into their boxes, calls `loss_fn`, and returns the loss, its aux dict and the
  values of every box `loss_fn` assigned (BatchNorm statistics, spectral norm's u) as
  auxiliary outputs; the boxes get their old values back, and then those new values;
  `forward_for_grad` is `jax.vjp` and `input_gradient` `jax.grad` the same way (the input
  gradient inside a `value_and_grad` is JAX's reverse-over-reverse, as WGAN-GP needs);
- `compile(step, "auto")` is `jax.jit` over a function that takes the values of the boxes
  the step touches (found by tracing it once, `compiled.py`) with its arguments and returns
  the new values of those it assigned.

The alternative was a functional contract (`loss_fn(params, state) -> (loss, aux, state)`,
optimizers returning new state): every backend and the core's step, Adam, EMA and precise
BatchNorm would be rewritten in that style, PyTorch's and TensorFlow's in-place kernels
(torch's flat-buffer Adam, `ResourceApplyAdam`) would have to be wrapped back into it, and
the parity of the two existing backends re-proven. Threading state costs one module here;
the core and the other backends stay as they are. It needs one discipline from the core:
whatever changes between steps must be a variable or a step argument, never a Python value
read at trace time, which aigc's core already keeps (Adam's counters are one variable).

Numerics: float32 throughout (JAX's default; x64 stays off). JAX on the CPU (XLA) is
deterministic run to run; `set_determinism(True)` also asks for full-precision matmuls and,
on a GPU, XLA's deterministic ops. No fused `adam_update`: under `jax.jit`, XLA fuses
`aigc.optim.update_generic`'s operations itself, so the update is the definition's own.
No `join`/`launch`: data-parallel training (`aigc train --nproc N`) is refused by the core.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from aigc import threads as aigc_threads
from aigc.errors import BackendUnavailable, ConfigError
from aigc.specs import NetworkSpec

from . import ops as _ops
from . import state
from .compiled import CompiledStep
from .network import JaxNet
from .state import Box

_SINGLE_THREAD = "--xla_cpu_multi_thread_eigen=false"


def _backends_started() -> bool:
    try:
        from jax._src import xla_bridge

        return xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):  # a JAX without it: assume started, change nothing
        return True


def _value(x):
    return x.value if isinstance(x, Box) else x


def _value_and_grad(loss_fn, boxes: list[Box], primal):
    """((loss, aux), gradient) of `loss_fn() -> (loss, aux)` with respect to the values of
    `boxes` (`primal`: their values), or, with no boxes, of `loss_fn(primal)` with respect to
    its input; the boxes it assigned get their new values."""
    written: list[Box] = []
    order = state.KeyOrder()  # the aux dict's own key order

    def pure(values):
        with state.Scope() as scope:
            scope.swap(boxes, values if boxes else [])
            loss, aux = loss_fn() if boxes else loss_fn(values)
            written[:], new = scope.written()
        return loss, (order.remember(aux), new)

    (loss, (aux, new)), grad = jax.value_and_grad(pure, has_aux=True)(primal)
    state.apply(written, new)
    return (loss, order.restore(aux)), grad


class JaxBackend:
    name = "jax"
    ops = _ops
    compile_modes = ("auto", "none")  # auto: jax.jit; none: eager
    thread_env = ()  # XLA reads no thread-count variable (OMP_NUM_THREADS is the core's)

    def __init__(self, device: str = "cpu", deterministic: bool = False):
        self.device = device
        self._jax_device = None  # resolved on first use: starting XLA fixes its threads
        if device != "cpu":
            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            index = int(device.partition(":")[2] or 0)
            if not device.startswith("cuda") or index >= len(gpus):
                raise BackendUnavailable(
                    f"device {device!r}: JAX {jax.__version__} sees {len(gpus)} GPU(s); use device=cpu "
                    "or install a CUDA build of JAX (pip install 'jax[cuda12]')"
                )
            self._jax_device = gpus[index]
        self.set_determinism(deterministic)

    @property
    def _placement(self):
        if self._jax_device is None:
            self._jax_device = jax.devices("cpu")[0]
        return self._jax_device

    @classmethod
    def info(cls) -> dict:
        gpus = [f"cuda:{d.id} ({d.device_kind})" for d in jax.devices() if d.platform == "gpu"]
        return {"version": jax.__version__, "devices": ["cpu"] + gpus}

    def build(self, spec: NetworkSpec) -> JaxNet:
        return JaxNet(spec, self._placement)

    # -- gradients: JAX's transformations over functions that swap tracers into boxes --------
    def value_and_grad(self, loss_fn, params):
        params = list(params)
        (loss, aux), grads = _value_and_grad(loss_fn, params, [p.value for p in params])
        return loss, aux, list(grads)

    def forward_for_grad(self, fn, params):
        params = list(params)
        written: list[Box] = []

        def pure(values):
            with state.Scope() as scope:
                scope.swap(params, values)
                out = fn()
                boxes, new = scope.written()
            written[:] = boxes
            return out, new

        out, vjp, new = jax.vjp(pure, [p.value for p in params], has_aux=True)
        state.apply(written, new)

        def pullback(loss_fn):
            (loss, aux), dx = _value_and_grad(loss_fn, [], out)
            (grads,) = vjp(dx)
            return loss, aux, list(grads)

        return out, pullback

    def input_gradient(self, fn, x):
        _, grad = _value_and_grad(lambda v: (jnp.sum(fn(v)), None), [], x)
        return grad

    def compile(self, fn: Callable, mode: str) -> Callable:
        """`auto`: `jax.jit` with the step's variables threaded through (`compiled.py`);
        `none`: eager, op by op."""
        if mode not in self.compile_modes:
            raise ConfigError(
                f"train.compile: {mode!r} is not available on jax; allowed: {', '.join(self.compile_modes)}"
            )
        if mode == "none":
            return functools.wraps(fn)(lambda *args, **kwargs: fn(*args, **kwargs))
        return CompiledStep(fn)

    # -- tensors and variables ---------------------------------------------------------------
    def tensor(self, array: np.ndarray) -> jax.Array:
        """float32 for floats, int32 for integers (labels): JAX's types without x64."""
        a = np.asarray(array)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        elif a.dtype == np.int64:
            a = a.astype(np.int32)
        return jax.device_put(a, self._placement, may_alias=False)

    def numpy(self, value) -> np.ndarray:
        """A copy, never a view of a buffer a later step may replace."""
        return np.array(_value(value))

    def variable(self, array: np.ndarray) -> Box:
        return Box(self.tensor(array))

    def assign(self, var: Box, value) -> None:
        value = _value(value)
        state.assign(var, self.tensor(value) if isinstance(value, np.ndarray) else value)

    # -- threads, determinism, errors ----------------------------------------------------------
    def set_threads(self, n: int) -> bool:
        """One thread: XLA's single-threaded CPU kernels (`--xla_cpu_multi_thread_eigen=false`,
        read when XLA starts, so only before the first array is made). XLA's CPU pool has one
        thread per core this process may use and no setting in between: another count is
        refused (False) unless it is that one."""
        if n == self.get_threads():
            return True
        if _backends_started():
            return False
        flags = [f for f in os.environ.get("XLA_FLAGS", "").split() if f != _SINGLE_THREAD]
        if n == 1:
            flags.append(_SINGLE_THREAD)
        os.environ["XLA_FLAGS"] = " ".join(flags)
        return n == self.get_threads()

    def get_threads(self) -> int:
        return 1 if _SINGLE_THREAD in os.environ.get("XLA_FLAGS", "").split() else len(aigc_threads.cores())

    def set_determinism(self, enabled: bool) -> None:
        """XLA on the CPU is deterministic already; enabled: full-precision float32 matmuls
        and convolutions (no TF32 on a GPU) and, before XLA starts, its deterministic GPU ops."""
        if not enabled:
            return
        jax.config.update("jax_default_matmul_precision", "highest")
        if not _backends_started() and "--xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true").strip()

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """XLA's RESOURCE_EXHAUSTED (an allocation failed on any device) or Python's MemoryError."""
        if isinstance(exc, MemoryError):
            return True
        return isinstance(exc, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(exc)


__all__ = ["JaxBackend"]
