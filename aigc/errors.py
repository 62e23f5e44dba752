"""The errors aigc raises for problems the user can fix; the CLI turns each into one line and
exit code 2 (`Interrupted`: 130 for SIGINT, 143 for SIGTERM)."""


class AigcError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""


class ConfigError(AigcError):
    pass


class BackendUnavailable(AigcError):
    pass


class CheckpointError(AigcError):
    pass


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (a full disk, no permission); earlier ones are intact."""


class DatasetError(AigcError):
    pass


class TrainingDiverged(AigcError):
    """A loss or weight became NaN/inf; the last good checkpoint was kept, not overwritten."""


class OutOfMemory(AigcError):
    """The framework ran out of memory during a step."""


class Interrupted(AigcError):
    """SIGINT/SIGTERM during training: a checkpoint was saved at the next step boundary."""

    def __init__(self, signal_name: str, step: int, directory: str, exit_code: int):
        self.signal_name, self.step, self.directory, self.exit_code = signal_name, step, directory, exit_code
        super().__init__(self.message("aigc train CONFIG resume=true"))

    def message(self, resume_command: str) -> str:
        saved = f"{self.signal_name} at step {self.step}: checkpoint saved in {self.directory}"
        return f"{saved}; resume with: {resume_command}"


class ClassifierError(AigcError):
    """The feature classifier of the image metrics is missing, corrupt or does not fit the data."""


class RunLocked(AigcError):
    """Another live process is training into the same `out=` directory."""


EXCERPT_CHARS = 60


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A bounded repr of `value` for a one-line message: a few levels and items, at most
    `limit` characters, never the repr of the whole value (a YAML alias bomb's repr would
    not finish)."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset = 3, 4, 4, 4, 4
    r.maxstring, r.maxother, r.maxlong = limit, limit, limit
    text = r.repr(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def user_error(exc: BaseException) -> str | None:
    """The one-line message for an exception the user's environment or input caused (I/O,
    permissions, a full disk, memory), or None for anything else: a bug, which keeps its
    traceback."""
    import errno

    if isinstance(exc, OSError):
        name = getattr(exc, "filename", None)
        where = f": {excerpt(str(name), 200)}" if name is not None else ""
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return f"{reason}{where}; free disk space (checkpoints already written are intact) and retry"
        if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS,):
            return f"{reason}{where}; choose a location you can write to"
        return f"{excerpt(reason, 200)}{where}"
    if isinstance(exc, MemoryError) or type(exc).__name__ in ("OutOfMemoryError", "ResourceExhaustedError"):
        return "out of memory; try smaller sizes (model, train.batch_size, data.size, -n)"
    if isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc):
        return (
            "out of memory ("
            + excerpt(str(exc).splitlines()[0] if str(exc) else "", 120).strip("'\"")
            + "); try smaller sizes"
        )
    if type(exc).__name__ == "SafetensorError" and ("os error" in str(exc) or "No space" in str(exc)):
        return f"cannot write a safetensors file ({excerpt(str(exc), 160)}); free disk space and retry"
    return None
