"""aigc's TensorFlow/Keras backend (entry point `aigc.backends: tensorflow`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from aigc import threads as aigc_threads
from aigc.backends import check_compile
from aigc.errors import BackendUnavailable
from aigc.specs import NetworkSpec

from . import ops as _ops
from .compiled import CompiledStep
from .network import KerasNet


def _tf_device(device: str) -> str:
    if device == "cpu":
        return "/CPU:0"
    index = device.partition(":")[2] or "0"
    return f"/GPU:{index}"


def _dense(grads: list) -> list:
    """Gradients as dense tensors: an Embedding's comes as `tf.IndexedSlices`."""
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]


class TensorFlowBackend:
    name = "tensorflow"
    ops = _ops
    compile_modes = ("auto", "none", "xla")  # auto: tf.function; xla: tf.function(jit_compile=True)
    thread_env = ("TF_NUM_INTRAOP_THREADS",)  # what TensorFlow itself reads when it starts

    def __init__(self, device: str = "cpu", deterministic: bool = False):
        if device.startswith("cuda") and not tf.config.list_physical_devices("GPU"):
            raise BackendUnavailable(
                f"device {device!r}: TensorFlow {tf.__version__} sees no GPU; use device=cpu "
                "or install a CUDA build of TensorFlow (pip install 'tensorflow[and-cuda]')"
            )
        self.device = device
        self._device = _tf_device(device)
        self._collectives = None  # data-parallel: set by `join`
        self.set_determinism(deterministic)

    @classmethod
    def info(cls) -> dict:
        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
        return {"version": tf.__version__, "devices": ["cpu"] + gpus}

    def build(self, spec: NetworkSpec) -> KerasNet:
        return KerasNet(spec, self._device)

    def value_and_grad(self, loss_fn, params):
        params = list(params)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(params)
            loss, aux = loss_fn()
        # An unused parameter gets zeros; an embedding's gradient arrives as IndexedSlices: made dense.
        grads = tape.gradient(loss, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        return loss, aux, _dense(grads)

    def forward_for_grad(self, fn, params):
        params = list(params)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(params)
            out = fn()

        def pullback(loss_fn):
            with tf.GradientTape(watch_accessed_variables=False) as inner:
                inner.watch(out)
                loss, aux = loss_fn(out)
            dx = inner.gradient(loss, out)
            grads = tape.gradient(out, params, output_gradients=dx, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return loss, aux, _dense(grads)

        return tf.stop_gradient(out), pullback

    def input_gradient(self, fn, x):
        """An inner tape; an enclosing tape records its gradient ops, so the result is
        differentiable with respect to the network's variables."""
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x)
            out = tf.reduce_sum(fn(x))
        return tape.gradient(out, x)

    def compile(self, fn: Callable, mode: str) -> Callable:
        """`auto`: tf.function; `xla`: tf.function(jit_compile=True); `none`: eager."""
        check_compile(type(self), mode)
        if self._collectives is not None:  # data-parallel: the step runs inside strategy.run
            fn = self._collectives.wrap_step(fn)
        if mode == "none":

            @functools.wraps(fn)
            def eager(*args, **kwargs):
                with tf.device(self._device):
                    return fn(*args, **kwargs)

            return eager

        return CompiledStep(fn, jit_compile=(mode == "xla"), device=self._device)

    def tensor(self, array: np.ndarray) -> tf.Tensor:
        with tf.device(self._device):
            return tf.constant(array)

    def numpy(self, value) -> np.ndarray:
        return np.array(value)

    def variable(self, array: np.ndarray) -> tf.Variable:
        with tf.device(self._device):
            return tf.Variable(np.asarray(array), trainable=False)

    def assign(self, var: tf.Variable, value) -> None:
        var.assign(value)

    def adam_update(self, params, grads, m, v, k) -> None:
        """`aigc.optim.update_generic` is TensorFlow's fused Adam kernel given eps_hat as its
        epsilon: one `ResourceApplyAdam` per tensor instead of ~16 graph ops, the same bits
        (tests/test_optim.py)."""
        for p, g, m_, v_ in zip(params, grads, m, v):  # dense gradients: see _dense
            tf.raw_ops.ResourceApplyAdam(
                var=p.handle,
                m=m_.handle,
                v=v_.handle,
                beta1_power=k.b1t,
                beta2_power=k.b2t,
                lr=k.lr,
                beta1=k.beta1,
                beta2=k.beta2,
                epsilon=k.eps_hat,
                grad=g,
            )

    def set_threads(self, n: int) -> bool:
        """n intra- and n inter-op threads; False once TensorFlow's runtime has started (its
        pools are made then and never resized)."""
        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:
            return self.get_threads() == n
        return True

    def get_threads(self) -> int:
        """The intra-op pool's size (TensorFlow's default, 0, is one thread per core)."""
        return tf.config.threading.get_intra_op_parallelism_threads() or len(aigc_threads.cores())

    def set_determinism(self, enabled: bool) -> None:
        """Deterministic ops and no TF32 when enabled (parity runs)."""
        if enabled:
            tf.config.experimental.enable_op_determinism()
        tf.config.experimental.enable_tensor_float_32_execution(not enabled)

    def join(self, launch):
        """This process's place in a data-parallel run: MultiWorkerMirroredStrategy from
        TF_CONFIG (`aigc.distributed`), made before TensorFlow's runtime starts, once per
        process (later runs in the process reuse it)."""
        from .distributed import collectives

        self._collectives = collectives(launch)
        return self._collectives

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """TensorFlow's ResourceExhaustedError (OOM on any device) or Python's MemoryError."""
        return isinstance(exc, (tf.errors.ResourceExhaustedError, MemoryError))


__all__ = ["TensorFlowBackend"]
