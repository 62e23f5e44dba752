"""The scaling table (`python -m benchmarks --scaling STEPS`): aigc's training step in 1
and N data-parallel processes (docs/distributed.md), one thread each.

Per config and framework, three runs of the step as `aigc train` runs it (the batch drawn
globally, this rank's share, the gradients and metrics agreed on): one process at the
config's batch B, one process at the per-rank batch B / N, and N processes at B (torch's
through torchrun, TensorFlow's with a TF_CONFIG each). Reported: samples/s of 1 and of N
processes, the efficiency (N processes' samples/s over N times one's: 1.00 is perfect
scaling) and the communication share of an N-process step, 1 - t(B / N, one process) /
t(B, N processes): the time a rank spends on the collectives and on waiting for the
others, beyond computing its own rows.

    python -m benchmarks.scaling JOB.json RESULT.json     one rank of one run (rank 0 writes)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from .runner import REPO, log, machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
NPROC = 2


def measure(job: dict) -> dict | None:
    """In each rank: warm up, then time `steps` steps between two agreements (barriers)."""
    from aigc import config, distributed
    from aigc.training import loop

    overrides = [f"backend={job['framework']}", "train.progress=false", "train.threads=1", *job["overrides"]]
    cfg = config.load(job["config"], [*overrides, f"train.batch_size={job['batch_size']}"])
    backend, _ = loop.backend_for(cfg)
    world = distributed.join(backend, cfg)
    model, dataset, rng = loop.build(cfg, backend)

    def step() -> None:
        batch, labels = feed.next_labeled()
        with world.step():
            metrics = model.train_step(batch, rng, labels)
            losses = {k: float(backend.numpy(v)) for k, v in metrics.items()}
        world.agree(losses, False)

    with loop.feed_for(model, dataset, cfg) as feed:
        for _ in range(job["warmup"]):
            step()
        world.agree({}, False)
        start = time.perf_counter()
        for _ in range(job["steps"]):
            step()
        world.agree({}, False)
        elapsed = time.perf_counter() - start
    if not world.chief:
        return None
    return {"step_s": elapsed / job["steps"], "samples_per_s": cfg.train.batch_size * job["steps"] / elapsed}


def launch(job: dict, nproc: int, timeout_s: int) -> dict:
    """One run in `nproc` fresh processes; rank 0's result, or {"error": ...}."""
    import subprocess

    from aigc.distributed.launch import spawn, tf_config_envs

    with tempfile.TemporaryDirectory() as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job))
        argv = ["-m", "benchmarks.scaling", str(job_file), str(result_file)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        try:
            if nproc == 1:
                subprocess.run([sys.executable, *argv], cwd=REPO, env=env, timeout=timeout_s, check=True)
            elif job["framework"] == "torch":
                torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc)]
                subprocess.run([sys.executable, *torchrun, *argv], cwd=REPO, env=env, timeout=timeout_s, check=True)
            else:
                spawn(argv, [{**e, "PYTHONPATH": env["PYTHONPATH"]} for e in tf_config_envs(nproc, None)], tmp)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"}
        if not result_file.exists():
            return {"error": "no result"}
        return json.loads(result_file.read_text())


def run_scaling(configs: list[str], frameworks: list[str], steps: int, overrides: list[str], timeout_s: int) -> dict:
    from aigc import config

    rows = []
    for path in configs:
        batch = config.load(path, overrides).train.batch_size
        for fw in frameworks:
            job = dict(config=path, framework=fw, steps=steps, warmup=max(5, steps // 10), overrides=overrides)
            row = {"config": path, "framework": fw, "batch_size": batch, "nproc": NPROC}
            row["one"] = launch({**job, "batch_size": batch}, 1, timeout_s)
            row["local"] = launch({**job, "batch_size": batch // NPROC}, 1, timeout_s)
            row["many"] = launch({**job, "batch_size": batch}, NPROC, timeout_s)
            rows.append(row)
            log(f"scaling {Path(path).stem} {fw}: " + scaling_row(row))
    return {"machine": machine(), "steps": steps, "rows": rows}


def scaling_row(row: dict) -> str:
    one, local, many = row["one"], row["local"], row["many"]
    errors = [r["error"] for r in (one, local, many) if "error" in r]
    if errors:
        return errors[0]
    efficiency = many["samples_per_s"] / (row["nproc"] * one["samples_per_s"])
    comm = 1.0 - local["step_s"] / many["step_s"]
    return f"{one['samples_per_s']:.0f} -> {many['samples_per_s']:.0f} samples/s, {efficiency:.2f}, {100 * comm:.0f}%"


def scaling_table(report: dict) -> str:
    out = [
        "| config | framework | batch | 1 process: samples/s | 2 processes: samples/s | efficiency "
        "| communication share of a step |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        head = f"| {Path(r['config']).stem} | {r['framework']} | {r['batch_size']} |"
        shown = scaling_row(r)
        if "samples/s" not in shown:
            out.append(f"{head} {shown} | | | |")
            continue
        one, many = r["one"]["samples_per_s"], r["many"]["samples_per_s"]
        efficiency = many / (r["nproc"] * one)
        comm = 1.0 - r["local"]["step_s"] / r["many"]["step_s"]
        out.append(f"{head} {one:.0f} | {many:.0f} | {efficiency:.2f} | {100 * comm:.0f}% |")
    m = report["machine"]
    out.append(f"\n{m['cpu']} ({m['cores']} cores), one thread per process, {report['steps']} timed steps per run")
    if report.get("note"):
        out[-1] += f"; {report['note']}"
    return "\n".join(out)


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    result = measure(job)
    if result is not None:
        Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
