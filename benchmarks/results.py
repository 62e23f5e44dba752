"""The README's measured-results table (issue #5), produced by one command:

    python -m benchmarks.results [--runs runs/results] [--backends NAME ...] [--n 10000] [--k 1000]

For every MNIST config of the table and every backend it
1. trains the config with its own budget: `aigc train CONFIG backend=B out=RUNS/<config>-<B>`
   (skipped when that run's final checkpoint is there: the table can be rebuilt, or
   finished after an interruption, without training again);
2. evaluates the final checkpoint: `aigc eval RUNS/<config>-<B>/checkpoint --n N --k K`,
   kept as `RUNS/<config>-<B>/results-eval.json` (skipped when present);
and reads the 2-D grid rows (mean over seeds) from `aigc parity behaviour` files
(`--behaviour`, default `benchmarks/results/behaviour.json`). It writes `results.json` and
`results.md` beside the benchmark's files. The classifier row comes from the classifier
file's own record (`aigc classifier train mnist`; trained on first use).

On this project's 2-core CPU the whole run takes about an hour and a half (the IWAE bound,
k decoder passes per test image, is most of the VAE time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from . import CONFIGS_DIR

GAN_CONFIGS = ["dcgan_mnist", "wgan_gp_mnist", "hinge_sn_mnist", "lsgan_mnist"]
CONDITIONAL_CONFIGS = ["cgan_mnist", "cvae_mnist"]
VAE_CONFIGS = ["vae_mnist", "conv_vae_mnist"]
GRID_CONFIGS = ["gan_grid25", "wgan_gp_grid25"]
# Published test NLLs on dynamically binarised MNIST for an MLP VAE (nats).
PUBLISHED = {"vae_mnist": "86.76 (IWAE paper, k = 5000) / 89.78 (pythae)"}
RESULTS_DIR = Path(__file__).parent / "results"


def _aigc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aigc", *args], capture_output=True, text=True)


def _final_checkpoint(config: str, run: Path) -> Path:
    from aigc import config as aigc_config

    steps = aigc_config.load(str(CONFIGS_DIR / f"{config}.yaml")).train.steps
    return run / "checkpoint" / f"step-{steps:08d}.safetensors"


def run_one(config: str, backend: str, runs: Path, n: int, k: int, log) -> dict:
    """Train (unless done) and evaluate (unless done) one config on one backend."""
    run = runs / f"{config}-{backend}"
    record = {"config": config, "backend": backend, "run": str(run)}
    if not _final_checkpoint(config, run).exists():
        log(f"training {config} on {backend} -> {run}")
        start = time.perf_counter()
        r = _aigc(
            "train", str(CONFIGS_DIR / f"{config}.yaml"), f"backend={backend}", f"out={run}", "train.progress=false"
        )
        if r.returncode != 0:
            raise RuntimeError(f"aigc train {config} backend={backend} failed:\n{r.stderr[-2000:]}")
        record["train_s"] = time.perf_counter() - start
    evaluated = run / "results-eval.json"
    if not evaluated.exists():
        log(f"evaluating {run}")
        iwae = k if config in VAE_CONFIGS else 0  # the table has the IWAE bound of the unconditional VAEs
        r = _aigc("eval", str(run / "checkpoint"), "--n", str(n), "--k", str(iwae))
        if r.returncode != 0:
            raise RuntimeError(f"aigc eval {run} failed:\n{r.stderr[-2000:]}")
        evaluated.write_text(r.stdout)
    record["eval"] = json.loads(evaluated.read_text())
    return record


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


def markdown(results: dict) -> str:
    by = {(r["config"], r["backend"]): r["eval"] for r in results["runs"]}
    backends = results["backends"]
    c = results["classifier"]
    out = [
        f"**The MNIST feature classifier** (`aigc classifier train mnist`, recipe {json.dumps(c['recipe'])}):",
        "",
        "| test accuracy | FID(train, test) | precision / recall (train vs test) | classifier score of the test set |",
        "|---|---|---|---|",
        f"| {c['test_accuracy']:.2%} | {c['fid_train_test']:.2f} | {c['precision_train_test']:.3f} / "
        f"{c['recall_train_test']:.3f} | {c['classifier_score_test']:.2f} |",
        "",
        f"**VAEs**, test NLL in nats (IWAE k = {results['k']}; dynamically binarised MNIST, "
        "the test set binarised once):",
        "",
        "| config | backend | negative ELBO | IWAE NLL | published |",
        "|---|---|---|---|---|",
    ]
    for config in VAE_CONFIGS:
        for b in backends:
            e = by.get((config, b), {})
            out.append(
                f"| `{config}` | {b} | {_fmt(e.get('negative_elbo'))} | {_fmt(e.get('iwae_nll'))} "
                f"| {PUBLISHED.get(config, '—')} |"
            )
    out += [
        "",
        f"**Samples on MNIST**: the GANs, then the class-conditional models ({results['n']:,} samples "
        f"against the 10,000 test images; FID(train, test) = {c['fid_train_test']:.2f} is the floor):",
        "",
        "| config | backend | FID | precision | recall | classifier score | label accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for config in GAN_CONFIGS + CONDITIONAL_CONFIGS:
        for b in backends:
            e = by.get((config, b))
            if e is None:
                continue
            acc = e.get("label_accuracy")
            out.append(
                f"| `{config}` | {b} | {_fmt(e['fid'], 1)} | {e['precision']:.3f} | {e['recall']:.3f} | "
                f"{e['classifier_score']:.2f} | {'—' if acc is None else f'{acc:.1%}'} |"
            )
    out += [
        "",
        "**2-D grid** (PacGAN's statistics, 2,500 samples; mean ± standard error over seeds):",
        "",
        "| config | seeds | backend | modes (of 25) | high-quality samples | reverse KL |",
        "|---|---|---|---|---|---|",
    ]
    for g in results["grid"]:
        metric = {row["metric"]: row for row in g["rows"]}
        for b in backends:
            m, hq, kl = (metric[k][b] for k in ("modes", "high_quality", "reverse_kl"))
            out.append(
                f"| `{g['config']}` | {g['seeds']} | {b} | {m[0]:.1f} ± {m[1]:.1f} | "
                f"{hq[0]:.1%} ± {hq[1]:.1%} | {kl[0]:.3f} ± {kl[1]:.3f} |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.results", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="runs/results", help="one run directory per config and backend")
    p.add_argument("--backends", nargs="+", default=None, help="default: every installed backend")
    p.add_argument("--configs", nargs="+", default=VAE_CONFIGS + GAN_CONFIGS + CONDITIONAL_CONFIGS)
    p.add_argument("--n", type=int, default=10000, help="samples for the image metrics")
    p.add_argument("--k", type=int, default=1000, help="importance samples of the IWAE NLL")
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

    runs = [run_one(c, b, Path(args.runs), args.n, args.k, log) for c in args.configs for b in args.backends]
    results = {
        "n": args.n,
        "k": args.k,
        "backends": args.backends,
        "classifier": classifier_record(),
        "runs": runs,
        "grid": grid_rows([Path(f) for f in args.behaviour]),
    }
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (out / "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
