"""Building the same model on each backend from one resolved config."""

from __future__ import annotations

import numpy as np

from aigc import config, data, models


# Every model in the registry joins the parity suite through its family's small dataset.
FAMILY_DATA = {"gan": {"name": "ring8", "size": 2048}, "vae": {"name": "digits"}}


def tiny_config(model: str, backend: str, **overrides) -> dict:
    raw = {
        "backend": backend,
        "seed": 0,
        "model": {"name": model, "hidden": 32, "depth": 2},
        "data": dict(FAMILY_DATA[models.REGISTRY[model].family.family]),
        "train": {"steps": 20, "batch_size": 64, "progress": False},
        "optim": {"lr": 1e-3},
    }
    return config.load(raw, [f"{k}={v}" for k, v in overrides.items()])


def build_pair(pair: dict, model: str, **overrides) -> tuple[dict, data.Dataset]:
    """{backend name: model} with identical initial weights drawn from seed 0."""
    built = {}
    for name, backend in pair.items():
        cfg = tiny_config(model, name, **overrides)
        dataset = data.load(cfg["data"], cfg["seed"])
        m = models.build(cfg, backend, dataset.sample_shape, dataset.kind)
        m.initialize(np.random.default_rng(cfg["seed"]))
        built[name] = m
    return built, dataset


def canonical_grads(model, net_names: list[str], grads) -> dict[str, np.ndarray]:
    out = {}
    slots = [(n, k) for n in net_names for k in model.nets[n].params]
    for (n, k), g in zip(slots, grads):
        out[f"{n}.{k}"] = model.nets[n].to_canonical(k, g)
    return out
