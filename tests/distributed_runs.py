"""A worker of tests/test_distributed.py: every run of a plan (a JSON list of raw configs),
one after the other, through the real training loop, in this process's data-parallel
world (torchrun's variables or TF_CONFIG). One process serves several runs so that a test
pays for starting the workers (TensorFlow's import above all) once."""

import json
import sys
from pathlib import Path

from aigc import config
from aigc.training.loop import train

if __name__ == "__main__":
    for raw in json.loads(Path(sys.argv[1]).read_text()):
        train(config.load(raw))
