"""Why torch's vae_mnist step slows down late in a long run: Adam's m and v drift into float32
subnormals (below 1.2e-38), and x86 arithmetic on subnormals is slow unless the thread
flushes them to zero (TensorFlow does; torch does not by default). This times Adam-like
elementwise ops over the real m and v of a checkpoint, with and without
`torch.set_flush_denormal(True)`:

    python docs/results/denormal_adam_state.py RUN/checkpoint/step-00080000.safetensors
"""

import sys
import time

import numpy as np
import torch
from safetensors.numpy import load_file

torch.set_num_threads(1)
d = load_file(sys.argv[1])
keys = [k for k in d if k.startswith(("optim.VAE.m.", "optim.VAE.v."))]
tiny = np.finfo(np.float32).tiny
subnormal = sum(int(((np.abs(d[k]) < tiny) & (d[k] != 0)).sum()) for k in keys)
print(f"subnormal values in m and v: {subnormal} of {sum(d[k].size for k in keys)}")
m = {k: torch.from_numpy(d[k].copy()) for k in keys}


def adam_like(flush: bool) -> float:
    torch.set_flush_denormal(flush)
    t0 = time.perf_counter()
    for _ in range(20):
        for k, x in m.items():
            y = x.mul(0.9).add_(x * 0.5, alpha=0.1)
            (y.sqrt() if ".v." in k else y).add_(1e-8)
    return (time.perf_counter() - t0) / 20 * 1000


for flush in (False, True, False, True):
    print("flush" if flush else "keep ", f"{adam_like(flush):.1f} ms per pass over m and v")
