"""Plan the configurations, run each in its own worker process, collect the results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The train.compile values measured per framework (on torch `auto` is eager, i.e. `none`);
# a backend not listed is measured at `auto`. Their names in the tables.
COMPILE_MODES = {"torch": ("none", "torch_compile"), "tensorflow": ("auto", "xla"), "jax": ("auto",)}
COMPILE_NAMES = {
    ("torch", "none"): "eager",
    ("torch", "torch_compile"): "torch.compile",
    ("tensorflow", "auto"): "tf.function",
    ("tensorflow", "xla"): "tf.function+XLA",
    ("jax", "auto"): "jax.jit",
}


def frameworks() -> list[str]:
    """The frameworks measured by default: every installed backend (`aigc.backends.installed`,
    which imports each framework in this process, torch first)."""
    from aigc import backends

    return backends.installed()


def compile_modes(framework: str) -> tuple[str, ...]:
    return COMPILE_MODES.get(framework, ("auto",))


def compile_name(framework: str, mode: str) -> str:
    return COMPILE_NAMES.get((framework, mode), mode)


IMPLS = ("aigc", "native")


@dataclass
class Plan:
    configs: list[str]
    batch_sizes: list[int]
    impls: list[str] = field(default_factory=lambda: list(IMPLS))
    frameworks: list[str] = field(default_factory=frameworks)
    compile: list[str] = field(default_factory=lambda: [m for f in frameworks() for m in compile_modes(f)])
    sources: list[str] = field(default_factory=lambda: ["memory", "gather"])
    device: str = "cpu"
    steps: int = 200
    warmup: int = 20
    block: int = 5
    threads: int | str | None = "auto"  # train.threads for every worker (None: the framework's default)
    overrides: list[str] = field(default_factory=list)
    gemm_n: int = 2048
    timeout_s: int = 900

    def speed_jobs(self, frameworks: list[str]) -> list[dict]:
        common = dict(
            kind="speed",
            device=self.device,
            steps=self.steps,
            warmup=self.warmup,
            block=self.block,
            sources=self.sources,
            overrides=self.overrides,
            threads=self.threads,
            gemm_n=self.gemm_n,
        )
        return [
            dict(common, config=config, batch_size=size, impl=impl, framework=fw, compile=mode)
            for config in self.configs
            for size in self.batch_sizes
            for fw in frameworks
            for mode in compile_modes(fw)
            if mode in self.compile
            for impl in self.impls
        ]


def spawn(job: dict, timeout_s: int) -> dict:
    """Run one job in a fresh `python -m benchmarks.worker`; its result, or {"error": ...}."""
    with tempfile.TemporaryDirectory() as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job))
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.worker", str(job_file), str(result_file)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout_s} s"}
        if result_file.exists():
            return json.loads(result_file.read_text())
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"worker exited {proc.returncode}: {last}"}


def step_flops(job: dict) -> int:
    """Model FLOPs of one step of the job's config and batch size (neutral: no framework)."""
    from aigc import config

    from .flops import config_flops

    return config_flops(config.load(job["config"], [*job["overrides"], f"train.batch_size={job['batch_size']}"]))


def _label(job: dict) -> str:
    return (
        f"{Path(job['config']).stem} b={job['batch_size']} {job['impl']} {job['framework']} "
        f"{compile_name(job['framework'], job['compile'])}"
    )


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "platform": platform.platform(), "python": platform.python_version()}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(plan: Plan) -> dict:
    """Every speed configuration, each in its own process. A framework that cannot run on the
    device (no GPU) is left out after its first try, with a note."""
    results, notes, left_out = [], [], set()
    jobs = plan.speed_jobs(plan.frameworks)
    for i, job in enumerate(jobs, 1):
        if job["framework"] in left_out:
            continue
        result = spawn(job, plan.timeout_s)
        if "skipped" in result:
            left_out.add(job["framework"])
            notes.append(f"{result['skipped']}: its rows are left out")
            log(notes[-1])
            continue
        row = {k: job[k] for k in ("config", "batch_size", "impl", "framework", "compile")}
        results.append({**row, "flops_per_step": step_flops(job), **result})
        shown = result.get("error") or f"step {result['measures']['step']['median_s'] * 1e3:.3f} ms"
        log(f"[{i}/{len(jobs)}] {_label(job)}: {shown}")
    gemm = {}  # per framework, the best of its workers' measurements
    for r in results:
        if "gemm_gflops" in r:
            gemm[r["framework"]] = max(gemm.get(r["framework"], 0.0), r["gemm_gflops"])
    info = {r["framework"]: r["info"] for r in results if "info" in r}
    keys = ("device", "steps", "warmup", "block", "threads", "batch_sizes", "sources", "overrides", "gemm_n")
    settings = {k: getattr(plan, k) for k in keys}
    return {
        "machine": {**machine(), "frameworks": info},
        "settings": settings,
        "gemm_gflops": gemm,
        "notes": notes,
        "results": results,
    }


# The shared-machine cases: (name, runs at once, train.threads)
SHARED_CASES = (
    ("alone, 1 thread", 1, "1"),
    ("alone, framework default", 1, "framework"),
    ("alone, auto", 1, "auto"),
    ("2 at once, framework default", 2, "framework"),
    ("2 at once, auto", 2, "auto"),
)


def run_together(jobs: list[dict], timeout_s: int) -> list[dict]:
    """Start every job's worker at once (they meet at a barrier after warm-up); their results."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(lambda job: spawn(job, timeout_s), jobs))


def run_shared(plan: Plan, seconds: float, warmup: int = 5) -> list[dict]:
    """Per config and framework, samples/s of each run of every `SHARED_CASES` case."""
    rows = []
    for config in plan.configs:
        for fw in plan.frameworks:
            for case, parties, setting in SHARED_CASES:
                with tempfile.TemporaryDirectory() as barrier:
                    job = dict(
                        kind="shared",
                        config=config,
                        framework=fw,
                        device=plan.device,
                        threads=setting,
                        overrides=plan.overrides,
                        seconds=seconds,
                        warmup=warmup,
                        barrier=barrier,
                        parties=parties,
                    )
                    results = run_together([job] * parties, plan.timeout_s + int(3 * seconds))
                rows.append({"config": config, "framework": fw, "case": case, "setting": setting, "runs": results})
                shown = ", ".join(r.get("error") or f"{r['samples_per_s']:.0f} samples/s" for r in results)
                log(f"shared {Path(config).stem} {fw} {case}: {shown}")
    return rows


def run_quality(plan: Plan, budget_s: float) -> list[dict]:
    """Each framework's metric after `budget_s` seconds of `aigc train` (config's compile mode)."""
    rows = []
    for config in plan.configs:
        for fw in plan.frameworks:
            job = dict(
                kind="quality",
                config=config,
                framework=fw,
                device=plan.device,
                budget_s=budget_s,
                overrides=plan.overrides,
                threads=plan.threads,
            )
            result = spawn(job, plan.timeout_s + int(3 * budget_s))
            rows.append({"config": config, "framework": fw, "budget_s": budget_s, **result})
            log(f"quality {Path(config).stem} {fw}: {result.get('error') or result['evaluation']}")
    return rows
