import os
import tempfile

import pytest

from .worker_env import CORES  # first: the threads are set before any framework loads

# In one process PyTorch must be imported before TensorFlow.
try:
    import torch  # noqa: F401
except ImportError:
    pass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Feature classifiers trained by tests (image metrics) go to a temporary folder, not ~/.cache.
os.environ.setdefault("AIGC_CLASSIFIER_DIR", tempfile.mkdtemp(prefix="aigc-classifiers-"))

from aigc import backends
from aigc.errors import BackendUnavailable

from .backend_list import BACKENDS, need_two

_NOTES: list[str] = []


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="device for the parity suite; with cuda, a backend that sees no GPU runs on the CPU (said once)",
    )


def _device_for(name: str, wanted: str) -> str:
    if wanted == "cpu":
        return "cpu"
    try:
        devices = backends.backend_class(name).info()["devices"]
    except BackendUnavailable:
        return "cpu"
    if any(d.startswith(("cuda", "/physical_device:GPU")) for d in devices):
        return "cuda"
    _NOTES.append(f"{name} sees no CUDA GPU: its parity checks run on the CPU")
    return "cpu"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """pytest-xdist would send one module's tests to several workers, and each would build the
    module's module-scoped fixtures again (a 2-rank distributed launch, a trained model): the
    tests that use one go to one worker, as `xdist_group(<module>)` (`--dist loadgroup`).
    A test that names its group itself keeps it."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        defs = (d for chain in info.name2fixturedefs.values() for d in chain)
        if any(d.scope == "module" for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def pytest_report_header(config):
    wanted = config.getoption("--device")
    devices = {name: _device_for(name, wanted) for name in BACKENDS}
    config._aigc_devices = devices
    lines = [f"aigc parity devices: {', '.join(f'{n}={d}' for n, d in devices.items())}"]
    return lines + [f"aigc: {note}" for note in _NOTES]


def _get(name: str, device: str):
    try:
        return backends.get(name, device=device, deterministic=True)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def devices(pytestconfig) -> dict[str, str]:
    found = getattr(pytestconfig, "_aigc_devices", None)
    return found or {name: _device_for(name, pytestconfig.getoption("--device")) for name in BACKENDS}


@pytest.fixture(scope="session")
def pair(devices):
    """Every installed (selected) backend, each on its parity device, determinism on:
    {"torch": ..., "tensorflow": ..., ...}; skipped with the install hints where fewer than two."""
    need_two()
    return {name: _get(name, devices[name]) for name in BACKENDS}


RING8_SEEDS = [0, 1, 2]
RING8_REDUCED = ["train.steps=2000"]  # a sixth of the config's 12,000 steps (its schedule ends there too)


@pytest.fixture(scope="session")
def ring8_runs(tmp_path_factory) -> dict[str, list[dict]]:
    """gan_ring8's recipe shortened to 2,000 steps, seeds 0-2 on each backend: the final
    evaluations, shared by the behaviour test (the backends agree) and the quality test (the
    recipe still reaches its reduced figures), so CI trains the ring once per seed. Each run is
    a process of its own on one thread, one per core at a time (as the sweep measured the
    reduced recipe: docs/results/sweeps.md, rows r8_new_2k)."""
    from aigc.parity.behaviour import run_parallel

    jobs = max(1, min(2, CORES))
    overrides = [*RING8_REDUCED, "train.threads=1"]
    out = str(tmp_path_factory.mktemp("ring8"))
    return run_parallel("configs/gan_ring8.yaml", RING8_SEEDS, overrides, jobs, BACKENDS, out)
