"""Sizes the machine cannot hold, refused before anything is built: an estimate of the memory
a run (or a `sample`/`eval`) needs, from the model's neutral specs and the data's shape,
against the machine's physical memory. Estimates are rough (x4 bytes per float32) and meant to
catch typos such as `model.hidden=10000000` or `data.size=10**12`, not to plan a run.
"""

from __future__ import annotations

import math
import os

from .errors import ConfigError
from .schema import Section

FLOAT = 4  # bytes
# Per-sample shapes of the datasets, known without loading them.
SAMPLE_SHAPES = {
    "ring8": (2,),
    "grid25": (2,),
    "digits": (8, 8, 1),
    "mnist": (28, 28, 1),
    "fashion_mnist": (28, 28, 1),
    "cifar10": (32, 32, 3),
}
FIXED_SIZES = {"digits": 1797, "mnist": 70_000, "fashion_mnist": 70_000, "cifar10": 60_000}


def machine_bytes() -> int | None:
    """Physical memory, or None where the OS does not say (no check then)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB" if n < 1e15 else f"{n:.2e} bytes"


def sample_shape(data_cfg: Section) -> tuple[int, ...]:
    return SAMPLE_SHAPES.get(data_cfg.name, (1,))


def _specs(cfg) -> dict:
    from .models import REGISTRY

    shape = sample_shape(cfg.data)
    kind = "points" if len(shape) == 1 else "images"
    try:
        return REGISTRY[cfg.model.name].architecture(cfg.model, shape, kind)
    except (ValueError, KeyError, ZeroDivisionError):
        return {}  # an architecture that does not fit the data: models.build says so later


def parts(cfg) -> dict[str, int]:
    """Estimated bytes of a training run (a typed config): weights with gradients and Adam's
    two slots, the training data, one batch's activations (forward and backward), and the
    evaluation's samples."""
    specs = _specs(cfg)
    params = sum(math.prod(p.shape) for net in specs.values() for p in net.params())
    per_sample = sum(math.prod(s) for net in specs.values() for s in net.shapes())
    g_per_sample = sum(
        math.prod(s) for name, net in specs.items() if name.lower().startswith(("g", "dec")) for s in net.shapes()
    )
    d = cfg.data
    rows = getattr(d, "size", 0) if d.name not in FIXED_SIZES else FIXED_SIZES[d.name]
    batch = cfg.train.batch_size * getattr(cfg.model, "n_critic", 1)
    return {
        "weights and Adam state": params * FLOAT * 4,
        "data": rows * math.prod(sample_shape(d)) * FLOAT,
        "activations of a batch": batch * per_sample * FLOAT * 3,
        "evaluation samples": cfg.train.eval_samples * (g_per_sample or per_sample) * FLOAT,
    }


def check_fits(needed: dict[str, int], what: str, hint: str) -> None:
    """Refuse if the estimate exceeds the machine's memory, naming the estimate and its parts."""
    total, have = sum(needed.values()), machine_bytes()
    if have is None or total <= have:
        return
    biggest = ", ".join(f"{k} {_gb(v)}" for k, v in sorted(needed.items(), key=lambda kv: -kv[1]) if v > have / 100)
    raise ConfigError(f"{what} needs about {_gb(total)} of memory ({biggest}); this machine has {_gb(have)}; {hint}")


def check_train(cfg) -> None:
    check_fits(parts(cfg), "this run", "reduce the model's sizes, train.batch_size, data.size or train.eval_samples")


def check_samples(cfg, n: int, option: str) -> None:
    """`aigc sample -n` / `aigc eval --n`: n samples through the generator (or decoder) at once."""
    specs = _specs(cfg)
    per_sample = max([sum(math.prod(s) for s in net.shapes()) for net in specs.values()] or [1])
    check_fits({f"{n} samples": n * per_sample * FLOAT * 2}, f"{option} {n}", f"use a smaller {option}")
