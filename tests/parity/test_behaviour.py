"""Level 4 (reduced for CI): independent runs per backend, statistically indistinguishable
quality. The full 10-seed table is `aigc parity behaviour` (README, "Behaviour")."""

import json
from pathlib import Path

import pytest

from aigc.parity.behaviour import agree, compare_runs, run_seeds

from ..backend_list import BACKENDS, REFERENCE, need_two

SEEDS = [0, 1, 2]
VAE = ["train.steps=400", "model.hidden=64"]


@pytest.mark.slow
def test_vae_digits_backends_agree_and_the_test_has_power(tmp_path):
    need_two()
    runs = {b: run_seeds("configs/vae_digits.yaml", b, SEEDS, VAE, out=str(tmp_path)) for b in BACKENDS}
    (row,) = compare_runs(runs, ("negative_elbo",))
    assert row["agree"] and len(row["pairs"]) == len(BACKENDS) * (len(BACKENDS) - 1) // 2, row  # every pair
    # the same statistic flags a real difference: a 10x smaller learning rate (measured:
    # held-out negative ELBO 26.1 vs 28.7 nats, z = 12)
    slow = run_seeds("configs/vae_digits.yaml", REFERENCE, SEEDS, [*VAE, "optim.lr=1e-4"], out=str(tmp_path / "slow"))
    ok, z = agree([r["negative_elbo"] for r in runs[REFERENCE]], [r["negative_elbo"] for r in slow])
    assert not ok and z > 6


@pytest.mark.xdist_group("ring8_runs")  # one worker trains the shared fixture
@pytest.mark.slow
def test_gan_ring8_backends_agree(ring8_runs):
    rows = compare_runs(ring8_runs, ("modes", "high_quality", "reverse_kl"))
    assert all(r["agree"] for r in rows), rows


def test_the_table_reuses_stored_runs_and_runs_only_what_is_missing(tmp_path, monkeypatch):
    """Adding a backend to behaviour.json runs that backend's seeds alone; the tables of other
    configs and the stored runs stay as they were; --fresh runs everything again."""
    from aigc.parity import behaviour

    ran = []

    def fake_seeds(path, backend, seeds, overrides=(), out=None, reuse=True):
        ran.append(backend)
        return [{"seed": s, "negative_elbo": 20.0 + s + (0.01 if backend == "b" else 0.0)} for s in seeds]

    monkeypatch.setattr(behaviour, "run_seeds", fake_seeds)
    other = {"config": "configs/gan_ring8.yaml", "seeds": 2, "overrides": [], "runs": {"a": []}, "rows": []}
    (tmp_path / "behaviour.json").write_text(json.dumps([other]))
    vae = "configs/vae_digits.yaml"
    behaviour.report([vae], 3, [], tmp_path, backends=["a"])
    assert ran == ["a"]
    (table,) = behaviour.report([vae], 3, [], tmp_path, backends=["a", "b"])
    assert ran == ["a", "b"] and table["rows"][0]["agree"] and list(table["runs"]) == ["a", "b"]
    stored = json.loads((tmp_path / "behaviour.json").read_text())
    assert [t["config"] for t in stored] == ["configs/gan_ring8.yaml", vae] and stored[0] == other
    behaviour.report([vae], 3, ["train.steps=5"], tmp_path, backends=["a", "b"])  # other overrides: a new table
    assert ran == ["a", "b", "a", "b"] and len(json.loads((tmp_path / "behaviour.json").read_text())) == 3
    behaviour.report([vae], 3, [], tmp_path, backends=["a", "b"], fresh=True)
    assert ran[-2:] == ["a", "b"] and len(json.loads((tmp_path / "behaviour.json").read_text())) == 3


def test_a_run_folder_that_holds_the_runs_checkpoint_is_resumed_not_trained_again(tmp_path):
    """The table's runs resume from their folders: a finished run is only evaluated (its
    checkpoint untouched, the same figures), a run stopped part way goes on from its step,
    and a folder of another config, or `reuse=False` (--fresh), trains from scratch."""
    from aigc.parity.behaviour import run_one

    tiny = ["model.hidden=16", "train.checkpoint_every=4", "train.threads=1"]
    first = run_one("configs/vae_digits.yaml", REFERENCE, 0, [*tiny, "train.steps=8"], out=str(tmp_path))
    folder = tmp_path / f"vae_digits-{REFERENCE}-0"
    final = folder / "checkpoint" / "step-00000008.safetensors"
    stamp = final.stat().st_mtime_ns
    again = run_one("configs/vae_digits.yaml", REFERENCE, 0, [*tiny, "train.steps=8"], out=str(tmp_path))
    assert again == first and final.stat().st_mtime_ns == stamp
    run_one("configs/vae_digits.yaml", REFERENCE, 0, [*tiny, "train.steps=12"], out=str(tmp_path))
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [8, 12]  # the log went on, not started over
    assert (folder / "checkpoint" / "step-00000012.safetensors").is_file() and final.is_file()
    other = [*tiny, "train.steps=4", "optim.lr=1e-4"]
    run_one("configs/vae_digits.yaml", REFERENCE, 0, other, out=str(tmp_path))
    assert not final.exists()  # another config: a fresh run, the old checkpoints cleared
    four = folder / "checkpoint" / "step-00000004.safetensors"
    stamp = four.stat().st_mtime_ns
    run_one("configs/vae_digits.yaml", REFERENCE, 0, other, out=str(tmp_path), reuse=False)
    assert four.stat().st_mtime_ns != stamp  # trained again


def test_a_table_is_not_reused_after_its_config_file_changes(tmp_path, monkeypatch):
    """The stored runs belong to the recipe they were made with: edit the config file and the
    table runs again, replacing the old one where it stood."""
    from aigc.parity import behaviour

    ran = []

    def fake_seeds(path, backend, seeds, overrides=(), out=None, reuse=True):
        ran.append(backend)
        return [{"seed": s, "negative_elbo": 20.0 + s} for s in seeds]

    monkeypatch.setattr(behaviour, "run_seeds", fake_seeds)
    path = tmp_path / "vae.yaml"
    text = Path("configs/vae_digits.yaml").read_text()
    path.write_text(text)
    behaviour.report([str(path)], 2, [], tmp_path, backends=["a", "b"])
    behaviour.report([str(path)], 2, [], tmp_path, backends=["a", "b"])
    assert ran == ["a", "b"]
    path.write_text(text + "\n# a comment changes nothing\n")
    behaviour.report([str(path)], 2, [], tmp_path, backends=["a", "b"])
    assert ran == ["a", "b"]
    path.write_text(text.replace("steps: 3000", "steps: 2000"))
    behaviour.report([str(path)], 2, [], tmp_path, backends=["a", "b"])
    assert ran == ["a", "b", "a", "b"] and len(json.loads((tmp_path / "behaviour.json").read_text())) == 1
