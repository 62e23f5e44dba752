"""The environment of a test process, set before any framework is imported (conftest
imports this first)."""

import os
import tempfile

from aigc.threads import cores  # the core imports no framework

WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest-xdist

# Each pytest-xdist worker (`-n auto`: one per core) runs on its own share of the cores, it
# and every process it starts: a framework that takes a thread per core it may use (XLA's
# pools do, whatever XLA_FLAGS say) cannot stall the other workers.
if _WORKER and WORKERS > 1 and hasattr(os, "sched_setaffinity"):
    _cpus = sorted(cores())
    _index = int(_WORKER.removeprefix("gw"))
    _share = _cpus[_index::WORKERS] if len(_cpus) >= WORKERS else [_cpus[_index % len(_cpus)]]
    os.sched_setaffinity(0, _share)
CORES = len(cores())

# The thread count changes how reductions round, so tests that compare bits or exact values
# run on a fixed count, not on `auto`, which depends on what else runs (docs/threads.md):
# this process's cores (one per worker on CI's 2 cores), at most 2; a developer's own
# OMP_NUM_THREADS wins. TensorFlow and XLA get the same count.
os.environ.setdefault("OMP_NUM_THREADS", str(min(2, CORES)))
if WORKERS > 1:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", os.environ["OMP_NUM_THREADS"])
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", os.environ["OMP_NUM_THREADS"])
    if os.environ["OMP_NUM_THREADS"] == "1" and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
if _WORKER:
    # each worker's aigc processes register their threads apart from the other workers'
    # (the threads tests count the runs they start themselves)
    os.environ.setdefault("AIGC_THREADS_DIR", tempfile.mkdtemp(prefix="aigc-threads-"))
