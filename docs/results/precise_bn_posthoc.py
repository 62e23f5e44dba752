"""Re-evaluate trained GAN runs with precise BatchNorm statistics (model.precise_bn), without
retraining: the training is identical (precise_bn only acts after the last step, from its own
generator), so this gives what the same run with model.precise_bn=N would have reported.
`ring8`/`grid25`: PacGAN's mode statistics on 2,500 samples, before and after; `images`: FID,
precision/recall and classifier score on aigc's MNIST classifier (10,000 samples), after.

    python docs/results/precise_bn_posthoc.py ring8 RUN_DIR [RUN_DIR ...] [--n 10000]
    python docs/results/precise_bn_posthoc.py images RUN_DIR [RUN_DIR ...] --n 1000
"""

import argparse
import json

import numpy as np

import aigc
from aigc.data.mixtures import centers_and_std
from aigc.evaluate import image_metrics
from aigc.metrics.modes import mode_statistics

parser = argparse.ArgumentParser()
parser.add_argument("data", help="a 2-D mixture (ring8, grid25) or images")
parser.add_argument("runs", nargs="+")
parser.add_argument("--n", type=int, default=10000, help="samples per precise-BatchNorm pass")
args = parser.parse_args()


def measure(model, seed: int) -> dict:
    if args.data == "images":
        return image_metrics(model, 10000, seed, None)
    centers, std = centers_and_std(args.data)
    return mode_statistics(model.sample(2500, seed=seed), centers, std)


for path in args.runs:
    model = aigc.load(f"{path}/checkpoint", backend="torch", threads=1)
    seed = model.cfg.seed
    before = "(see the run's eval.json)" if args.data == "images" else measure(model, seed)
    model.cfg = model.cfg.replace(model__precise_bn=args.n)
    model.finish_training(np.random.default_rng([seed, 0xF1]))  # the stream aigc.training.loop uses
    after = {k: round(float(v), 4) for k, v in measure(model, seed).items()}
    print(path, "running averages:", before, "precise:", json.dumps(after), flush=True)
