"""The neutral checkpoint: cross-backend sampling, integrity, exact contents."""

import numpy as np
import pytest

import aigc
from aigc import checkpoint
from aigc.errors import CheckpointError
from aigc.parity.tolerances import SAMPLE_ATOL

from .backend_list import BACKENDS, REFERENCE, params
from .ring8 import NO_PRECISE_BN_KWARGS


def _train(tmp_path, backend: str, model: str = "mlp_gan"):
    if model == "mlp_gan":
        cfg, quick = "configs/gan_ring8.yaml", NO_PRECISE_BN_KWARGS
    else:
        cfg, quick = "configs/vae_digits.yaml", {}
    out = str(tmp_path / backend)
    return aigc.train(cfg, backend=backend, out=out, train__steps=50, train__progress=False, **quick)


@pytest.mark.parametrize("trained_on", params())
@pytest.mark.parametrize("model", ["mlp_gan", "mlp_vae"])
def test_cross_backend_sampling(tmp_path, pair, trained_on, model):
    """A checkpoint trained on each backend samples on every other (every ordered pair)."""
    run = _train(tmp_path, trained_on, model)
    ckpt = run.out / "checkpoint"
    same = aigc.load(ckpt)
    a = same.sample(256, seed=11)
    np.testing.assert_array_equal(run.sample(256, seed=11), a)
    assert not np.allclose(a, same.sample(256, seed=12))  # the seed matters
    for name in [b for b in BACKENDS if b != trained_on]:
        other = aigc.load(ckpt, backend=name)
        assert other.backend.name == name
        np.testing.assert_allclose(a, other.sample(256, seed=11), atol=SAMPLE_ATOL, err_msg=name)
        # weights and optimizer state survive the trip through the other backend exactly
        for k, v in run.model.weights().items():
            np.testing.assert_array_equal(other.weights()[k], v)
        for k, v in run.model.optimizer_state().items():
            np.testing.assert_array_equal(other.optimizer_state()[k], v)


def test_tampered_checkpoint_is_refused(tmp_path, pair):
    run = _train(tmp_path, REFERENCE)
    file = checkpoint.resolve(run.out / "checkpoint")
    data = bytearray(file.read_bytes())
    data[-3] ^= 0xFF  # flip bits in the last tensor
    file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt or was modified"):
        aigc.load(run.out / "checkpoint")


def test_truncated_and_foreign_files_are_refused(tmp_path, pair):
    run = _train(tmp_path, REFERENCE)
    file = checkpoint.resolve(run.out / "checkpoint")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(file.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="not a readable safetensors checkpoint"):
        checkpoint.load(truncated)
    pickle_file = tmp_path / "model.pt"
    pickle_file.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    with pytest.raises(CheckpointError):
        checkpoint.load(pickle_file)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "missing")


def test_checkpoint_records_step_config_and_rng(tmp_path, pair):
    run = _train(tmp_path, BACKENDS[-1])
    ckpt = checkpoint.load(run.out / "checkpoint")
    assert ckpt.step == 50 and ckpt.backend == BACKENDS[-1] and ckpt.config["train"]["steps"] == 50
    assert ckpt.rng_state["bit_generator"] == "PCG64"
    assert ckpt.weights["G.0.kernel"].shape == (16, 128)  # canonical (in, out): latent 8 + code 8 -> hidden 128
    assert set(ckpt.optim) >= {"G.b1t", "D.b1t", "G.m.G.0.kernel", "D.v.D.0.bias"}
    np.testing.assert_allclose(ckpt.optim["G.b1t"], 0.5**50, rtol=1e-5)


def test_edited_metadata_is_refused(tmp_path, pair):
    """The SHA-256 covers the metadata (config, step, generator state), not only the tensors."""
    import json

    from safetensors.numpy import load_file, save_file

    run = _train(tmp_path, REFERENCE)
    file = checkpoint.resolve(run.out / "checkpoint")
    with open(file, "rb") as f:
        meta = json.loads(f.read(int.from_bytes(f.read(8), "little")))["__metadata__"]
    meta["step"] = "49"
    save_file(load_file(str(file)), str(file), metadata=meta)
    with pytest.raises(CheckpointError, match="corrupt or was modified"):
        checkpoint.load(file)


def test_checkpoint_carries_no_path_of_the_training_machine(tmp_path, pair):
    """A checkpoint is shared: its metadata names no place on the machine that trained it
    (`out` is left out), and resuming and loading it still work."""
    import json
    import os

    from safetensors import safe_open

    run = _train(tmp_path, REFERENCE)
    (file,) = (run.out / "checkpoint").glob("*.safetensors")
    with safe_open(str(file), framework="numpy") as f:
        meta = f.metadata()
    text = json.dumps(meta)
    for place in (str(tmp_path), os.path.expanduser("~"), os.getcwd()):
        assert place not in text
    assert "out" not in json.loads(meta["config"])
    assert aigc.load(file).sample(4, seed=0).shape == (4, 2)
    more = aigc.train(
        "configs/gan_ring8.yaml",
        out=str(run.out),
        resume=True,
        train__steps=60,
        train__progress=False,
        **NO_PRECISE_BN_KWARGS,
    )
    assert more.step == 60


def test_portable_config_drops_the_machine_places_only():
    cfg = {"out": "/home/me/runs/x", "seed": 1, "data": {"name": "mnist", "root": "/data", "url": "file:///m"}}
    assert checkpoint.portable(cfg) == {"seed": 1, "data": {"name": "mnist"}}
    kept = {"seed": 1, "data": {"name": "mnist", "root": "data", "url": "https://example.org/mirror"}}
    assert checkpoint.portable({**kept, "out": "runs/x"}) == kept
    assert cfg["out"] == "/home/me/runs/x"  # the run's own config is not changed
