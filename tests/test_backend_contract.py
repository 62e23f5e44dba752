"""The backend contract (`aigc.backends.Backend`, `OptionalMembers`) holds for every installed
backend; `conformance` names what a class lacks; the registry lists and orders them."""

from __future__ import annotations

import inspect
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from aigc import backends, config
from aigc.errors import BackendUnavailable, ConfigError

from .backend_list import SELECTED, params


@pytest.mark.parametrize("name", params())
def test_installed_backend_conforms(name):
    cls = backends.backend_class(name)
    assert backends.conformance(cls) == []
    assert cls.name == name
    assert "auto" in cls.compile_modes and "none" in cls.compile_modes


@pytest.mark.parametrize("name", params())
def test_instance_members(name):
    be = backends.get(name)
    assert be.device == "cpu" and be.name == name
    x = be.tensor(np.arange(3, dtype=np.float32))
    out = be.numpy(x)
    assert isinstance(out, np.ndarray) and out.tolist() == [0.0, 1.0, 2.0]
    v = be.variable(np.zeros(3, np.float32))
    be.assign(v, x)
    np.testing.assert_array_equal(be.numpy(v), out)
    assert be.is_out_of_memory(MemoryError()) and not be.is_out_of_memory(ValueError("x"))
    with pytest.raises(ConfigError, match=r"^train\.compile: 'no_such_mode' is not available on "):
        be.compile(lambda: None, "no_such_mode")


# The optional members, called as the core calls them (placeholders where binding suffices).
OPTIONAL_CALLS = {
    "set_threads": (1,),
    "adam_update": ([], [], [], [], None),
    "moving_average": ([], [], 0.99),
    "join": (None,),
}


@pytest.mark.parametrize("name", params())
def test_optional_members_where_present_take_the_documented_arguments(name):
    cls = backends.backend_class(name)
    be = cls()
    for member, args in OPTIONAL_CALLS.items():
        if hasattr(be, member):
            inspect.signature(getattr(be, member)).bind(*args)  # TypeError if the core's call would fail
    if hasattr(cls, "launch"):
        assert isinstance(inspect.getattr_static(cls, "launch"), staticmethod)
        inspect.signature(cls.launch).bind(2, ["train", "x.yaml"], None, "runs/x")
    if hasattr(be, "get_threads"):
        assert isinstance(be.get_threads(), int) and be.get_threads() >= 1
    env = getattr(cls, "thread_env", ())
    assert isinstance(env, tuple) and all(isinstance(n, str) and n for n in env)


class Minimal:
    """A backend as someone might first write one: most of the contract missing."""

    name = "minimal"
    compile_modes = ("jit",)

    def __init__(self, device):
        self.device = device

    @classmethod
    def info(cls):
        return {"version": "0"}

    def build(self, spec):
        return None

    def compile(self, fn):
        return fn

    def adam_update(self, params, grads):  # optional, but present: checked too
        pass

    def launch(self, nproc, argv, port, out):  # must be a staticmethod
        return 0


def test_a_minimal_backend_fails_conformance_with_readable_lines():
    problems = backends.conformance(Minimal)
    for line in (
        "Minimal: missing attribute 'ops' (Ops)",
        "Minimal: missing method value_and_grad()",
        "Minimal: missing method is_out_of_memory()",
        "Minimal.compile: takes (fn), expected (fn, mode)",
        "Minimal.adam_update: takes (params, grads), expected (params, grads, m, v, k)",
        "Minimal.launch: must be a staticmethod",
        "Minimal.__init__: expected a parameter device='cpu'",
        "Minimal.__init__: expected a parameter deterministic=False",
        "Minimal.compile_modes: lacks auto, none (every backend accepts auto and none)",
        "Minimal.info(): expected a dict with keys version, devices, got {'version': '0'}",
    ):
        assert line in problems, problems
    assert all("\n" not in p for p in problems)
    assert not any("join" in p or "set_threads" in p for p in problems)  # absent optional members are fine


