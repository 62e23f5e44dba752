"""The command line end to end: train, sample with either backend, list backends."""

import subprocess
import sys

import numpy as np
from PIL import Image

from aigc import backends

from .backend_list import BACKENDS, REFERENCE
from .ring8 import NO_PRECISE_BN


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True, timeout=600)


def test_train_then_sample_on_both_backends(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "configs/gan_ring8.yaml", f"out={out}", "train.steps=60", "train.log_every=20", NO_PRECISE_BN)
    assert r.returncode == 0, r.stderr
    assert (out / "config.yaml").is_file() and (out / "samples.png").is_file()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and '"step": 60' in lines[-1]
    samples = {}
    for backend in BACKENDS:
        npy = tmp_path / f"{backend}.npy"
        r = cli("sample", str(out / "checkpoint"), "-n", "100", "--seed", "5", "--backend", backend, "-o", str(npy))
        assert r.returncode == 0, r.stderr
        samples[backend] = np.load(npy)
        assert samples[backend].shape == (100, 2) and samples[backend].dtype == np.float32
    for backend in BACKENDS:  # each against the first installed backend
        np.testing.assert_allclose(samples[backend], samples[REFERENCE], atol=1e-5, err_msg=backend)
    png = tmp_path / "s.png"
    assert cli("sample", str(out / "checkpoint"), "-n", "500", "-o", str(png)).returncode == 0
    assert Image.open(png).size[0] > 100


def test_sample_codes_choose_the_code(tmp_path):
    """`aigc sample --codes`: the samples of `model.sample(n, codes=...)` (ring: 8 code values)."""
    import aigc

    out = tmp_path / "run"
    assert cli("train", "configs/gan_ring8.yaml", f"out={out}", "train.steps=20", NO_PRECISE_BN).returncode == 0
    model = aigc.load(out / "checkpoint")
    for text, codes in (("3", [3] * 6), ("0,5", [0, 5] * 3)):
        npy = tmp_path / f"codes{len(codes)}.npy"
        r = cli("sample", str(out / "checkpoint"), "-n", "6", "--seed", "2", "--codes", text, "-o", str(npy))
        assert r.returncode == 0, r.stderr
        np.testing.assert_allclose(np.load(npy), model.sample(6, seed=2, codes=np.array(codes)), atol=1e-6)
    threes, fours = (model.sample(6, seed=2, codes=np.full(6, c)) for c in (3, 4))
    assert np.abs(threes - fours).max() > 1e-4  # the code reaches the output
    r = cli("sample", str(out / "checkpoint"), "-n", "6", "--codes", "8", "-o", str(tmp_path / "x.npy"))
    assert r.returncode == 2 and "codes are 0 to 7" in r.stderr


def test_sample_images_as_npy_nhwc_and_png_grid(tmp_path):
    out = tmp_path / "vae"
    trained_on = BACKENDS[-1]  # sampled on the first: across backends where two are installed
    assert (
        cli("train", "configs/vae_digits.yaml", f"out={out}", "train.steps=20", f"backend={trained_on}").returncode == 0
    )
    npy = tmp_path / "digits.npy"
    assert cli("sample", str(out / "checkpoint"), "-n", "16", "-o", str(npy)).returncode == 0
    x = np.load(npy)
    assert x.shape == (16, 8, 8, 1) and x.min() >= 0.0 and x.max() <= 1.0
    png = tmp_path / "digits.png"
    assert cli("sample", str(out / "checkpoint"), "-n", "16", "--backend", REFERENCE, "-o", str(png)).returncode == 0
    assert Image.open(png).mode == "L"


def test_sample_rejects_unknown_output_type(tmp_path):
    r = cli("sample", str(tmp_path), "-o", str(tmp_path / "x.jpg"))
    assert r.returncode == 2 and "must end in .npy or .png" in r.stderr


def test_backends_lists_versions_and_devices():
    r = cli("backends")
    assert r.returncode == 0
    rows = dict(line.split(None, 1) for line in r.stdout.strip().splitlines())
    assert list(rows) == backends.names()
    for name in backends.installed():
        modes = ", ".join(backends.backend_class(name).compile_modes)
        assert "devices: cpu" in rows[name] and rows[name].endswith(f"train.compile: {modes}"), rows[name]
    for name in set(rows) - set(backends.installed()):
        assert rows[name].startswith("not installed") and backends.INSTALL_HINTS.get(name, "") in rows[name]


def test_options_and_overrides_mix_in_any_order():
    from aigc.cli import parse

    for line in (
        ["train", "configs/gan_ring8.yaml", "--resume", "train.steps=10", "seed=1"],
        ["train", "--resume", "configs/gan_ring8.yaml", "train.steps=10", "seed=1"],
        ["train", "train.steps=10", "configs/gan_ring8.yaml", "seed=1", "--resume"],
        ["train", "train.steps=10", "seed=1", "--resume", "configs/gan_ring8.yaml"],
    ):
        args = parse(line)
        assert (args.config, args.overrides, args.resume) == (
            "configs/gan_ring8.yaml",
            ["train.steps=10", "seed=1"],
            True,
        )


def test_parity_options_and_overrides_mix_in_any_order():
    from aigc.parity.cli import _record_parser, _run_parser

    args = _record_parser().parse_intermixed_args(["CONFIG", "--backend", "torch", "seed=1", "-o", "t", "x.y=2"])
    assert (args.config, args.backend, args.output, args.overrides) == ("CONFIG", "torch", "t", ["seed=1", "x.y=2"])
    args = _run_parser().parse_intermixed_args(["CONFIG", "--steps", "3", "seed=1", "--backends", "torch", "torch"])
    assert (args.config, args.steps, args.overrides, args.backends) == ("CONFIG", 3, ["seed=1"], ["torch", "torch"])


def test_a_stray_word_or_option_is_still_an_error():
    for line in (
        ["train", "configs/gan_ring8.yaml", "other.yaml"],
        ["train", "configs/gan_ring8.yaml", "--nope", "seed=1"],
        ["train", "seed=1"],
        ["backends", "seed=1"],
    ):
        r = cli(*line)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (line, r.stderr)


def test_resume_between_overrides_end_to_end(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "configs/gan_ring8.yaml", f"out={out}", "train.steps=4", NO_PRECISE_BN).returncode == 0
    r = cli(
        "train", "configs/gan_ring8.yaml", "--resume", f"out={out}", "train.steps=8", "train.log_every=4", NO_PRECISE_BN
    )
    assert r.returncode == 0, r.stderr
    assert "trained 8 steps" in r.stdout


def test_parity_record_with_an_override_after_an_option(tmp_path):
    trace = tmp_path / "t.safetensors"
    r = cli(
        "parity", "record", "configs/gan_ring8.yaml", "--backend", "torch", "seed=1", "--steps", "2", "-o", str(trace)
    )
    assert r.returncode == 0, r.stderr
    assert trace.is_file()
