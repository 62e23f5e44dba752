"""Re-evaluate trained 2-D GAN runs with precise BatchNorm statistics (model.precise_bn), without
retraining: the training is identical (precise_bn only acts after the last step, from its own
generator), so this gives what the same run with model.precise_bn=N would have reported.

    python docs/results/precise_bn_posthoc.py ring8 RUN_DIR [RUN_DIR ...] [--n 10000]
"""

import argparse

import numpy as np

import aigc
from aigc.data.mixtures import centers_and_std
from aigc.metrics.modes import mode_statistics

parser = argparse.ArgumentParser()
parser.add_argument("mixture")
parser.add_argument("runs", nargs="+")
parser.add_argument("--n", type=int, default=10000)
args = parser.parse_args()
centers, std = centers_and_std(args.mixture)
for path in args.runs:
    model = aigc.load(f"{path}/checkpoint", backend="torch")
    seed = model.cfg.seed
    before = mode_statistics(model.sample(2500, seed=seed), centers, std)
    model.cfg = model.cfg.replace(model__precise_bn=args.n)
    model.finish_training(np.random.default_rng([seed, 0xF1]))  # the stream aigc.training.loop uses
    after = mode_statistics(model.sample(2500, seed=seed), centers, std)
    print(path, "running averages:", before, "precise:", after)
