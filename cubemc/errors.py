"""Exceptions with one-line messages meant for users."""


class InputError(ValueError):
    """A parameter, state point, file or configuration the engine cannot use."""


class OverlapError(InputError):
    """A configuration in which two cubes overlap (touching counts as overlapping)."""


class DeviceError(RuntimeError):
    """The requested compute device is unknown or not usable on this machine."""


class EngineSelectionError(RuntimeError):
    """The requested simulation engine is unknown or cannot be used here (e.g. no HOOMD-blue)."""
