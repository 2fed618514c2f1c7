"""cubemc: Monte Carlo of hard cubes with a centre-centre square well, on CPU and CUDA."""

import numpy as _np

# numba-cuda 0.30 registers an overload of np.row_stack when it compiles its first kernel, and
# NumPy 2.5 removed that alias of vstack: without it every kernel fails (seen on the H200 machine).
if not hasattr(_np, "row_stack"):
    _np.row_stack = _np.vstack

from .batch import SimulationBatch
from .errors import DeviceError, InputError, OverlapError
from .simulation import Simulation
from .state import State

__version__ = "0.1.0"
__all__ = [
    "State",
    "Simulation",
    "SimulationBatch",
    "InputError",
    "OverlapError",
    "DeviceError",
    "__version__",
]
