"""Helpers shared by the engine tests."""

import pytest


def gpu_available():
    """True only for a real CUDA device (the simulator is exercised separately)."""
    import numba

    if numba.config.ENABLE_CUDASIM:
        return False
    try:
        from cubemc import gpu

        return gpu.available()
    except Exception:
        return False


needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU on this machine")
#: parametrisation for tests that must hold on every device
DEVICES = ["cpu", pytest.param("gpu", marks=[needs_gpu, pytest.mark.gpu])]
