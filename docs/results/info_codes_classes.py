"""Which digits each InfoGAN code value of an MNIST GAN draws: the classifier's reading of 1,000
samples per code (docs/results/sweeps.md):

    python docs/results/info_codes_classes.py RUN_DIR
"""

import sys

import numpy as np

import aigc
from aigc.metrics import classifier_store

m = aigc.load(f"{sys.argv[1]}/checkpoint", backend="torch", threads=1)
clf = classifier_store.ensure(m.backend, "mnist", None, "")
for c in range(m.info_codes):
    x = m.sample(1000, seed=c, codes=np.full(1000, c))
    p = clf.features_and_probabilities(x)[1].argmax(1)
    h = np.bincount(p, minlength=10)
    print(c, "top digit", h.argmax(), f"{h.max() / 10:.1f}%", h.tolist())
