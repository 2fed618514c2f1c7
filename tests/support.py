"""Helpers shared by the engine tests."""

import pytest


def gpu_available():
    """True only for a real CUDA device (the simulator is exercised separately)."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        return False
    from cubemc.devices import gpu_usable

    return gpu_usable()[0]


needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU on this machine")
#: parametrisation for tests that must hold on every device
DEVICES = ["cpu", pytest.param("gpu", marks=[needs_gpu, pytest.mark.gpu])]
