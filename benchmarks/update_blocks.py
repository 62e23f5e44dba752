"""torch's Adam update and G's weight average, whole vectors against blocks, in one run.

    python -m benchmarks.update_blocks [CONFIG ...] [--steps 60] [--rounds 2]

The torch backend runs Adam's 12 element-wise operations on flat vectors of all of an
optimizer's weights, and G's weight average as the core's expression: over 11 M weights
every operation streams the whole vector through memory. Cut into blocks
(`aigc_torch.UPDATE_BLOCK` elements) the same operations keep a block in cache through all of
them, with the same roundings (tests/test_optim.py). This times aigc's training-loop step
(`benchmarks.subjects.aigc_subject`, as `aigc train` runs it) both ways, alternating, in one
process, and prints the median step times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from aigc import config

from .subjects import aigc_subject
from .timing import time_steps

DEFAULT_CONFIGS = ["configs/wgan_gp_mnist_full.yaml", "configs/dcgan_mnist_full.yaml"]


def step_time(path: str, blocked: bool, steps: int) -> float:
    """Seconds per step (median over blocks of 5) of `path` on torch, blocked or whole."""
    import aigc_torch

    block, average = aigc_torch.UPDATE_BLOCK, aigc_torch.TorchBackend.moving_average
    if not blocked:
        aigc_torch.UPDATE_BLOCK = 1 << 62  # one block: the whole vector
        del aigc_torch.TorchBackend.moving_average  # the core writes the average's expression
    try:
        cfg = config.load(path, ["backend=torch", "train.progress=false"])
        subject = aigc_subject(cfg)
        host = subject.x[: cfg.train.batch_size]
        return time_steps(lambda: subject.loop(host), lambda: None, warmup=10, steps=steps, block=5)["median_s"]
    finally:
        aigc_torch.UPDATE_BLOCK, aigc_torch.TorchBackend.moving_average = block, average


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", default=DEFAULT_CONFIGS)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per measure")
    parser.add_argument("--rounds", type=int, default=2, help="whole / blocked measures per config, alternating")
    args = parser.parse_args(argv)
    print("| config | whole vectors (ms a step) | blocks (ms a step) | speed-up |")
    print("|---|---|---|---|")
    for path in args.configs:
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for blocked in (False, True):
                times[blocked].append(step_time(path, blocked, args.steps))
        whole, blocks = statistics.median(times[False]), statistics.median(times[True])
        print(f"| {path} | {whole * 1e3:.0f} | {blocks * 1e3:.0f} | {whole / blocks:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
