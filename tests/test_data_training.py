"""Training on real MNIST (the offline copy): configs/vae_mnist.yaml learns on both backends,
both see the same dynamically binarised batches, a resumed run stays bit-exact; without the
files and without a network, `aigc train` stops with one line that says what to do."""

import json

import numpy as np
import pytest

import aigc
from aigc import cli

from .backend_list import BACKENDS, assert_close_pairs
from .data_helpers import shared_datasets
from .test_reliability import _assert_same_state

CONFIG = "configs/vae_mnist.yaml"


@pytest.fixture
def offline_mnist(monkeypatch):
    monkeypatch.setenv("AIGC_DATA_DIR", str(shared_datasets()))


def _losses(run) -> np.ndarray:
    return np.array([json.loads(line)["loss"] for line in (run.out / "metrics.jsonl").read_text().splitlines()])


def test_vae_mnist_learns_on_both_backends_from_the_same_bits(tmp_path, offline_mnist):
    """100 steps on the first 2,000 images: the negative ELBO per image falls from ~540 nats
    (784 log 2 at the start) to ~200; the backends agree step by step at the start, which
    they can only do if they were fed the same binarised batches."""
    runs = {}
    for backend in BACKENDS:
        runs[backend] = aigc.train(
            CONFIG,
            backend=backend,
            out=str(tmp_path / backend),
            data__subset=2000,
            train__steps=100,
            train__log_every=1,
            train__progress=False,
            train__eval_images=False,
        )
    losses = {backend: _losses(run) for backend, run in runs.items()}
    for backend, loss in losses.items():
        assert loss.shape == (100,)
        assert loss[:5].mean() > 450 and loss[-10:].mean() < 0.5 * loss[:5].mean(), (backend, loss[[0, 4, -10, -1]])
        held_out = runs[backend].evaluation["negative_elbo"]  # all 10,000 test images, binarised once
        assert held_out < 0.5 * loss[:5].mean(), (backend, held_out)
    assert_close_pairs({b: loss[:20] for b, loss in losses.items()}, rtol=1e-4)  # every pair of backends


def test_resume_with_dynamic_binarisation_is_exact(tmp_path, offline_mnist):
    """8 steps, then a resume to 16, equal 16 steps straight: 5 batches per epoch, so the
    resumed run starts mid-epoch and crosses two epochs, each batch with its own bits. The
    files may have moved in between (another data.root): they are checksummed, the same data."""
    kw = dict(
        backend="torch",
        data__subset=500,
        model__hidden=32,
        model__latent_dim=4,
        train__log_every=1,
        train__progress=False,
        train__eval_samples=10,
        train__eval_images=False,
        optim__schedule="constant",  # a linear decay ends at train.steps: 8 then 16 would be another schedule
    )
    straight = aigc.train(CONFIG, out=str(tmp_path / "straight"), train__steps=16, **kw)
    aigc.train(CONFIG, out=str(tmp_path / "split"), train__steps=8, **kw)
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "mnist").symlink_to(shared_datasets() / "mnist")
    resumed = aigc.train(
        CONFIG, out=str(tmp_path / "split"), train__steps=16, resume=True, data__root=str(tmp_path / "moved"), **kw
    )
    _assert_same_state(straight.model, resumed.model)
    assert (resumed.out / "metrics.jsonl").read_text() == (straight.out / "metrics.jsonl").read_text()


def test_no_copy_and_no_network_means_one_line_that_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIGC_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("AIGC_DATA_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    assert cli.main(["train", "configs/vae_mnist.yaml", f"out={tmp_path / 'run'}", "train.progress=false"]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(
        "aigc: error: cannot download mnist/train-images-idx3-ubyte.gz from "
        "http://127.0.0.1:9/mnist/train-images-idx3-ubyte.gz ("
    )
    assert err.endswith("; offline? set AIGC_DATA_DIR to a folder holding mnist/train-images-idx3-ubyte.gz")
