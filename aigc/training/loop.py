"""The training loop: batches and noise from the core's generator, steps on a backend.

Reliability (docs/reliability.md): `resume` continues bit for bit from the newest
checkpoint; SIGINT/SIGTERM save a checkpoint at the next step boundary; a NaN/inf loss
(checked every step) or weight (checked before each save) stops the run or rolls it back,
and never overwrites the last good checkpoint; running out of memory is one line.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np

from .. import backends, checkpoint, data, distributed, limits, models, rundir, threads
from ..config import Config, dump, validate
from ..errors import CheckpointError, ConfigError, Interrupted, OutOfMemory, TrainingDiverged
from ..evaluate import evaluate
from ..models import Model
from ..plots import save_samples
from .feed import Feed

MAX_ROLLBACKS = 3
FINISH_STREAM = 0xF1  # seeds finish_training()'s generator beside the run's seed
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal number, as a shell reports it
RESUME_MUST_MATCH = ("seed", "model", "data", "optim")
RESUME_MAY_DIFFER = ("data.root", "data.url")  # where the (checksummed) files come from


@dataclass
class Run:
    """What `train` returns: the trained model and where its files are."""

    model: Model
    config: Config
    out: Path
    step: int
    metrics: dict = field(default_factory=dict)  # the last logged training metrics
    evaluation: dict = field(default_factory=dict)
    steps_per_s: float | None = None  # this call's training steps over their wall time
    chief: bool = True  # data-parallel: rank 0, which wrote the files

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        return self.model.sample(n, seed=seed)


def backend_for(cfg: Config) -> tuple[backends.Backend, threads.Choice]:
    """The config's backend, its threads chosen as `train.threads` says."""
    if cfg.train.threads == threads.AUTO:
        threads.register()  # before the framework's import: runs started together see each other
    backend = backends.get(cfg.backend, device=cfg.device)
    return backend, threads.apply(backend, cfg.train.threads)


def build(cfg: Config, backend: backends.Backend | None = None) -> tuple[Model, data.Dataset, np.random.Generator]:
    """Backend (`backend_for` unless given), dataset and a freshly initialised model for a
    resolved config."""
    backend = backend or backend_for(cfg)[0]
    dataset = data.load(cfg.data, cfg.seed)
    batch_size = cfg.train.batch_size
    if batch_size > len(dataset.x):
        raise ConfigError(f"train.batch_size: {batch_size} exceeds the {len(dataset.x)} training examples")
    pack = getattr(cfg.model, "pack", 1)
    if batch_size % pack:
        raise ConfigError(f"train.batch_size: {batch_size} is not a multiple of model.pack={pack}")
    model = models.build(cfg, backend, dataset.sample_shape, dataset.kind)
    rng = np.random.default_rng(cfg.seed)
    model.initialize(rng)
    return model, dataset, rng


def snapshot(model: Model, cfg: Config, step: int, rng: np.random.Generator, batches: Feed) -> checkpoint.Checkpoint:
    """The whole state of a run: what a checkpoint stores (the config as its plain dict) and a
    rollback returns to."""
    return checkpoint.Checkpoint(
        config=cfg.to_dict(),
        step=step,
        weights=model.weights(),
        optim=model.optimizer_state(),
        rng_state=rng.bit_generator.state,
        batches=batches.state(),
        sample_shape=model.sample_shape,
        data_kind=model.data_kind,
        backend=model.backend.name,
    )


def _restore(model: Model, ckpt: checkpoint.Checkpoint, batches: Feed) -> None:
    """Weights and optimizer state from `ckpt`; the batches continue at its position."""
    model.load_weights(ckpt.weights)
    model.load_optimizer_state(ckpt.optim)
    batches.seek(**ckpt.batches)


def class_rows(num_classes: int, per_class: int) -> np.ndarray:
    """Labels 0 x per_class, 1 x per_class, ...: a sample grid with one row per class."""
    return np.repeat(np.arange(num_classes), per_class)


def feed_for(model: Model, dataset: data.Dataset, cfg: Config) -> Feed:
    """The run's batches in the model's range; a step takes `batch_multiple` batches (WGAN's
    n_critic), and a class-conditional model gets their labels too."""
    if model.conditional and dataset.labels is None:
        raise ConfigError(f"model {model.cfg.model.name} is class-conditional; data {dataset.name} has no labels")
    rows = cfg.train.batch_size * model.batch_multiple
    return Feed(dataset, rows, cfg.seed, model.to_model_range, labels=model.conditional)


