"""CPU template: each particle's first event under virtual compression and expansion.

Specialised per (shape, pair energy) by cubemc.targets exactly like cpu.py (module globals SHAPE
and PAIR, a numba cache folder per specialisation keyed by the kernel sources), and used only
through cubemc.pressure; see that module for the estimator and its derivation.  The overlap test
is the kernels' own (`overlap_of`, cubemc/kernels.py), the single source of the hard core.
"""

import math

import numba
import numpy as np
from numba import prange

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")


def _jit(fn):
    """numba.njit under a per-specialisation name.  numba names a compiled closure by module,
    qualname and a per-process counter, and links a callee loaded from the cache by that name: the
    same kernels closure of two shapes, cached by two processes, could share a name, and the first
    one loaded would then serve both.  A qualname that says which specialisation it is keeps
    them apart."""
    fn.__qualname__ = f"{fn.__qualname__}__pressure_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(fn)


def _inline(fn):
    """_jit for the per-pair functions: spliced into their callers (see make_kernels)."""
    fn.__qualname__ = f"{fn.__qualname__}__pressure_{SHAPE.NAME}_{PAIR.NAME}"
    return numba.njit(inline="always")(fn)


_k = make_kernels(_jit, SHAPE, PAIR, inline=_inline)
overlap_of = _k["overlap_of"]
quat_to_matrix = _k["quat_to_matrix"]

#: event kinds (0: none within the largest scale examined); cubemc.pressure uses the same values
OVERLAP, WELL_ENTRY, WELL_EXIT = 1, 2, 3
#: bisection steps on the overlap test: resolves x to max_scale / 2**16, far below a bin
BISECTIONS = 16

inline = numba.njit(inline="always")


@inline
def nearest_image(d, length):
    return d - length * math.floor(d / length + 0.5)


@inline
def matrix(mats, i):
    m = mats[i]
    return (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])


@numba.njit(parallel=True, cache=True)
def matrices(quat):
    """Every particle's rotation matrix (quat_to_matrix), converted once per call."""
    mats = np.empty((quat.shape[0], 9))
    for i in prange(quat.shape[0]):
        m = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
        for k in range(9):
            mats[i, k] = m[k]
    return mats


@inline
def first_overlap(i, j, dx, dy, dz, mi, mj, shapes, lo, hi):  # noqa: PLR0913 (scalars)
    """Smallest compression in (lo, hi] at which j, at (dx, dy, dz) from i, overlaps i, given an
    overlap at hi and none at lo.  Bisection is exact for convex shapes: the overlapping scales of
    a pair form one interval (the overlap region of the offset is convex and contains 0)."""
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        f = 1.0 - mid
        if overlap_of(i, j, f * dx, f * dy, f * dz, mi, mj, shapes):
            hi = mid
        else:
            lo = mid
    return hi


