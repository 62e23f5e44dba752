"""The README's measured-results table (issue #5), produced by one command:

    python -m benchmarks.results [--runs runs/results] [--backends NAME ...] [--configs NAME ...] [--jobs N]

For every MNIST config of the table and every backend it
1. trains the config with its own budget: `aigc train CONFIG backend=B out=RUNS/<config>-<B>`
   (skipped when that run's final checkpoint is there: the table can be rebuilt, or
   finished after an interruption, without training again); the training's wall time is
   kept as `RUNS/<config>-<B>/results-train.json`;
2. evaluates the final checkpoint: `aigc eval RUNS/<config>-<B>/checkpoint --n N --k K`,
   kept as `RUNS/<config>-<B>/results-eval.json` with the sha256 of the classifier that
   measured it (skipped when present, unless a VAE's IWAE bound was measured with another k);
3. for the image GANs also evaluates with discriminator rejection, `--keep F` (of n / F draws
   the n that D scores highest; by default 0.7, or the config's own fraction in
   `KEEP_BY_CONFIG`), kept as `RUNS/<config>-<B>/results-eval-keep.json` (redone when its
   fraction differs);
   for the conditional VAE also with z from its aggregate posterior, `--prior aggregate`, kept
   as `RUNS/<config>-<B>/results-eval-prior.json`;
4. copies the first backend's `samples.png` to `samples/<config>.png` beside the table (and
   the GANs' 64 samples drawn with `--keep` to `samples/<config>-keep.png`, the conditional
   VAE's 100 drawn with `--prior aggregate` to `samples/<config>-prior.png`);
and reads the 2-D grid rows (mean over seeds) from `aigc parity behaviour` files
(`--behaviour`, default `benchmarks/results/behaviour.json`). It writes `results.json` and
`results.md` beside the benchmark's files. Rows of the configs and backends not run this
time are kept from the `results.json` already there, each with the classifier that
evaluated it, so one config's rows can be redone alone (`--configs cgan_mnist`). The
classifier row comes from the classifier file's own record (`aigc classifier train mnist`;
trained on first use).

`--jobs N` runs N of the (config, backend) pairs at a time, each in its own process; their
threads follow `auto` (docs/threads.md), so on a 2-core machine `--jobs 2` gives each run
one core. On this project's 2-core CPU the whole run takes several hours (the configs' full
budgets; the IWAE bound, k = 5000 decoder passes per test image as in the IWAE paper, is
most of the VAE evaluation time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import CONFIGS_DIR

# The image GANs at issue #14's full budgets; their short configs (dcgan_mnist.yaml, ...) are the
# tests' and the benchmarks'.
GAN_CONFIGS = ["dcgan_mnist_full", "wgan_gp_mnist_full", "hinge_sn_mnist_full", "lsgan_mnist_full"]
CONDITIONAL_CONFIGS = ["cgan_mnist", "cvae_mnist"]
VAE_CONFIGS = ["vae_mnist", "conv_vae_mnist"]
GRID_CONFIGS = ["gan_grid25", "wgan_gp_grid25"]
# Published test NLLs on dynamically binarised MNIST for an MLP VAE (nats), and issue #14's bar.
PUBLISHED = {"vae_mnist": "target <= 88.0; 86.76 (IWAE paper, k = 5000) / 89.78 (pythae)"}
# Issue #14's bars for the image models (FID: a multiple of the classifier's floor).
FID_BAR_X_FLOOR = 4.0
IMAGE_BARS = {"precision": 0.75, "recall": 0.60, "classifier_score": 9.0}
LABEL_BARS = {"cgan_mnist": 0.97, "cvae_mnist": 0.95}
KEEP = 0.7  # the image GANs' second row: the best 70% of their draws by D (`aigc eval --keep`)
# Configs whose D chooses another fraction: over 9,000 steps WGAN-GP's critic keeps too narrow a
# set at 70% (FID 102.6 / 50.4), at 90% every bar is met (docs/results/sweeps.md, 2026-12-04 e).
KEEP_BY_CONFIG = {"wgan_gp_mnist_full": 0.9}
# The image VAEs' second row: z from the aggregate posterior's moments (`aigc eval --prior aggregate`).
PRIOR_CONFIGS = ["cvae_mnist"]
# PacGAN (Lin et al. 2018) Table 1, PacGAN4 on the 2-D grid: modes, high quality, reverse KL.
GRID_REFERENCE = (24.8, 0.936, 0.04)
RESULTS_DIR = Path(__file__).parent / "results"


def _aigc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True)


def _final_checkpoint(config: str, run: Path) -> Path:
    from aigc import config as aigc_config

    steps = aigc_config.load(str(CONFIGS_DIR / f"{config}.yaml")).train.steps
    return run / "checkpoint" / f"step-{steps:08d}.safetensors"


# What a results run trains: what `resume` requires to match (seed, model, data, optimizer),
# and the backend, the batch and the budget.
RECIPE = ("backend", "seed", "model", "data", "optim", "train.batch_size", "train.steps")


def recipe_changes(config: str, backend: str, run: Path) -> list[str]:
    """How the run's own `config.yaml` differs from `configs/<config>.yaml` on `backend` in
    what it trains ("model.d_lr: 0.0 -> 0.002"); empty when the run has no config.yaml."""
    from aigc import config as aigc_config
    from aigc.training.loop import config_differences

    if not (run / "config.yaml").exists():
        return []
    wanted = aigc_config.load(str(CONFIGS_DIR / f"{config}.yaml"), backend=backend).to_dict()
    trained = aigc_config.load(str(run / "config.yaml")).to_dict()
    return sorted(f"{name}: {b!r} -> {a!r}" for name, a, b in config_differences(wanted, trained, RECIPE))


def stale_run(config: str, run: Path, changes: list[str]) -> str:
    """The refusal of a run that trained another recipe than the config (`recipe_changes`)."""
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return (
        f"{run} trained another recipe than configs/{config}.yaml ({'; '.join(changes[:3])}{more}): "
        "move it away to train the config again"
    )


def keep_for(config: str, keep: float | None) -> float:
    """The fraction D keeps for `config`'s second row: `--keep` where given, else the
    config's own (`KEEP_BY_CONFIG`, or `KEEP`)."""
    return keep if keep is not None else KEEP_BY_CONFIG.get(config, KEEP)


