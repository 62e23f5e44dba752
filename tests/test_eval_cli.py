"""`aigc eval` on checkpoints of both backends, and training's periodic evaluations."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .backend_list import BACKENDS, REFERENCE
from .ring8 import NO_PRECISE_BN

TRAINED_ON = BACKENDS[-1]  # TensorFlow where torch and TensorFlow are installed: evaluated on every backend


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True, timeout=600)


def evaluate(checkpoint, *args: str) -> dict:
    r = cli("eval", str(checkpoint), *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def train(out, config: str, *overrides: str) -> None:
    r = cli("train", config, f"out={out}", "train.progress=false", *overrides)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def gan_on_digits(tmp_path_factory):
    """A tiny DCGAN on 8x8 digits, trained for a few steps on TRAINED_ON."""
    out = tmp_path_factory.mktemp("dcgan")
    train(
        out,
        "configs/dcgan_mnist.yaml",
        f"backend={TRAINED_ON}",
        "data.name=digits",
        "model.channels=8",
        "model.latent_dim=8",
        "train.steps=20",
        "train.batch_size=32",
        "train.eval_samples=300",
        "train.eval_images=true",
    )
    return out


def test_eval_of_an_image_gan_is_the_same_on_both_backends(gan_on_digits):
    results = {b: evaluate(gan_on_digits / "checkpoint", "--backend", b, "--n", "300") for b in BACKENDS}
    t = results[REFERENCE]
    assert {"fid", "precision", "recall", "classifier_score"} <= set(t)
    assert t["fid"] > 0 and 1.0 <= t["classifier_score"] <= 10.0
    for b, tf in results.items():  # each against the first installed backend
        assert t["fid"] == pytest.approx(tf["fid"], rel=1e-4), b
        assert t["classifier_score"] == pytest.approx(tf["classifier_score"], rel=1e-4), b
        assert abs(t["precision"] - tf["precision"]) <= 2 / 300 and abs(t["recall"] - tf["recall"]) <= 2 / 297, b
    saved = json.loads((gan_on_digits / "eval.json").read_text())  # training evaluated with the same code
    assert saved["fid"] == pytest.approx(results[TRAINED_ON]["fid"], rel=1e-4)


def test_conditional_samples_are_the_requested_class(tmp_path):
    """The classifier names the class a conditional model was asked for (cvae on 8x8 digits,
    300 steps: measured 100%; chance is 10%), the same on both backends."""
    raw = (
        Path("configs/cvae_mnist.yaml")
        .read_text()
        .replace("name: mnist", "name: digits")
        .replace("  binarize: dynamic\n", "")
    )
    config = tmp_path / "cvae_digits.yaml"
    config.write_text(raw)
    train(tmp_path / "run", str(config), "train.steps=300", "train.batch_size=64")
    results = {b: evaluate(tmp_path / "run" / "checkpoint", "--backend", b, "--n", "500", "--k", "0") for b in BACKENDS}
    assert results[REFERENCE]["label_accuracy"] >= 0.9, results
    for b in BACKENDS:  # each against the first installed backend
        assert results[b]["label_accuracy"] == pytest.approx(results[REFERENCE]["label_accuracy"], abs=0.01), b


def test_eval_with_discriminator_rejection_is_the_same_on_both_backends(gan_on_digits, tmp_path):
    """`--keep 0.5`: the best half of 600 draws by D, the same on every backend; `aigc
    sample --keep` draws them too."""
    results = {
        b: evaluate(gan_on_digits / "checkpoint", "--backend", b, "--n", "300", "--keep", "0.5") for b in BACKENDS
    }
    plain = evaluate(gan_on_digits / "checkpoint", "--n", "300")
    t = results[REFERENCE]
    assert t["keep"] == 0.5 and "keep" not in plain and t["fid"] != plain["fid"]
    for b, other in results.items():
        assert t["fid"] == pytest.approx(other["fid"], rel=1e-4), b
    r = cli("sample", str(gan_on_digits / "checkpoint"), "-n", "8", "--keep", "0.5", "-o", str(tmp_path / "s.npy"))
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "s.npy").shape[0] == 8


def test_eval_with_truncated_noise_is_the_same_on_both_backends(gan_on_digits, tmp_path):
    """`--truncation 1`: z's entries drawn within [-1, 1], the same on every backend, and with
    `--keep` on top; the results say both."""
    ckpt = gan_on_digits / "checkpoint"
    results = {b: evaluate(ckpt, "--backend", b, "--n", "300", "--truncation", "1") for b in BACKENDS}
    plain = evaluate(ckpt, "--n", "300")
    t = results[REFERENCE]
    assert t["truncation"] == 1.0 and "truncation" not in plain and t["fid"] != plain["fid"]
    for b, other in results.items():
        assert t["fid"] == pytest.approx(other["fid"], rel=1e-4), b
    both = evaluate(ckpt, "--n", "300", "--truncation", "1", "--keep", "0.5")
    assert both["truncation"] == 1.0 and both["keep"] == 0.5 and both["fid"] != t["fid"]
    r = cli("sample", str(ckpt), "-n", "8", "--truncation", "0.5", "-o", str(tmp_path / "s.npy"))
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "s.npy").shape[0] == 8


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (("--keep", "0"), "expected a fraction of the draws in (0, 1]"),
        (("--keep", "nan"), "in (0, 1]"),
        (("--keep", "2"), "in (0, 1]"),
        (("--truncation", "0"), "expected a bound on |z| of at least 0.05"),
        (("--truncation", "inf"), "at least 0.05"),
        (("--truncation", "nan"), "at least 0.05"),
        (("--prior", "gmm"), "expected one of standard, aggregate"),
        (("--prior", "aggregate"), "only a VAE has an encoder"),
    ],
)
def test_eval_sampling_options_out_of_range_are_one_line(gan_on_digits, option, says):
    r = cli("eval", str(gan_on_digits / "checkpoint"), *option)
    assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_eval_of_a_vae_reports_elbo_and_iwae_on_both_backends(tmp_path):
    train(tmp_path, "configs/vae_digits.yaml", "train.steps=100", "train.eval_images=false")
    results = {b: evaluate(tmp_path / "checkpoint", "--backend", b, "--k", "20", "--n", "200") for b in BACKENDS}
    t = results[REFERENCE]
    assert t["iwae_nll"] <= t["negative_elbo"] and t["iwae_k"] == 20
    for b, tf in results.items():  # each against the first installed backend
        for key in ("negative_elbo", "iwae_nll", "fid"):
            assert t[key] == pytest.approx(tf[key], rel=1e-4), (b, key)
    fitted = {
        b: evaluate(tmp_path / "checkpoint", "--backend", b, "--k", "0", "--n", "200", "--prior", "aggregate")
        for b in BACKENDS
    }
    assert fitted[REFERENCE]["prior"] == "aggregate" and "prior" not in t
    assert fitted[REFERENCE]["fid"] != t["fid"]
    for b, tf in fitted.items():  # the aggregate posterior is fitted alike on every backend
        assert fitted[REFERENCE]["fid"] == pytest.approx(tf["fid"], rel=1e-4), b
    r = cli("sample", str(tmp_path / "checkpoint"), "-n", "8", "--prior", "aggregate", "-o", str(tmp_path / "s.npy"))
    assert r.returncode == 0 and np.load(tmp_path / "s.npy").shape[0] == 8, r.stderr
    r = cli("eval", str(tmp_path / "checkpoint"), "--keep", "0.5", "--k", "0")
    assert r.returncode == 2 and "only a GAN has a discriminator" in r.stderr
    r = cli("eval", str(tmp_path / "checkpoint"), "--truncation", "1", "--k", "0")
    assert r.returncode == 2 and "only a GAN's samples come from noise" in r.stderr


def test_eval_of_a_mixture_gan_reports_modes(tmp_path):
    train(tmp_path, "configs/gan_ring8.yaml", "train.steps=30", NO_PRECISE_BN)
    r = evaluate(tmp_path / "checkpoint", "--n", "500")
    assert {"modes", "high_quality", "reverse_kl"} <= set(r) and "fid" not in r


def test_training_evaluates_every_n_steps(tmp_path):
    train(
        tmp_path,
        "configs/vae_digits.yaml",
        "train.steps=30",
        "train.log_every=10",
        "train.eval_every=15",
        "train.eval_iwae_k=5",
        "train.eval_images=false",
    )
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    evals = [line for line in lines if "eval" in line]
    assert [e["step"] for e in evals] == [15, 30]
    assert evals[-1]["eval"] == json.loads((tmp_path / "eval.json").read_text())
    assert {"negative_elbo", "iwae_nll"} <= set(evals[0]["eval"])


def test_eval_of_a_missing_checkpoint_is_one_line(tmp_path):
    r = cli("eval", str(tmp_path))
    assert r.returncode == 2 and "no checkpoint" in r.stderr
