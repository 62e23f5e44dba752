"""Behaviour parity: independent runs on each backend give statistically indistinguishable
quality. Trajectories separate after a few dozen GAN steps (see the divergence report), so
beyond that horizon the claim is about distributions over seeds, and this tests it.

For each backend, `seeds` runs of a config; per metric the mean and its standard error; the
backends agree when |mean_a - mean_b| <= Z * sqrt(se_a^2 + se_b^2) (Welch's z statistic).
"""

from __future__ import annotations

import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .tolerances import BEHAVIOUR_Z

# Lower is better for these; the rest are higher-is-better.
METRICS = {"gan": ("modes", "high_quality", "reverse_kl"), "vae": ("negative_elbo",)}


def run_one(config_path: str, backend: str, seed: int, overrides: list[str] = (), out: str | None = None) -> dict:
    """The final evaluation of one training run."""
    from ..api import train

    run_dir = f"{out or '/tmp/aigc-behaviour'}/{Path(config_path).stem}-{backend}-{seed}"
    run = train(config_path, *overrides, f"backend={backend}", f"seed={seed}", f"out={run_dir}", "train.progress=false")
    return {"seed": seed, **run.evaluation}


def run_seeds(
    config_path: str, backend: str, seeds: list[int], overrides: list[str] = (), out: str | None = None
) -> list[dict]:
    """The final evaluation of one training run per seed, in this process."""
    return [run_one(config_path, backend, seed, overrides, out) for seed in seeds]


def run_parallel(config_path: str, seeds: list[int], overrides: list[str], jobs: int) -> dict[str, list[dict]]:
    """Every (backend, seed) run in its own fresh process, `jobs` at a time; `train.threads:
    auto` shares the cores among them (aigc.threads)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {
            b: [pool.submit(run_one, config_path, b, s, list(overrides)) for s in seeds]
            for b in ("torch", "tensorflow")
        }
        return {b: [f.result() for f in fs] for b, fs in futures.items()}


def summarise(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean."""
    a = np.asarray(values, np.float64)
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else float("nan")
    return float(a.mean()), se


def agree(a: list[float], b: list[float], z: float = BEHAVIOUR_Z) -> tuple[bool, float]:
    """(within z standard errors, the observed z statistic)."""
    (ma, sa), (mb, sb) = summarise(a), summarise(b)
    spread = math.sqrt(sa**2 + sb**2)
    stat = abs(ma - mb) / spread if spread > 0 else (0.0 if ma == mb else float("inf"))
    return stat <= z, stat


def compare_runs(per_backend: dict[str, list[dict]], metrics: tuple[str, ...]) -> list[dict]:
    (na, ra), (nb, rb) = per_backend.items()
    rows = []
    for m in metrics:
        a, b = [r[m] for r in ra], [r[m] for r in rb]
        ok, stat = agree(a, b)
        rows.append({"metric": m, na: summarise(a), nb: summarise(b), "z": stat, "agree": ok})
    return rows


def report(config_paths: list[str], seeds: int, overrides: list[str], out: Path, jobs: int = 1) -> list[dict]:
    """The behaviour table of each config; with jobs > 1, runs go to single-threaded worker
    processes (faster for small models on a few cores; numerics may differ in the last bits)."""
    from .. import config, models

    out.mkdir(parents=True, exist_ok=True)
    tables = []
    for path in config_paths:
        family = models.REGISTRY[config.load(path).model.name].family.family
        if jobs > 1:
            per_backend = run_parallel(path, list(range(seeds)), overrides, jobs)
        else:
            per_backend = {b: run_seeds(path, b, list(range(seeds)), overrides) for b in ("torch", "tensorflow")}
        tables.append(
            {
                "config": path,
                "seeds": seeds,
                "overrides": list(overrides),
                "runs": per_backend,
                "rows": compare_runs(per_backend, METRICS[family]),
            }
        )
        print(format_rows(tables[-1]), flush=True)
    (out / "behaviour.json").write_text(json.dumps(tables, indent=1) + "\n")
    return tables


def format_rows(table: dict) -> str:
    lines = [
        f"{table['config']} ({table['seeds']} seeds per backend)",
        f"{'metric':<15} {'torch mean ± se':>22} {'tensorflow mean ± se':>22} {'z':>6}  agree",
    ]
    for r in table["rows"]:
        t, f = r["torch"], r["tensorflow"]
        lines.append(
            f"{r['metric']:<15} {t[0]:>12.4f} ± {t[1]:<7.4f} {f[0]:>12.4f} ± {f[1]:<7.4f} {r['z']:>6.2f}  "
            f"{'yes' if r['agree'] else 'NO'}"
        )
    return "\n".join(lines)
