"""Which compute device a simulation runs on."""

from __future__ import annotations

from .contract import DEVICES
from .errors import DeviceError


def gpu_usable() -> tuple[bool, str]:
    """(True, "") when numba-cuda sees a usable device (or runs the simulator), else (False, why)."""
    try:
        from numba import cuda

        if cuda.is_available():
            return True, ""
        return False, "numba-cuda found no usable CUDA device"
    except Exception as err:  # numba-cuda missing or its driver bindings broken: no GPU
        return False, f"numba-cuda cannot be used ({type(err).__name__}: {err})"


# device="auto" takes the GPU only for this many cubes in all (a batch counts its systems
# together).  Measured (docs/validation.md): one H200 ran 1.65e5 trial moves/s at N = 999 and
# 1.11e6 at 7 999, below 2 CPU cores (1.06e6, 1.74e6), and 7.9e6 at 63 999, above 16 cores
# (2.7e6): a small system cannot fill the GPU, so the crossover lies between 8 000 and 64 000.
AUTO_GPU_MIN_CUBES = 20_000


def resolve_device(device: str, n_cubes: int = AUTO_GPU_MIN_CUBES, probe=None) -> str:
    """'cpu' or 'gpu' for a requested 'cpu' | 'gpu' | 'auto'; DeviceError if impossible.

    'auto' is the GPU when one is usable and `n_cubes` (all the cubes one kernel launch covers)
    reaches AUTO_GPU_MIN_CUBES, else the CPU.  `probe` stands in for gpu_usable (tests)."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu" or (device == "auto" and n_cubes < AUTO_GPU_MIN_CUBES):
        return "cpu"
    usable, reason = (probe or gpu_usable)()
    if usable:
        return "gpu"
    if device == "gpu":
        raise DeviceError(f"device='gpu' was requested but {reason}; use device='cpu' or 'auto'")
    return "cpu"


def small_gpu_hint(n_cubes: int, device: str = "gpu", engine: str = "native") -> str | None:
    """A one-line hint when a native-engine GPU run of `n_cubes` cubes per kernel launch would
    be slower than the CPU, else None: also on the CPU, for HOOMD-blue (whose crossover is not
    ours) and where no GPU is usable (the run then stops with its own DeviceError)."""
    if device != "gpu" or engine != "native" or n_cubes >= AUTO_GPU_MIN_CUBES or not gpu_usable()[0]:
        return None
    threshold = f"{AUTO_GPU_MIN_CUBES:_}".replace("_", " ")
    return (
        f"hint: this GPU operation has at most {n_cubes} cubes per kernel launch; below "
        f"{threshold} cubes one GPU is slower than two CPU cores (README, 'Use a GPU'): "
        "run these jobs with the CPU operations, or sample more jobs of one N together "
        "(CUBEMC_GPU_GROUP_SIZE)"
    )


def describe_gpu() -> str:
    """Name and compute capability of the current CUDA device (or "CUDA simulator")."""
    import numba
    from numba import cuda

    if numba.config.ENABLE_CUDASIM:
        return "CUDA simulator"
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
    return f"{name} (cc {dev.compute_capability[0]}.{dev.compute_capability[1]})"
