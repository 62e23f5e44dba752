"""The backend contract and the plugin registry (entry-point group `aigc.backends`).

The core never imports a framework: it asks a backend for tensor ops, native networks,
gradients and in-place updates, and does all GAN/VAE math itself.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any, Protocol

import numpy as np

from .errors import BackendUnavailable, ConfigError, excerpt
from .specs import NetworkSpec

ENTRY_POINT_GROUP = "aigc.backends"
# The backends aigc ships, in the order they are listed and imported (in one process PyTorch
# must be imported before TensorFlow), with the command that installs each.
INSTALL_HINTS = {
    "torch": "pip install 'aigc[torch]'",
    "tensorflow": "pip install 'aigc[tensorflow]'",
    "jax": "pip install 'aigc[jax]'",
}

Tensor = Any  # a native tensor: torch.Tensor, tf.Tensor, jax.Array, ...
Var = Any  # a native variable: torch.nn.Parameter / buffer, tf.Variable, ...


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
    """What every backend provides: the members the core calls (`conformance` checks them)."""

    name: str  # the entry point's name: "torch", "tensorflow", ...
    ops: Ops
    device: str  # where it was placed; may change once on `join` (rank r takes cuda:<local rank>)
    compile_modes: tuple[str, ...]  # the `train.compile` values it accepts, "auto" and "none" among them

    def __init__(self, device: str = "cpu", deterministic: bool = False) -> None:
        """Placed on `device` ("cpu", "cuda", "cuda:1"; BackendUnavailable where it cannot be);
        `deterministic`: `set_determinism(True)` at once (parity runs)."""
        ...

    @classmethod
    def info(cls) -> dict:
        """{"version": the framework's version, "devices": ["cpu", ...]} (`aigc backends`, traces)."""
        ...

    def build(self, spec: NetworkSpec) -> BuiltNetwork: ...
    def value_and_grad(
        self, loss_fn: Callable[[], tuple[Tensor, dict]], params: Sequence[Var]
    ) -> tuple[Tensor, dict, list[Tensor]]:
        """loss, aux = loss_fn(), and d loss / d params (zeros for unused ones)."""
        ...

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

    def compile(self, fn: Callable, mode: str) -> Callable:
        """`fn` (a training step: tensors in, a dict of scalar tensors out) run as `mode` says,
        one of `compile_modes`; any other mode: a one-line ConfigError."""
        ...

    def tensor(self, array: np.ndarray) -> Tensor: ...
    def numpy(self, value: Tensor) -> np.ndarray:
        """A copy, never a view of the tensor's memory (later steps update it in place)."""
        ...

    def variable(self, array: np.ndarray) -> Var: ...
    def assign(self, var: Var, value: Tensor) -> None:
        """var <- value in place (Adam's moments, EMA weights, BatchNorm statistics)."""
        ...

    def set_determinism(self, enabled: bool) -> None: ...
    def is_out_of_memory(self, exc: BaseException) -> bool:
        """Whether `exc`, raised by a step, is the framework running out of (device) memory."""
        ...


class OptionalMembers(Protocol):
    """What a backend may add; the core looks each up with getattr/hasattr and does without."""

    thread_env: tuple[str, ...]  # the environment variables that set its threads (aigc/threads.py)

    def set_threads(self, n: int) -> bool:
        """n intra- and inter-op threads; False where the framework's pools are fixed by now.
        Without it, `train.threads` leaves the threads to the framework."""
        ...

    def get_threads(self) -> int: ...
    def adam_update(self, params: list[Var], grads: list[Tensor], m: list[Var], v: list[Var], k: Any) -> None:
        """`aigc.optim.update_generic`'s operations in its order, rounding for rounding, in
        fewer kernels; `k`: the step's `aigc.optim.Coefficients` (tests/test_optim.py)."""
        ...

    def moving_average(self, average: list[Var], live: list[Var], decay: float) -> None:
        """average <- decay * average + (1 - decay) * live for each pair, in place, rounding for
        rounding as that expression in the core (`GAN._update_average`; tests/test_optim.py)."""
        ...

    def join(self, launch: Any) -> Any:
        """Data-parallel training (aigc/distributed, docs/distributed.md): this process's place
        in the run's world (an `aigc.distributed.Launch`), before any network is built; returns
        its `aigc.distributed.Collectives`: all_gather in rank order, inside and outside a step,
        the step as the engine runs it, BatchNorm statistics from the core's rank-order sums."""
        ...

    @staticmethod
    def launch(nproc: int, argv: list[str], port: int | None, out: str) -> int:
        """`aigc train --nproc N`: N local workers of `aigc *argv` through the framework's own
        launcher; the exit status (TensorFlow's TF_CONFIG workers are started by the core)."""
        ...


# The members `conformance` checks; their signatures are read from the Protocols above.
REQUIRED_ATTRIBUTES = ("name", "ops", "compile_modes")
REQUIRED_METHODS = (
    "info",
    "build",
    "value_and_grad",
    "forward_for_grad",
    "input_gradient",
    "compile",
    "tensor",
    "numpy",
    "variable",
    "assign",
    "set_determinism",
    "is_out_of_memory",
)
OPTIONAL_METHODS = ("set_threads", "get_threads", "adam_update", "moving_average", "join", "launch")
INFO_KEYS = ("version", "devices")


def _parameters(fn: Any) -> list[inspect.Parameter] | None:
    """`fn`'s parameters; None where it has no signature to read."""
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def _signature_problem(member: Any, declared: Any) -> str | None:
    """Why class member `member` cannot be called as the Protocol's `declared` is (the same
    number of positional arguments), or None. self/cls are left out of both."""

    def params(m: Any) -> list[inspect.Parameter] | None:
        fn = m.__func__ if isinstance(m, (classmethod, staticmethod)) else m
        found = _parameters(fn)
        return found if found is None or isinstance(m, staticmethod) else found[1:]

    have, want = params(member), params(declared)
    if have is None or any(p.kind is p.VAR_POSITIONAL for p in have):
        return None
    positional = [p for p in have if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) > len(want) or len(positional) < len(want):
        shown = lambda ps: "(" + ", ".join(p.name for p in ps) + ")"
        return f"takes {shown(have)}, expected {shown(want)}"
    return None


def conformance(cls: type) -> list[str]:
    """What backend class `cls` lacks of the contract (`Backend`, and each `OptionalMembers`
    method it has): one readable line per problem, empty when it conforms. Reads the class;
    calls `info()` and nothing else."""
    label = getattr(cls, "__name__", repr(cls))
    problems = []
    for attr in REQUIRED_ATTRIBUTES:
        if not hasattr(cls, attr):
            problems.append(f"{label}: missing attribute {attr!r} ({Backend.__annotations__[attr]})")
    for name in (*REQUIRED_METHODS, *OPTIONAL_METHODS):
        member = inspect.getattr_static(cls, name, None)
        if member is None:
            if name in REQUIRED_METHODS:
                problems.append(f"{label}: missing method {name}()")
            continue
        declared = inspect.getattr_static(Backend if name in REQUIRED_METHODS else OptionalMembers, name)
        if not callable(getattr(cls, name)):
            problems.append(f"{label}.{name}: not callable")
            continue
        for kind in (classmethod, staticmethod):
            if isinstance(declared, kind) and not isinstance(member, kind):
                problems.append(f"{label}.{name}: must be a {kind.__name__}")
        if why := _signature_problem(member, declared):
            problems.append(f"{label}.{name}: {why}")
    init = {p.name: p for p in (_parameters(cls.__init__) or [])[1:]}
    for arg, default in (("device", "cpu"), ("deterministic", False)):
        if arg not in init or init[arg].default != default:
            problems.append(f"{label}.__init__: expected a parameter {arg}={default!r}")
    modes = getattr(cls, "compile_modes", ())
    if not isinstance(modes, tuple) or not all(isinstance(m, str) and m for m in modes):
        problems.append(f"{label}.compile_modes: expected a tuple of non-empty strings, got {excerpt(modes)}")
    elif missing := [m for m in ("auto", "none") if m not in modes]:
        problems.append(f"{label}.compile_modes: lacks {', '.join(missing)} (every backend accepts auto and none)")
    if isinstance(inspect.getattr_static(cls, "info", None), classmethod):
        info = cls.info()
        if not isinstance(info, dict) or any(k not in info for k in INFO_KEYS):
            problems.append(f"{label}.info(): expected a dict with keys {', '.join(INFO_KEYS)}, got {excerpt(info)}")
        elif not isinstance(info["devices"], list) or "cpu" not in info["devices"]:
            problems.append(f"{label}.info()['devices']: expected a list holding 'cpu', got {excerpt(info['devices'])}")
    return problems


def check_compile(cls: type, mode: str) -> None:
    """`train.compile=mode` against backend class `cls`: a one-line ConfigError naming its modes."""
    allowed = getattr(cls, "compile_modes", ("auto", "none"))
    if mode not in allowed:
        raise ConfigError(
            f"train.compile: {excerpt(mode)} is not available on {cls.name}; allowed: {', '.join(allowed)}"
        )


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def names() -> list[str]:
    """The backends aigc ships and those registered through the entry-point group (installed
    or not): torch, tensorflow, jax, then the others by name."""
    return list(INSTALL_HINTS) + sorted(set(_entry_points()) - set(INSTALL_HINTS))


@functools.cache
def installed() -> list[str]:
    """The backends whose entry point loads (their framework imports), in `names()` order.
    Loading imports each framework, torch first; the answer is kept for the process."""
    found = []
    for name in names():
        try:
            backend_class(name)
        except BackendUnavailable:
            continue
        found.append(name)
    return found


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
    """Every known backend: installed or not, version, devices and compile modes, or the
    install command."""
    rows = []
    for name in names():
        try:
            cls = backend_class(name)
        except BackendUnavailable as exc:
            rows.append({"name": name, "installed": False, "hint": str(exc)})
            continue
        rows.append({"name": name, "installed": True, **cls.info(), "compile_modes": list(cls.compile_modes)})
    return rows
