"""Periodic geometry and a cell list that follows moving particles, for the VMMC moves
(cubemc/vmmc_moves.py).

Independent of the shape and pair energy, and single source: `cell_functions(jit)` compiles them
for the CPU (numba.njit) or for CUDA (cuda.jit(device=True)) with the moves of each
specialisation.  The cells are those of the simulation's checkerboard grid
(cubemc.geometry.cell_grid: each at least one interaction range wide), without a shift; a
particle that moves to another cell takes the last slot of its new cell and the last member of
its old cell fills its slot, so the order is a deterministic function of the moves made since the
list was built.  `list_cells` gives the cells one member's scan visits, in visiting order, for
both the CPU scan and the GPU's block layout.
"""

import math

import numba

from cubemc.kernel_basics import host_functions


def cell_functions(jit, wrap):
    """The functions below compiled with `jit` (numba.njit or cuda.jit(device=True)), by name;
    `wrap` is the engine's periodic wrap (kernel_basics.grid_functions) compiled with the same jit,
    also the nearest image of any difference."""

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
        d = wrap(x_fwd - x, length)
        width = length / n
        lo = math.floor((x + min(d, 0.0) - reach - 1e-9 + 0.5 * length) / width)
        hi = math.floor((x + max(d, 0.0) + reach + 1e-9 + 0.5 * length) / width)
        return int(lo), min(int(hi - lo) + 1, n)

    @jit
    def list_cells(i, old, fwd, radius, geo, cells, out, starts):  # noqa: PLR0913 (compiled: tuples of arrays, no structs)
        """The cells a scan of member i (at `old`, virtually at `fwd`) visits, in visiting order,
        into `out`, and where each one's cubes start in the scan's list into `starts`; returns
        (cells, cubes), cubes -1 if `out` is too short.  The cells of the span within `radius`
        that can hold a partner (within reach of i now or after the forward move), in the span's
        order, so that the link draws come in the same order."""
        box, grid, width, reach, _ = geo
        count, c = cells[0], cells[2][i]
        nx, ny, nz = grid
        sx, kx = span(c // (nz * ny), radius, width[0], nx)
        sy, ky = span((c // nz) % ny, radius, width[1], ny)
        sz, kz = span(c % nz, radius, width[2], nz)
        lx, cx = reach_cells(old[0], fwd[0], reach, box[0], nx)
        ly, cy = reach_cells(old[1], fwd[1], reach, box[1], ny)
        lz, cz = reach_cells(old[2], fwd[2], reach, box[2], nz)
        # (s + a) % n and (s + a - l) % n by one conditional subtraction (a < k <= n): the modulos
        # cost more than the cells' distance tests
        x0, y0, z0, wx, wy, wz = sx % nx, sy % ny, sz % nz, (sx - lx) % nx, (sy - ly) % ny, (sz - lz) % nz
        n_cells, n_cubes = 0, 0
        for ax in range(kx):
            if wrap_index(wx + ax, nx) >= cx:
                continue
            mx = wrap_index(x0 + ax, nx) * ny
            for ay in range(ky):
                if wrap_index(wy + ay, ny) >= cy:
                    continue
                my = (mx + wrap_index(y0 + ay, ny)) * nz
                for az in range(kz):
                    if wrap_index(wz + az, nz) >= cz:
                        continue
                    if n_cells == out.shape[0]:
                        return n_cells, -1
                    m = my + wrap_index(z0 + az, nz)
                    out[n_cells] = m
                    starts[n_cells] = n_cubes
                    n_cells += 1
                    n_cubes += count[m]
        starts[n_cells] = n_cubes
        return n_cells, n_cubes

    @jit
    def geometry(box, grid, settings):
        """geo = (box, grid, cell widths, reach, (L_min / 4)^2) of the moves' functions."""
        bx = (box[0], box[1], box[2])
        gr = (grid[0], grid[1], grid[2])
        width = (bx[0] / gr[0], bx[1] / gr[1], bx[2] / gr[2])
        # settings[7]: the interaction range (hard core or pair energy; cells are at least as
        # wide, with a margin for rounding); rotations need the cluster within L/4 of the pivot
        reach = min(settings[7] * (1.0 + 1e-9) + 1e-9, min(width[0], min(width[1], width[2])))
        return (bx, gr, width, reach, (0.25 * min(bx[0], min(bx[1], bx[2]))) ** 2)

    return dict(
        list_cells=list_cells,
        geometry=geometry,
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
_host = cell_functions(numba.njit, host_functions()["wrap"])
wrap_index = _host["wrap_index"]
axis_cell = _host["axis_cell"]
cell_index = _host["cell_index"]
build_cells = _host["build_cells"]
relocate = _host["relocate"]
rotate = _host["rotate"]
span = _host["span"]
reach_cells = _host["reach_cells"]
