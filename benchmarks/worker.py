"""One measurement in a fresh process: `python -m benchmarks.worker JOB.json RESULT.json`.

A process per configuration gives each its own peak RSS (process-wide and monotonic) and
its own framework thread pools, and imports just the framework it measures. Each also
measures the fp32 GEMM rate, so every row has a reference taken under the same conditions.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _config(job: dict, *extra: str) -> dict:
    from aigc import config

    return config.load(
        job["config"],
        [
            *job.get("overrides", []),
            f"backend={job['framework']}",
            f"device={job['device']}",
            "train.progress=false",
            f"train.threads={job.get('threads') or 'framework'}",
            *extra,
        ],
    )


def speed(job: dict) -> dict:
    """The GEMM rate in this process, then the step and loop times of one configuration."""
    from . import frameworks, gemm, subjects
    from .timing import time_steps

    if job["device"] != "cpu" and not frameworks.info(job["framework"], job["device"])["gpu"]:
        return {"skipped": f"{job['framework']} sees no GPU"}
    frameworks.strict_fp32(job["framework"])
    gemm_gflops = gemm.RATES[job["framework"]](job["device"], job["gemm_n"])
    cfg = _config(job, f"train.batch_size={job['batch_size']}", f"train.compile={job['compile']}")
    make = subjects.aigc_subject if job["impl"] == "aigc" else (lambda c: subjects.native_subject(c, job["framework"]))
    subject = make(cfg)
    frameworks.strict_fp32(job["framework"])
    sync = frameworks.sync(job["framework"], job["device"])
    timing = dict(sync=sync, warmup=job["warmup"], steps=job["steps"], block=job["block"])
    size, seed = job["batch_size"], cfg.seed
    on_device = subject.batch(subjects.SOURCES["memory"](subject.x, size, seed)())
    measures = {"step": time_steps(lambda: subject.step(on_device), **timing)}
    for name in job["sources"]:
        next_batch = subjects.SOURCES[name](subject.x, size, seed)
        measures[f"loop_{name}"] = time_steps(lambda: subject.loop(next_batch()), **timing)  # noqa: B023 - run here
    return {"gemm_gflops": gemm_gflops, "measures": measures}


def quality(job: dict) -> dict:
    from .quality import at_budget

    return at_budget(_config(job), job["budget_s"])


def shared(job: dict) -> dict:
    """samples/s of `aigc train`'s loop (`subjects.aigc_subject`, threads as `train.threads`
    says, re-checked as the loop does) over `seconds`, started together with the other
    workers of its case: each waits at a barrier (a directory of ready files) after warm-up."""
    import time

    from . import subjects

    cfg = _config(job)
    subject = subjects.aigc_subject(cfg)
    next_batch = subjects.SOURCES["gather"](subject.x, cfg.train.batch_size, cfg.seed)
    for _ in range(job["warmup"]):
        subject.loop(next_batch())
    barrier = Path(job["barrier"])
    (barrier / str(os.getpid())).touch()
    while len(list(barrier.iterdir())) < job["parties"]:
        time.sleep(0.001)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < job["seconds"]:
        subject.loop(next_batch())
        steps += 1
    elapsed = time.perf_counter() - start
    return {
        "samples_per_s": steps * cfg.train.batch_size / elapsed,
        "steps": steps,
        "threads": str(subject.threads.choice),
    }


KINDS = {"speed": speed, "quality": quality, "shared": shared}


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    from . import frameworks

    if job["kind"] != "shared":  # aigc and the hand-written loop get the same thread count
        job["threads"] = frameworks.set_threads(job["framework"], job.get("threads"))

    try:
        result = KINDS[job["kind"]](job)
    except Exception as exc:  # one failed configuration is a row that says why, not a lost run
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    result["peak_device_mb"] = frameworks.peak_device_mb(job["framework"], job["device"])
    result["info"] = frameworks.info(job["framework"], job["device"])
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
