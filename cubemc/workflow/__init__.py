"""signac workflow for cubemc: studies, operations, locking, provenance and cluster support.

Entry points live at the repository root: ``init.py`` (create jobs), ``project.py``
(signac-flow command line) and ``dashboard.py`` (signac-dashboard). The modules here hold
the logic; they import numba/cubemc only when an operation runs, so ``status`` stays fast.
"""

from .errors import ConfigError, EngineSelectionError, JobBusyError, StatePointError, WorkflowError

__all__ = ["ConfigError", "EngineSelectionError", "JobBusyError", "StatePointError", "WorkflowError"]
