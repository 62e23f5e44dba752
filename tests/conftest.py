import os

import pytest

# In one process PyTorch must be imported before TensorFlow.
try:
    import torch  # noqa: F401
except ImportError:
    pass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from aigc import backend as backends  # noqa: E402
from aigc.errors import BackendUnavailable  # noqa: E402

BACKENDS = ["torch", "tensorflow"]


def _get(name: str, device: str = "cpu"):
    try:
        return backends.get(name, device=device, deterministic=True)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pair():
    """Both backends on the CPU with determinism on: {"torch": ..., "tensorflow": ...}."""
    return {name: _get(name) for name in BACKENDS}


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return _get(request.param)
