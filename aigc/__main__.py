import atexit
import os
import sys

INTERRUPTED = 130


def _exit(code: int) -> None:
    """Exit with `code`. After Ctrl-C, `os._exit`: if the interrupt passed through code run by
    exec() of a string (dataclasses' generated methods, during the imports), CPython marks it
    unhandled and, under `python -m`, ends the process by SIGINT after its own exit whatever
    the program returned. The exit functions run first and the output is flushed, as at a
    normal exit; every file and lock was released as the interrupt unwound."""
    if code != INTERRUPTED:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still being imported
    print("aigc: interrupted", file=sys.stderr)
    _exit(INTERRUPTED)

_exit(main())
