"""Helpers shared by the engine tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).parent.parent


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


def run_on_cuda_simulator(script, timeout=900):
    """Run `script` (Python source that prints one JSON document) in a fresh interpreter with
    NUMBA_ENABLE_CUDASIM=1 (numba reads it at import, so not in this process) and this checkout
    importable; returns the document.  Fails the test with the end of stderr if the script fails."""
    env = dict(
        os.environ,
        NUMBA_ENABLE_CUDASIM="1",
        PYTHONPATH=os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
