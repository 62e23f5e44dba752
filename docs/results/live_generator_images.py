"""Re-evaluate trained image GAN runs with the live generator instead of its weight average
(model.ema), on aigc's classifier features with 10,000 samples:

    python docs/results/live_generator_images.py RUN_DIR [RUN_DIR ...]
"""

import json
import sys

import aigc
from aigc.evaluate import image_metrics

for path in sys.argv[1:]:
    model = aigc.load(f"{path}/checkpoint", backend="torch", threads=1)
    model.ema_decay = 0.0
    measured = image_metrics(model, 10000, model.cfg.seed, None)
    print(path, json.dumps({k: round(float(v), 4) for k, v in measured.items()}), flush=True)
