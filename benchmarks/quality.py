"""Quality at equal wall-clock budget: what each backend reaches with `aigc train` in S seconds.

The step rate is measured first (warm-up, then the training loop's own steps); the run is
then `aigc.training.loop.train` with `train.steps` = budget / step time, so a learning-rate
schedule ends where the budget does. The metric is the run's own evaluation (mode coverage
and high-quality fraction on the 2-D mixtures, held-out negative ELBO for a VAE).
"""

from __future__ import annotations

import tempfile
import time

from aigc.config import Config

CALIBRATION_STEPS = 100


def at_budget(cfg: Config, budget_s: float) -> dict:
    from aigc.training import loop

    from .subjects import SOURCES, aigc_subject

    subject = aigc_subject(cfg)
    next_batch = SOURCES["gather"](subject.x, cfg.train.batch_size, cfg.seed)
    for _ in range(10):
        subject.loop(next_batch())
    start = time.perf_counter()
    for _ in range(CALIBRATION_STEPS):
        subject.loop(next_batch())
    step_s = (time.perf_counter() - start) / CALIBRATION_STEPS
    steps = max(1, int(budget_s / step_s))
    with tempfile.TemporaryDirectory() as out:
        run_cfg = cfg.replace(out=out, train__steps=steps)
        start = time.perf_counter()
        run = loop.train(run_cfg)
        wall = time.perf_counter() - start
    return {"steps": steps, "step_s": step_s, "wall_s": wall, "evaluation": run.evaluation}
