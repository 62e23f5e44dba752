"""Behaviour parity: independent runs on each backend give statistically indistinguishable
quality. Trajectories separate after a few dozen GAN steps (see the divergence report), so
beyond that horizon the claim is about distributions over seeds, and this tests it.

For each installed backend, `seeds` runs of a config; per metric the mean and its standard
error; two backends agree when |mean_a - mean_b| <= Z * sqrt(se_a^2 + se_b^2) (Welch's z
statistic), and a metric agrees when every pair of backends does.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .tolerances import BEHAVIOUR_Z

# Lower is better for these; the rest are higher-is-better.
METRICS = {"gan": ("modes", "high_quality", "reverse_kl", "mode_spread"), "vae": ("negative_elbo",)}


def run_one(
    config_path: str, backend: str, seed: int, overrides: list[str] = (), out: str | None = None, reuse: bool = True
) -> dict:
    """The final evaluation of one training run. With `reuse`, a run folder that already
    holds this run's checkpoint (the same config; a finished run, or one stopped part way) is
    resumed from it instead of trained again: a finished run is only evaluated."""
    from .. import config
    from ..api import train
    from ..training.loop import can_resume

    run_dir = f"{out or '/tmp/aigc-behaviour'}/{Path(config_path).stem}-{backend}-{seed}"
    args = [*overrides, f"backend={backend}", f"seed={seed}", f"out={run_dir}", "train.progress=false"]
    resume = reuse and can_resume(config.load(config_path, args))
    run = train(config_path, *args, f"resume={str(resume).lower()}")
    return {"seed": seed, **run.evaluation}


def run_seeds(
    config_path: str,
    backend: str,
    seeds: list[int],
    overrides: list[str] = (),
    out: str | None = None,
    reuse: bool = True,
) -> list[dict]:
    """The final evaluation of one training run per seed, in this process."""
    return [run_one(config_path, backend, seed, overrides, out, reuse) for seed in seeds]


def run_parallel(
    config_path: str,
    seeds: list[int],
    overrides: list[str],
    jobs: int,
    backends: list[str],
    out: str | None = None,
    reuse: bool = True,
) -> dict[str, list[dict]]:
    """Every (backend, seed) run in its own fresh process, `jobs` at a time; `train.threads:
    auto` shares the cores among them (aigc.threads)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {
            b: [pool.submit(run_one, config_path, b, s, list(overrides), out, reuse) for s in seeds] for b in backends
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
    """One row per metric: each backend's (mean, se), every pair's z and agreement ("pairs"),
    the largest z and whether every pair agrees."""
    rows = []
    for m in metrics:
        values = {b: [r[m] for r in runs] for b, runs in per_backend.items()}
        pairs = []
        for a, b in itertools.combinations(values, 2):
            ok, z = agree(values[a], values[b])
            pairs.append({"a": a, "b": b, "z": z, "agree": ok})
        rows.append(
            {
                "metric": m,
                **{b: summarise(v) for b, v in values.items()},
                "z": max(p["z"] for p in pairs),
                "agree": all(p["agree"] for p in pairs),
                "pairs": pairs,
            }
        )
    return rows


def report(
    config_paths: list[str],
    seeds: int,
    overrides: list[str],
    out: Path,
    jobs: int = 1,
    backends: list[str] | None = None,
    fresh: bool = False,
) -> list[dict]:
    """The behaviour table of each config over `backends` (default: every installed one);
    with jobs > 1, runs go to single-threaded worker processes (faster for small models on a
    few cores; numerics may differ in the last bits).

    Resumable: a backend's runs that `out/behaviour.json` already holds for the same config,
    seeds, overrides and recipe (`recipe`: the config file's settings unchanged) are reused
    (unless `fresh`), so adding a backend runs only its own seeds; the file is rewritten
    after each backend, and tables of other configs stay. The runs' folders
    (`/tmp/aigc-behaviour/<config>-<backend>-<seed>`) are resumed from their checkpoints
    where the config matches (unless `fresh`): a stopped table loses at most a checkpoint
    interval per run, and a run trained beforehand in that folder is only evaluated."""
    from .. import backends as registry
    from .. import config, models

    backends = backends or registry.installed()

    out.mkdir(parents=True, exist_ok=True)
    file = out / "behaviour.json"
    stored = json.loads(file.read_text()) if file.is_file() else []
    tables = []
    for path in config_paths:
        family = models.REGISTRY[config.load(path).model.name].family.family
        place = {"config": path, "seeds": seeds, "overrides": list(overrides)}
        key = {**place, "recipe": recipe(path, overrides)}
        old = next((t for t in stored if _matches(t, key)), None)
        per_backend = {b: old["runs"][b] for b in backends if old and not fresh and b in old["runs"]}
        missing = [b for b in backends if b not in per_backend]
        if missing:
            print(f"{path}: reusing {', '.join(per_backend) or 'no runs'}; running {', '.join(missing)}", flush=True)
        if jobs > 1 and missing:
            per_backend.update(run_parallel(path, list(range(seeds)), overrides, jobs, missing, reuse=not fresh))
        else:
            for b in missing:  # one backend at a time, the file saved after each
                per_backend[b] = run_seeds(path, b, list(range(seeds)), overrides, reuse=not fresh)
                _save(file, stored, place, key, _in_order(per_backend, backends), METRICS[family])
        tables.append(_save(file, stored, place, key, _in_order(per_backend, backends), METRICS[family]))
        print(format_rows(tables[-1]), flush=True)
    return tables


def recipe(path: str, overrides: list[str]) -> str:
    """A digest of what decides a table's runs: the config file's settings and the overrides,
    less what a run may change without changing its result's distribution (backend, seed,
    out folder, device, threads, progress). Editing the file's settings gives another recipe;
    its comments, and options added to aigc later with their defaults, do not."""
    import yaml

    plain = yaml.safe_load(Path(path).read_text()) or {}
    for key in ("backend", "seed", "out", "device", "resume"):
        plain.pop(key, None)
    if isinstance(plain.get("train"), dict):
        plain["train"] = {k: v for k, v in plain["train"].items() if k not in ("threads", "progress")}
    text = json.dumps([plain, list(overrides)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _matches(table: dict, key: dict) -> bool:
    """The stored table is of the same config, seeds and overrides (and recipe, where `key`
    has one)."""
    return all(table.get(k) == v for k, v in key.items())


def _in_order(runs: dict, backends: list[str]) -> dict:
    """`runs` in the registry's order of `backends`."""
    return {b: runs[b] for b in backends if b in runs}


def _save(file: Path, stored: list[dict], place: dict, key: dict, runs: dict, metrics) -> dict:
    """Put the table of `key` in `stored` where the table of the same config, seeds and
    overrides (`place`) stands, whatever its recipe (the docs list the tables in the file's
    order), and write the file; returns the table."""
    table = {**key, "runs": runs, "rows": compare_runs(runs, metrics) if len(runs) > 1 else []}
    at = next((i for i, t in enumerate(stored) if _matches(t, place)), len(stored))
    stored[at : at + 1] = [table]
    file.write_text(json.dumps(stored, indent=1) + "\n")
    return table


def format_rows(table: dict) -> str:
    """The table as text: a column per backend; z is the largest over the pairs of backends."""
    names = list(table["runs"])
    lines = [
        f"{table['config']} ({table['seeds']} seeds per backend)",
        f"{'metric':<15} " + " ".join(f"{b + ' mean ± se':>22}" for b in names) + f" {'z':>6}  agree",
    ]
    for r in table["rows"]:
        cells = " ".join(f"{r[b][0]:>12.4f} ± {r[b][1]:<7.4f}" for b in names)
        lines.append(f"{r['metric']:<15} {cells} {r['z']:>6.2f}  {'yes' if r['agree'] else 'NO'}")
    return "\n".join(lines)
