"""CPU driver of the virtual-move Monte Carlo (VMMC) moves: a template specialised per (shape, pair).

cubemc/targets.py executes this file once per (shape, pair energy) with the module globals SHAPE
and PAIR set, with numba's cache pointed at a folder of that specialisation, as for cpu.py.  The
moves themselves are the single source cubemc/vmmc_moves.py, compiled here with numba on the CPU
kernels of cpu.py (whose pair functions are inlined into their callers); cubemc/gpu_vmmc.py
compiles the same source for CUDA.
"""

import numba

from cubemc import targets
from cubemc.vmmc_moves import FIRST_LINK_DRAW, N_COUNTS, PURPOSE_VMMC, move_functions  # noqa: F401 (this module's interface)

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_kernels = targets.cpu(SHAPE, PAIR)._k
_m = move_functions(numba.njit, _kernels, f"{SHAPE.NAME}_{PAIR.NAME}")
# module-level names: numba cannot reach compiled functions through a dict (tests call some)
run_moves = _m["run_moves"]
test_pair, link_weight, place = _m["test_pair"], _m["link_weight"], _m["place"]
uniform = _kernels["uniform"]


@numba.njit(cache=True)
def vmmc_moves(conf, box, grid, cells, work, seed, sweep, n_moves, settings, pair_params, counts, trace):  # noqa: PLR0913 (one compiled call per updater action)
    """`run_moves` (cubemc/vmmc_moves.py) of one system, compiled once into numba's cache (the
    closures of move_functions are not cached themselves); the arrays are vmmc_moves.work_arrays."""
    return run_moves(conf, box, grid, cells, work, seed, sweep, n_moves, settings, pair_params, counts, trace)