def config_differences(mine: dict, theirs: dict, keys=RESUME_MUST_MATCH) -> list[tuple[str, object, object]]:
    """(name, mine, theirs) for each entry of two plain configs that differs under `keys`
    (top-level sections or values, or dotted names such as "train.batch_size"), but for
    where the data comes from (`RESUME_MAY_DIFFER`)."""

    def at(tree: dict, name: str):
        for part in name.split("."):
            tree = tree.get(part) if isinstance(tree, dict) else None
        return tree

    differences = []
    for key in keys:
        a, b = at(mine, key), at(theirs, key)
        pairs = {f"{key}.{k}": (a.get(k), b.get(k)) for k in {**a, **b}} if isinstance(a, dict) else {key: (a, b)}
        differences += [(name, x, y) for name, (x, y) in pairs.items() if x != y and name not in RESUME_MAY_DIFFER]
    return differences


def _resumable(cfg: Config, directory: Path) -> checkpoint.Checkpoint:
    """The newest checkpoint, if this config could have written it (`train.steps` may grow);
    compared in the plain form the checkpoint stores."""
    ckpt = checkpoint.load(directory)
    differences = [
        f"{name}={a!r} (checkpoint: {b!r})" for name, a, b in config_differences(cfg.to_dict(), validate(ckpt.config))
    ]
    if differences:
        where = f"the checkpoint in {directory} (step {ckpt.step})"
        raise ConfigError(f"resume: the config differs from {where}: {', '.join(differences)}")
    if cfg.train.steps < ckpt.step:
        raise ConfigError(f"resume: train.steps={cfg.train.steps} is below the checkpoint's step {ckpt.step}")
    return ckpt


def can_resume(cfg: Config) -> bool:
    """`cfg.out` holds a checkpoint that `resume` would take (the same seed, model, data and
    optimizer; `train.steps` at or past its step)."""
    directory = Path(cfg.out) / "checkpoint"
    if not checkpoint.files(directory):
        return False
    try:
        _resumable(cfg, directory)
    except (ConfigError, CheckpointError):
        return False
    return True


def _open_log(path: Path, resume_step: int | None) -> IO[str]:
    """metrics.jsonl, started afresh; on resume cut after the checkpoint's step (a crash may
    have left later lines, or half a line) and appended to."""
    if resume_step is None or not path.exists():
        return open(path, "w")
    with open(path, "rb+") as f:
        keep = 0
        for line in f:
            try:
                if not line.endswith(b"\n") or json.loads(line)["step"] > resume_step:
                    break
            except (ValueError, KeyError, TypeError):
                break
            keep += len(line)
        f.truncate(keep)
    return open(path, "a")


