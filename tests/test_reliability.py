"""Reliability (README, "Reliability"): exact resume, crash-safe checkpoints, interrupts,
the divergence guard, integrity, determinism and out-of-memory errors."""

import json
import pickle
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

import aigc
from aigc import checkpoint, cli, config
from aigc.errors import CheckpointError, ConfigError, Interrupted, OutOfMemory, TrainingDiverged
from aigc.models.base import Model
from aigc.training.loop import Run, build

from .backend_list import params

GAN = yaml.safe_load(Path("configs/gan_ring8.yaml").read_text())  # read once: all runs use the same config
VAE = yaml.safe_load(Path("configs/vae_digits.yaml").read_text())
FAST = dict(train__progress=False, train__eval_samples=100, train__log_every=1, model__hidden=32)
SMALL = {"gan": dict(FAST, data__size=1000, train__batch_size=64), "vae": dict(FAST, train__batch_size=50)}
CONFIGS = {"gan": GAN, "vae": VAE}
# A VAE that overflows at step 2 on both backends: a Gaussian decoder with std 1e-6 and lr 1e6.
DIVERGES = dict(SMALL["vae"], model__likelihood="gaussian", model__std=1e-6, optim__lr=1e6)


def _train(tmp_path: Path, name: str, model: str = "gan", **kwargs) -> Run:
    return aigc.train(CONFIGS[model], **{**SMALL[model], "out": str(tmp_path / name), **kwargs})


def _assert_same_state(a: Model, b: Model) -> None:
    wa, wb = a.weights(), b.weights()
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    oa, ob = a.optimizer_state(), b.optimizer_state()
    assert oa.keys() == ob.keys()
    for k in oa:
        np.testing.assert_array_equal(oa[k], ob[k], err_msg=k)


def _step_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoint").iterdir())


# -- exact resume ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", params())
@pytest.mark.parametrize("model", ["gan", "vae"])
def test_resume_to_2n_equals_2n_straight(tmp_path, backend, model):
    """N steps, then resume=true to 2N == 2N straight: weights, Adam state, metrics.jsonl. The
    GAN resumes mid-epoch (step 10 of 15 batches of 64 per 1000 points) and crosses an epoch."""
    kw = dict(backend=backend, optim__schedule="constant")  # a linear schedule is defined by train.steps
    straight = _train(tmp_path, "straight", model, train__steps=20, **kw)
    _train(tmp_path, "split", model, train__steps=10, train__checkpoint_every=3, **kw)
    assert _step_files(tmp_path / "split") == [f"step-{s:08d}.safetensors" for s in (6, 9, 10)]  # keep 3
    resumed = _train(tmp_path, "split", model, train__steps=20, resume=True, **kw)
    assert resumed.step == 20 and checkpoint.load(resumed.out / "checkpoint").step == 20
    _assert_same_state(straight.model, resumed.model)
    log = (resumed.out / "metrics.jsonl").read_text()
    assert log == (straight.out / "metrics.jsonl").read_text()  # appended, no step twice
    assert [json.loads(line)["step"] for line in log.splitlines()] == list(range(1, 21))


def test_interrupted_run_resumes_exactly_and_handlers_are_restored(tmp_path, monkeypatch):
    """A SIGTERM during step 5 saves step 5 and raises Interrupted (exit code 143); resuming
    with the same config (linear schedule) gives the uninterrupted run bit for bit."""
    straight = _train(tmp_path, "straight", train__steps=12)
    original, calls = Model.train_step, []

    def step_then_signal(self, batch, rng, labels=None):
        out = original(self, batch, rng, labels)
        calls.append(1)
        if len(calls) == 5:
            signal.raise_signal(signal.SIGTERM)  # delivered to the loop's handler mid-step
        return out

    def mine(signum, frame):
        raise AssertionError("the loop's handler should be active")

    previous, term = signal.signal(signal.SIGINT, mine), signal.getsignal(signal.SIGTERM)
    try:
        monkeypatch.setattr(Model, "train_step", step_then_signal)
        with pytest.raises(Interrupted) as info:
            _train(tmp_path, "split", train__steps=12)
        assert signal.getsignal(signal.SIGINT) is mine and signal.getsignal(signal.SIGTERM) is term
    finally:
        signal.signal(signal.SIGINT, previous)
    assert info.value.exit_code == 143 and info.value.step == 5
    assert str(info.value).startswith("SIGTERM at step 5: checkpoint saved in ")
    assert str(info.value).endswith("; resume with: aigc train CONFIG resume=true")
    assert checkpoint.load(tmp_path / "split" / "checkpoint").step == 5
    monkeypatch.setattr(Model, "train_step", original)
    resumed = _train(tmp_path, "split", train__steps=12, resume=True)
    _assert_same_state(straight.model, resumed.model)
    assert (resumed.out / "metrics.jsonl").read_text() == (straight.out / "metrics.jsonl").read_text()


