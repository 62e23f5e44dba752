"""Building the same model on each backend from one resolved config."""

from __future__ import annotations

import numpy as np

from aigc import config, data, models
from aigc.training.loop import feed_for

# Every model in the registry joins the parity suite: GANs that take any data train on a
# small ring, every other model on the 8x8 digits (images, with labels).
RING = {"name": "ring8", "size": 2048}
DIGITS = {"name": "digits"}
# Small sizes for whichever of these keys a model's schema has.
TINY = {"hidden": 32, "depth": 2, "channels": 8, "latent_dim": 8, "label_dim": 4}


def data_for(model: str) -> dict:
    entry = models.REGISTRY[model]
    return dict(RING if entry.family.family == "gan" and "channels" not in entry.schema else DIGITS)


def tiny_config(model: str, backend: str, **overrides) -> config.Config:
    return config.load(tiny_raw(model, backend), [f"{k}={v}" for k, v in overrides.items()])


def tiny_raw(model: str, backend: str = "torch") -> dict:
    schema = models.REGISTRY[model].schema
    return {
        "backend": backend,
        "seed": 0,
        "model": {"name": model, **{k: v for k, v in TINY.items() if k in schema}},
        "data": data_for(model),
        "train": {"steps": 20, "batch_size": 64, "progress": False},
        "optim": {"lr": 1e-3},
    }


def build_pair(pair: dict, model: str, **overrides) -> tuple[dict, data.Dataset]:
    """{backend name: model} with identical initial weights drawn from seed 0."""
    built = {}
    for name, backend in pair.items():
        cfg = tiny_config(model, name, **overrides)
        dataset = data.load(cfg.data, cfg.seed)
        m = models.build(cfg, backend, dataset.sample_shape, dataset.kind)
        m.initialize(np.random.default_rng(cfg.seed))
        built[name] = m
    return built, dataset


def canonical_grads(model, net_names: list[str], grads) -> dict[str, np.ndarray]:
    out = {}
    slots = [(n, k) for n in net_names for k in model.nets[n].params]
    for (n, k), g in zip(slots, grads):
        out[f"{n}.{k}"] = model.nets[n].to_canonical(k, g)
    return out


def run_steps(model, dataset, steps: int, seed: int = 0) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    history = []
    with feed_for(model, dataset, model.cfg.replace(seed=seed)) as feed:
        for _ in range(steps):
            batch, labels = feed.next_labeled()
            metrics = model.train_step(batch, rng, labels)
            history.append({k: float(model.backend.numpy(v)) for k, v in metrics.items()})
    return history