@contextmanager
def _deferred_signals() -> Iterator[list[int]]:
    """SIGINT/SIGTERM append to the yielded list instead of stopping the step half way (a
    second one raises KeyboardInterrupt at once); the previous handlers come back after."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return

    def handler(signum: int, frame: object) -> None:
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    previous = {s: signal.signal(s, handler) for s in EXIT_CODES}
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def _step(
    model: Model, batch: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator, batch_size: int
) -> dict[str, float]:
    """One step; its metrics as host floats, every step, for the divergence check."""
    try:
        with distributed.current().step():
            return {k: float(model.backend.numpy(v)) for k, v in model.train_step(batch, rng, labels).items()}
    except Exception as exc:
        if model.backend.is_out_of_memory(exc):
            message = f"out of memory at train.batch_size={batch_size}; try a smaller train.batch_size"
            raise OutOfMemory(message) from exc
        raise


def _nonfinite(step: int, losses: dict[str, float], state: checkpoint.Checkpoint | None) -> str | None:
    """What became NaN/inf at `step` (a loss, or a tensor about to be saved), as one line."""
    shown = ", ".join(f"{k}={v:.6g}" for k, v in losses.items())
    if not all(math.isfinite(v) for v in losses.values()):
        return f"non-finite loss at step {step} ({shown})"
    bad = [] if state is None else [k for k, v in {**state.weights, **state.optim}.items() if not np.isfinite(v).all()]
    if bad:
        return f"non-finite weights at step {step} ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''}; {shown})"
    return None


def _evaluate(model: Model, held_out: data.Dataset, cfg: Config) -> dict:
    t = cfg.train
    return evaluate(model, held_out, t.eval_samples, cfg.seed, iwae_k=t.eval_iwae_k, images=t.eval_images)


def train(cfg: Config) -> Run:
    """Train a typed config (`aigc.config.load`); write config, metrics, samples and
    checkpoints to `cfg.out`. With `cfg.resume`, continue from the newest checkpoint in `<out>/checkpoint`.
    Checked before any work: the memory the sizes need, and `out` (writable, not a file);
    `out` stays locked against other runs until this one ends (docs/reliability.md). The
    thread count chosen is printed and stored in the run's config (`train.threads`); under
    `auto` it is revised as other programs start and end (`threads.Governor`)."""
    limits.check_train(cfg)
    # a backend that is not installed, or a train.compile it lacks: refused before out= is created
    backends.check_compile(backends.backend_class(cfg.backend), cfg.train.compile)
    out = rundir.check(cfg.out)
    with rundir.locked(out) if distributed.detect(cfg.backend).chief else nullcontext(), distributed.session():
        return _train(cfg)


def _train(cfg: Config) -> Run:
    """The run, phase by phase: set up, resume or start, the out folder, the steps, the end."""
    backend, choice = backend_for(cfg)
    world = distributed.join(backend, cfg)  # data-parallel: rank 0 writes, shows progress, evaluates
    progress = cfg.train.progress and world.chief
    cfg = replace(cfg, train=cfg.train.replace(threads=choice.threads, progress=progress))  # the threads, stored
    model, dataset, rng = build(cfg, backend)
    governor = threads.Governor(backend, choice)
    batches = feed_for(model, dataset, cfg)
    out = Path(cfg.out)
    at = _resume_or_start(cfg, model, rng, batches, out / "checkpoint")
    _prepare_out(cfg, out)
    held_out = data.held_out(cfg.data, cfg.seed) or dataset
    first, started = at.step, time.perf_counter()
    with _Log(cfg, out, at.step) as log, batches, _deferred_signals() as received:
        if cfg.train.progress:  # once the run is sure to start (a refused resume says only why)
            threads.announce(choice, backend.name)
        evaluation = _steps(cfg, model, rng, batches, held_out, at, log, governor, received)
    elapsed = time.perf_counter() - started
    evaluation = _finish(cfg, model, rng, batches, held_out, dataset, at, evaluation)
    world.barrier()  # the chief's last checkpoint is on disk before any rank returns
    rate = (at.step - first) / elapsed if at.step > first else None
    return Run(model, cfg, out, at.step, log.last, evaluation, rate, world.chief)


@dataclass
class _Position:
    """Where a run is: its step, the last good state (what a rollback returns to), the step
    of the newest checkpoint on disk (None: none yet), the rollbacks so far, and the step and
    results of the newest evaluation."""

    step: int
    good: checkpoint.Checkpoint
    saved: int | None
    rollbacks: int = 0
    evaluated_at: int | None = None


def _resume_or_start(cfg: Config, model: Model, rng: np.random.Generator, batches: Feed, ckpt_dir: Path) -> _Position:
    """Step 0, or with `resume` the newest checkpoint's state: weights, optimizers, the
    generator and the batch position, bit for bit."""
    if not cfg.resume:
        return _Position(0, snapshot(model, cfg, 0, rng, batches), None)
    good = _resumable(cfg, ckpt_dir)
    if tuple(good.sample_shape) != model.sample_shape or good.data_kind != model.data_kind:
        raise checkpoint.CheckpointError(
            f"resume: the checkpoint's data shape {good.sample_shape} ({good.data_kind}) "
            f"is not this data's {model.sample_shape} ({model.data_kind})"
        )
    _restore(model, good, batches)
    rng.bit_generator.state = good.rng_state
    return _Position(good.step, good, good.step)


def _prepare_out(cfg: Config, out: Path) -> None:
    """The run folder: a fresh run's old checkpoints removed; the resolved config written."""
    if not distributed.current().chief:
        return
    out.mkdir(parents=True, exist_ok=True)
    if not cfg.resume:
        checkpoint.clear(out / "checkpoint")
    (out / "config.yaml").write_text(dump(cfg))


class _Log:
    """The progress bar and metrics.jsonl (cut after the checkpoint's step on resume)."""

    def __init__(self, cfg: Config, out: Path, step: int):
        from tqdm.auto import tqdm

        tcfg = cfg.train
        self.every = tcfg.log_every
        desc = f"{cfg.model.name} [{cfg.backend}]"
        self.bar = tqdm(total=tcfg.steps, initial=step, disable=not tcfg.progress, desc=desc)
        chief = distributed.current().chief  # the other ranks' lines go nowhere
        path = out / "metrics.jsonl" if chief else Path(os.devnull)
        self.file = _open_log(path, step if cfg.resume and chief else None)
        self.last: dict[str, float] = {}  # the last logged training metrics

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *exc) -> None:
        with self.bar, self.file:
            pass

    def _write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def step(self, step: int, losses: dict[str, float], final: bool) -> None:
        """A finished step: the bar moves; every `log_every` steps and at the end, a line."""
        self.bar.update()
        if step % self.every == 0 or final:
            self.last = losses
            self._write({"step": step, **losses})
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()})

    def evaluation(self, step: int, results: dict) -> None:
        self._write({"step": step, "eval": results})

    def rolled_back(self, step: int) -> None:
        self.bar.n = step

    def note(self, text: str) -> None:
        self.bar.write(text, file=sys.stderr)


