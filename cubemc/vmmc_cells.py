"""Periodic geometry and a cell list that follows moving particles, for the VMMC moves
(cubemc/vmmc_moves.py).

Independent of the shape and pair energy, and single source: `cell_functions(jit)` compiles them
for the CPU (numba.njit) or for CUDA (cuda.jit(device=True)) with the moves of each
specialisation.  The are those of the simulation's checkerboard grid (cubemc.geometry.cell_grid: each at least
one interaction range wide), without a shift; a particle that moves to another cell takes the
last slot of its new cell and the last member of its old cell fills its slot, so the order is a
deterministic function of the moves made since the list was built.
"""

import math

import numba


def cell_functions(jit):
    """The functions below compiled with `jit` (numba.njit or cuda.jit(device=True)), by name."""

    @jit
    def wrap(x, length):
        return x - length * math.floor(x / length + 0.5)

    @jit
    def min_image(d, length):
        return d - length * math.floor(d / length + 0.5)

    @jit
    def wrap_index(k, n):
        """k % n for 0 <= k < 2 n."""
        return k - n if k >= n else k

    @jit
    def axis_cell(x, length, n):
        return min(max(int((x / length + 0.5) * n), 0), n - 1)

    @jit
    def cell_index(x, y, z, box, grid):
        return (axis_cell(x, box[0], grid[0]) * grid[1] + axis_cell(y, box[1], grid[1])) * grid[
            2
        ] + axis_cell(z, box[2], grid[2])

    @jit
    def append(i, c, cells):
        """Particle i into the last slot of cell c; False if the cell is full."""
        count, members, cell_of, slot_of = cells[0], cells[1], cells[2], cells[3]
        if count[c] >= members.shape[1]:
            return False
        members[c, count[c]] = i
        cell_of[i] = c
        slot_of[i] = count[c]
        count[c] += 1
        return True

    @jit
    def build_cells(pos, box, grid, cells):
        """Cell list in particle order; False if a cell overflows (only with overlaps)."""
        count = cells[0]
        for m in range(count.shape[0]):  # a loop: CUDA device code has no slice assignment
            count[m] = 0
        for i in range(pos.shape[0]):
            if not append(i, cell_index(pos[i, 0], pos[i, 1], pos[i, 2], box, grid), cells):
                return False
        return True

    @jit
    def relocate(i, c_new, cells):
        """Move particle i to cell c_new (the last member of its old cell takes its slot)."""
        count, members, cell_of, slot_of = cells[0], cells[1], cells[2], cells[3]
        c = cell_of[i]
        if c == c_new:
            return True
        last = members[c, count[c] - 1]
        members[c, slot_of[i]] = last
        slot_of[last] = slot_of[i]
        count[c] -= 1
        return append(i, c_new, cells)

    @jit
    def rotate(w, x, y, z, vx, vy, vz):
        """v rotated by the unit quaternion (w, x, y, z): v + w t + q x t with t = 2 q x v."""
        tx, ty, tz = 2.0 * (y * vz - z * vy), 2.0 * (z * vx - x * vz), 2.0 * (x * vy - y * vx)
        return (
            vx + w * tx + (y * tz - z * ty),
            vy + w * ty + (z * tx - x * tz),
            vz + w * tz + (x * ty - y * tx),
        )

    @jit
    def span(c, radius, width, n):
        """(first cell, number of cells) along one axis within `radius` of cell c, each cell once."""
        m = int(math.ceil(radius / width))
        if 2 * m + 1 >= n:
            return 0, n
        return c - m + n, 2 * m + 1

    @jit
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

    return dict(
        wrap=wrap,
        min_image=min_image,
        wrap_index=wrap_index,
        axis_cell=axis_cell,
        cell_index=cell_index,
        build_cells=build_cells,
        relocate=relocate,
        rotate=rotate,
        span=span,
        reach_cells=reach_cells,
    )


# host versions for tests and tools (the moves build their own, tagged per specialisation)
_host = cell_functions(numba.njit)
wrap = _host["wrap"]
min_image = _host["min_image"]
wrap_index = _host["wrap_index"]
axis_cell = _host["axis_cell"]
cell_index = _host["cell_index"]
build_cells = _host["build_cells"]
relocate = _host["relocate"]
rotate = _host["rotate"]
span = _host["span"]
reach_cells = _host["reach_cells"]