def run_one(config: str, backend: str, runs: Path, n: int, k: int, log, keep: float | None = None) -> dict:
    """Train (unless done) and evaluate (unless done) one config on one backend. A run there
    that trained another recipe (the config changed since) is refused, never reused or
    overwritten: move it away to train the config again."""
    keep = keep_for(config, keep)
    run = runs / f"{config}-{backend}"
    record = {"config": config, "backend": backend, "run": str(run)}
    changes = recipe_changes(config, backend, run)
    if changes:
        raise RuntimeError(stale_run(config, run, changes))
    if not _final_checkpoint(config, run).exists():
        log(f"training {config} on {backend} -> {run}")
        start = time.perf_counter()
        r = _aigc(
            "train", str(CONFIGS_DIR / f"{config}.yaml"), f"backend={backend}", f"out={run}", "train.progress=false"
        )
        if r.returncode != 0:
            raise RuntimeError(f"aigc train {config} backend={backend} failed:\n{r.stderr[-2000:]}")
        (run / "results-train.json").write_text(json.dumps({"train_s": time.perf_counter() - start}))
    trained = _stored(run / "results-train.json")
    if trained:
        record["train_s"] = trained["train_s"]
    iwae = k if config in VAE_CONFIGS else 0  # the table has the IWAE bound of the unconditional VAEs
    stored = _stored(run / "results-eval.json")
    if stored is None or (iwae and stored.get("iwae_k") != iwae):
        note = f" (its IWAE bound had k = {stored.get('iwae_k')})" if stored else ""
        stored = _measure(run, "results-eval.json", ["--n", str(n), "--k", str(iwae)], log, note)
    record["eval"] = stored
    if config in GAN_CONFIGS and keep < 1.0:  # the second row: discriminator rejection
        kept = _stored(run / "results-eval-keep.json")
        if kept is None or kept.get("keep") != keep:
            kept = _measure(
                run, "results-eval-keep.json", ["--n", str(n), "--keep", str(keep)], log, f" with --keep {keep}"
            )
        record["eval_kept"] = kept
    if config in PRIOR_CONFIGS:  # the second row: the aggregate posterior as the prior
        fitted = _stored(run / "results-eval-prior.json")
        if fitted is None:
            fitted = _measure(
                run,
                "results-eval-prior.json",
                ["--n", str(n), "--k", "0", "--prior", "aggregate"],
                log,
                " with --prior aggregate",
            )
        record["eval_prior"] = fitted
    return record


