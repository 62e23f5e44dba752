"""Traces: recorded in separate processes, compared afterwards, through the CLI."""

import subprocess
import sys

import numpy as np

from aigc import config
from aigc.parity import compare, trace

from ..backend_list import BACKENDS, REFERENCE, need_two, pairs


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True, timeout=600)


def test_record_in_two_processes_and_compare(tmp_path):
    need_two()
    paths = {}
    for backend in BACKENDS:
        paths[backend] = tmp_path / f"{backend}.safetensors"
        r = cli(
            "parity",
            "record",
            "configs/gan_ring8.yaml",
            "--backend",
            backend,
            "--steps",
            "20",
            "-o",
            str(paths[backend]),
        )
        assert r.returncode == 0, r.stderr
    for a, b in pairs():  # every pair of backends
        r = cli("parity", "compare", str(paths[a]), str(paths[b]))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "loss.d_loss steps 1-2" in r.stdout and "FAIL" not in r.stdout
        assert r.stdout.strip().splitlines()[-1].endswith("passed, 0 failed")

    # a trace whose run really differs (another learning rate) fails the comparison
    other = tmp_path / "other.safetensors"
    assert (
        cli(
            "parity",
            "record",
            "configs/gan_ring8.yaml",
            "optim.lr=1e-2",
            "--backend",
            REFERENCE,
            "--steps",
            "20",
            "-o",
            str(other),
        ).returncode
        == 0
    )
    r = cli("parity", "compare", str(paths[REFERENCE]), str(other))
    assert r.returncode == 1 and "FAIL" in r.stdout


def test_parity_compares_every_installed_pair_and_needs_two():
    from aigc.errors import AigcError
    from aigc.parity.cli import _backends, _run_parser, main

    assert _run_parser().parse_intermixed_args(["configs/gan_ring8.yaml"]).backends is None  # all installed
    assert _backends(None) == BACKENDS or len(BACKENDS) < 2
    assert _backends(["torch", "tensorflow", "torch"]) == ["torch", "tensorflow"]
    try:
        main(["configs/gan_ring8.yaml", "--backends", "torch"])
    except (ValueError, AigcError) as exc:
        assert str(exc) == "--backends: comparing needs at least two backends, got torch"
    else:
        raise AssertionError("one backend was accepted")


def test_trace_round_trip_and_contents(tmp_path):
    cfg = config.load("configs/vae_digits.yaml", ["train.progress=false", f"backend={BACKENDS[-1]}"])
    t = trace.record(cfg, 5)
    trace.save(t, tmp_path / "t.safetensors")
    back = trace.load(tmp_path / "t.safetensors")
    assert back.metric_names == ["kl", "loss", "rec"] and back.losses.shape == (5, 3)
    np.testing.assert_array_equal(back.losses, t.losses)
    assert sorted(back.weights) == [0, 1, 2, 5] and back.samples[5].shape == (64, 8, 8, 1)
    assert back.backend == BACKENDS[-1] and back.config["model"]["name"] == "mlp_vae"
    rows = compare.compare(back, t)
    assert all(r.passed and r.max_abs == 0.0 for r in rows)


def test_one_ulp_control_run_differs_only_by_rounding():
    cfg = config.load("configs/gan_ring8.yaml", ["train.progress=false"])
    a, b = trace.record(cfg, 3), trace.record(cfg, 3, perturb=True)
    d0 = compare.weight_divergence(a.weights[0], b.weights[0])
    assert 0 < d0 < 1e-6


def _two_step_trace(updates: list[float], n_critic: int = 1) -> trace.Trace:
    """A hand-made trace: G.0.kernel = 0 at step 0, moved by `updates` at step 1."""
    cfg = {"model": {"name": "mlp_gan", "n_critic": n_critic}, "optim": {"lr": 2e-3, "eps": 1e-8}}
    start = {"G.0.kernel": np.zeros(len(updates), np.float32), "D.0.kernel": np.zeros(len(updates), np.float32)}
    moved = {k: (v - np.asarray(updates)).astype(np.float32) for k, v in start.items()}
    samples = {s: np.zeros((1, 2), np.float32) for s in (0, 1)}
    return trace.Trace("torch", "cpu", cfg, ["d_loss"], np.zeros((1, 1), np.float32), {0: start, 1: moved}, samples)


def test_adams_eps_regime_is_excused_only_where_the_implied_gradients_agree():
    """Adam's first step is lr * g / (|g| + eps): at |g| ~ 1e-9 a gradient difference of 7e-10
    moves the weight by 1.1e-4 (past the 1e-4 weight tolerance), which the comparison
    excuses and reports; a saturated step that differs (another lr) is not excused."""
    lr = 2e-3
    torch_like = _two_step_trace([lr, 0.100 * lr, lr])
    tf_like = _two_step_trace([lr, 0.155 * lr, lr * 0.9])  # element 1: g 1.1e-9 vs 1.8e-9; element 2: a wrong step
    excused = compare.adam_eps_regime(torch_like, tf_like)
    assert excused["G.0.kernel"].tolist() == [False, True, False]
    rows = {r.quantity.strip(): r for r in compare.compare(torch_like, tf_like)}
    assert not rows["weights @ step 1"].passed and abs(rows["weights @ step 1"].max_abs - 2e-4) < 1e-9
    assert rows["2 at |g|~eps (Adam) @ 1"].max_abs > 1e-4 and not rows["2 at |g|~eps (Adam) @ 1"].checked
    # a critic stepped n_critic times by step 1 is not excused: its step is not Adam's first
    assert "D.0.kernel" not in compare.adam_eps_regime(_two_step_trace([0.1 * lr], 2), _two_step_trace([0.155 * lr], 2))
