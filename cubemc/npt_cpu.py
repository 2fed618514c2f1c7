"""CPU template: the whole-box recount of a proposed box (cubemc.npt), cheaper than cpu.count_pairs.

Specialised per (shape, pair energy) by cubemc.targets like cpu.py and pressure_cpu.py (module
globals SHAPE and PAIR, a numba cache folder per specialisation keyed by the kernel sources) and
used only through cubemc.npt.  Every pair it does not skip is tested with the kernels' own
`pair_state` (cubemc/kernels.py) on the same arrays, lower index first, exactly as
cpu.count_pairs tests it, so both count the same integers.  What makes it cheaper:

* each unordered pair of neighbouring cells is walked once (from the cell of lower index), not
  each particle's 27 cells with j <= i skipped pair by pair;
* a pair whose centres are farther apart than `cut2` (the squared interaction range with a
  margin far above rounding) is skipped before `pair_state`: it neither overlaps (beyond the
  largest overlap distance) nor interacts (beyond the pair energy's reach);
* with stop_at_overlap, the walk ends at the first overlap (an overlapping box is rejected
  whatever its energy): threads check a shared flag before each particle.  The flag only goes
  from 0 to 1, so a thread that reads it late only does work that was not needed; the answer
  "some overlap" is the same.
"""

import numba
import numpy as np
from numba import prange

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")


def _jit(fn):
    """numba.njit under a per-specialisation name (see pressure_cpu._jit for why)."""
    fn.__qualname__ = f"{fn.__qualname__}__npt_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(fn)


def _inline(fn):
    """_jit for the per-pair functions: spliced into their callers (see make_kernels)."""
    fn.__qualname__ = f"{fn.__qualname__}__npt_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(inline="always")(fn)


_k = make_kernels(_jit, SHAPE, PAIR, inline=_inline)
inline = numba.njit(inline="always")
pair_state = _k["pair_state"]
pair_units = _k["pair_units"]
overlap_of = _k["overlap_of"]
offset = _k["offset"]
quat_to_matrix = _k["quat_to_matrix"]
min_image = _k["min_image"]
assign_cell = _k["assign_cell"]


@numba.njit(parallel=True, cache=True)
def _cells(pos, box, grid):
    """(cell of each particle, particles sorted by cell, start of each cell in that order, their
    positions in that order).  The cells are assigned in parallel; the counting sort is serial."""
    nx, ny, nz = grid[0], grid[1], grid[2]
    n_cells = nx * ny * nz
    n = pos.shape[0]
    cell = np.empty(n, np.int64)
    lx, ly, lz = box[0], box[1], box[2]
    for i in prange(n):
        cell[i] = assign_cell(pos[i, 0], pos[i, 1], pos[i, 2], lx, ly, lz, 0.0, 0.0, 0.0, nx, ny, nz)
    starts = np.zeros(n_cells + 1, np.int64)
    for i in range(n):
        starts[cell[i] + 1] += 1
    for c in range(n_cells):
        starts[c + 1] += starts[c]
    fill = starts[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):  # in particle order: each cell lists its particles ascending
        order[fill[cell[i]]] = i
        fill[cell[i]] += 1
    near = np.empty((n, 3))  # positions in cell order: the neighbour walk reads them in a row
    for s in prange(n):
        near[s, 0], near[s, 1], near[s, 2] = pos[order[s], 0], pos[order[s], 1], pos[order[s], 2]
    return order, starts, near


