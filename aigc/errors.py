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
