"""aigc's PyTorch backend (entry point `aigc.backends: torch`)."""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import torch

from aigc.errors import BackendUnavailable, ConfigError
from aigc.layers import Network

from . import ops as _ops
from .network import TorchNet


class TorchBackend:
    name = "torch"
    ops = _ops

    def __init__(self, device: str = "cpu", deterministic: bool = False):
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendUnavailable(
                f"device {device!r}: torch {torch.__version__} sees no CUDA GPU; use device=cpu "
                "or install a CUDA build of PyTorch"
            )
        self.device = device
        self._device = torch.device(device)
        self.set_determinism(deterministic)

    @classmethod
    def info(cls) -> dict:
        devices = ["cpu"] + [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
        return {"version": torch.__version__, "devices": devices}

    def build(self, spec: Network) -> TorchNet:
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
        """Steps run under no_grad (gradients are taken inside `value_and_grad` only)."""
        if mode not in ("auto", "none", "torch_compile"):
            raise ConfigError(f"train.compile: {mode!r} is not available on torch; allowed: auto, none, torch_compile")
        if mode == "torch_compile":
            fn = torch.compile(fn)

        @functools.wraps(fn)
        def step(*args, **kwargs):
            with torch.no_grad():
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
        if not torch.is_grad_enabled():  # inside a step: entering no_grad again cost ~10% of Adam
            var.copy_(value)
            return
        with torch.no_grad():
            var.copy_(value)

    def adam_update(self, params, grads, m, v, k) -> None:
        """`aigc.optim.update_generic`'s operations, in its order, as in-place multi-tensor
        ops: the same bits in ~0.6x the time of one op per tensor (tests/test_optim.py)."""
        if torch.is_grad_enabled():  # outside a compiled step
            with torch.no_grad():
                return self.adam_update(params, grads, m, v, k)
        deltas = torch._foreach_sub(grads, m)  # m += (g - m) * (1 - beta1)
        torch._foreach_mul_(deltas, k.one_minus_beta1)
        torch._foreach_add_(m, deltas)
        deltas = torch._foreach_mul(grads, grads)  # v += (g * g - v) * (1 - beta2)
        torch._foreach_sub_(deltas, v)
        torch._foreach_mul_(deltas, k.one_minus_beta2)
        torch._foreach_add_(v, deltas)
        denominator = torch._foreach_sqrt(v)  # p -= (m * alpha) / (sqrt(v) + eps_hat)
        torch._foreach_add_(denominator, k.eps_hat)
        step = torch._foreach_mul(m, k.alpha)
        torch._foreach_div_(step, denominator)
        torch._foreach_sub_(params, step)

    def set_determinism(self, enabled: bool) -> None:
        """Deterministic kernels and no TF32 when enabled (parity runs)."""
        torch.use_deterministic_algorithms(enabled, warn_only=False)
        torch.backends.cuda.matmul.allow_tf32 = not enabled and torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = not enabled
        torch.backends.cudnn.benchmark = False

    def is_out_of_memory(self, exc: BaseException) -> bool:
        """CUDA's OutOfMemoryError, the CPU allocator's "can't allocate memory", or MemoryError."""
        return isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)) or (
            isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
        )


__all__ = ["TorchBackend"]
