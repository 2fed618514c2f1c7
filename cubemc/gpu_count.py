"""CUDA template: energy units and overlaps of a whole configuration, counted in one launch.

Specialised per (shape, pair energy) by cubemc.targets like gpu.py (module globals SHAPE and
PAIR) and used by `Simulation.count_pairs` on a GPU, i.e. by every box move (cubemc.npt) of a
GPU simulation: one thread per particle i walks the particles j > i of its 27 neighbouring cells
(a cell list sorted on the host: positions are scaled there anyway) and tests each pair with the
single-source `pair_state` of cubemc/kernels.py, the function cpu.count_pairs uses, so both
targets count the same pairs with the same arithmetic.  Each thread adds its integer totals to two
device counters atomically (integer sums do not depend on the order), and only those two numbers
come back.  Kept apart from gpu.py, whose sweep kernels it does not need.
"""

import numpy as np
from numba import cuda

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_k = make_kernels(cuda.jit(device=True), SHAPE, PAIR)
pair_state = _k["pair_state"]  # module-level: numba cannot reach device functions through a dict

THREADS = 64


@cuda.jit
def _count(pos, quat, shapes, box, grid, cell, order, starts, pair_params, totals):  # noqa: PLR0913 (one launch: arrays in, two counters out)
    i = cuda.grid(1)
    if i >= pos.shape[0]:
        return
    nx, ny, nz = grid[0], grid[1], grid[2]
    units = 0
    overlaps = 0
    # with fewer than 3 cells on an axis there are 2, whose neighbour search covers the axis
    for ox in range(-1 if nx > 2 else 0, 2):
        for oy in range(-1 if ny > 2 else 0, 2):
            for oz in range(-1 if nz > 2 else 0, 2):
                m = (((cell[i, 0] + ox) % nx) * ny + (cell[i, 1] + oy) % ny) * nz + (cell[i, 2] + oz) % nz
                for s in range(starts[m], starts[m + 1]):
                    j = order[s]
                    if j <= i:
                        continue
                    overlap, u = pair_state(i, j, pos, quat, shapes, box, pair_params)
                    if overlap:
                        overlaps += 1
                    else:
                        units += u
    if units != 0:
        cuda.atomic.add(totals, 0, units)
    if overlaps != 0:
        cuda.atomic.add(totals, 1, overlaps)


def count_pairs(pos, quat, shapes, box, cells, pair_params):
    """(energy units, overlapping pairs) of one configuration, each unordered pair once.

    cells = (grid, cell of each particle, order, starts) from cubemc.pressure.cell_lists with
    cells at least one interaction range wide."""
    grid, cell, order, starts = cells
    totals = cuda.to_device(np.zeros(2, np.int64))
    n = pos.shape[0]
    _count[max(1, (n + THREADS - 1) // THREADS), THREADS](
        cuda.to_device(np.ascontiguousarray(pos, np.float64)),
        cuda.to_device(np.ascontiguousarray(quat, np.float64)),
        cuda.to_device(np.ascontiguousarray(shapes, np.float64)),
        cuda.to_device(np.ascontiguousarray(box, np.float64)),
        cuda.to_device(np.ascontiguousarray(grid, np.int64)),
        cuda.to_device(np.ascontiguousarray(cell, np.int64)),
        cuda.to_device(np.ascontiguousarray(order, np.int64)),
        cuda.to_device(np.ascontiguousarray(starts, np.int64)),
        cuda.to_device(np.ascontiguousarray(pair_params, np.float64)),
        totals,
    )
    units, overlaps = totals.copy_to_host()
    return int(units), int(overlaps)
