"""aigc's PyTorch backend (entry point `aigc.backends: torch`)."""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator

import numpy as np
import torch

from aigc.backends import check_compile
from aigc.errors import BackendUnavailable
from aigc.specs import NetworkSpec

from . import ops as _ops
from .network import TorchNet


def _adam_step(p: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, k) -> None:
    """`aigc.optim.update_generic` for one tensor, in place."""
    delta = g - m  # m += (g - m) * (1 - beta1)
    delta.mul_(k.one_minus_beta1)
    m.add_(delta)
    delta = g * g  # v += (g * g - v) * (1 - beta2)
    delta.sub_(v)
    delta.mul_(k.one_minus_beta2)
    v.add_(delta)
    denominator = v.sqrt()  # p -= (m * alpha) / (sqrt(v) + eps_hat)
    denominator.add_(k.eps_hat)
    p.addcdiv_(m * k.alpha, denominator, value=-1.0)  # p + (-1) * (q / d) rounds as p - q / d


UPDATE_BLOCK = 1 << 16  # elements: 256 KB a vector, so a block's vectors stay in cache through its ops


def _blocks(n: int) -> Iterator[slice]:
    """Consecutive slices of UPDATE_BLOCK elements covering a flat vector of n. An element-wise
    chain (Adam's 12 operations, the weight average's 3) run block by block gives the same
    roundings (element-wise results do not depend on where a vector is cut), but each
    block's vectors stay in the core's cache through the whole chain instead of every
    operation streaming all the weights through memory: wgan_gp_mnist_full's step (11 M
    weights) 216 -> 181 ms on two CPU cores (docs/benchmarks.md)."""
    return (slice(start, start + UPDATE_BLOCK) for start in range(0, n, UPDATE_BLOCK))


