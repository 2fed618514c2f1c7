"""Kernels specialised per (shape, pair energy) and target, built on first use and kept.

`cpu(shape, pair)` and `gpu(shape, pair)` return a module made from the template file cpu.py or
gpu.py with the module globals SHAPE and PAIR set, in the way HOOMD-blue instantiates one
integrator per shape.  Nothing is compiled at import.

numba caches a compiled function by its source file and name, which every specialisation of
cpu.py shares, and it does not notice edits to the kernels that function calls.  So each CPU
specialisation is built with numba's cache folder pointed at a folder of its own, named by a
hash of numba's version and the sources of the template, the kernels, the shape and the pair
energy; numba's setting is restored right after.  CUBEMC_CACHE_DIR (read when a specialisation is
first built) moves the cache from ~/.cache/cubemc.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import threading
from types import ModuleType

_LOCK = threading.RLock()  # a template may build another (vmmc_kernels builds cpu)
_BUILT: dict[tuple[str, str, str], ModuleType] = {}
_HERE = os.path.dirname(os.path.abspath(__file__))


def cpu(shape, pair) -> ModuleType:
    """The CPU drivers (cubemc/cpu.py) for this shape module and pair-energy module."""
    return specialise("cpu", shape, pair)


def gpu(shape, pair) -> ModuleType:
    """The CUDA kernels and drivers (cubemc/gpu.py) for this shape and pair energy."""
    return specialise("gpu", shape, pair)


#: sources a template compiles besides itself, kernels.py and kernel_basics.py (numba does not
#: notice edits to callees, so each goes into the hash naming the cache folder)
CALLEES = {
    "vmmc_kernels": ("cpu.py", "vmmc_moves.py", "vmmc_cells.py"),
    "gpu_vmmc": ("vmmc_moves.py", "vmmc_cells.py"),
}


def specialise(target, shape, pair):
    """The template cubemc/<target>.py (cpu, gpu, pressure_cpu, npt_cpu, gpu_count, vmmc_kernels,
    gpu_vmmc) with SHAPE and PAIR set, built on first use and kept."""
    key = (target, shape.NAME, pair.NAME)
    with _LOCK:
        if key not in _BUILT:
            _BUILT[key] = _build(target, shape, pair)
        return _BUILT[key]


#: the former private name, for callers not yet moved to `specialise`
_specialise = specialise


def _build(target, shape, pair):
    import numba

    # numba's OpenMP threads spin while they wait at the barrier after each checkerboard set; when
    # other processes share the cores (bundled jobs, a laptop) spinning starves everyone (measured:
    # 40x slower), and waiting passively costs little.  The OpenMP runtime reads this when the
    # first parallel kernel runs, which is after this point; a user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    template = os.path.join(_HERE, f"{target}.py")
    name = f"cubemc._{target}_{shape.NAME}_{pair.NAME}"
    spec = importlib.util.spec_from_file_location(name, template)
    module = importlib.util.module_from_spec(spec)
    module.SHAPE, module.PAIR = shape, pair
    sys.modules[name] = module  # numba looks functions' modules up by name
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = _cache_dir(template, shape, pair)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        numba.config.CACHE_DIR = saved
    return module


def _cache_dir(template, shape, pair):
    import numba

    digest = hashlib.sha256(numba.__version__.encode())
    callees = ("kernels.py", "kernel_basics.py", *CALLEES.get(os.path.basename(template)[:-3], ()))
    kernels = [os.path.join(_HERE, name) for name in callees]
    for path in (template, *kernels, inspect.getfile(shape), inspect.getfile(pair)):
        with open(path, "rb") as fh:
            digest.update(fh.read())
    base = os.environ.get("CUBEMC_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "cubemc")
    return os.path.join(base, "numba-" + digest.hexdigest()[:16])
