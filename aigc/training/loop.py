"""The training loop: batches and noise from the core's generator, steps on a backend."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import backend as backends
from .. import checkpoint, data, models
from ..config import dump
from ..errors import ConfigError
from ..evaluate import evaluate
from ..models import Model
from ..plots import save_samples
from .batches import Batches


@dataclass
class Run:
    """What `train` returns: the trained model and where its files are."""

    model: Model
    config: dict
    out: Path
    step: int
    metrics: dict = field(default_factory=dict)  # the last logged training metrics
    evaluation: dict = field(default_factory=dict)

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        return self.model.sample(n, seed=seed)


def build(cfg: dict) -> tuple[Model, data.Dataset, np.random.Generator]:
    """Backend, dataset and a freshly initialised model for a resolved config."""
    backend = backends.get(cfg["backend"], device=cfg["device"])
    dataset = data.load(cfg["data"], cfg["seed"])
    batch_size = cfg["train"]["batch_size"]
    if batch_size > len(dataset.x):
        raise ConfigError(f"train.batch_size: {batch_size} exceeds the {len(dataset.x)} training examples")
    if batch_size % cfg["model"].get("pack", 1):
        raise ConfigError(f"train.batch_size: {batch_size} is not a multiple of model.pack={cfg['model']['pack']}")
    model = models.build(cfg, backend, dataset.sample_shape, dataset.kind)
    rng = np.random.default_rng(cfg["seed"])
    model.initialize(rng)
    return model, dataset, rng


def save_checkpoint(run_dir: Path, model: Model, cfg: dict, step: int, rng: np.random.Generator, batches: Batches) -> Path:
    return checkpoint.save(
        run_dir / "checkpoint",
        checkpoint.Checkpoint(
            config=cfg,
            step=step,
            weights=model.weights(),
            optim=model.optimizer_state(),
            rng_state=rng.bit_generator.state,
            batches=batches.state(),
            sample_shape=model.sample_shape,
            data_kind=model.data_kind,
            backend=model.backend.name,
        ),
    )


def train(cfg: dict) -> Run:
    """Train a resolved config; write config, metrics, samples and checkpoint to `cfg["out"]`."""
    model, dataset, rng = build(cfg)
    tcfg = cfg["train"]
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump(cfg))
    x = model.to_model_range(dataset.x)
    batches = Batches(len(x), tcfg["batch_size"], cfg["seed"])
    to_float = lambda t: float(model.backend.numpy(t))  # noqa: E731
    last: dict = {}

    from tqdm.auto import tqdm

    bar = tqdm(range(tcfg["steps"]), disable=not tcfg["progress"], desc=f"{cfg['model']['name']} [{cfg['backend']}]")
    with open(out / "metrics.jsonl", "w") as log:
        for step in bar:
            metrics = model.train_step(x[batches.next()], rng)
            done = step + 1
            if done % tcfg["log_every"] == 0 or done == tcfg["steps"]:
                last = {k: to_float(v) for k, v in metrics.items()}
                log.write(json.dumps({"step": done, **last}) + "\n")
                log.flush()
                bar.set_postfix({k: f"{v:.4g}" for k, v in last.items()})
            if tcfg["checkpoint_every"] and done % tcfg["checkpoint_every"] == 0:
                save_checkpoint(out, model, cfg, done, rng, batches)
    save_checkpoint(out, model, cfg, tcfg["steps"], rng, batches)

    held_out = data.load({**cfg["data"], "split": "test"}, cfg["seed"]) if cfg["data"]["name"] == "digits" else dataset
    evaluation = evaluate(model, held_out, tcfg["eval_samples"], seed=cfg["seed"])
    (out / "eval.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    samples = model.sample(tcfg["eval_samples"] if dataset.kind == "points" else 64, seed=cfg["seed"])
    centers = data.mixtures.centers_and_std(dataset.name)[0] if dataset.name in data.mixtures.MIXTURES else None
    save_samples(samples, out / "samples.png", centers, title=f"{cfg['model']['name']} on {dataset.name} [{cfg['backend']}]")
    return Run(model, cfg, out, tcfg["steps"], last, evaluation)
