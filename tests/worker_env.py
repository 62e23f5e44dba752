"""The environment of a test process, set before any framework is imported (conftest
imports this first)."""

import os
import tempfile

# The thread count changes how reductions round, so tests that compare bits or exact values
# run on a fixed count, not on `auto`, which depends on what else runs (docs/threads.md): the
# cores shared out among pytest-xdist's workers (`-n auto`: one thread each on CI's 2 cores),
# at most 2; a developer's own OMP_NUM_THREADS wins.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(max(1, min(2, (os.cpu_count() or 1) // WORKERS))))
if WORKERS > 1:  # TensorFlow and XLA start a thread per core unless told: each worker keeps to its share
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", os.environ["OMP_NUM_THREADS"])
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", os.environ["OMP_NUM_THREADS"])
    if os.environ["OMP_NUM_THREADS"] == "1" and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
if "PYTEST_XDIST_WORKER" in os.environ:
    # each worker's aigc processes register their threads apart from the other workers'
    # (the threads tests count the runs they start themselves)
    os.environ.setdefault("AIGC_THREADS_DIR", tempfile.mkdtemp(prefix="aigc-threads-"))