@contextlib.contextmanager
def flush_subnormals() -> Iterator[None]:
    """Within: float32 subnormals (below 1.2e-38) are flushed to zero on this thread, as
    TensorFlow's and JAX's compute threads flush them; after: IEEE arithmetic again (the
    thread's default), so NumPy and other libraries on this thread see no change. Adam's m
    and v drift into subnormals over a long run, and x86 arithmetic on them is many times
    slower: vae_mnist's step went from 18 ms to 70 ms by step 100,000 (docs/threads.md).
    A thread starts with its creator's setting, so torch's intra-op workers, which start
    inside a step, flush too and keep flushing (they run only torch's kernels)."""
    torch.set_flush_denormal(True)  # False where the CPU cannot (then nothing changes)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class TorchBackend:
    name = "torch"
    ops = _ops
    compile_modes = ("auto", "none", "torch_compile")  # auto: eager, as none
    thread_env = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what torch itself reads at import
    _interop_set = False  # torch allows setting the inter-op pool once, before it is used

    def __init__(self, device: str = "cpu", deterministic: bool = False):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable(
                f"device {device!r}: torch {torch.__version__} sees no CUDA GPU; use device=cpu "
                "or install a CUDA build of PyTorch"
            )
        self.device = device
        self._device = torch.device(device)
        self._flat: dict[int, tuple] = {}  # Adam's flat buffers, per optimizer (see _flat_state)
        self.set_determinism(deterministic)

    @classmethod
    def info(cls) -> dict:
        devices = ["cpu"] + [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
        return {"version": torch.__version__, "devices": devices}

    def build(self, spec: NetworkSpec) -> TorchNet:
        return TorchNet(spec, self._device)

    def value_and_grad(self, loss_fn, params):
        with torch.enable_grad():
            loss, aux = loss_fn()
            # A parameter the loss does not use (a critic's output bias under the gradient
            # penalty alone) gets a zero gradient, as in TensorFlow.
            grads = torch.autograd.grad(loss, list(params), allow_unused=True, materialize_grads=True)
        return loss.detach(), {k: v.detach() for k, v in aux.items()}, list(grads)

    def forward_for_grad(self, fn, params):
        params = list(params)
        with torch.enable_grad():
            out = fn()

        def pullback(loss_fn):
            with torch.enable_grad():
                x = out.detach().requires_grad_(True)
                loss, aux = loss_fn(x)
                (dx,) = torch.autograd.grad(loss, x)
                grads = torch.autograd.grad(out, params, grad_outputs=dx, allow_unused=True, materialize_grads=True)
            return loss.detach(), {k: v.detach() for k, v in aux.items()}, list(grads)

        # clone(): a channels-last image is a permuted view of the conv's output, and
        # torch.compile (2.13) fails to replay a detached alias of it when it leaves the
        # compiled region ("incorrect out shape after application of ViewMeta sequence").
        return out.detach().clone(), pullback

    def input_gradient(self, fn, x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(torch.sum(fn(x)), x, create_graph=True)
        return grad

    def compile(self, fn: Callable, mode: str) -> Callable:
        """Steps run under no_grad (gradients are taken inside `value_and_grad` only), with
        subnormals flushed to zero (`flush_subnormals`)."""
        check_compile(type(self), mode)
        if mode == "torch_compile":
            fn = torch.compile(fn)

        @functools.wraps(fn)
        def step(*args, **kwargs):
            with torch.no_grad(), flush_subnormals():
                return fn(*args, **kwargs)

        return step

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(array, copy=None, order="C")).to(self._device)

    def numpy(self, value: torch.Tensor) -> np.ndarray:
        """A copy: on the CPU `.numpy()` shares memory with the tensor, which later steps mutate."""
        return value.detach().cpu().numpy().copy()

    def variable(self, array: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.asarray(array), device=self._device)

    def assign(self, var: torch.Tensor, value: torch.Tensor) -> None:
        if not torch.is_grad_enabled():  # inside a step: entering no_grad again is a noticeable share of Adam
            var.copy_(value)
            return
        with torch.no_grad():
            var.copy_(value)

    def adam_update(self, params, grads, m, v, k) -> None:
        """`aigc.optim.update_generic`'s operations, in its order, rounding for rounding
        (tests/test_optim.py), with far fewer kernel launches:

        - eager: the optimizer's weights, m and v each become views into one flat buffer
          (made once per optimizer, `_flat_state`), so the update is 12 ops on three
          vectors (block by block, `_blocks`) plus one concatenation of the
          gradients, instead of 12 ops per tensor
          (multi-tensor `_foreach` ops launch one kernel per tensor on the CPU): small
          models' steps are faster that way, and as fast as torch.optim.Adam's loop (the
          figures are in the docs' benchmarks);
        - under torch.compile: per tensor, which the compiler fuses.
        """
        if torch.is_grad_enabled():  # outside a compiled step
            with torch.no_grad():
                return self.adam_update(params, grads, m, v, k)
        flat = None if torch.compiler.is_compiling() else self._flat_state(params, m, v)
        if flat is not None:
            weights, flat_m, flat_v = flat
            flat_grads = torch.cat([g.reshape(-1) for g in grads])
            for block in _blocks(weights.numel()):
                _adam_step(weights[block], flat_grads[block], flat_m[block], flat_v[block], k)
            return
        for p, g, m_, v_ in zip(params, grads, m, v):
            _adam_step(p, g, m_, v_, k)

    def moving_average(self, average, live, decay: float) -> None:
        """The core's `decay * average + (1 - decay) * live` for each pair, in place: eager,
        block by block as Adam (`_blocks`), so a block stays in cache through its three
        operations and no whole-tensor temporaries are made; under torch.compile, per tensor."""
        if torch.is_grad_enabled():
            with torch.no_grad():
                return self.moving_average(average, live, decay)
        for a, x in zip(average, live):
            if torch.compiler.is_compiling() or not (a.is_contiguous() and x.is_contiguous()):
                a.copy_(decay * a + (1.0 - decay) * x)
                continue
            a, x = a.view(-1), x.view(-1)
            for block in _blocks(a.numel()):
                a[block].mul_(decay).add_(x[block] * (1.0 - decay))

    def _flat_state(self, params: list, m: list, v: list) -> tuple | None:
        """(flat weights, flat m, flat v) for one optimizer, its tensors re-pointed (`.data`)
        at consecutive slices, so modules, checkpoints and `assign` see the same values; made
        on the first eager step and kept while those tensors still live there (a weak
        reference to m[0] keys it). None where the tensors do not flatten alike (mixed
        dtypes or devices, non-contiguous layouts)."""
        entry = self._flat.get(id(m[0]))
        if (
            entry is not None
            and entry[0]() is m[0]
            and all(t.data_ptr() == buffer.data_ptr() for t, buffer in zip((params[0], m[0], v[0]), entry[1]))
        ):
            return entry[1]
        tensors = [*params, *m, *v]
        if any(not t.is_contiguous() or t.dtype != m[0].dtype or t.device != m[0].device for t in tensors):
            return None
        self._flat = {key: e for key, e in self._flat.items() if e[0]() is not None}
        buffers = []
        for group in (params, m, v):
            buffer = torch.cat([t.detach().reshape(-1) for t in group])
            offset = 0
            for t in group:
                t.data = buffer[offset : offset + t.numel()].view(t.shape)
                offset += t.numel()
            buffers.append(buffer)
        self._flat[id(m[0])] = (weakref.ref(m[0]), tuple(buffers))
        return tuple(buffers)

    def set_threads(self, n: int) -> bool:
        """n intra-op threads (at any time: OpenMP resizes its team at the next parallel
        region) and, the first time, n inter-op threads."""
        torch.set_num_threads(n)
        if not TorchBackend._interop_set:
            TorchBackend._interop_set = True
            try:
                torch.set_num_interop_threads(n)
            except RuntimeError:  # already set, or inter-op work already ran
                pass
        return True

    def get_threads(self) -> int:
        return torch.get_num_threads()

    def set_determinism(self, enabled: bool) -> None:
        """Deterministic kernels and no TF32 when enabled (parity runs)."""
        torch.use_deterministic_algorithms(enabled, warn_only=False)
        torch.backends.cuda.matmul.allow_tf32 = not enabled and torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = not enabled
        torch.backends.cudnn.benchmark = False

    @staticmethod
    def launch(nproc: int, argv: list[str], port: int | None, out: str) -> int:
        """`aigc train --nproc N`: N workers through torch's own launcher (torchrun)."""
        from .distributed import launch

        return launch(nproc, argv, port, out)

    def join(self, launch):
        """This process's place in a data-parallel run (torch.distributed; `aigc.distributed`):
        on CUDA, rank r of a machine takes its GPU `cuda:<local rank>`."""
        from .distributed import TorchCollectives

        if self._device.type == "cuda" and self._device.index is None:
            self._device = torch.device("cuda", launch.local_rank)
            self.device = str(self._device)
            torch.cuda.set_device(self._device)
        return TorchCollectives(launch, self._device)

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """CUDA's OutOfMemoryError, the CPU allocator's "can't allocate memory", or MemoryError."""
        return isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)) or (
            isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
        )


__all__ = ["TorchBackend"]