def _stored(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _measure(run: Path, name: str, options: list[str], log, note: str) -> dict:
    """`aigc eval RUN/checkpoint OPTIONS`, kept as RUN/name with the sha256 of the classifier
    where it measured images."""
    log(f"evaluating {run}{note}")
    r = _aigc("eval", str(run / "checkpoint"), *options)
    if r.returncode != 0:
        raise RuntimeError(f"aigc eval {run} {' '.join(options)} failed:\n{r.stderr[-2000:]}")
    measured = json.loads(r.stdout)
    if any(key in measured for key in ("fid", "classifier_score")):
        measured["classifier_sha256"] = classifier_record()["sha256"]
    (run / name).write_text(json.dumps(measured, indent=2))
    return measured


def merge_runs(previous: dict | None, runs: list[dict]) -> tuple[list[dict], dict]:
    """This invocation's runs, with the rows of `previous` (an earlier results.json) that it did
    not redo, in the table's order; and every classifier that evaluated a row, by sha256 (an
    earlier row without one was evaluated by that file's classifier)."""
    classifiers = {}
    kept = []
    if previous:
        old = previous["classifier"]
        classifiers.update(previous.get("classifiers", {}))
        classifiers.setdefault(old["sha256"], old)
        done = {(r["config"], r["backend"]) for r in runs}
        table = set(VAE_CONFIGS + GAN_CONFIGS + CONDITIONAL_CONFIGS)
        for r in previous["runs"]:  # rows of configs the table no longer has are dropped
            if (r["config"], r["backend"]) not in done and r["config"] in table:
                if "fid" in r["eval"] or "classifier_score" in r["eval"]:
                    r["eval"].setdefault("classifier_sha256", old["sha256"])
                kept.append(r)
    order = {c: i for i, c in enumerate(VAE_CONFIGS + GAN_CONFIGS + CONDITIONAL_CONFIGS)}
    merged = sorted(kept + runs, key=lambda r: order.get(r["config"], len(order)))
    return merged, classifiers


def table_backends(previous: dict | None, backends: list[str]) -> list[str]:
    """The table's columns: the earlier table's backends, then this invocation's new ones, so
    that redoing one backend's rows (`--backends tensorflow`) keeps the others'."""
    return list(dict.fromkeys((previous or {}).get("backends", []) + backends))


def classifier_record(dataset: str = "mnist") -> dict:
    """The classifier file's own measurements (test accuracy, the real-data floor)."""
    from safetensors import safe_open

    from aigc.metrics import classifier_store

    file = classifier_store.path_for(dataset)
    with safe_open(str(file), "np") as f:
        meta = f.metadata()
    return {
        "file": str(file),
        "sha256": classifier_store.sha256_of(file),
        "recipe": json.loads(meta["recipe"]),
        **json.loads(meta["measured"]),
    }


def grid_rows(files: list[Path]) -> list[dict]:
    rows = []
    for file in files:
        for entry in json.loads(Path(file).read_text()):
            name = Path(entry["config"]).stem
            if name in GRID_CONFIGS:
                rows.append({"config": name, "seeds": entry["seeds"], "rows": entry["rows"]})
    return rows


def _fmt(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.0f} min"


def markdown(results: dict) -> str:
    by = {(r["config"], r["backend"]): r for r in results["runs"]}
    backends = results["backends"]
    c = results["classifier"]
    image_configs = GAN_CONFIGS + CONDITIONAL_CONFIGS  # the rows that show the classifier's figures
    used = {r["eval"].get("classifier_sha256") for r in results["runs"] if r["config"] in image_configs}
    earlier = {  # classifiers of the same recipe that evaluated rows before this one was trained
        sha: record for sha, record in results.get("classifiers", {}).items() if sha != c.get("sha256") and sha in used
    }
    marks = {sha: "¹²³⁴⁵"[i] for i, sha in enumerate(earlier)}
    label_bars = ", ".join(f"{config.removesuffix('_mnist')} >= {bar:.0%}" for config, bar in LABEL_BARS.items())
    out = [
        f"**The MNIST feature classifier** (`aigc classifier train mnist`, recipe {json.dumps(c['recipe'])}):",
        "",
        "| test accuracy | FID(train, test) | precision / recall (train vs test) | classifier score of the test set |",
        "|---|---|---|---|",
        f"| {c['test_accuracy']:.2%} | {c['fid_train_test']:.2f} | {c['precision_train_test']:.3f} / "
        f"{c['recall_train_test']:.3f} | {c['classifier_score_test']:.2f} |",
        "",
        "**VAEs**, test NLL in nats (the IWAE bound with k importance samples; dynamically binarised "
        "MNIST, the test set binarised once):",
        "",
        "| config | backend | negative ELBO | IWAE NLL (k) | training | reference |",
        "|---|---|---|---|---|---|",
    ]
    for config in VAE_CONFIGS:
        for b in backends:
            if (config, b) not in by:  # not run on this backend (e.g. one installed after the table)
                continue
            r = by[(config, b)]
            e = r["eval"]
            k = f" ({e['iwae_k']})" if "iwae_k" in e else ""
            out.append(
                f"| `{config}` | {b} | {_fmt(e.get('negative_elbo'))} | {_fmt(e.get('iwae_nll'))}{k} "
                f"| {_minutes(r.get('train_s'))} | {PUBLISHED.get(config, '—')} |"
            )
    out += [
        "",
        f"**Samples on MNIST**: the GANs, then the class-conditional models ({results['n']:,} samples "
        f"against the 10,000 test images; FID(train, test) = {c['fid_train_test']:.2f} is the floor):",
        "",
        "| config | backend | FID | precision | recall | classifier score | label accuracy | training |",
        "|---|---|---|---|---|---|---|---|",
        f"| target (issue #14) | | <= {FID_BAR_X_FLOOR * c['fid_train_test']:.1f} | "
        f">= {IMAGE_BARS['precision']:.2f} | >= {IMAGE_BARS['recall']:.2f} | >= {IMAGE_BARS['classifier_score']:.1f} "
        f"| {label_bars} | |",
    ]
    for config in image_configs:
        for b in backends:
            r = by.get((config, b))
            if r is None:
                continue
            e = r["eval"]
            acc = e.get("label_accuracy")
            mark = marks.get(e.get("classifier_sha256"), "")
            out.append(
                f"| `{config}`{mark} | {b} | {_fmt(e['fid'], 1)} | {e['precision']:.3f} | {e['recall']:.3f} | "
                f"{e['classifier_score']:.2f} | {'—' if acc is None else f'{acc:.1%}'} | {_minutes(r.get('train_s'))} |"
            )
        for b in backends:  # the same runs, sampled with discriminator rejection
            e = by.get((config, b), {}).get("eval_kept")
            if e is not None:
                out.append(
                    f"| `{config}`, D keeps {e['keep']:.0%} (`--keep {e['keep']}`) | {b} | {_fmt(e['fid'], 1)} | "
                    f"{e['precision']:.3f} | {e['recall']:.3f} | {e['classifier_score']:.2f} | — | the same run |"
                )
        for b in backends:  # the same runs, z from the aggregate posterior
            e = by.get((config, b), {}).get("eval_prior")
            if e is not None:
                acc = e.get("label_accuracy")
                out.append(
                    f"| `{config}`, z from the aggregate posterior (`--prior aggregate`) | {b} | {_fmt(e['fid'], 1)} | "
                    f"{e['precision']:.3f} | {e['recall']:.3f} | {e['classifier_score']:.2f} | "
                    f"{'—' if acc is None else f'{acc:.1%}'} | the same run |"
                )
    for sha, mark in marks.items():
        old = earlier[sha]
        out += [
            "",
            f"{mark} Evaluated with an earlier classifier of the same recipe (test accuracy "
            f"{old['test_accuracy']:.2%}, FID(train, test) = {old['fid_train_test']:.2f}): the run was "
            "not redone with this one.",
        ]
    out += [
        "",
        "**2-D grid** (PacGAN's statistics, 2,500 samples; mean ± standard error over seeds):",
        "",
        "| config | seeds | backend | modes (of 25) | high-quality samples | reverse KL | mode spread (data: 0.97) |",
        "|---|---|---|---|---|---|---|",
        f"| PacGAN4 (PacGAN Table 1; issue #14's target) | | | {GRID_REFERENCE[0]:.1f} | "
        f"{GRID_REFERENCE[1]:.1%} | {GRID_REFERENCE[2]:.2f} | |",
    ]
    for g in results["grid"]:
        metric = {row["metric"]: row for row in g["rows"]}
        for b in backends:
            if b not in metric["modes"]:  # the behaviour file has no run of this backend
                continue
            m, hq, kl = (metric[k][b] for k in ("modes", "high_quality", "reverse_kl"))
            spread = metric["mode_spread"][b] if "mode_spread" in metric else None  # tables made before it: none
            out.append(
                f"| `{g['config']}` | {g['seeds']} | {b} | {m[0]:.1f} ± {m[1]:.1f} | "
                f"{hq[0]:.1%} ± {hq[1]:.1%} | {kl[0]:.3f} ± {kl[1]:.3f} | "
                + ("—" if spread is None else f"{spread[0]:.2f} ± {spread[1]:.2f}")
                + " |"
            )
    return "\n".join(out) + "\n"


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: expected a fraction in (0, 1]")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.results", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="runs/results", help="one run directory per config and backend")
    p.add_argument("--backends", nargs="+", default=None, help="default: every installed backend")
    p.add_argument(
        "--configs",
        nargs="*",
        default=VAE_CONFIGS + GAN_CONFIGS + CONDITIONAL_CONFIGS,
        help="configs to train and evaluate (the other rows are kept); none: only re-read the grid rows",
    )
    p.add_argument("--n", type=int, default=10000, help="samples for the image metrics")
    p.add_argument("--k", type=int, default=5000, help="importance samples of the IWAE NLL (the IWAE paper: 5000)")
    p.add_argument("--jobs", type=_positive, default=1, help="runs at a time, one process each (default 1)")
    p.add_argument(
        "--keep",
        type=_fraction,
        default=None,
        help=f"image GANs' second row: the best fraction of draws by D, for every config (default: {KEEP}, "
        f"or the config's own: {KEEP_BY_CONFIG}); 1: no second row",
    )
    p.add_argument(
        "--behaviour",
        nargs="+",
        default=[str(RESULTS_DIR / "behaviour.json")],
        help="behaviour.json files with the grid configs (aigc parity behaviour)",
    )
    p.add_argument("-o", "--output", default=str(RESULTS_DIR))
    args = p.parse_args(argv)
    if args.backends is None:
        from aigc import backends

        args.backends = backends.installed()

    def log(message: str) -> None:
        print(f"[results] {message}", file=sys.stderr, flush=True)

    out = Path(args.output)
    pairs = [(c, b) for c in args.configs for b in args.backends]
    stale = [(c, b, changes) for c, b in pairs if (changes := recipe_changes(c, b, Path(args.runs) / f"{c}-{b}"))]
    for c, b, changes in stale:  # refused before anything trains, not hours into the run
        print(f"results: error: {stale_run(c, Path(args.runs) / f'{c}-{b}', changes)}", file=sys.stderr)
    if stale:
        return 2
    with ThreadPoolExecutor(args.jobs) as pool:
        done = [pool.submit(run_one, c, b, Path(args.runs), args.n, args.k, log, args.keep) for c, b in pairs]
        runs = [d.result() for d in done]
    previous_file = out / "results.json"
    previous = json.loads(previous_file.read_text()) if previous_file.exists() else None
    backends = table_backends(previous, args.backends)
    for c in args.configs:
        drawn = Path(args.runs) / f"{c}-{backends[0]}" / "samples.png"
        if drawn.exists():  # the table's first backend's grid beside the table
            (out / "samples").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(drawn, out / "samples" / f"{c}.png")
            keep = keep_for(c, args.keep)
            if c in GAN_CONFIGS and keep < 1.0:
                kept = out / "samples" / f"{c}-keep.png"
                _aigc("sample", str(drawn.parent / "checkpoint"), "-n", "64", "--keep", str(keep), "-o", str(kept))
            if c in PRIOR_CONFIGS:
                fitted = out / "samples" / f"{c}-prior.png"
                _aigc(
                    "sample", str(drawn.parent / "checkpoint"), "-n", "100", "--prior", "aggregate", "-o", str(fitted)
                )
    runs, classifiers = merge_runs(previous, runs)
    classifier = classifier_record()
    classifiers[classifier["sha256"]] = classifier
    results = {
        "n": args.n,
        "k": args.k,
        "backends": backends,
        "classifier": classifier,
        "classifiers": classifiers,
        "runs": runs,
        "grid": grid_rows([Path(f) for f in args.behaviour]),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
