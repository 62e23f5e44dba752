"""Data-parallel training (docs/distributed.md): 2 worker processes x 1 thread compute what
one process computes at the same global batch.

Each backend's 2-rank runs are one launch (`distributed_runs.py`, several runs per worker):
the ring GAN (BatchNorm in G, PacGAN packs) for 2K steps with a checkpoint at K, the same
run again for K steps and then resumed to 2K, an MLP VAE and a small DCGAN (conv +
BatchNorm) for K steps. The references are one-process runs of the same configs here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aigc import backends, checkpoint, config
from aigc.cli import main
from aigc.distributed.launch import spawn, tf_config_envs
from aigc.errors import BackendUnavailable
from aigc.parity.tolerances import TRAJECTORY_WEIGHT_ATOL
from aigc.training.loop import train

from .backend_list import BACKENDS, REFERENCE, params
from .parity.helpers import tiny_raw

ROOT = Path(__file__).resolve().parent.parent
K = 3  # steps; the ring GAN runs 2K
MODELS = {
    "ring": ("mlp_gan", {"model": {"g_norm": "batchnorm", "pack": 4}}),
    "vae": ("mlp_vae", {}),
    "dcgan": ("dcgan", {}),
}


def raw_config(name: str, backend: str, out: Path, **train_keys) -> dict:
    model, extra = MODELS[name]
    raw = tiny_raw(model, backend)
    raw["model"].update(extra.get("model", {}))
    raw["train"].update({"steps": K, "threads": 1, "eval_samples": 64, "progress": False, **train_keys})
    return {**raw, "out": str(out)}


def installed(backend: str) -> None:
    """Skip unless `backend` is installed and can train in several processes (has `join`)."""
    try:
        cls = backends.backend_class(backend)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    if not hasattr(cls, "join"):
        pytest.skip(f"backend {backend!r} cannot train in several processes (no join)")


def launch_two(backend: str, argv: list[str], out: Path) -> None:
    """`python *argv` in 2 workers: torch's through torchrun, TensorFlow's with a TF_CONFIG each."""
    if backend == "torch":
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        subprocess.run([*torchrun, *argv], cwd=ROOT, check=True, timeout=600)
    elif backend != "tensorflow":
        pytest.skip(f"no two-worker launcher for {backend} in this test (torchrun, TF_CONFIG)")
    else:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        assert spawn(argv, [{**env, "PYTHONPATH": path} for env in tf_config_envs(2, None)], str(out)) == 0


@pytest.fixture(scope="module", params=params())
def two_ranks(request, tmp_path_factory):
    """{"backend", "ring_a", "ring_b", "vae", "dcgan": out folders} of one 2-rank launch."""
    backend = request.param
    installed(backend)
    base = tmp_path_factory.mktemp(f"two_{backend}")
    outs = {k: base / k for k in ("ring_a", "ring_b", "vae", "dcgan")}
    plan = [
        raw_config("ring", backend, outs["ring_a"], steps=2 * K, checkpoint_every=K),
        raw_config("ring", backend, outs["ring_b"]),
        {**raw_config("ring", backend, outs["ring_b"], steps=2 * K), "resume": True},
        raw_config("vae", backend, outs["vae"]),
        raw_config("dcgan", backend, outs["dcgan"]),
    ]
    (base / "plan.json").write_text(json.dumps(plan))
    launch_two(backend, ["-m", "tests.distributed_runs", str(base / "plan.json")], base)
    return {"backend": backend, "base": base, **outs}


def at_step(out: Path, step: int) -> checkpoint.Checkpoint:
    return checkpoint.load(out / "checkpoint" / f"step-{step:08d}{checkpoint.SUFFIX}")


def worst(a: checkpoint.Checkpoint, b: checkpoint.Checkpoint) -> float:
    assert a.weights.keys() == b.weights.keys()
    return max(float(np.max(np.abs(a.weights[k].astype(np.float64) - b.weights[k]))) for k in a.weights)


def identical(a: checkpoint.Checkpoint, b: checkpoint.Checkpoint) -> bool:
    same = lambda x, y: x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
    return same(a.weights, b.weights) and same(a.optim, b.optim) and a.rng_state == b.rng_state


@pytest.mark.parametrize("name", list(MODELS))
def test_two_ranks_compute_what_one_computes(two_ranks, name, tmp_path):
    """Weights (BatchNorm's running statistics included) after K steps: 2 ranks vs 1."""
    backend = two_ranks["backend"]
    out = tmp_path / "one"
    train(config.load(raw_config(name, backend, out)))
    two = at_step(two_ranks["ring_a" if name == "ring" else name], K)
    gap = worst(two, at_step(out, K))
    assert gap <= TRAJECTORY_WEIGHT_ATOL, f"{name} on {backend}: 2 ranks vs 1 differ by {gap:.3g}"


def test_two_ranks_repeat_bit_for_bit(two_ranks):
    """The same 2-rank run (K steps) twice: identical weights, optimizer and generator."""
    assert identical(at_step(two_ranks["ring_a"], K), at_step(two_ranks["ring_b"], K))


def test_resume_at_two_ranks_is_exact(two_ranks):
    """K steps + K more (resumed) = 2K steps, bit for bit, at 2 ranks."""
    assert identical(at_step(two_ranks["ring_a"], 2 * K), at_step(two_ranks["ring_b"], 2 * K))


@pytest.mark.parametrize("where", ["same", "other"])
def test_two_rank_checkpoint_resumes_on_one_rank(two_ranks, where, tmp_path):
    """The 2-rank checkpoint of step K resumed by one process (this backend or the other)
    to 2K: within the trajectory tolerance of the 2-rank run's own step 2K."""
    trained_on = two_ranks["backend"]
    names = [trained_on] if where == "same" else [b for b in BACKENDS if b != trained_on]  # every other backend
    if not names:
        pytest.skip("no other backend installed")
    for backend in names:
        out = tmp_path / f"resumed_{backend}"
        (out / "checkpoint").mkdir(parents=True)
        name = f"step-{K:08d}{checkpoint.SUFFIX}"
        shutil.copy(two_ranks["ring_a"] / "checkpoint" / name, out / "checkpoint" / name)
        train(config.load({**raw_config("ring", backend, out, steps=2 * K), "resume": True}))
        gap = worst(at_step(out, 2 * K), at_step(two_ranks["ring_a"], 2 * K))
        assert gap <= TRAJECTORY_WEIGHT_ATOL, f"resumed on 1 {backend} process: {gap:.3g} from 2 ranks"


def test_two_ranks_agree_across_backends(two_ranks, request):
    """Each backend's 2-rank run against the first installed backend's (torch's)."""
    backend = two_ranks["backend"]
    if backend == REFERENCE:
        pytest.skip(f"compared from the other backends' parameters, against {REFERENCE}")
    ref_base = [p for p in Path(two_ranks["base"]).parent.iterdir() if p.name.startswith(f"two_{REFERENCE}")]
    if not ref_base:
        pytest.skip(f"the {REFERENCE} launch did not run in this session")
    for step in (K, 2 * K):
        gap = worst(at_step(ref_base[0] / "ring_a", step), at_step(two_ranks["ring_a"], step))
        assert gap <= TRAJECTORY_WEIGHT_ATOL, f"step {step}: {REFERENCE} and {backend} at 2 ranks differ by {gap:.3g}"


# -- launch and faults ---------------------------------------------------------------------


def test_launch_errors_are_one_line_before_anything_starts(tmp_path, capsys):
    cfg = tmp_path / "ring.yaml"
    cfg.write_text(json.dumps(raw_config("ring", "torch", tmp_path / "never")))
    cases = {
        ("--nproc", "3"): "does not divide into 3 processes x model.pack=4",
        ("--nproc", "65"): "65 processes: more than train.batch_size=64",
        ("--nproc", "0"): "expected at least 1 process",
        ("--port", "29500"): "only with --nproc N",
    }
    for option, message in cases.items():
        assert main(["train", str(cfg), *option]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        assert main(["train", str(cfg), "backend=tensorflow", "--nproc", "2", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"port {port} is in use" in err, err
    assert not (tmp_path / "never").exists()


def _pid_of_rank(rank: int, marker: str) -> int | None:
    """The worker of `rank` whose command line names `marker` (torchrun sets RANK in its
    environment; aigc's TensorFlow launcher a TF_CONFIG with the task's index)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        worker = b"aigc" in cmdline and b"--nproc" not in cmdline  # not the launcher
        ranked = f"RANK={rank}".encode() in environ or any(
            e.startswith(b"TF_CONFIG=") and f'"index": {rank}}}'.encode() in e for e in environ
        )
        if worker and ranked and marker.encode() in b" ".join(cmdline):
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc")
@pytest.mark.parametrize("backend", params())
def test_killed_worker_stops_the_run_and_the_checkpoint_loads(backend, tmp_path):
    """`aigc train --nproc 2`; rank 1 is killed once a checkpoint exists: the run stops
    within the stated time with one line naming the rank, the checkpoint loads."""
    installed(backend)
    out = tmp_path / "killed"
    cfg = tmp_path / "ring.yaml"
    cfg.write_text(json.dumps(raw_config("ring", backend, out, steps=100000, checkpoint_every=2)))
    run = subprocess.Popen(
        [sys.executable, "-m", "aigc", "train", str(cfg), "--nproc", "2"], stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while not list((out / "checkpoint").glob("step-*.safetensors")) and time.monotonic() < deadline:
            time.sleep(0.2)
        pid = _pid_of_rank(1, str(cfg))
        assert pid is not None, "rank 1 not found"
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        _, err = run.communicate(timeout=60)
        stopped = time.monotonic() - killed
    finally:
        if run.poll() is None:  # the launcher stops its workers on SIGTERM
            run.terminate()
            run.wait(30)
    assert run.returncode == 2, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("aigc: error: worker rank 1 of 2 was killed by SIGKILL"), err
    assert stopped < 30, f"stopped {stopped:.1f} s after the kill"  # docs/distributed.md: about 6 s
    ckpt = checkpoint.load(out / "checkpoint")
    assert ckpt.step >= 2 and ckpt.step % 2 == 0
