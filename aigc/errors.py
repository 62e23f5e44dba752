"""The errors aigc raises for bad input; the CLI turns each into one line and exit code 2."""


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