def test_resume_refuses_another_model_and_fewer_steps(tmp_path, capsys):
    run = _train(tmp_path, "run", train__steps=4)
    with pytest.raises(
        ConfigError,
        match=r"resume: the config differs from the checkpoint in .* \(step 4\): "
        r"model\.hidden=16 \(checkpoint: 32\), optim\.lr=0\.1 \(checkpoint: ",
    ):
        _train(tmp_path, "run", train__steps=8, resume=True, model__hidden=16, optim__lr=0.1)
    with pytest.raises(ConfigError, match="resume: train.steps=3 is below the checkpoint's step 4"):
        _train(tmp_path, "run", train__steps=3, resume=True)
    assert cli.main(["train", "configs/gan_ring8.yaml", "model.hidden=16", f"out={run.out}", "--resume"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert checkpoint.load(run.out / "checkpoint").step == 4  # nothing was touched
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        _train(tmp_path, "never_trained", resume=True)


# -- checkpoints --------------------------------------------------------------------------


def test_keeps_the_last_k_and_falls_back_past_a_corrupt_newest(tmp_path):
    run = _train(tmp_path, "run", train__steps=10, train__checkpoint_every=2, train__keep_checkpoints=2)
    assert _step_files(run.out) == ["step-00000008.safetensors", "step-00000010.safetensors"]
    newest = run.out / "checkpoint" / "step-00000010.safetensors"
    assert checkpoint.resolve(run.out / "checkpoint") == newest
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF
    newest.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="skipped a newer checkpoint: .*step-00000010.safetensors is corrupt"):
        assert checkpoint.load(run.out / "checkpoint").step == 8
    with pytest.raises(CheckpointError, match="corrupt or was modified"):
        checkpoint.load(newest)  # a file named explicitly is never replaced by another
    fresh = _train(tmp_path, "run", train__steps=3)  # no resume: the run starts over
    assert _step_files(fresh.out) == ["step-00000003.safetensors"]


@pytest.mark.slow
def test_sigkill_while_writing_checkpoints_leaves_a_complete_one(tmp_path):
    """`aigc train` writes a ~50 MB checkpoint every step; it is killed (SIGKILL) while a
    temporary file is being written. The directory still loads a complete, hash-checked
    checkpoint, and the next save removes the half-written file."""
    out = tmp_path / "run"
    args = [
        "configs/gan_ring8.yaml",
        f"out={out}",
        "model.hidden=1024",
        "model.precise_bn=0",  # the finish's BatchNorm passes at this width take a minute; not the subject here
        "data.size=1000",
        "train.batch_size=64",
        "train.steps=100000",
        "train.checkpoint_every=1",
        "train.progress=false",
        "backend=torch",
    ]
    proc = subprocess.Popen([sys.executable, "-m", "aigc", "train", *args], stderr=subprocess.PIPE, text=True)
    ckpt_dir, deadline, partial = out / "checkpoint", time.time() + 120, []
    try:
        while not partial and time.time() < deadline and proc.poll() is None:
            if checkpoint.files(ckpt_dir):
                partial = list(ckpt_dir.glob(".step-*.tmp-*"))
            time.sleep(0.002)
        proc.kill()
    finally:
        proc.wait(timeout=60)
    assert partial, f"never saw a checkpoint being written: {proc.stderr.read()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    complete = checkpoint.files(ckpt_dir)
    ckpt = checkpoint.load(ckpt_dir)  # checks format and SHA-256
    assert ckpt.step == int(complete[0].name[5:13]) >= 1
    assert sum(v.size for v in ckpt.weights.values()) > 4_000_000
    for file in complete:  # every file that has its final name is complete
        assert checkpoint.load(file).step == int(file.name[5:13])
    model = aigc.load(ckpt_dir)
    assert np.isfinite(model.sample(10)).all()
    leftovers = list(ckpt_dir.glob(".step-*.tmp-*"))
    resumed = aigc.train(args[0], *args[1:], f"train.steps={ckpt.step + 1}", "train.eval_samples=100", resume=True)
    assert resumed.step == ckpt.step + 1
    assert not list(ckpt_dir.glob(".step-*.tmp-*")), leftovers


# -- interrupts in a real process -----------------------------------------------------------


def test_sigint_and_sigterm_save_and_say_how_to_resume(tmp_path, capsys):
    """Both signals, each to its own `python -m aigc train` (run side by side), after the
    first metrics line: exit 130 / 143, one line naming the step and the resume command,
    and a checkpoint of exactly that step; then `--resume` continues it."""
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        out = tmp_path / sig.name
        args = [
            "configs/gan_ring8.yaml",
            f"out={out}",
            "data.size=1000",
            "train.batch_size=64",
            "model.hidden=32",
            "train.steps=100000",
            "train.log_every=1",
            "train.progress=false",
            "backend=torch",
        ]
        procs[sig] = (
            out,
            args,
            subprocess.Popen([sys.executable, "-m", "aigc", "train", *args], stderr=subprocess.PIPE, text=True),
        )
    for sig, (out, _args, proc) in procs.items():
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if (out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").read_text().count("\n") >= 1:
                break
            time.sleep(0.01)
        proc.send_signal(sig)
    steps = {}
    for sig, (out, args, proc) in procs.items():
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 128 + sig, err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        step = steps[sig] = checkpoint.load(out / "checkpoint").step
        resume = shlex.join(["aigc", "train", *args, "resume=true"])
        saved = f"{sig.name} at step {step}: checkpoint saved in {out / 'checkpoint'}"
        assert lines[0] == f"aigc: {saved}; resume with: {resume}"
        logged = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert logged == list(range(1, step + 1))
    out, args, _ = procs[signal.SIGINT]
    step = steps[signal.SIGINT]
    assert cli.main(["train", *args, f"train.steps={step + 2}", "--resume"]) == 0
    assert f"trained {step + 2} steps" in capsys.readouterr().out
    logged = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert logged == list(range(1, step + 3))


# -- divergence guard ---------------------------------------------------------------------------


def test_the_diverging_config_really_produces_inf_and_nan():
    """Without the guard this config trains on silently: inf at step 2, then NaN weights."""
    model, dataset, rng = build(config.load(VAE, **DIVERGES))
    x = model.to_model_range(dataset.x[:50])
    losses = [float(model.backend.numpy(model.train_step(x, rng)["loss"])) for _ in range(3)]
    assert np.isfinite(losses[0]) and losses[1] == np.inf and np.isnan(losses[2])
    assert not all(np.isfinite(w).all() for w in model.weights().values())


@pytest.mark.parametrize("backend", params())
def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, backend):
    with pytest.raises(TrainingDiverged) as info:
        aigc.train(
            VAE, **DIVERGES, backend=backend, out=str(tmp_path / "run"), train__steps=10, train__checkpoint_every=1
        )
    ckpt_dir = tmp_path / "run" / "checkpoint"
    # inf or nan (inf - inf) depending on how the framework's threads split the reductions
    shown = re.sub(r"\bnan\b", "inf", str(info.value))
    assert shown == (
        f"non-finite loss at step 2 (loss=inf, rec=inf, kl=inf); kept the checkpoint of step 1 in {ckpt_dir}; "
        "try a smaller optim.lr"
    )
    assert _step_files(tmp_path / "run") == ["step-00000001.safetensors"]
    assert all(np.isfinite(w).all() for w in checkpoint.load(ckpt_dir).weights.values())


def test_cli_reports_divergence_in_one_line(tmp_path, capsys):
    overrides = [
        "model.likelihood=gaussian",
        "model.std=1e-6",
        "optim.lr=1e6",
        "model.hidden=32",
        "train.batch_size=50",
    ]
    assert cli.main(["train", "configs/vae_digits.yaml", *overrides, f"out={tmp_path}", "train.progress=false"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aigc: error: non-finite loss at step 2 (loss=inf") and err.count("\n") == 1
    assert err.endswith("; no checkpoint was written; try a smaller optim.lr\n")
    assert not checkpoint.files(tmp_path / "checkpoint")


def test_nonfinite_weight_at_checkpoint_time_is_not_saved(tmp_path, monkeypatch):
    """Finite losses but a NaN weight after step 3: the save at step 4 is refused."""
    calls = []

    def corrupt_at_3(self, batch, rng, labels=None):
        calls.append(1)
        if len(calls) == 3:
            self.load_weights({**self.weights(), "G.0.kernel": np.full_like(self.weights()["G.0.kernel"], np.nan)})
        return {"d_loss": self.backend.tensor(np.float32(1)), "g_loss": self.backend.tensor(np.float32(2))}

    monkeypatch.setattr(Model, "train_step", corrupt_at_3)
    with pytest.raises(
        TrainingDiverged,
        match=r"^non-finite weights at step 4 \(G\.0\.kernel; d_loss=1, g_loss=2\); "
        r"kept the checkpoint of step 2 in ",
    ):
        _train(tmp_path, "run", train__steps=10, train__checkpoint_every=2)
    assert _step_files(tmp_path / "run") == ["step-00000002.safetensors"]


def test_rollback_recovers_from_one_bad_step(tmp_path, monkeypatch, capsys):
    """NaN losses once, at step 7: back to the step-5 checkpoint, steps 6..10 again with fresh noise."""
    original, calls = Model.train_step, []

    def nan_once(self, batch, rng, labels=None):
        out = original(self, batch, rng, labels)
        calls.append(1)
        return {k: v * float("nan") for k, v in out.items()} if len(calls) == 7 else out

    monkeypatch.setattr(Model, "train_step", nan_once)
    run = _train(tmp_path, "run", train__steps=10, train__checkpoint_every=5, train__on_nonfinite="rollback")
    assert capsys.readouterr().err.splitlines() == [
        "aigc: non-finite loss at step 7 (d_loss=nan, g_loss=nan, info=nan); rolled back to step 5 (1 of 3)"
    ]
    log = [json.loads(line) for line in (run.out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in log] == [1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10]
    assert log[5]["d_loss"] != log[6]["d_loss"]  # step 6 again, with fresh noise
    assert run.step == 10 and checkpoint.load(run.out / "checkpoint").step == 10
    assert all(np.isfinite(w).all() for w in run.model.weights().values())
    adam = run.model.optimizer_state()  # Adam's counters were rolled back too: 10 updates, not 12
    assert adam["G.t"] == 10 and adam["D.t"] == 10 and adam["G.b1t"] == np.float32(0.5) ** 10


def test_rollback_gives_up_after_three(tmp_path, capsys):
    message = r"^non-finite loss at step 2 .* after 3 rollbacks; kept the checkpoint of step 1"
    with pytest.raises(TrainingDiverged, match=message):
        aigc.train(
            VAE,
            **DIVERGES,
            out=str(tmp_path / "run"),
            train__steps=10,
            train__checkpoint_every=1,
            train__on_nonfinite="rollback",
        )
    assert capsys.readouterr().err.splitlines() == [
        f"aigc: non-finite loss at step 2 (loss=inf, rec=inf, kl=inf); rolled back to step 1 ({i} of 3)"
        for i in (1, 2, 3)
    ]


# -- integrity ----------------------------------------------------------------------------------


def test_weights_of_another_model_are_refused():
    small = build(config.load(GAN, **SMALL["gan"]))[0]
    wide = build(config.load(GAN, **{**SMALL["gan"], "model__hidden": 48}))[0]
    shapes = r"^network G: weight '0\.kernel' has shape \(\d+, 48\), the model needs \(\d+, 32\)$"
    with pytest.raises(CheckpointError, match=shapes):
        small.load_weights(wide.weights())
    vae = build(config.load(VAE, **SMALL["vae"]))[0]
    names = r"^network E: weights do not match the model: missing \['\d+\.(bias|kernel)'.*\], unexpected \[\]$"
    with pytest.raises(CheckpointError, match=names):
        vae.load_weights(small.weights())


class _Payload:
    """Unpickling this creates a file: proof that a loader ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickles_are_never_unpickled(tmp_path):
    import torch

    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(marker))
    for name in ("model.pt", "model.pkl", "model.h5"):
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(CheckpointError, match=r"aigc reads safetensors checkpoints \(\.safetensors\) only; pickle"):
            aigc.load(tmp_path / name)
    torch.save({"w": torch.zeros(2)}, tmp_path / "real.pt")
    with pytest.raises(CheckpointError, match="safetensors checkpoints"):
        checkpoint.load(tmp_path / "real.pt")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "step-00000001.safetensors").write_bytes(blob)  # a pickle in disguise
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        aigc.load(tmp_path / "ckpt")
    assert not marker.exists()


# -- determinism ---------------------------------------------------------------------------------


@pytest.mark.slow  # torch's two intra-op threads make tiny steps ~40x slower when the 2 cores are busy
@pytest.mark.parametrize("backend", params())
def test_same_seed_same_backend_is_bit_identical(tmp_path, backend):
    kw = dict(backend=backend, train__steps=200, model__hidden=16, train__log_every=50)
    a, b = _train(tmp_path, "a", **kw), _train(tmp_path, "b", **kw)
    _assert_same_state(a.model, b.model)
    initial = build(config.load(GAN, **{**SMALL["gan"], **kw}))[0].weights()
    assert not np.array_equal(a.model.weights()["G.0.kernel"], initial["G.0.kernel"])  # it did train


# -- out of memory ------------------------------------------------------------------------------


def _oom_errors(backend: str) -> list[BaseException]:
    if backend == "torch":
        import torch

        return [
            torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried "
                "to allocate 68719476736 bytes. Error code 12 (Cannot allocate memory)"
            ),
            MemoryError(),
        ]
    if backend != "tensorflow":  # what every backend's is_out_of_memory knows
        return [MemoryError()]
    import tensorflow as tf

    return [
        tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[65536,65536]"),
        MemoryError(),
    ]


@pytest.mark.parametrize("backend", params())
def test_out_of_memory_is_one_line_with_the_batch_size(tmp_path, monkeypatch, capsys, backend):
    for error in _oom_errors(backend):

        def raise_it(self, batch, rng, labels=None, error=error):
            raise error

        monkeypatch.setattr(Model, "train_step", raise_it)
        with pytest.raises(OutOfMemory) as info:
            _train(tmp_path, "run", backend=backend, train__steps=3)
        assert str(info.value) == "out of memory at train.batch_size=64; try a smaller train.batch_size"
        assert info.value.__cause__ is error
    assert (
        cli.main(
            [
                "train",
                "configs/gan_ring8.yaml",
                f"backend={backend}",
                "data.size=1000",
                "train.batch_size=128",
                "model.hidden=32",
                f"out={tmp_path / 'cli'}",
                "train.progress=false",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        "aigc: error: out of memory at train.batch_size=128; try a smaller train.batch_size\n"
    )

    def other_error(self, batch, rng, labels=None):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(Model, "train_step", other_error)
    with pytest.raises(RuntimeError, match="^shape mismatch$"):  # other errors are not disguised as OOM
        _train(tmp_path, "run", backend=backend, train__steps=3)
