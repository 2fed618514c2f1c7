"""CPU driver of the virtual-move Monte Carlo (VMMC) moves: a template specialised per (shape, pair).

cubemc/vmmc.py executes this file once per (shape, pair energy) with the module globals SHAPE and
PAIR set, with numba's cache pointed at a folder of that specialisation (as cubemc/targets.py does
for cpu.py).  The moves themselves are the single source cubemc/vmmc_moves.py, compiled here with
numba on the CPU kernels of cpu.py (whose pair functions are inlined into their callers);
cubemc/gpu_vmmc.py compiles the same source for CUDA.  This file allocates the work arrays.
"""

import numba
import numpy as np

from cubemc import targets
from cubemc.vmmc_moves import FIRST_LINK_DRAW, N_COUNTS, PURPOSE_VMMC, move_functions  # noqa: F401 (this module's interface)

SHAPE = globals().get("SHAPE")  # injected by cubemc.vmmc
PAIR = globals().get("PAIR")
_kernels = targets.cpu(SHAPE, PAIR)._k
_m = move_functions(numba.njit, _kernels, f"{SHAPE.NAME}_{PAIR.NAME}")
# module-level names: numba cannot reach compiled functions through a dict (tests call some)
run_moves = _m["run_moves"]
test_pair, link_weight, place = _m["test_pair"], _m["link_weight"], _m["place"]
uniform = _kernels["uniform"]


@numba.njit(cache=True)
def vmmc_moves(pos, quat, shapes, box, grid, cap, seed, sweep, n_moves, settings, pair_params, counts, trace):  # noqa: PLR0913 (one compiled call per updater action)
    """Run n_moves VMMC moves on one system in place; returns (units change, ok).

    Arguments as `run_moves` (cubemc/vmmc_moves.py), with the cell capacity `cap` in place of the
    cell and work arrays, which are allocated here.
    """
    n = pos.shape[0]
    n_cells = grid[0] * grid[1] * grid[2]
    cells = (
        np.zeros(n_cells, np.int64),
        np.empty((n_cells, cap), np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n_cells, np.int64),  # the cells one member's scan visits, and where their cubes start
        np.empty(n_cells + 1, np.int64),
    )
    work = (
        np.empty(n, np.int64),
        np.zeros(n, np.bool_),
        np.zeros((n, 3)),
        np.zeros(n, np.bool_),
        np.empty(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.bool_),
        np.empty(n, np.int64),
    )
    return run_moves(
        (pos, quat, shapes),
        box,
        grid,
        cells,
        work,
        seed,
        sweep,
        n_moves,
        settings,
        pair_params,
        counts,
        trace,
    )
