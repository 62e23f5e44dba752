"""The fp32 matrix-multiply rate of this machine, as each framework reaches it.

An n x n by n x n product is 2 n^3 FLOPs; the rate is that over the best of `repeats`
timed products (after one warm-up), so a noisy neighbour lowers it less than a mean would.
Every benchmark worker measures it (in true fp32, see `frameworks.strict_fp32`); the
report takes the best per framework.
"""

from __future__ import annotations

import time

import numpy as np


def _best_seconds(run, sync, repeats: int) -> float:
    run()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def torch_rate(device: str, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of torch.matmul on float32 n x n matrices."""
    import torch

    a, b = (torch.from_numpy(np.random.default_rng(i).standard_normal((n, n), np.float32)).to(device) for i in (0, 1))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    return 2 * n**3 / _best_seconds(lambda: torch.matmul(a, b), sync, repeats) / 1e9


def tensorflow_rate(device: str, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of tf.linalg.matmul on float32 n x n matrices."""
    import tensorflow as tf

    from .frameworks import tf_device

    with tf.device(tf_device(device)):
        a, b = (tf.constant(np.random.default_rng(i).standard_normal((n, n), np.float32)) for i in (0, 1))
        out = []
        # Reading one element back waits for the product without copying n^2 numbers.
        run = lambda: out.append(tf.linalg.matmul(a, b))
        sync = lambda: out and float(out.pop()[0, 0])
        return 2 * n**3 / _best_seconds(run, sync, repeats) / 1e9


def jax_rate(device: str, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a jitted jnp.matmul on float32 n x n matrices."""
    import jax
    import jax.numpy as jnp

    place = jax.devices("cpu" if device == "cpu" else "gpu")[0]
    a, b = (jax.device_put(np.random.default_rng(i).standard_normal((n, n), np.float32), place) for i in (0, 1))
    matmul, out = jax.jit(jnp.matmul), []
    run = lambda: out.append(matmul(a, b))
    sync = lambda: out and out.pop().block_until_ready()
    return 2 * n**3 / _best_seconds(run, sync, repeats) / 1e9


RATES = {"torch": torch_rate, "tensorflow": tensorflow_rate, "jax": jax_rate}
