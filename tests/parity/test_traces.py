"""Traces: recorded in separate processes, compared afterwards, through the CLI."""

import subprocess
import sys

import numpy as np

from aigc import config
from aigc.parity import compare, trace


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True, timeout=600)


def test_record_in_two_processes_and_compare(tmp_path):
    paths = {}
    for backend in ("torch", "tensorflow"):
        paths[backend] = tmp_path / f"{backend}.safetensors"
        r = cli("parity", "record", "configs/gan_ring8.yaml", "--backend", backend, "--steps", "20", "-o", str(paths[backend]))
        assert r.returncode == 0, r.stderr
    r = cli("parity", "compare", str(paths["torch"]), str(paths["tensorflow"]))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loss.d_loss steps 1-2" in r.stdout and "FAIL" not in r.stdout
    assert r.stdout.strip().splitlines()[-1].endswith("passed, 0 failed")

    # a trace whose run really differs (another learning rate) fails the comparison
    other = tmp_path / "other.safetensors"
    assert cli("parity", "record", "configs/gan_ring8.yaml", "optim.lr=1e-2", "--backend", "torch", "--steps", "20",
               "-o", str(other)).returncode == 0
    r = cli("parity", "compare", str(paths["torch"]), str(other))
    assert r.returncode == 1 and "FAIL" in r.stdout


def test_trace_round_trip_and_contents(tmp_path):
    cfg = config.load("configs/vae_digits.yaml", ["train.progress=false", "backend=tensorflow"])
    t = trace.record(cfg, 5)
    trace.save(t, tmp_path / "t.safetensors")
    back = trace.load(tmp_path / "t.safetensors")
    assert back.metric_names == ["kl", "loss", "rec"] and back.losses.shape == (5, 3)
    np.testing.assert_array_equal(back.losses, t.losses)
    assert sorted(back.weights) == [0, 1, 2, 5] and back.samples[5].shape == (64, 8, 8, 1)
    assert back.backend == "tensorflow" and back.config["model"]["name"] == "mlp_vae"
    rows = compare.compare(back, t)
    assert all(r.passed and r.max_abs == 0.0 for r in rows)


def test_one_ulp_control_run_differs_only_by_rounding():
    cfg = config.load("configs/gan_ring8.yaml", ["train.progress=false"])
    a, b = trace.record(cfg, 3), trace.record(cfg, 3, perturb=True)
    d0 = compare.weight_divergence(a.weights[0], b.weights[0])
    assert 0 < d0 < 1e-6
