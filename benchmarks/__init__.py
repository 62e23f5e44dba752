"""Parity benchmarks: aigc on each backend against hand-written native loops, in one run.

    python -m benchmarks [CONFIG ...] [--batch-sizes 64 256 1024] [--device cuda]   (or `aigc bench`)
    python -m benchmarks --quality SECONDS                  each backend's quality at equal wall time

For every config, batch size, framework and compile mode (torch eager / torch.compile,
TensorFlow tf.function / +XLA) it times aigc and the hand-written loop of the same model
(`native_torch.py`, `native_keras.py`), each in its own process (`worker.py`), and reports
the median step time of the bare compiled step and of the training loop with batches from
memory or gathered as `aigc train` gathers them (`subjects.py`), samples/s, peak memory,
model GFLOP/s (`flops.py`) and its fraction of the fp32 GEMM rate measured in the same run
(`gemm.py`). Results: `benchmarks/results/bench.json`, `bench.md` (the table) and
`bench.png`. Nothing here is asserted: the numbers are measured and reported.

Modules: runner (plan, processes), report (table, JSON, plot), quality (equal budget).
"""

from pathlib import Path

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
# One config per benchmarked model (the MNIST ones read AIGC_DATA_DIR or download).
DEFAULT_CONFIGS = [
    CONFIGS_DIR / "gan_ring8.yaml",
    CONFIGS_DIR / "dcgan_mnist.yaml",
    CONFIGS_DIR / "vae_digits.yaml",
    CONFIGS_DIR / "conv_vae_mnist.yaml",
]
