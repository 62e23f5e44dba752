"""The benchmark: its FLOP accounting, and one tiny end-to-end run (no timing assertions)."""

import json
import math
import subprocess
import sys

from aigc.layers import Activation, Dense, Network
from benchmarks import flops


def numbers(tree, path="") -> list[tuple[str, float]]:
    """Every number in a JSON tree, with where it is."""
    if isinstance(tree, dict):
        return [n for k, v in tree.items() for n in numbers(v, f"{path}.{k}")]
    if isinstance(tree, list):
        return [n for i, v in enumerate(tree) for n in numbers(v, f"{path}[{i}]")]
    if isinstance(tree, (int, float)) and not isinstance(tree, bool):
        return [(path, tree)]
    return []


def test_flops_follow_the_documented_accounting():
    # 3 -> 4 -> 5: forward 2*3*4 + 2*4*5 = 64 per sample
    net = Network((3,), (Dense(4), Activation("relu"), Dense(5)))
    assert flops.layer_flops(net) == [24, 0, 40]
    assert flops.backward(net, weights=True, inputs=False) == 64 + 40  # dW everywhere, no dX for layer 1
    assert flops.backward(net, weights=True, inputs=True) == 128
    assert flops.backward(net, weights=False, inputs=True) == 64
    G = Network((2,), (Dense(6),))  # 24 per sample
    D = Network((4,), (Dense(1),))  # 8 per packed row of 2 samples
    batch = 10  # 5 rows for D
    forward = batch * 24 + 3 * 5 * 8
    backward = 2 * 5 * 8 + 5 * 8 + batch * 24  # D on real and fake: dW; D in G's update: dX; G: dW
    assert flops.gan_step(G, D, batch, pack=2) == forward + backward
    assert flops.vae_step(net, net, 2) == 2 * (64 + 64 + 128 + 104)


def test_benchmark_smoke(tmp_path):
    args = ["configs/gan_ring8.yaml", "--batch-sizes", "8", "--steps", "4", "--warmup", "1", "--block", "2",
            "--compile", "none", "auto", "--gemm-size", "128", "--threads", "1", "-o", str(tmp_path)]
    r = subprocess.run([sys.executable, "-m", "aigc", "bench", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["gemm_gflops"]) == {"torch", "tensorflow"}
    rows = {(row["impl"], row["framework"], row["compile"]): row for row in report["results"]}
    assert set(rows) == {(i, f, c) for i in ("aigc", "native") for f, c in (("torch", "none"), ("tensorflow", "auto"))}
    for (impl, _, _), row in rows.items():
        assert "error" not in row, row["error"]
        assert row["flops_per_step"] > 0 and row["peak_rss_mb"] > 0 and row["peak_device_mb"] is None
        assert set(row["measures"]) == {"step", "loop_memory", "loop_gather"}
        for m in row["measures"].values():
            fields = {"median_s", "p10_s", "p90_s", "first_step_s", "samples_per_s", "gflops", "gemm_fraction"}
            assert fields <= set(m) and ("vs_native" in m) == (impl == "aigc")
    bad = [(where, n) for where, n in numbers(report) if not (math.isfinite(n) and n > 0)]
    assert not bad
    assert "| gan_ring8 | 8 " in (tmp_path / "bench.md").read_text()
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert "| gan_ring8 " in r.stdout
