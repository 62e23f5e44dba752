"""Who this process is in a data-parallel run, read from the launcher's environment.

- torchrun (and `aigc train --nproc N` on torch) sets RANK, WORLD_SIZE, LOCAL_RANK and
  MASTER_ADDR/MASTER_PORT for every worker;
- a TensorFlow worker reads TF_CONFIG: {"cluster": {"worker": [host:port, ...]},
  "task": {"type": "worker", "index": i}} (what `aigc train --nproc N` on tensorflow sets,
  and what a worker started by hand on another machine sets itself).

Nothing here imports a framework: the CLI checks a launch before any framework starts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Launch:
    """This process's place: rank in 0..size-1, its rank on this machine, and who set it up
    ("torchrun", "tf_config", or "" for a single process)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    kind: str = ""

    @property
    def chief(self) -> bool:
        return self.rank == 0


def _tf_config(text: str) -> Launch:
    try:
        spec = json.loads(text)
        workers = list(spec["cluster"]["worker"])
        task = spec["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"TF_CONFIG: not a TensorFlow cluster spec with a worker task ({exc})") from None
    if task.get("type", "worker") != "worker" or set(spec["cluster"]) - {"worker"}:
        raise ConfigError("TF_CONFIG: aigc runs workers only (no chief, ps or evaluator tasks)")
    if not 0 <= index < len(workers):
        raise ConfigError(f"TF_CONFIG: task index {index} is not one of the {len(workers)} workers")
    hosts = [w.rpartition(":")[0] for w in workers]
    local = sum(1 for h in hosts[:index] if h == hosts[index])
    return Launch(index, len(workers), local, "tf_config")


def detect(backend: str | None = None, environ: dict | None = None) -> Launch:
    """This process's `Launch`: torchrun's variables (torch), TF_CONFIG (tensorflow), else
    one process. A variable meant for the other backend is an error rather than ignored."""
    env = os.environ if environ is None else environ
    torchrun = "WORLD_SIZE" in env and "RANK" in env
    tf_config = bool(env.get("TF_CONFIG"))
    if torchrun and (backend in (None, "torch") or not tf_config):
        try:
            rank, size, local = int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", env["RANK"]))
        except ValueError:
            raise ConfigError("RANK/WORLD_SIZE: not integers (set by torchrun)") from None
        if backend not in (None, "torch") and size > 1:
            raise ConfigError(f"started by torchrun, but backend={backend}; use aigc train CONFIG --nproc N")
        return Launch(rank, size, local, "torchrun" if size > 1 else "")
    if tf_config:
        launch = _tf_config(env["TF_CONFIG"])
        if backend not in (None, "tensorflow") and launch.size > 1:
            raise ConfigError(f"TF_CONFIG is set, but backend={backend}; unset it or use aigc train CONFIG --nproc N")
        return launch if launch.size > 1 else Launch()
    return Launch()