@numba.njit(parallel=True, cache=True)
def cell_lists(pos, box, grid):
    """(order, starts, positions in cell order): the order and starts of cubemc.pressure.
    cell_lists on a given grid (particles sorted by cell, in particle order within a cell), built
    here with the cells assigned in parallel."""
    n = pos.shape[0]
    nx, ny, nz = grid[0], grid[1], grid[2]
    cell = np.empty((n, 3), np.int64)
    for i in prange(n):
        for a in range(3):
            c = int((pos[i, a] / box[a] + 0.5) * grid[a])  # truncation, as NumPy's astype
            cell[i, a] = min(max(c, 0), grid[a] - 1)
    starts = np.zeros(nx * ny * nz + 1, np.int64)
    for i in range(n):
        starts[(cell[i, 0] * ny + cell[i, 1]) * nz + cell[i, 2] + 1] += 1
    for m in range(nx * ny * nz):
        starts[m + 1] += starts[m]
    fill = starts[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        m = (cell[i, 0] * ny + cell[i, 1]) * nz + cell[i, 2]
        order[fill[m]] = i
        fill[m] += 1
    near = np.empty((n, 3))  # the walk reads neighbours' positions in a row
    for s in prange(n):
        near[s, 0], near[s, 1], near[s, 2] = pos[order[s], 0], pos[order[s], 1], pos[order[s], 2]
    return order, starts, near


@inline
def neighbour_cell(c, o, n, length):
    """(index, image shift) of the cell o steps from cell c on an axis of n cells: the shift
    (0 or +-length) puts the neighbour's particles at their nearest image when n > 2."""
    c2 = c + o
    if c2 >= n:
        return c2 - n, length
    if c2 < 0:
        return c2 + n, -length
    return c2, 0.0


@inline
def image(d, shift, n, length):
    """Nearest image of d = x_j - x_i for j in a neighbour cell: the cell's shift, which is the
    nearest image for every pair within the reach when n > 2 (and the same arithmetic,
    d - length * k, as nearest_image); with 2 cells along the axis both images are neighbours."""
    if n > 2:
        return d + shift
    return nearest_image(d, length)


@inline
def offset_within(near, t, xi, yi, zi, shift, grid, box, reach2):  # noqa: PLR0913 (scalars and arrays)
    """(dx, dy, dz, r2) of the particle at sorted index t from (xi, yi, zi), its cell's image
    shift given; r2 is inf as soon as one axis puts it beyond reach2 (the rest is not computed)."""
    dx = image(near[t, 0] - xi, shift[0], grid[0], box[0])
    r2 = dx * dx
    if r2 >= reach2:
        return 0.0, 0.0, 0.0, math.inf
    dy = image(near[t, 1] - yi, shift[1], grid[1], box[1])
    r2 += dy * dy
    if r2 >= reach2:
        return 0.0, 0.0, 0.0, math.inf
    dz = image(near[t, 2] - zi, shift[2], grid[2], box[2])
    return dx, dy, dz, r2 + dz * dz


@inline
def neighbourhood(m, grid, box):
    """The cells around cell m (itself included; along an axis of 2 cells both, once) in the
    order x, y, z of the offsets -1, 0, 1, with their image shifts: (count, cells, shifts)."""
    nx, ny, nz = grid[0], grid[1], grid[2]
    cx, cy, cz = m // (ny * nz), (m // nz) % ny, m % nz
    cells = np.empty(27, np.int64)
    shifts = np.empty((27, 3))
    q = 0
    for ox in range(-1 if nx > 2 else 0, 2):
        ax, sx = neighbour_cell(cx, ox, nx, box[0])
        for oy in range(-1 if ny > 2 else 0, 2):
            ay, sy = neighbour_cell(cy, oy, ny, box[1])
            for oz in range(-1 if nz > 2 else 0, 2):
                az, sz = neighbour_cell(cz, oz, nz, box[2])
                cells[q] = (ax * ny + ay) * nz + az
                shifts[q, 0], shifts[q, 1], shifts[q, 2] = sx, sy, sz
                q += 1
    return q, cells, shifts


@numba.njit(parallel=True, cache=True)
def scale_events(pos, quat, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind):  # noqa: PLR0913 (one compiled call: arrays in, arrays out)
    """Per particle i: (x, kind) of its first compressive (out_*[i, 0]) and expansive
    (out_*[i, 1]) event with any neighbour within max_scale.

    cells = (grid, order, starts, positions in cell order) from cell_lists, with cells at least
    as wide as the largest centre distance an event can involve; wells[i] is half the well of i,
    so the pair (i, j) has its step at wells[i] + wells[j] (0: no well events); reach2 bounds
    the squared centre distance of any event (pairs beyond it are skipped axis by axis before
    anything else). The particles are taken cell by cell, so each cell's neighbourhood is worked
    out once. Cells half as wide with two steps per axis were slower (measured: 18 ms against 10
    for 8000 cubes, one thread): the loop over nearly empty cells costs more than the pairs it
    saves.
    """
    grid, starts = cells[0], cells[2]
    nx, ny, nz = grid[0], grid[1], grid[2]
    mats = matrices(quat)
    for m in prange(nx * ny * nz):
        if starts[m] != starts[m + 1]:
            cell_events(m, mats, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind)


@_jit
def cell_events(m, mats, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind):  # noqa: PLR0913 (scale_events' arguments)
    """scale_events for the particles of cell m.  A function of its own, not the body of the
    prange: numba's parallel passes copy a loop body's IR many times, and the overlap test
    spliced into it made the compilation three times slower (measured)."""
    grid, order, starts, near = cells
    n_near, around, shifts = neighbourhood(m, grid, box)
    for s in range(starts[m], starts[m + 1]):
        i = order[s]
        mi = matrix(mats, i)
        xi, yi, zi = near[s, 0], near[s, 1], near[s, 2]
        xc, kc, xe, ke = max_scale, 0, max_scale, 0
        for q in range(n_near):
            m2 = around[q]
            shift = (shifts[q, 0], shifts[q, 1], shifts[q, 2])
            for t in range(starts[m2], starts[m2 + 1]):
                dx, dy, dz, r2 = offset_within(near, t, xi, yi, zi, shift, grid, box, reach2)
                if r2 >= reach2 or t == s:
                    continue
                j = order[t]
                r = math.sqrt(r2)
                well = wells[i] + wells[j]
                if r < well and well / r - 1.0 < xe:  # leaves the well on expansion
                    xe, ke = well / r - 1.0, WELL_EXIT
                if r >= well and 1.0 - well / r < xc:  # enters it on compression
                    xc, kc = 1.0 - well / r, WELL_ENTRY
                f = 1.0 - xc  # an overlap only counts if it comes before the best so far
                if f * f * r2 >= outer2:
                    continue
                mj = matrix(mats, j)
                if overlap_of(i, j, f * dx, f * dy, f * dz, mi, mj, shapes):
                    # bracketed by max_scale, not xc: the pair's x then does not depend on
                    # the order in which the neighbours are visited
                    lo = max(0.0, 1.0 - math.sqrt(outer2 / r2))
                    x = first_overlap(i, j, dx, dy, dz, mi, mj, shapes, lo, max_scale)
                    if x < xc:
                        xc, kc = x, OVERLAP
        out_x[i, 0] = xc
        out_kind[i, 0] = kc
        out_x[i, 1] = xe
        out_kind[i, 1] = ke


#: the 13 neighbour-cell offsets after (0, 0, 0) in x, y, z order: with the own cell, each pair
#: of neighbouring cells once
FORWARD = np.array(
    [(ox, oy, oz) for ox in (-1, 0, 1) for oy in (-1, 0, 1) for oz in (-1, 0, 1) if (ox, oy, oz) > (0, 0, 0)],
    np.int64,
)


@inline
def record(out_x, out_kind, i, side, x, kind):
    """Keep x as particle i's event on this side if it comes first."""
    if x < out_x[i, side]:
        out_x[i, side] = x
        out_kind[i, side] = kind


@numba.njit(parallel=True, cache=True)
def pair_events(pos, quat, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind):  # noqa: PLR0913 (scale_events' arguments)
    """scale_events with each pair examined once, for grids of 3 or more cells per axis, a
    multiple of 3 each: a pair's events are the same seen from either particle (the offsets are
    exact negatives, overlap_of orders the pair by index, the bisection is bracketed the same
    way), so each is recorded for both.  The cells are taken in 27 colours (cell coordinates
    modulo 3): cells of one colour are 3 apart, so no two of them, with the neighbours they
    write to, share a particle, and the cells of a colour run in parallel without races.  The
    same events as scale_events, bit for bit, for half the pair tests."""
    grid = cells[0]
    nx, ny, nz = grid[0], grid[1], grid[2]
    mats = matrices(quat)
    for i in prange(pos.shape[0]):
        out_x[i, 0], out_x[i, 1], out_kind[i, 0], out_kind[i, 1] = max_scale, max_scale, 0, 0
    hx, hy, hz = nx // 3, ny // 3, nz // 3
    for colour in range(27):
        for k in prange(hx * hy * hz):
            cx = 3 * (k // (hy * hz)) + colour // 9
            cy = 3 * ((k // hz) % hy) + (colour // 3) % 3
            cz = 3 * (k % hz) + colour % 3
            cell_pairs(
                cx, cy, cz, mats, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind
            )


@_jit
def cell_pairs(cx, cy, cz, mats, shapes, box, cells, outer2, wells, max_scale, reach2, out_x, out_kind):  # noqa: PLR0913 (pair_events' arguments)
    """pair_events for the pairs of cell (cx, cy, cz) with itself and its 13 forward neighbours
    (a function of its own for the reason given at cell_events)."""
    grid, order, starts, near = cells
    nx, ny, nz = grid[0], grid[1], grid[2]
    lx, ly, lz = box[0], box[1], box[2]
    m = (cx * ny + cy) * nz + cz
    for q in range(14):  # the own cell, then the forward ones
        ox, oy, oz = (0, 0, 0) if q == 0 else (FORWARD[q - 1, 0], FORWARD[q - 1, 1], FORWARD[q - 1, 2])
        ax, sx = neighbour_cell(cx, ox, nx, lx)
        ay, sy = neighbour_cell(cy, oy, ny, ly)
        az, sz = neighbour_cell(cz, oz, nz, lz)
        m2 = (ax * ny + ay) * nz + az
        for s in range(starts[m], starts[m + 1]):
            i = order[s]
            xi, yi, zi = near[s, 0], near[s, 1], near[s, 2]
            for t in range(s + 1 if q == 0 else starts[m2], starts[m2 + 1]):
                dx, dy, dz, r2 = offset_within(near, t, xi, yi, zi, (sx, sy, sz), grid, box, reach2)
                if r2 >= reach2:
                    continue
                j = order[t]
                r = math.sqrt(r2)
                well = wells[i] + wells[j]
                if r < well and well / r - 1.0 < max_scale:  # leaves the well on expansion
                    record(out_x, out_kind, i, 1, well / r - 1.0, WELL_EXIT)
                    record(out_x, out_kind, j, 1, well / r - 1.0, WELL_EXIT)
                if r >= well and 1.0 - well / r < max_scale:  # enters it on compression
                    record(out_x, out_kind, i, 0, 1.0 - well / r, WELL_ENTRY)
                    record(out_x, out_kind, j, 0, 1.0 - well / r, WELL_ENTRY)
                # an overlap only counts if it comes before the later of the two bests
                f = 1.0 - max(out_x[i, 0], out_x[j, 0])
                if f * f * r2 >= outer2:
                    continue
                mi, mj = matrix(mats, i), matrix(mats, j)
                if overlap_of(i, j, f * dx, f * dy, f * dz, mi, mj, shapes):
                    lo = max(0.0, 1.0 - math.sqrt(outer2 / r2))
                    x = first_overlap(i, j, dx, dy, dz, mi, mj, shapes, lo, max_scale)
                    record(out_x, out_kind, i, 0, x, OVERLAP)
                    record(out_x, out_kind, j, 0, x, OVERLAP)
