"""The lattice statistic of issue #14's WGAN-GP finding (docs/results/sweeps.md): the mean
pixel of 512 samples per phase (row mod 4, column mod 4) of a 4x4 block, in [0, 1].

    python docs/results/lattice_phases.py RUN_DIR/checkpoint
"""

import sys

import numpy as np

import aigc

model = aigc.load(sys.argv[1])
x = model.sample(512, seed=0).reshape(512, 28, 28)
phases = np.array([[x[:, i::4, j::4].mean() for j in range(4)] for i in range(4)])
np.set_printoptions(precision=3, suppress=True)
print(phases)
print(f"min {phases.min():.2f}, max {phases.max():.2f}")
