"""The benchmark: its FLOP accounting, and one tiny end-to-end run (no timing assertions)."""

import json
import math
import subprocess
import sys

import pytest

from aigc.specs import Activation, Dense, NetworkSpec
from benchmarks import flops, runner

from .backend_list import BACKENDS


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
    net = NetworkSpec((3,), (Dense(4), Activation("relu"), Dense(5)))
    assert flops.layer_flops(net) == [24, 0, 40]
    assert flops.backward(net, weights=True, inputs=False) == 64 + 40  # dW everywhere, no dX for layer 1
    assert flops.backward(net, weights=True, inputs=True) == 128
    assert flops.backward(net, weights=False, inputs=True) == 64
    G = NetworkSpec((2,), (Dense(6),))  # 24 per sample
    D = NetworkSpec((4,), (Dense(1),))  # 8 per packed row of 2 samples
    batch = 10  # 5 rows for D
    forward = batch * 24 + 3 * 5 * 8
    backward = 2 * 5 * 8 + 5 * 8 + batch * 24  # D on real and fake: dW; D in G's update: dX; G: dW
    assert flops.gan_step(G, D, batch, pack=2) == forward + backward
    assert flops.vae_step(net, net, 2) == 2 * (64 + 64 + 128 + 104)


def test_benchmark_smoke(tmp_path):
    args = [
        "configs/gan_ring8.yaml",
        "--batch-sizes",
        "8",
        "--steps",
        "4",
        "--warmup",
        "1",
        "--block",
        "2",
        "--compile",
        "none",
        "auto",
        "--gemm-size",
        "128",
        "--threads",
        "1",
        "-o",
        str(tmp_path),
    ]
    args += ["--frameworks", *BACKENDS]  # every installed (selected) backend
    r = subprocess.run([sys.executable, "-m", "aigc", "bench", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["gemm_gflops"]) == set(BACKENDS)
    rows = {(row["impl"], row["framework"], row["compile"]): row for row in report["results"]}
    plain = {f: next(m for m in runner.compile_modes(f) if m in ("none", "auto")) for f in BACKENDS}  # torch: none
    assert set(rows) == {(i, f, c) for i in ("aigc", "native") for f, c in plain.items()}
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


def test_cuda_run_without_a_gpu_leaves_each_framework_out_with_a_note(tmp_path):
    from aigc import backends

    if any(len(backends.backend_class(n).info()["devices"]) > 1 for n in BACKENDS):
        pytest.skip("a framework sees a GPU here")
    args = [
        "configs/gan_ring8.yaml",
        "--batch-sizes",
        "8",
        "--steps",
        "4",
        "--warmup",
        "1",
        "--block",
        "2",
        "--compile",
        "none",
        "auto",
        "--gemm-size",
        "128",
        "--threads",
        "1",
        "--device",
        "cuda",
        "-o",
        str(tmp_path),
        "--frameworks",
        *BACKENDS,
    ]
    r = subprocess.run([sys.executable, "-m", "aigc", "bench", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["results"] == []  # no rows, and no error rows
    for name in BACKENDS:
        assert f"{name} sees no GPU: its rows are left out" in r.stdout


def test_results_table_reuses_finished_runs_and_formats_every_row(tmp_path):
    """`python -m benchmarks.results`: a run whose final checkpoint and evaluation are there is
    neither trained nor evaluated again; the table has a row per config and backend and
    the grid rows from a behaviour file."""
    from benchmarks import results

    gan = {"fid": 512.3, "precision": 0.4, "recall": 0.45, "classifier_score": 5.1}
    vae = {"negative_elbo": 95.2, "iwae_nll": 90.1, "iwae_k": 10}
    runs = []
    for config in results.VAE_CONFIGS + results.GAN_CONFIGS + results.CONDITIONAL_CONFIGS:
        for backend in ("torch", "tensorflow"):  # the table's format: no framework runs here
            run = tmp_path / f"{config}-{backend}"
            final = results._final_checkpoint(config, run)
            final.parent.mkdir(parents=True)
            final.write_bytes(b"")  # never opened: only its name says the run is finished
            e = (
                vae
                if config in results.VAE_CONFIGS
                else dict(gan, **({"label_accuracy": 0.8} if config == "cgan_mnist" else {}))
            )
            (run / "results-eval.json").write_text(json.dumps(e))
            if config in results.GAN_CONFIGS:  # its second row: sampled with discriminator rejection
                kept = dict(gan, fid=21.0, precision=0.77, keep=results.keep_for(config, None))
                (run / "results-eval-keep.json").write_text(json.dumps(kept))
            if config in results.PRIOR_CONFIGS:  # its second row: z from the aggregate posterior
                fitted = dict(gan, fid=18.5, label_accuracy=0.99, prior="aggregate")
                (run / "results-eval-prior.json").write_text(json.dumps(fitted))
            (run / "results-train.json").write_text(json.dumps({"train_s": 1140.0}))
            runs.append(
                results.run_one(
                    config, backend, tmp_path, 100, 10, log=lambda m: (_ for _ in ()).throw(AssertionError(m))
                )
            )
    grid = [
        {
            "config": "configs/gan_grid25.yaml",
            "seeds": 3,
            "rows": [
                {"metric": m, "torch": [v, 0.1], "tensorflow": [v, 0.2]}
                for m, v in (("modes", 13.0), ("high_quality", 0.6), ("reverse_kl", 0.7), ("mode_spread", 0.5))
            ],
        }
    ]
    (tmp_path / "behaviour.json").write_text(json.dumps(grid))
    classifier = {
        "recipe": {"epochs": 6},
        "test_accuracy": 0.9937,
        "fid_train_test": 12.3,
        "precision_train_test": 0.86,
        "recall_train_test": 0.86,
        "classifier_score_test": 9.7,
    }
    table = results.markdown(
        {
            "n": 100,
            "k": 10,
            "backends": ["torch", "tensorflow", "jax"],  # jax has no runs and no grid rows: left out
            "classifier": classifier,
            "runs": runs,
            "grid": results.grid_rows([tmp_path / "behaviour.json"]),
        }
    )
    assert "| `vae_mnist` | torch | 95.20 | 90.10 (10) | 19 min | target <= 88.0; 86.76" in table
    assert "| `cgan_mnist` | tensorflow | 512.3 | 0.400 | 0.450 | 5.10 | 80.0% | 19 min |" in table
    assert "| target (issue #14) | | <= 49.2 | >= 0.75 | >= 0.60 | >= 9.0 | cgan >= 97%, cvae >= 95% | |" in table
    assert "| `gan_grid25` | 3 | tensorflow | 13.0 ± 0.2 | 60.0% ± 20.0% | 0.700 ± 0.200 | 0.50 ± 0.20 |" in table
    assert "| PacGAN4 (PacGAN Table 1; issue #14's target) | | | 24.8 | 93.6% | 0.04 |" in table
    kept_row = (
        "| `dcgan_mnist_full`, D keeps 70% (`--keep 0.7`) | torch | 21.0 | 0.770 | 0.450 | 5.10 | — | the same run |"
    )
    assert kept_row in table
    prior_row = (
        "| `cvae_mnist`, z from the aggregate posterior (`--prior aggregate`) | torch | 18.5 | 0.400 | 0.450 | 5.10 "
        "| 99.0% | the same run |"
    )
    assert prior_row in table
    # VAEs, GANs (twice), conditional (the cvae twice), grid
    assert "99.37%" in table and table.count("| torch |") == 2 + 4 + 4 + 3 + 1
    assert "| jax |" not in table
    assert "¹" not in table  # every row measured by the classifier of the table


def _fake_aigc_eval(monkeypatch, measured) -> list:
    """`benchmarks.results` with `aigc` replaced: each call (kept in the returned list)
    prints `measured(args)` as its JSON; the classifier's sha256 is "c"."""
    import subprocess

    from benchmarks import results

    calls = []

    def fake_aigc(*args):
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, stdout=json.dumps(measured(args)), stderr="")

    monkeypatch.setattr(results, "_aigc", fake_aigc)
    monkeypatch.setattr(results, "classifier_record", lambda: {"sha256": "c"})
    return calls


def test_results_redo_an_iwae_bound_measured_with_another_k(tmp_path, monkeypatch):
    """A VAE evaluation made with k = 1000 is redone when the table asks for k = 5000 (the IWAE
    paper's); an image GAN's evaluation has no k and is reused."""
    from benchmarks import results

    calls = _fake_aigc_eval(
        monkeypatch, lambda args: {"negative_elbo": 91.2, "iwae_nll": 87.1, "iwae_k": int(args[args.index("--k") + 1])}
    )
    for config, stored in (("vae_mnist", {"iwae_nll": 87.3, "iwae_k": 1000}), ("dcgan_mnist", {"fid": 20.0})):
        run = tmp_path / f"{config}-torch"
        final = results._final_checkpoint(config, run)
        final.parent.mkdir(parents=True)
        final.write_bytes(b"")
        (run / "results-eval.json").write_text(json.dumps(stored))
    logged = []
    vae = results.run_one("vae_mnist", "torch", tmp_path, 100, 5000, logged.append)
    gan = results.run_one("dcgan_mnist", "torch", tmp_path, 100, 5000, logged.append)
    assert [c[0] for c in calls] == ["eval"] and calls[0][-2:] == ("--k", "5000")
    assert vae["eval"]["iwae_nll"] == 87.1 and vae["eval"]["iwae_k"] == 5000 and gan["eval"] == {"fid": 20.0}
    assert logged == [f"evaluating {tmp_path / 'vae_mnist-torch'} (its IWAE bound had k = 1000)"]


def test_results_redo_a_kept_evaluation_made_with_another_fraction(tmp_path, monkeypatch):
    """An image GAN's `--keep` row is measured once per fraction: the stored one is reused
    while `--keep` asks for the same fraction, redone when it asks for another; `--keep 0`
    is a usage error."""
    from benchmarks import results

    calls = _fake_aigc_eval(
        monkeypatch, lambda args: {"fid": 20.0, "precision": 0.8, "keep": float(args[args.index("--keep") + 1])}
    )
    config = results.GAN_CONFIGS[0]
    run = tmp_path / f"{config}-torch"
    final = results._final_checkpoint(config, run)
    final.parent.mkdir(parents=True)
    final.write_bytes(b"")
    (run / "results-eval.json").write_text(json.dumps({"fid": 30.0}))
    first = results.run_one(config, "torch", tmp_path, 100, 0, print, keep=0.7)
    again = results.run_one(config, "torch", tmp_path, 100, 0, print, keep=0.7)
    other = results.run_one(config, "torch", tmp_path, 100, 0, print, keep=0.5)
    assert [c[-1] for c in calls] == ["0.7", "0.5"]
    assert first["eval_kept"]["keep"] == again["eval_kept"]["keep"] == 0.7 and other["eval_kept"]["keep"] == 0.5
    assert first["eval_kept"]["classifier_sha256"] == "c" and first["eval"] == {"fid": 30.0}
    assert "eval_kept" not in results.run_one(config, "torch", tmp_path, 100, 0, print, keep=1.0)
    with pytest.raises(SystemExit):
        results.main(["--keep", "0"])


def test_results_keep_each_configs_own_fraction_unless_told(tmp_path, monkeypatch):
    """Without `--keep`, D keeps 0.7 of an image GAN's draws, or the config's own fraction
    (wgan_gp_mnist_full: 0.9); `--keep F` sets it for every config."""
    from benchmarks import results

    calls = _fake_aigc_eval(monkeypatch, lambda args: {"keep": float(args[args.index("--keep") + 1])})
    for config in ("dcgan_mnist_full", "wgan_gp_mnist_full"):
        final = results._final_checkpoint(config, tmp_path / f"{config}-torch")
        final.parent.mkdir(parents=True)
        final.write_bytes(b"")
        (final.parent.parent / "results-eval.json").write_text(json.dumps({"fid": 30.0}))
    own = [
        results.run_one(c, "torch", tmp_path, 100, 0, print)["eval_kept"]["keep"]
        for c in ("dcgan_mnist_full", "wgan_gp_mnist_full")
    ]
    told = results.run_one("wgan_gp_mnist_full", "torch", tmp_path, 100, 0, print, keep=0.7)["eval_kept"]["keep"]
    assert own == [0.7, 0.9] and told == 0.7 and [c[-1] for c in calls] == ["0.7", "0.9", "0.7"]


def test_results_evaluate_the_conditional_vae_with_its_aggregate_prior_once(tmp_path, monkeypatch):
    """The cvae's second row: `aigc eval --prior aggregate` without the IWAE bound (`--k 0`:
    the plain row's likelihood is the model's), measured once and then reused."""
    from benchmarks import results

    calls = _fake_aigc_eval(
        monkeypatch, lambda args: {"fid": 25.0, **({"prior": "aggregate"} if "--prior" in args else {})}
    )
    config = results.PRIOR_CONFIGS[0]
    run = tmp_path / f"{config}-torch"
    final = results._final_checkpoint(config, run)
    final.parent.mkdir(parents=True)
    final.write_bytes(b"")
    first = results.run_one(config, "torch", tmp_path, 100, 5000, print)
    again = results.run_one(config, "torch", tmp_path, 100, 5000, print)
    assert len(calls) == 2  # the plain evaluation and the one with the fitted prior, each once
    prior_call = next(c for c in calls if "--prior" in c)
    assert prior_call[prior_call.index("--k") + 1] == "0" and prior_call[prior_call.index("--prior") + 1] == "aggregate"
    assert first["eval_prior"]["prior"] == again["eval_prior"]["prior"] == "aggregate" and "prior" not in first["eval"]


def test_results_run_jobs_side_by_side(tmp_path, monkeypatch):
    """`--jobs 2` runs two (config, backend) pairs at once; `--jobs 0` is a one-line usage error."""
    import threading

    from benchmarks import results

    both_started = threading.Barrier(2, timeout=30)  # breaks (and fails the run) unless two run together

    def fake_run_one(config, backend, runs, n, k, log, keep):
        both_started.wait()
        return {"config": config, "backend": backend, "eval": {"negative_elbo": 1.0, "iwae_nll": 1.0, "iwae_k": k}}

    monkeypatch.setattr(results, "run_one", fake_run_one)
    monkeypatch.setattr(results, "classifier_record", lambda: {"sha256": "c"})
    monkeypatch.setattr(results, "markdown", lambda r: "table")
    out, behaviour = tmp_path / "out", tmp_path / "behaviour.json"
    behaviour.write_text("[]")
    argv = ["--configs", "vae_mnist", "--backends", "torch", "tensorflow", "--runs", str(tmp_path), "-o", str(out)]
    assert results.main([*argv, "--jobs", "2", "--behaviour", str(behaviour)]) == 0
    written = json.loads((out / "results.json").read_text())
    pairs = [(r["config"], r["backend"]) for r in written["runs"]]
    assert pairs == [("vae_mnist", "torch"), ("vae_mnist", "tensorflow")]
    assert written["k"] == 5000
    with pytest.raises(SystemExit):
        results.main([*argv, "--jobs", "0"])


def test_results_for_one_backend_keep_the_other_backends_rows_and_grids(tmp_path, monkeypatch):
    """`--backends tensorflow --configs X` redoes TensorFlow's row of X only: the table keeps its
    torch rows and columns (results.json's `backends` stays both), and X's sample grid stays
    the table's first backend's (torch), not the redone run's."""
    from benchmarks import results

    def fake_run_one(config, backend, runs, n, k, log, keep):
        return {"config": config, "backend": backend, "eval": {"negative_elbo": 2.0, "iwae_nll": 2.0, "iwae_k": k}}

    monkeypatch.setattr(results, "run_one", fake_run_one)
    monkeypatch.setattr(results, "classifier_record", lambda: {"sha256": "c"})
    out, behaviour = tmp_path / "out", tmp_path / "behaviour.json"
    behaviour.write_text("[]")
    out.mkdir()
    vae = {"negative_elbo": 1.0, "iwae_nll": 1.0, "iwae_k": 5000}
    previous = {
        "backends": ["torch", "tensorflow"],
        "classifier": {"sha256": "c"},
        "runs": [{"config": "vae_mnist", "backend": b, "eval": dict(vae)} for b in ("torch", "tensorflow")],
    }
    (out / "results.json").write_text(json.dumps(previous))
    for backend in ("torch", "tensorflow"):
        (tmp_path / f"vae_mnist-{backend}").mkdir()
        (tmp_path / f"vae_mnist-{backend}" / "samples.png").write_text(backend)
    monkeypatch.setattr(results, "markdown", lambda r: "table")
    argv = ["--configs", "vae_mnist", "--backends", "tensorflow", "--runs", str(tmp_path), "-o", str(out)]
    assert results.main([*argv, "--behaviour", str(behaviour)]) == 0
    written = json.loads((out / "results.json").read_text())
    assert written["backends"] == ["torch", "tensorflow"]
    redone = [(r["backend"], r["eval"]["negative_elbo"]) for r in written["runs"]]
    assert redone == [("torch", 1.0), ("tensorflow", 2.0)]
    assert (out / "samples" / "vae_mnist.png").read_text() == "torch"


def test_results_keep_the_rows_not_redone_with_the_classifier_that_measured_them():
    """`--configs cgan_mnist` redoes cgan's rows only: the others stay from the results.json
    already there, in the table's order, marked as measured by that file's classifier."""
    from benchmarks import results

    def row(config, backend, fid, sha=None):
        e = {"fid": fid, "precision": 0.5, "recall": 0.5, "classifier_score": 7.0}
        return {"config": config, "backend": backend, "eval": dict(e, **({"classifier_sha256": sha} if sha else {}))}

    old = {"sha256": "old", "test_accuracy": 0.9937, "fid_train_test": 12.34}
    new = dict(old, sha256="new", test_accuracy=0.9934, fid_train_test=11.89)
    previous = {
        "classifier": old,
        "runs": [row("cgan_mnist", "torch", 400.0), row("dcgan_mnist_full", "torch", 500.0)]
        + [row("dcgan_mnist", "torch", 600.0)],  # a config the table no longer has: dropped
    }
    runs, classifiers = results.merge_runs(previous, [row("cgan_mnist", "torch", 14.6, sha="new")])
    assert [(r["config"], r["eval"]["fid"]) for r in runs] == [("dcgan_mnist_full", 500.0), ("cgan_mnist", 14.6)]
    assert runs[0]["eval"]["classifier_sha256"] == "old" and classifiers == {"old": old}
    # a VAE row shows bounds only: the classifier that evaluated it gets no footnote
    oldest = dict(old, sha256="oldest", test_accuracy=0.9932, fid_train_test=11.25)
    classifiers["oldest"] = oldest
    runs.insert(0, row("vae_mnist", "torch", 300.0, sha="oldest"))
    classifier = dict(new, recipe={}, precision_train_test=0.86, recall_train_test=0.85, classifier_score_test=9.7)
    table = results.markdown(
        {
            "n": 10000,
            "k": 1000,
            "backends": ["torch"],
            "classifier": classifier,
            "classifiers": {**classifiers, "new": classifier},
            "runs": runs,
            "grid": [],
        }
    )
    assert "| `dcgan_mnist_full`¹ | torch | 500.0 |" in table and "| `cgan_mnist` | torch | 14.6 |" in table
    footnote = (
        "¹ Evaluated with an earlier classifier of the same recipe (test accuracy 99.37%, FID(train, test) = 12.34)"
    )
    assert footnote in table and "11.25" not in table and "²" not in table


def test_scaling_table_reports_efficiency_and_communication_share():
    from benchmarks.scaling import scaling_table

    rows = [
        {
            "config": "configs/dcgan_mnist.yaml",
            "framework": "torch",
            "batch_size": 64,
            "nproc": 2,
            "one": {"step_s": 0.8, "samples_per_s": 80.0},
            "local": {"step_s": 0.4, "samples_per_s": 80.0},
            "many": {"step_s": 0.5, "samples_per_s": 128.0},
        },
        {"config": "configs/x.yaml", "framework": "tensorflow", "batch_size": 8, "nproc": 2, "one": {}, "local": {}}
        | {"many": {"error": "WorkerFailed: rank 1"}},
    ]
    table = scaling_table({"machine": {"cpu": "cpu", "cores": 2}, "steps": 10, "rows": rows})
    assert "| dcgan_mnist | torch | 64 | 80 | 128 | 0.80 | 20% |" in table
    assert "| x | tensorflow | 8 | WorkerFailed: rank 1 |" in table


def test_results_refuse_a_run_that_trained_another_recipe(tmp_path, monkeypatch, capsys):
    """A run whose own config.yaml trained another recipe than the config file (the config
    changed since) is refused before anything trains, never reused or overwritten; a run of
    the same recipe with other threads, logging or checkpoints is reused."""
    from aigc import config as aigc_config
    from benchmarks import CONFIGS_DIR, results

    calls = _fake_aigc_eval(monkeypatch, lambda args: {"fid": 20.0, "precision": 0.8, "keep": 0.7})
    config = results.GAN_CONFIGS[0]
    run = tmp_path / f"{config}-torch"
    final = results._final_checkpoint(config, run)
    final.parent.mkdir(parents=True)
    final.write_bytes(b"")
    same = aigc_config.load(str(CONFIGS_DIR / f"{config}.yaml"), ["train.threads=1", "train.checkpoint_every=7"])
    (run / "config.yaml").write_text(aigc_config.dump(same))
    assert results.recipe_changes(config, "torch", run) == []
    assert results.run_one(config, "torch", tmp_path, 100, 0, print)["eval"]["fid"] == 20.0
    other = aigc_config.load(str(CONFIGS_DIR / f"{config}.yaml"), ["optim.lr=0.5", "seed=3"])
    (run / "config.yaml").write_text(aigc_config.dump(other))
    changes = results.recipe_changes(config, "torch", run)
    assert changes == [f"optim.lr: 0.5 -> {same.optim.lr!r}", "seed: 3 -> 0"]
    assert results.recipe_changes(config, "tensorflow", run)[0] == "backend: 'torch' -> 'tensorflow'"
    with pytest.raises(RuntimeError, match="trained another recipe"):
        results.run_one(config, "torch", tmp_path, 100, 0, print)
    assert results.main(["--runs", str(tmp_path), "--configs", config, "--backends", "torch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"results: error: {results.stale_run(config, run, changes)}"] and "optim.lr: 0.5" in err[0]
    assert len(calls) == 2 and final.exists()  # the first run's two evaluations; nothing trained


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_subject_runs_the_step_the_loop_would_run(backend):
    """The benchmark's compiled step follows the model's step options as the loop does: with
    lazy R1 (r1_every 3) the penalty is in steps 0 and 3 only."""
    from aigc import config
    from benchmarks.subjects import aigc_subject

    overrides = [f"backend={backend}", "train.batch_size=8", "model.r1_gamma=1.0", "model.r1_every=3"]
    subject = aigc_subject(config.load("configs/gan_ring8.yaml", overrides))
    batch = subject.batch(subject.x[:8])
    assert ["r1" in subject.step(batch) for _ in range(4)] == [True, False, False, True]


def test_update_blocks_times_both_ways_and_leaves_the_backend_as_it_was(capsys):
    """`python -m benchmarks.update_blocks`: a row per config; afterwards torch blocks again."""
    pytest.importorskip("torch")
    import aigc_torch

    from benchmarks import update_blocks

    before = aigc_torch.UPDATE_BLOCK
    assert update_blocks.main(["configs/gan_ring8.yaml", "--steps", "5", "--rounds", "1"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split("|")
    assert row[1].strip() == "configs/gan_ring8.yaml" and float(row[2]) > 0 and float(row[3]) > 0
    assert before == aigc_torch.UPDATE_BLOCK and hasattr(aigc_torch.TorchBackend, "moving_average")