def _steps(
    cfg: Config,
    model: Model,
    rng: np.random.Generator,
    batches: Feed,
    held_out: data.Dataset,
    at: _Position,
    log: _Log,
    governor: threads.Governor,
    received: list[int],
) -> dict:
    """Train to `train.steps`. After each step: a NaN/inf stops the run or rolls it back; the
    log, an evaluation (`eval_every`) and a checkpoint (`checkpoint_every`, the last step, a
    signal) as due; a signal then stops the run. Returns the newest evaluation's results."""
    tcfg, ckpt_dir = cfg.train, Path(cfg.out) / "checkpoint"
    every, steps = tcfg.checkpoint_every, tcfg.steps
    evaluation: dict = {}
    chief = distributed.current().chief
    while at.step < steps:
        revised = governor.tick()
        if revised and tcfg.progress:
            log.note(f"aigc: {model.backend.name} now uses {revised}")
        losses = _step(model, *batches.next_labeled(), rng, tcfg.batch_size)
        at.step += 1
        if at.step == steps:  # its own generator: the training draws stay as they were
            model.finish_training(np.random.default_rng([cfg.seed, FINISH_STREAM]))
        # read once: a signal arriving later in this step waits for the next; all ranks agree on both
        losses, stopping = distributed.current().agree(losses, bool(received))
        due = at.step == steps or stopping or bool(every and at.step % every == 0)
        state = snapshot(model, cfg, at.step, rng, batches) if due else None
        problem = _nonfinite(at.step, losses, state)
        if problem:
            _roll_back(problem, tcfg.on_nonfinite, model, batches, at, ckpt_dir)
            log.rolled_back(at.step)
            continue
        log.step(at.step, losses, final=at.step == steps)
        if tcfg.eval_every and at.step % tcfg.eval_every == 0 and chief:
            evaluation, at.evaluated_at = _evaluate(model, held_out, cfg), at.step
            log.evaluation(at.step, evaluation)
        if state is not None:
            if chief:
                checkpoint.save(ckpt_dir, state, tcfg.keep_checkpoints)
            at.good, at.saved = state, at.step
        if stopping:
            distributed.current().barrier()  # every rank stops once the chief's checkpoint is written
            sig = signal.Signals(received[0] if received else signal.SIGTERM)  # another rank's signal
            raise Interrupted(sig.name, at.step, str(ckpt_dir), EXIT_CODES[sig])
    return evaluation


def _roll_back(problem: str, policy: str, model: Model, batches: Feed, at: _Position, ckpt_dir: Path) -> None:
    """Back to the last good state (the generator goes on: fresh noise), or, under `stop` or
    after MAX_ROLLBACKS, stop with what went wrong and which checkpoint is kept."""
    if policy == "stop" or at.rollbacks == MAX_ROLLBACKS:
        tried = f" after {at.rollbacks} rollbacks" if at.rollbacks else ""
        kept = f"kept the checkpoint of step {at.saved} in {ckpt_dir}"
        if at.saved is None:
            kept = "no checkpoint was written"
        raise TrainingDiverged(f"{problem}{tried}; {kept}; try a smaller optim.lr")
    at.rollbacks += 1
    _restore(model, at.good, batches)
    at.step = at.good.step
    print(f"aigc: {problem}; rolled back to step {at.step} ({at.rollbacks} of {MAX_ROLLBACKS})", file=sys.stderr)


def _finish(
    cfg: Config,
    model: Model,
    rng: np.random.Generator,
    batches: Feed,
    held_out: data.Dataset,
    dataset: data.Dataset,
    at: _Position,
    evaluation: dict,
) -> dict:
    """The end of a run: the last checkpoint (train.steps=0: the initial state), the final
    evaluation (eval.json) unless the last step had one, and the samples' picture."""
    tcfg, out = cfg.train, Path(cfg.out)
    if not distributed.current().chief:
        return evaluation
    if at.saved != at.step:
        checkpoint.save(out / "checkpoint", snapshot(model, cfg, at.step, rng, batches), tcfg.keep_checkpoints)
    if at.evaluated_at != at.step:
        evaluation = _evaluate(model, held_out, cfg)
    (out / "eval.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    _plot_samples(cfg, model, dataset, out / "samples.png")
    return evaluation


def _plot_samples(cfg: Config, model: Model, dataset: data.Dataset, path: Path) -> None:
    """samples.png: a conditional model's rows of 8 per class; points over the mixture's
    centres; else a grid of 64."""
    if model.conditional:
        labels = class_rows(cfg.model.num_classes, 8)
        save_samples(model.sample(len(labels), seed=cfg.seed, labels=labels), path, columns=8)
        return
    centers = data.mixtures.centers_and_std(dataset.name)[0] if dataset.name in data.mixtures.MIXTURES else None
    title = f"{cfg.model.name} on {dataset.name} [{cfg.backend}]"
    samples = model.sample(cfg.train.eval_samples if dataset.kind == "points" else 64, seed=cfg.seed)
    save_samples(samples, path, centers, title=title)