@numba.njit(parallel=True, cache=True)
def neighbour_cells(grid):
    """Per cell m: the cells m2 >= m among its neighbours (m itself included), so that each
    unordered pair of neighbouring cells appears once; (table (n_cells, 27), count per cell).
    With fewer than 3 cells along an axis there are 2, and one step covers the axis."""
    nx, ny, nz = grid[0], grid[1], grid[2]
    n_cells = nx * ny * nz
    table = np.empty((n_cells, 27), np.int64)
    count = np.zeros(n_cells, np.int64)
    for m in prange(n_cells):
        cz = m % nz
        cy = (m // nz) % ny
        cx = m // (nz * ny)
        k = 0
        for ox in range(-1 if nx > 2 else 0, 2):
            for oy in range(-1 if ny > 2 else 0, 2):
                for oz in range(-1 if nz > 2 else 0, 2):
                    m2 = (((cx + ox + nx) % nx) * ny + (cy + oy + ny) % ny) * nz + (cz + oz + nz) % nz
                    if m2 >= m:
                        table[m, k] = m2
                        k += 1
        count[m] = k
    return table, count


#: what the walk counts: energy and overlaps (pair_state), energy only, overlaps only
BOTH, UNITS, OVERLAPS = 0, 1, 2


@inline
def _pair(mode, i, j, pos, quat, shapes, box, pair_params):  # noqa: PLR0913 (scalars and arrays)
    """(overlap, units) of the pair (i, j), i < j, as `mode` counts it: pair_state (BOTH); the
    units of pair_state's energy path whether or not they overlap (UNITS); its overlap test,
    units 0 (OVERLAPS).  The same functions on the same numbers, so the same integers."""
    if mode == BOTH:
        return pair_state(i, j, pos, quat, shapes, box, pair_params)
    dx, dy, dz, r2 = offset(pos, i, j, box)
    mi = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
    if mode == UNITS:
        return False, pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params)
    mj = quat_to_matrix(quat[j, 0], quat[j, 1], quat[j, 2], quat[j, 3])
    return overlap_of(i, j, dx, dy, dz, mi, mj, shapes), 0


@numba.njit(parallel=True, cache=True)
def walk(pos, quat, shapes, box, grid, neighbours, pair_params, cut2, mode, stop_at_overlap):  # noqa: PLR0913 (one compiled call: arrays in, two integers out)
    """(energy units, overlapping pairs) of one configuration, each unordered pair closer than
    sqrt(cut2) once, counted as `mode` says (BOTH: cpu.count_pairs' integers; UNITS: the units of
    every pair, exact when nothing overlaps; OVERLAPS: the overlaps only); with stop_at_overlap
    the walk stops at the first overlap found (overlaps >= 1, units partial).

    grid: cells per axis, each at least sqrt(cut2) wide; neighbours: neighbour_cells(grid) (kept
    by the caller while the grid stays); cut2: a squared centre distance beyond which no pair
    counts (overlaps or interacts, as the mode needs)."""
    order, starts, near = _cells(pos, box, grid)
    table, count = neighbours
    n_cells = count.shape[0]
    units_c = np.zeros(n_cells, np.int64)
    over_c = np.zeros(n_cells, np.int64)
    found = np.zeros(1, np.int64)
    lx, ly, lz = box[0], box[1], box[2]
    for m in prange(n_cells):
        units = 0
        over = 0
        for s in range(starts[m], starts[m + 1]):
            if stop_at_overlap and found[0] != 0:
                break
            i = order[s]
            xi, yi, zi = near[s, 0], near[s, 1], near[s, 2]
            for k in range(count[m]):
                m2 = table[m, k]
                for t in range(s + 1 if m2 == m else starts[m2], starts[m2 + 1]):
                    dx = min_image(near[t, 0] - xi, lx)
                    dy = min_image(near[t, 1] - yi, ly)
                    dz = min_image(near[t, 2] - zi, lz)
                    if dx * dx + dy * dy + dz * dz >= cut2:
                        continue
                    j = order[t]
                    overlap, u = _pair(mode, min(i, j), max(i, j), pos, quat, shapes, box, pair_params)
                    if overlap:
                        over += 1
                    else:
                        units += u
            if stop_at_overlap and over != 0:
                found[0] = 1
        units_c[m] = units
        over_c[m] = over
    return units_c.sum(), over_c.sum()
