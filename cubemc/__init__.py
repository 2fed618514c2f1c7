"""cubemc: Monte Carlo of hard cubes with a centre-centre square well, on CPU and CUDA."""

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
