"""cubemc: Monte Carlo of hard cubes with a centre-centre square well, on CPU and CUDA."""

import os

# numba's OpenMP threads spin while they wait at the barrier after each checkerboard set; when other
# processes share the cores (bundled jobs, a laptop) the spinning starves everyone (measured: 40x
# slower).  Waiting passively costs little.  Must be set before the OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .batch import SimulationBatch
from .errors import DeviceError, InputError, OverlapError
from .simulation import Simulation
from .state import State

__version__ = "0.1.0"
__all__ = ["State", "Simulation", "SimulationBatch", "InputError", "OverlapError", "DeviceError",
           "__version__"]
