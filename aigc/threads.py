"""How many threads a framework gets: `train.threads` (and `--threads`), default `auto`.

Two processes whose frameworks each start one thread per core fight over the cores: PyTorch's
OpenMP threads spin at every barrier for cores the other process holds, and a run falls to a
small fraction of its speed (docs/threads.md). `auto` avoids that without any environment
variable:

- every aigc process that chooses its threads registers itself in a per-user directory
  (`registry_dir()`), holding an OS file lock on its own file that the kernel releases when
  the process ends, however it ends;
- `auto` gives each registered process whose CPU set overlaps this one's an equal share of
  the cores this process may use (its CPU affinity), at least one;
- a training run looks again every `RECHECK_S` seconds and resizes the pool where the
  framework allows it (PyTorch; TensorFlow's pools are fixed once its runtime starts), so a
  run started later, or one that ends, is felt within seconds.

An explicit number always wins; without one, a thread-count environment variable the user
set (`OMP_NUM_THREADS`, or the backend's own, e.g. `TF_NUM_INTRAOP_THREADS`) wins over auto.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO = "auto"
FRAMEWORK = "framework"  # leave the threads to the framework (its default: one per core)
SETTINGS = (AUTO, FRAMEWORK)
MAX_THREADS = 1024  # more is a typo, not a machine
RECHECK_S = 2.0
COMMON_ENV = ("OMP_NUM_THREADS",)  # read by every backend: the variable users know


@dataclass(frozen=True)
class Choice:
    """A thread count and why it was chosen (printed once, stored in the run's config)."""

    threads: int
    reason: str
    auto: bool  # chosen by `auto`: a training run may revise it as other runs come and go

    def __str__(self) -> str:
        return f"{self.threads} thread{'s' if self.threads != 1 else ''} ({self.reason})"


def cores() -> set[int]:
    """The CPUs this process may run on (its affinity; all CPUs where that is unknown)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def registry_dir() -> Path:
    """Where aigc processes of this user register (`$AIGC_THREADS_DIR` overrides it)."""
    base = os.environ.get("AIGC_THREADS_DIR") or os.path.join(
        os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(), f"aigc-threads-{os.getuid()}"
    )
    return Path(base)


class Registry:
    """This process's entry among the running aigc processes: a file named by its pid, holding
    its CPU set, locked for as long as the process lives."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or registry_dir()
        self._file: Any = None

    def register(self) -> None:
        if self._file is not None:
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Written and locked under a temporary name, then renamed: another process never
            # sees the final name unlocked (which it would take for a dead process's file).
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".new-")
            f = os.fdopen(fd, "w")
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            f.write(",".join(map(str, sorted(cores()))))
            f.flush()
            final = self.directory / str(os.getpid())
            os.replace(tmp, final)
        except OSError:  # no writable temporary directory: auto then sees this process alone
            return
        self._file, self._path = f, final
        atexit.register(self.unregister)

    def unregister(self) -> None:
        if self._file is None:
            return
        try:
            self._path.unlink(missing_ok=True)
        except OSError:
            pass
        self._file.close()
        self._file = None

    def sharing(self, mine: set[int]) -> int:
        """The registered live processes (this one included) whose CPU sets overlap `mine`;
        files of processes that died are removed."""
        count = 1 if self._file is not None else 0
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return max(count, 1)
        for path in entries:
            if path.name.startswith(".") or path.name == str(os.getpid()):
                continue
            try:
                with open(path) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:  # locked: its process is alive
                        theirs = {int(c) for c in f.read().split(",") if c.strip().isdigit()}
                        count += (bool(theirs & mine) or not theirs) and not _stopped(path.name)
                        continue
                    path.unlink(missing_ok=True)  # unlocked: its process has ended
            except (OSError, ValueError):
                continue
        return max(count, 1)


