"""The backends the tests run on, from the registry (`aigc.backends`), never written out.

`SELECTED`: every registered backend, in `names()` order (torch first: it must be imported
before TensorFlow), or those named in `AIGC_TEST_BACKENDS=torch,tensorflow` (CI's time
budget: a backend's heavy tests can be left to another job). `BACKENDS`: the selected ones
that are installed. A selected backend that is not installed is still a test parameter, a
skipped one whose reason is its install hint (`params()`).

Tests that compare backends compare every pair of `BACKENDS` (`pairs`), or each backend with
the first (`REFERENCE`), as each test's comment says.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable

import pytest

from aigc import backends
from aigc.errors import BackendUnavailable

ENV = "AIGC_TEST_BACKENDS"


def _selected() -> list[str]:
    text = os.environ.get(ENV, "").strip()
    registered = backends.names()
    if not text:
        return registered
    wanted = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in registered]
    if unknown:
        raise pytest.UsageError(f"{ENV}: unknown backend {', '.join(unknown)}; registered: {', '.join(registered)}")
    return [n for n in registered if n in wanted]


def _why_missing(name: str) -> str | None:
    """None when backend `name` loads, else the one-line reason with its install hint."""
    try:
        backends.backend_class(name)
    except BackendUnavailable as exc:
        return str(exc)
    return None


SELECTED = _selected()
MISSING = {name: why for name in SELECTED if (why := _why_missing(name)) is not None}
BACKENDS = [name for name in SELECTED if name not in MISSING]
REFERENCE = BACKENDS[0] if BACKENDS else None  # what "each against the first" compares with


def having(feature: Callable[[type], bool]) -> list[str]:
    """The installed selected backends whose class has `feature` (e.g. `hasattr(cls, "join")`)."""
    return [name for name in BACKENDS if feature(backends.backend_class(name))]


def params(names: Iterable[str] | None = None) -> list:
    """`@pytest.mark.parametrize` values: each selected backend (or each of `names`), a
    missing one as a skipped parameter whose reason is its install hint."""
    chosen = SELECTED if names is None else list(names)
    return [pytest.param(n, marks=pytest.mark.skip(reason=MISSING[n])) if n in MISSING else n for n in chosen]


def pairs(names: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Every pair of `names` (default: `BACKENDS`), in order: (torch, tensorflow), (torch, jax), ..."""
    return list(itertools.combinations(BACKENDS if names is None else list(names), 2))


def need_two() -> None:
    """Skip a comparison test where fewer than two backends are installed, naming the hints."""
    if len(BACKENDS) < 2:
        hints = "; ".join(MISSING.values()) or f"{ENV} selects {', '.join(SELECTED) or 'none'}"
        pytest.skip(f"needs two installed backends, has {', '.join(BACKENDS) or 'none'} ({hints})")


def assert_close_pairs(values: dict, err_msg: str = "", **tolerances) -> None:
    """`np.testing.assert_allclose(values[a], values[b], ...)` for every pair (a, b) of the
    dict's backends, in its order: (torch, tensorflow) as the two-backend tests always did."""
    import numpy as np

    for a, b in itertools.combinations(values, 2):
        np.testing.assert_allclose(values[a], values[b], err_msg=f"{a} vs {b} {err_msg}".strip(), **tolerances)
