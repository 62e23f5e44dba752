"""A worker of tests/test_distributed.py: every run of a plan (a JSON list of raw configs),
one after the other, through the real training loop, in this process's data-parallel
world (torchrun's variables or TF_CONFIG). One process serves several runs so that a test
pays for starting the workers (TensorFlow's import above all) once.

The chief writes each checkpoint a second late (`CHIEF_SAVE_DELAY`): a rank that went on to
the plan's next run before the chief's last checkpoint was written (a resume of it) would
find no checkpoint, as it once did on a loaded CI machine."""

import json
import sys
import time
from pathlib import Path

from aigc import checkpoint, config
from aigc.training.loop import train

CHIEF_SAVE_DELAY = 1.0  # seconds; only the chief saves


def _late(save):
    def late(*args, **kwargs):
        time.sleep(CHIEF_SAVE_DELAY)
        return save(*args, **kwargs)

    return late


if __name__ == "__main__":
    checkpoint.save = _late(checkpoint.save)
    for raw in json.loads(Path(sys.argv[1]).read_text()):
        train(config.load(raw))
