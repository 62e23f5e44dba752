"""A run directory (`out=`): checked before any work, and locked while a run writes to it.

The lock is an OS file lock (`fcntl.flock`) on `<out>/.lock`, which the kernel releases when
the process ends in any way (SIGKILL included), so a killed run never leaves it locked. The
file holds the pid of the run that holds it, for the message a second run gets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError, RunLocked, excerpt

LOCK = ".lock"


def check(out: str) -> Path:
    """`out=` as a directory that exists and can be written to (created if missing), or a
    one-line ConfigError: empty, a NUL byte, an existing file, no permission, read-only."""
    if not out.strip():
        raise ConfigError("out: empty; give the run's directory, e.g. out=runs/my_run")
    if "\x00" in out:
        raise ConfigError(f"out: {excerpt(out)} contains a NUL byte")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"out={excerpt(out)} is an existing file, not a directory; choose another out=")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        where = "the directory" if existing == path else f"its folder {excerpt(str(existing))}"
        raise ConfigError(f"out={excerpt(out)}: {where} is not writable (permission denied)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"out={excerpt(out)}: cannot create the directory ({exc.strerror or exc})") from None
    return path


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold `<path>/.lock` for the duration; refuse with RunLocked (naming the holder's pid)
    if another process holds it. Where `fcntl` does not exist (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"out={excerpt(str(path))}: cannot create its lock file ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunLocked(
                f"out={excerpt(str(path))} is in use by another aigc run (pid {holder}); "
                "wait for it to finish or choose another out="
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            raise ConfigError(f"out={excerpt(str(path))}: cannot write its lock file ({exc.strerror or exc})") from None
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays (removing it would race a waiting run)