def _stopped(pid: str) -> bool:
    """Whether the process is stopped (SIGSTOP, Ctrl-Z, a debugger): it holds no core."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


_REGISTRY = Registry()


def register() -> None:
    """Count this process among the running aigc processes from now on, and start measuring
    the load of other programs (early: before a framework's import, so that runs started
    together see each other when they choose)."""
    _REGISTRY.register()
    _load()


def parse_setting(value: Any) -> int | str:
    """`auto`, `framework` or a positive int (a `--threads` argument)."""
    if value in SETTINGS:
        return value
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if isinstance(value, bool) or not 1 <= n <= MAX_THREADS or str(n) != str(value).strip():
        raise ValueError(f"expected auto, framework or a whole number from 1 to {MAX_THREADS}, got {str(value)[:40]!r}")
    return n


class Load:
    """The CPU time that OTHER processes used since the last reading, in cores (Linux's
    /proc/stat, less this process's own time); None where it cannot be read. Any program
    counts, aigc or not: a busy core makes a spinning thread pool collapse all the same."""

    def __init__(self) -> None:
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = f.readline().split()
        except OSError:
            return None
        if not fields or fields[0] != "cpu":
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
        own = os.times()
        return time.monotonic(), (user + nice + system + irq + softirq) / ticks, own.user + own.system

    def others(self) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] - last[0] < 0.05:
            return None
        busy = (now[1] - last[1]) - (now[2] - last[2])
        return max(0.0, busy / (now[0] - last[0]))


_LOAD: Load | None = None


def argument(text: str) -> int | str:
    """`parse_setting` for argparse (`--threads`)."""
    import argparse

    try:
        return parse_setting(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _from_environment(names: tuple[str, ...]) -> tuple[str, int] | None:
    for name in names:
        text = os.environ.get(name, "").strip()
        if text.isdigit() and int(text) >= 1:
            return name, int(text)
    return None


def choose(setting: int | str, env_names: tuple[str, ...] = COMMON_ENV, registry: Registry | None = None) -> Choice:
    """The thread count for `setting` (an int, or `auto`): see the module's docstring."""
    if setting != AUTO:
        return Choice(int(setting), f"threads={setting}", auto=False)
    found = _from_environment(env_names)
    if found:
        return Choice(found[1], f"{found[0]}={found[1]} in the environment", auto=False)
    registry = registry or _REGISTRY
    registry.register()
    mine = cores()
    sharing = registry.sharing(mine)
    n = max(1, len(mine) // sharing)
    why = [f"{sharing} aigc processes share them" if sharing > 1 else "no other aigc process"]
    busy = _load().others()
    if busy is not None and round(busy) >= 1 and n > 1:
        n = max(1, min(n, len(mine) - round(busy)))
        why.append(f"other programs keep {busy:.1f} busy")
    return Choice(n, f"auto: {len(mine)} cores, {', '.join(why)}", auto=True)


def _load() -> Load:
    """The process's load meter, started at `register()` (so the first reading spans the
    framework's import) or at the first choice."""
    global _LOAD
    if _LOAD is None:
        _LOAD = Load()
    return _LOAD


def env_names(backend: Any) -> tuple[str, ...]:
    """The environment variables that set `backend`'s threads, OMP_NUM_THREADS first."""
    return COMMON_ENV + tuple(n for n in getattr(backend, "thread_env", ()) if n not in COMMON_ENV)


def apply(backend: Any, setting: int | str = AUTO) -> Choice:
    """Choose the threads for `backend` and set them (intra- and inter-op) where the framework
    still allows it; the choice is returned (its count is what the framework really uses).
    `framework` leaves them as the framework chose."""
    if not hasattr(backend, "set_threads"):  # optional in the contract: the framework keeps its own threads
        threads = backend.get_threads() if hasattr(backend, "get_threads") else os.cpu_count() or 1
        return Choice(threads, f"the framework's own ({backend.name} cannot set its threads)", auto=False)
    if setting == FRAMEWORK:
        return Choice(backend.get_threads(), "the framework's default", auto=False)
    choice = choose(setting, env_names(backend))
    if not backend.set_threads(choice.threads):
        actual = backend.get_threads()
        choice = Choice(actual, f"{choice.reason}; {backend.name} had already started with {actual}", auto=False)
    return choice


class Governor:
    """Re-applies `auto` every `RECHECK_S` seconds during training (a clock read per step)."""

    def __init__(self, backend: Any, choice: Choice, clock=time.monotonic):
        self.backend, self.choice, self._clock = backend, choice, clock
        self._next = clock() + RECHECK_S

    def tick(self) -> Choice | None:
        """The new choice when it changed, else None."""
        if not self.choice.auto or self._clock() < self._next:
            return None
        self._next = self._clock() + RECHECK_S
        new = choose(AUTO, env_names(self.backend))
        if new.threads == self.choice.threads or not self.backend.set_threads(new.threads):
            return None
        self.choice = new
        return new


def announce(choice: Choice, backend_name: str) -> None:
    print(f"aigc: {backend_name} uses {choice}", file=sys.stderr, flush=True)
