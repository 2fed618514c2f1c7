"""Exceptions raised by the workflow layer (each carries a one-line message)."""

from cubemc.errors import EngineSelectionError  # noqa: F401  (raised by engine selection too)


class WorkflowError(RuntimeError):
    """Base class for workflow errors."""


class StatePointError(WorkflowError, ValueError):
    """A requested state point or study is invalid; nothing was written."""


class JobBusyError(WorkflowError):
    """Another process holds the lock of a job."""


class ConfigError(WorkflowError, ValueError):
    """The workflow configuration (environment variables or config file) is invalid."""
