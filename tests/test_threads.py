"""train.threads: auto shares the cores among aigc processes and yields to busy ones; an
explicit number wins, then a thread variable the user set (docs/threads.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from aigc import config, threads

from .backend_list import SELECTED, params


@pytest.fixture(autouse=True)
def private_registry(tmp_path, monkeypatch):
    """Each test has its own registry directory and no thread variables from the caller."""
    monkeypatch.setenv("AIGC_THREADS_DIR", str(tmp_path / "registry"))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_REGISTRY", threads.Registry())
    monkeypatch.setattr(threads, "_LOAD", None)
    yield


class FakeLoad:
    def __init__(self, busy: float | None = 0.0):
        self.busy = busy

    def others(self):
        return self.busy


def quiet(monkeypatch, busy: float | None = 0.0) -> FakeLoad:
    load = FakeLoad(busy)
    monkeypatch.setattr(threads, "_LOAD", load)
    return load


def peer(registry_dir) -> subprocess.Popen:
    """Another aigc process: registers, says so, then sleeps until killed."""
    code = textwrap.dedent("""
        from aigc import threads
        threads.register()
        print("ready", flush=True)
        import time; time.sleep(600)
    """)
    env = {**os.environ, "AIGC_THREADS_DIR": str(registry_dir)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_auto_is_every_core_alone_and_an_equal_share_beside_other_aigc_processes(monkeypatch, tmp_path):
    quiet(monkeypatch)
    monkeypatch.setattr(threads, "cores", lambda: {0, 1, 2, 3})
    assert threads.choose("auto").threads == 4
    others = [peer(tmp_path / "registry") for _ in range(3)]
    try:
        choice = threads.choose("auto")
        assert (choice.threads, choice.auto) == (1, True)
        assert "4 aigc processes share them" in choice.reason
        others[1].send_signal(signal.SIGSTOP)  # a stopped run holds no core
        deadline = time.monotonic() + 5
        while not threads._stopped(str(others[1].pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "3 aigc processes share them" in threads.choose("auto").reason
        others[1].send_signal(signal.SIGCONT)
        others[0].send_signal(signal.SIGKILL)  # a killed run: the kernel drops its lock
        others[0].wait()
        assert threads.choose("auto").threads == 1  # 4 cores // 3 processes
        for p in others[1:]:
            p.kill()
            p.wait()
        assert threads.choose("auto").threads == 4
        assert [p.name for p in (tmp_path / "registry").iterdir()] == [str(os.getpid())]  # dead files removed
    finally:
        for p in others:
            p.kill()


def test_auto_leaves_the_cores_that_other_programs_keep_busy(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: {0, 1})
    quiet(monkeypatch, busy=1.0)
    choice = threads.choose("auto")
    assert choice.threads == 1 and "other programs keep 1.0 busy" in choice.reason
    quiet(monkeypatch, busy=0.3)  # noise, not a busy core
    assert threads.choose("auto").threads == 2
    quiet(monkeypatch, busy=None)  # no /proc/stat: the registry alone decides
    assert threads.choose("auto").threads == 2


def test_the_load_meter_counts_other_processes_not_this_one(monkeypatch):
    readings = iter([(0.0, 100.0, 10.0), (2.0, 103.0, 11.0)])  # (time, busy CPU s, own CPU s)
    monkeypatch.setattr(threads.Load, "_read", staticmethod(lambda: next(readings)))
    assert threads.Load().others() == pytest.approx(1.0)  # (3 - 1) CPU s over 2 s


def test_an_explicit_number_wins_then_a_variable_the_user_set(monkeypatch):
    quiet(monkeypatch)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose(5).threads == 5
    choice = threads.choose("auto")
    assert (choice.threads, choice.auto) == (3, False) and "OMP_NUM_THREADS=3" in choice.reason
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")  # not a number: ignored
    assert threads.choose("auto").auto


@pytest.mark.parametrize("value", ["auto", "framework", 1, 64])
def test_config_takes_auto_framework_or_a_positive_number(value):
    assert config.load("configs/gan_ring8.yaml", [f"train.threads={value}"]).train.threads == value


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5", "true", "1000000000"])
def test_config_refuses_other_thread_settings(value):
    with pytest.raises(config.ConfigError, match="train.threads"):
        config.load("configs/gan_ring8.yaml", [f"train.threads={value}"])


# the two frameworks' own thread pools (resizable on torch, fixed once TensorFlow has started)
@pytest.mark.parametrize("name", params(n for n in SELECTED if n in ("torch", "tensorflow")))
def test_backends_take_the_choice_and_torch_revises_it_during_training(name, monkeypatch, tmp_path):
    from aigc import backends

    quiet(monkeypatch)
    be = backends.get(name)
    before = be.get_threads()
    try:
        if name == "tensorflow":  # once its runtime has started, TensorFlow's pools are fixed
            be.numpy(be.tensor(np.ones(2, np.float32)) * 2.0)
            wanted = 1 if before != 1 else 2
            choice = threads.apply(be, wanted)
            assert choice.threads == be.get_threads() == before and "had already started" in choice.reason
            return
        assert threads.apply(be, 1).threads == be.get_threads() == 1
        now = [0.0]
        governor = threads.Governor(be, threads.Choice(2, "auto", auto=True), clock=lambda: now[0])
        monkeypatch.setattr(threads, "cores", lambda: {0, 1})
        other = peer(tmp_path / "registry")
        try:
            assert governor.tick() is None  # not yet due
            now[0] += threads.RECHECK_S
            assert governor.tick().threads == 1 and be.get_threads() == 1
        finally:
            other.kill()
            other.wait()
        now[0] += threads.RECHECK_S
        assert governor.tick().threads == 2 and be.get_threads() == 2
    finally:
        be.set_threads(before)


def test_train_prints_the_choice_once_and_stores_it_in_the_run_config(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "AIGC_THREADS_DIR": str(tmp_path / "registry"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aigc",
            "train",
            "configs/gan_ring8.yaml",
            f"out={out}",
            "train.steps=5",
            "train.batch_size=64",
            "data.size=512",
            "train.eval_samples=64",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("aigc: torch uses 1 thread (OMP_NUM_THREADS=1 in the environment)") == 1
    assert config.read_yaml(out / "config.yaml")["train"]["threads"] == 1
    assert "steps/s" in proc.stdout


def test_the_registry_never_takes_a_starting_process_for_a_dead_one(tmp_path):
    """A file appears under its final name only once locked (written as .new-*, renamed)."""
    registry = threads.Registry(tmp_path / "r")
    registry.register()
    other = peer(tmp_path / "r")
    mine = threads.cores()  # the peer runs on this process's cores (under xdist: its worker's, not all)
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            assert registry.sharing(mine) == 2
    finally:
        other.kill()
        other.wait()
    assert registry.sharing(mine) == 1
    registry.unregister()
    assert list((tmp_path / "r").iterdir()) == []


@pytest.mark.parametrize("setting", ["auto", "framework", 3])
def test_a_backend_without_thread_members_keeps_its_own_threads(setting):
    """`set_threads`/`get_threads` are optional in the contract: without them every setting
    leaves the framework's threads alone and says so, instead of failing."""

    class Bare:
        name = "bare"

    choice = threads.apply(Bare(), setting)
    assert not choice.auto and choice.threads >= 1
    assert "bare cannot set its threads" in str(choice)
