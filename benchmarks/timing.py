"""Step times: warm up, then time blocks of steps and keep the median.

Steps are timed in blocks of `block` (waiting for the device at each block's end, not after
every step, so a GPU keeps its queue); a block's time over `block` is one sample, and the
median of the samples is the step time (p10/p90 show the spread). The first call is timed
on its own: it includes tracing and compilation.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_steps(run: Callable[[], object], sync: Callable[[], None], warmup: int, steps: int, block: int) -> dict:
    start = time.perf_counter()
    run()
    sync()
    first = time.perf_counter() - start
    for _ in range(max(warmup - 1, 0)):
        run()
    sync()
    samples = []
    for _ in range(max(steps // block, 1)):
        start = time.perf_counter()
        for _ in range(block):
            run()
        sync()
        samples.append((time.perf_counter() - start) / block)
    deciles = statistics.quantiles(samples, n=10, method="inclusive") if len(samples) > 1 else samples * 9
    return {
        "median_s": statistics.median(samples),
        "p10_s": deciles[0],
        "p90_s": deciles[-1],
        "first_step_s": first,
        "timed_steps": len(samples) * block,
    }
