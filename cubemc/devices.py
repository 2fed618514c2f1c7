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


def resolve_device(device: str) -> str:
    """'cpu' or 'gpu' for a requested 'cpu' | 'gpu' | 'auto'; DeviceError if impossible."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    usable, reason = gpu_usable()
    if usable:
        return "gpu"
    if device == "gpu":
        raise DeviceError(f"device='gpu' was requested but {reason}; use device='cpu' or 'auto'")
    return "cpu"


def describe_gpu() -> str:
    """Name and compute capability of the current CUDA device (or "CUDA simulator")."""
    import numba
    from numba import cuda

    if numba.config.ENABLE_CUDASIM:
        return "CUDA simulator"
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
    return f"{name} (cc {dev.compute_capability[0]}.{dev.compute_capability[1]})"
