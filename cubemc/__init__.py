"""cubemc: Monte Carlo of hard cubes with a centre-centre square well, on CPU and CUDA."""

from .errors import DeviceError, InputError, OverlapError
from .simulation import Simulation
from .state import State

__version__ = "0.1.0"
__all__ = ["State", "Simulation", "InputError", "OverlapError", "DeviceError", "__version__"]
