"""`aigc train CONFIG --nproc N`: N worker processes on this machine.

What is checked before anything starts (one line each): N against the batch, the backend's
launcher, the port. torch's workers are started by torch's own launcher (torchrun's
standalone mode, `Backend.launch`); TensorFlow's by `spawn`, each with its own TF_CONFIG
naming every worker's free local port (this process never imports TensorFlow: its import
is the larger part of a small run's start). Either way, when a worker dies the others are
stopped within `GRACE_S` seconds of it being noticed, and the error names its rank.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from .. import backends
from ..errors import AigcError, BackendUnavailable, ConfigError
from .world import check_batch

GRACE_S = 5.0  # after SIGTERM, a worker still blocked in a collective is killed
POLL_S = 0.1


class WorkerFailed(AigcError):
    """A worker process of a local data-parallel run exited with an error or was killed."""


def free_ports(n: int, first: int | None = None) -> list[int]:
    """`first`, first + 1, ... (each checked free: a one-line error if not), or n ports the
    system hands out now."""
    if first is not None:
        ports = list(range(first, first + n))
        for port in ports:
            if not 0 < port < 65536:
                raise ConfigError(f"--port {first}: ports {first}-{first + n - 1} are not all valid port numbers")
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    raise ConfigError(f"--port {first}: port {port} is in use on this machine; pick another") from None
        return ports
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def cause(codes: dict[int, int]) -> int:
    """The rank whose exit started it, of the failed ranks' exit codes (negative: a signal):
    one killed by a signal other than SIGTERM (what launchers stop the others with), then
    one that exited with an error other than 2 (the others' one-line "another worker
    stopped"), then the lowest rank."""
    term = -int(signal.SIGTERM)
    return min(codes, key=lambda r: (not (codes[r] < 0 and codes[r] != term), codes[r] in (2, term), r))


def failed(rank: int, size: int, how: str, out: str) -> WorkerFailed:
    return WorkerFailed(
        f"worker rank {rank} of {size} {how}; the other workers were stopped; the newest checkpoint in "
        f"{out}/checkpoint is intact (resume=true continues from it)"
    )


def spawn(argv: list[str], envs: list[dict[str, str]], out: str) -> int:
    """Run `python *argv` once per env (rank order) and wait for all. A worker that
    fails stops the others (SIGTERM, then SIGKILL after GRACE_S) and is a WorkerFailed
    naming its rank; all interrupted alike (Ctrl-C reaches every worker): their exit code."""
    procs = [subprocess.Popen([sys.executable, *argv], env={**os.environ, **env}) for env in envs]
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    forward = lambda signum, frame: [p.send_signal(signum) for p in procs if p.poll() is None]
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # the terminal's Ctrl-C reaches the workers themselves
    signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            codes = [p.poll() for p in procs]
            if all(c is not None for c in codes) and set(codes) <= {0, 130, 143}:
                return max(codes)  # done, or interrupted: the workers said so themselves
            bad = [(r, c) for r, c in enumerate(codes) if c not in (None, 0, 130, 143)]
            if bad:
                rank = cause(dict(bad))
                _stop(procs)
                raise failed(rank, len(procs), describe_exit(codes[rank]), out)
            time.sleep(POLL_S)
    finally:
        _stop(procs)
        for s, h in previous.items():
            signal.signal(s, h)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + GRACE_S
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def tf_config_envs(n: int, port: int | None) -> list[dict[str, str]]:
    """One TF_CONFIG per worker: every worker at 127.0.0.1 on its own port, task i."""
    workers = [f"127.0.0.1:{p}" for p in free_ports(n, port)]
    spec = lambda i: {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
    return [{"TF_CONFIG": json.dumps(spec(i))} for i in range(n)]


def run(cfg: Any, nproc: int, port: int | None, argv: list[str]) -> int:
    """Start `nproc` workers of `aigc *argv` (the train command without --nproc) for the
    resolved config `cfg`; checked first: N, the batch and the backend."""
    if nproc < 1:
        raise ConfigError(f"--nproc {nproc}: expected at least 1 process")
    check_batch(cfg, nproc)
    if cfg.backend == "tensorflow":  # TF_CONFIG needs no TensorFlow here: only the workers import it
        if importlib.util.find_spec("tensorflow") is None:
            raise BackendUnavailable(f"backend 'tensorflow' is not installed: {backends.INSTALL_HINTS['tensorflow']}")
        return spawn(["-m", "aigc", *argv], tf_config_envs(nproc, port), cfg.out)
    cls = backends.backend_class(cfg.backend)
    if not hasattr(cls, "launch"):
        raise ConfigError(f"--nproc: backend {cfg.backend!r} cannot train in several processes")
    return cls.launch(nproc, argv, port, cfg.out)
