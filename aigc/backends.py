"""The backend contract and the plugin registry (entry-point group `aigc.backends`).

The core never imports a framework: it asks a backend for tensor ops, native networks,
gradients and in-place updates, and does all GAN/VAE math itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, Protocol

import numpy as np

from .errors import BackendUnavailable
from .specs import NetworkSpec

ENTRY_POINT_GROUP = "aigc.backends"
INSTALL_HINTS = {
    "torch": "pip install 'aigc[torch]'",
    "tensorflow": "pip install 'aigc[tensorflow]'",
}

Tensor = Any  # a native tensor: torch.Tensor or tf.Tensor
Var = Any  # a native variable: torch.nn.Parameter / buffer or tf.Variable


class Ops(Protocol):
    """The tensor functions the core's math is written against (besides + - * / and slicing)."""

    def mean(self, x: Tensor, axis: int | None = None) -> Tensor: ...
    def sum(self, x: Tensor, axis: int | None = None) -> Tensor: ...
    def softplus(self, x: Tensor) -> Tensor: ...
    def sigmoid(self, x: Tensor) -> Tensor: ...
    def exp(self, x: Tensor) -> Tensor: ...
    def log(self, x: Tensor) -> Tensor: ...
    def sqrt(self, x: Tensor) -> Tensor: ...
    def square(self, x: Tensor) -> Tensor: ...
    def relu(self, x: Tensor) -> Tensor: ...
    def logsumexp(self, x: Tensor, axis: int) -> Tensor: ...
    def concat(self, xs: Sequence[Tensor], axis: int = -1) -> Tensor: ...
    def reshape(self, x: Tensor, shape: Sequence[int]) -> Tensor: ...
    def stop_gradient(self, x: Tensor) -> Tensor: ...


class BuiltNetwork(Protocol):
    """A native network built from a `NetworkSpec`: what `Backend.build` returns."""

    spec: NetworkSpec
    native: Any  # the torch.nn.Module / keras.Model, for users who drop down to the framework
    params: dict[str, Var]  # trainable tensors, canonical names, native layout
    states: dict[str, Var]  # non-trainable tensors (BatchNorm running statistics)

    def __call__(self, x: Tensor, training: bool, masks: list | None = None) -> Tensor:
        """`masks`: the keep-masks of the spec's Dropout layers (`spec.dropout_shapes()`)."""
        ...

    def to_canonical(self, name: str, value: Tensor) -> np.ndarray: ...
    def from_canonical(self, name: str, array: np.ndarray) -> Tensor: ...


class Backend(Protocol):
    name: str
    ops: Ops
    device: str

    def build(self, spec: NetworkSpec) -> BuiltNetwork: ...
    def value_and_grad(
        self, loss_fn: Callable[[], tuple[Tensor, dict]], params: Sequence[Var]
    ) -> tuple[Tensor, dict, list[Tensor]]: ...
    def forward_for_grad(
        self, fn: Callable[[], Tensor], params: Sequence[Var]
    ) -> tuple[Tensor, Callable[[Callable[[Tensor], tuple[Tensor, dict]]], tuple[Tensor, dict, list[Tensor]]]]:
        """out = fn(), recorded, and `pullback(loss_fn)`: loss_fn(out) with its aux, and the
        gradient of that loss with respect to `params` through `out` (zeros for unused ones).
        The same numbers as `value_and_grad(lambda: loss_fn(fn()), params)`, with fn run
        once: a GAN step judges G(z) in D's update and differentiates it in G's."""
        ...

    def input_gradient(self, fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
        """d sum(fn(x)) / dx, itself differentiable (for WGAN-GP's gradient penalty)."""
        ...

    def compile(self, fn: Callable, mode: str) -> Callable: ...
    def tensor(self, array: np.ndarray) -> Tensor: ...
    def numpy(self, value: Tensor) -> np.ndarray: ...
    def variable(self, array: np.ndarray) -> Var: ...
    def assign(self, var: Var, value: Tensor) -> None: ...
    def set_determinism(self, enabled: bool) -> None: ...
    def is_out_of_memory(self, exc: BaseException) -> bool:
        """Whether `exc`, raised by a step, is the framework running out of (device) memory."""
        ...

    # Optional, for data-parallel training (aigc/distributed, docs/distributed.md):
    # join(launch: aigc.distributed.Launch) -> aigc.distributed.Collectives
    #     this process's place in the run's world (its engine started once per process),
    #     before any network is built: all_gather in rank order, inside and outside a step,
    #     the step as the engine runs it, BatchNorm statistics from the core's rank-order sums;
    # launch(nproc, argv, port, out) -> int   (a staticmethod)
    #     `aigc train --nproc N`: N local workers of `aigc *argv` through the framework's own
    #     launcher (TensorFlow's TF_CONFIG workers are started by the core itself).


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """Backends registered through the entry-point group (installed or not), torch first:
    in one process PyTorch must be imported before TensorFlow."""
    return list(INSTALL_HINTS) + sorted(set(_entry_points()) - set(INSTALL_HINTS))


def backend_class(name: str) -> type:
    eps = _entry_points()
    if name not in eps:
        raise BackendUnavailable(
            f"unknown backend {name!r}; allowed: {', '.join(names())}"
            if name not in INSTALL_HINTS
            else f"backend {name!r} is not registered; reinstall aigc: {INSTALL_HINTS[name]}"
        )
    try:
        return eps[name].load()
    except ImportError as exc:
        hint = INSTALL_HINTS.get(name, f"install the package that provides backend {name!r}")
        raise BackendUnavailable(f"backend {name!r} is not installed ({exc.name or exc}): {hint}") from None


def get(name: str, device: str = "cpu", **options: Any) -> Backend:
    """An instance of backend `name` placed on `device` ("cpu", "cuda", "cuda:1", ...)."""
    return backend_class(name)(device=device, **options)


def describe() -> list[dict]:
    """Every known backend: installed or not, version, devices, or the install command."""
    rows = []
    for name in names():
        try:
            cls = backend_class(name)
        except BackendUnavailable as exc:
            rows.append({"name": name, "installed": False, "hint": str(exc)})
            continue
        rows.append({"name": name, "installed": True, **cls.info()})
    return rows
