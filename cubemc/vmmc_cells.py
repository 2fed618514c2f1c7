"""Periodic geometry and a cell list that follows moving particles, for cubemc/vmmc_kernels.py.

Independent of the shape and pair energy, so compiled once (numba cache next to this file).  The
cells are those of the simulation's checkerboard grid (cubemc.geometry.cell_grid: each at least
one interaction range wide), without a shift; a particle that moves to another cell takes the
last slot of its new cell and the last member of its old cell fills its slot, so the order is a
deterministic function of the moves made since the list was built.
"""

import math

import numba


@numba.njit(cache=True)
def wrap(x, length):
    return x - length * math.floor(x / length + 0.5)


@numba.njit(cache=True)
def min_image(d, length):
    return d - length * math.floor(d / length + 0.5)


@numba.njit(cache=True)
def wrap_index(k, n):
    """k % n for 0 <= k < 2 n."""
    return k - n if k >= n else k


@numba.njit(cache=True)
def axis_cell(x, length, n):
    return min(max(int((x / length + 0.5) * n), 0), n - 1)


@numba.njit(cache=True)
def cell_index(x, y, z, box, grid):
    return (axis_cell(x, box[0], grid[0]) * grid[1] + axis_cell(y, box[1], grid[1])) * grid[2] + axis_cell(
        z, box[2], grid[2]
    )


@numba.njit(cache=True)
def build_cells(pos, box, grid, cells):
    """Cell list in particle order; False if a cell overflows (only with overlaps)."""
    count, members, cell_of, slot_of = cells
    count[:] = 0
    for i in range(pos.shape[0]):
        c = cell_index(pos[i, 0], pos[i, 1], pos[i, 2], box, grid)
        if count[c] >= members.shape[1]:
            return False
        members[c, count[c]] = i
        cell_of[i] = c
        slot_of[i] = count[c]
        count[c] += 1
    return True


@numba.njit(cache=True)
def relocate(i, c_new, cells):
    """Move particle i to cell c_new (the last member of its old cell takes its slot)."""
    count, members, cell_of, slot_of = cells
    c = cell_of[i]
    if c == c_new:
        return True
    last = members[c, count[c] - 1]
    members[c, slot_of[i]] = last
    slot_of[last] = slot_of[i]
    count[c] -= 1
    if count[c_new] >= members.shape[1]:
        return False
    members[c_new, count[c_new]] = i
    cell_of[i] = c_new
    slot_of[i] = count[c_new]
    count[c_new] += 1
    return True


@numba.njit(cache=True)
def rotate(w, x, y, z, vx, vy, vz):
    """v rotated by the unit quaternion (w, x, y, z): v + w t + q x t with t = 2 q x v."""
    tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
    return (vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx))


@numba.njit(cache=True)
def span(c, radius, width, n):
    """(first cell, number of cells) along one axis within `radius` of cell c, each cell once."""
    m = int(math.ceil(radius / width))
    if 2 * m + 1 >= n:
        return 0, n
    return c - m + n, 2 * m + 1


@numba.njit(cache=True)
def reach_cells(x, x_fwd, reach, length, n):
    """(first cell, count) along one axis of the cells with points within `reach` of x or of
    x_fwd (periodic; the first cell unwrapped, count n for all).  A particle in any other cell
    is farther than `reach` from both, which the link scan would skip anyway; the 1e-9 margin
    keeps cells that rounding might otherwise drop."""
    d = min_image(x_fwd - x, length)
    width = length / n
    lo = math.floor((x + min(d, 0.0) - reach - 1e-9 + 0.5 * length) / width)
    hi = math.floor((x + max(d, 0.0) + reach + 1e-9 + 0.5 * length) / width)
    return int(lo), min(int(hi - lo) + 1, n)