class Complete:
    """Every member with its declared signature, nothing behind it: conformance reads the class."""

    name = "complete"
    ops = None
    compile_modes = ("auto", "none", "jit")

    def __init__(self, device: str = "cpu", deterministic: bool = False):
        self.device = device

    @classmethod
    def info(cls):
        return {"version": "1.0", "devices": ["cpu"]}

    def build(self, spec): ...
    def value_and_grad(self, loss_fn, params): ...
    def forward_for_grad(self, fn, params): ...
    def input_gradient(self, fn, x): ...
    def compile(self, fn, mode): ...
    def tensor(self, array): ...
    def numpy(self, value): ...
    def variable(self, array): ...
    def assign(self, var, value): ...
    def set_determinism(self, enabled): ...
    def is_out_of_memory(self, exc): ...


def test_a_complete_backend_conforms():
    assert backends.conformance(Complete) == []


def test_names_order_and_install_hints():
    names = backends.names()
    assert names[:3] == ["torch", "tensorflow", "jax"]
    assert backends.INSTALL_HINTS["jax"] == "pip install 'aigc[jax]'"
    installed = backends.installed()
    assert installed == [n for n in names if n in installed]  # names() order
    assert set(installed) >= {n for n in SELECTED if n in installed}


def test_a_registered_backend_that_does_not_load_is_not_installed(monkeypatch):
    broken = metadata.EntryPoint("zzbroken", "aigc_no_such_module:Backend", backends.ENTRY_POINT_GROUP)
    real = backends._entry_points()
    monkeypatch.setattr(backends, "_entry_points", lambda: {**real, "zzbroken": broken})
    backends.installed.cache_clear()
    try:
        assert backends.names()[-1] == "zzbroken"
        assert "zzbroken" not in backends.installed()
        with pytest.raises(BackendUnavailable, match="backend 'zzbroken' is not installed"):
            backends.backend_class("zzbroken")
    finally:
        backends.installed.cache_clear()


def test_train_compile_is_a_free_word_checked_against_the_backend():
    assert config.load("configs/gan_ring8.yaml", ["train.compile=jit"]).train.compile == "jit"  # no framework needed
    with pytest.raises(ConfigError, match=r"^train\.compile: ''"):
        config.load("configs/gan_ring8.yaml", ["train.compile="])
    backends.check_compile(Complete, "jit")
    with pytest.raises(ConfigError) as exc:
        backends.check_compile(Complete, "xla")
    assert str(exc.value) == "train.compile: 'xla' is not available on complete; allowed: auto, none, jit"


@pytest.mark.parametrize("name", params())
def test_a_mode_the_backend_lacks_stops_training_before_out_is_made(tmp_path, name):
    from aigc import api

    mode = next(
        m for m in ("xla", "torch_compile", "no_such_mode") if m not in backends.backend_class(name).compile_modes
    )
    with pytest.raises(ConfigError) as exc:
        api.train("configs/gan_ring8.yaml", f"backend={name}", f"train.compile={mode}", f"out={tmp_path / 'run'}")
    allowed = ", ".join(backends.backend_class(name).compile_modes)
    assert str(exc.value) == f"train.compile: {mode!r} is not available on {name}; allowed: {allowed}"
    assert not (tmp_path / "run").exists()


SUBNORMAL_ARITHMETIC = """
import numpy as np
from aigc import backends
be = backends.get({name!r})
be.set_threads(2)
x = be.tensor(np.full(1 << 20, 1e-39, np.float32))  # a float32 subnormal (below 1.2e-38)
step = be.compile(lambda a: a * 3.0, "auto")  # an argument, so no compiler folds the product
print(int(np.count_nonzero(be.numpy(step(x)))), int(np.float32(1e-39) * np.float32(3.0) != 0))
"""


@pytest.mark.parametrize("name", params())
def test_arithmetic_flushes_subnormals_to_zero(name):
    """Adam's m and v drift into float32 subnormals over a long run, and x86 arithmetic on them
    is many times slower unless the thread flushes them to zero (docs/threads.md). TensorFlow
    and JAX flush in their own threads; every backend must, in its compiled steps, on every
    compute thread (a fresh process, two threads, a tensor large enough to be split between
    them), and leave the calling thread's own arithmetic as it was: NumPy still keeps
    subnormals after the step."""
    code = SUBNORMAL_ARITHMETIC.format(name=name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["0", "1"]
