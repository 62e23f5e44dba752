"""Re-evaluate trained image GAN runs with precise BatchNorm statistics for the sampling
generator (model.precise_bn=N, N samples a pass), without retraining: precise_bn only acts
after the last step, from its own random stream, so this gives what the same run with
model.precise_bn=N would have reported.

    python docs/results/precise_bn_images.py N RUN_DIR [RUN_DIR ...]
"""

import json
import sys

import numpy as np

import aigc
from aigc.evaluate import image_metrics

n = int(sys.argv[1])
for path in sys.argv[2:]:
    model = aigc.load(f"{path}/checkpoint", backend="torch", threads=1)
    seed = model.cfg.seed
    model.cfg = model.cfg.replace(model__precise_bn=n)
    model.finish_training(np.random.default_rng([seed, 0xF1]))
    measured = image_metrics(model, 10000, seed, None)
    print(path, json.dumps({k: round(float(v), 4) for k, v in measured.items()}), flush=True)
