"""CPU target: the shared kernels compiled with numba and driven by multithreaded loops.

This file is a template specialised per (shape, pair energy) by cubemc/targets.py, which sets
the module globals SHAPE and PAIR before executing it (numba caches compiled functions per file,
so each specialisation gets its own cache folder there).  Every driver works on a batch of B
systems of equal N: a single simulation is a batch of one.  A whole run of sweeps happens inside
one compiled call (no Python per sweep); the active cells of a checkerboard set, over all systems,
are distributed over threads with `prange`.
"""

import numba
import numpy as np
from numba import prange

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_k = make_kernels(numba.njit, SHAPE, PAIR, inline=numba.njit(inline="always"))
# module-level names: numba cannot reach helpers through a dict or namespace object
update_active_cell = _k["update_active_cell"]
serial_trial = _k["serial_trial"]
assign_cell = _k["assign_cell"]
grid_shift = _k["grid_shift"]
pair_state = _k["pair_state"]
overlap_at = _k["overlap_at"]
pair_units = _k["pair_units"]
quat_to_matrix = _k["quat_to_matrix"]
offset = _k["offset"]

#: below this many active cells per set (all systems together) the cells run on one thread
PARALLEL_MIN_CELLS = 8


@numba.njit(cache=True)
def build_cells(pos, box, shift, grid, cell_count, members):
    """Fill the cell list in particle order; returns False if a cell overflows."""
    cell_count[:] = 0
    cap = members.shape[1]
    for i in range(pos.shape[0]):
        c = assign_cell(
            pos[i, 0],
            pos[i, 1],
            pos[i, 2],
            box[0],
            box[1],
            box[2],
            shift[0],
            shift[1],
            shift[2],
            grid[0],
            grid[1],
            grid[2],
        )
        k = cell_count[c]
        if k >= cap:
            return False
        members[c, k] = i
        cell_count[c] = k + 1
    return True


@numba.njit(cache=True)
def _layout(grids):
    """Offsets of each system's active cells in the flat list, and the owner of each entry."""
    n_sys = grids.shape[0]
    offsets = np.zeros(n_sys + 1, np.int64)
    for b in range(n_sys):
        offsets[b + 1] = offsets[b] + (grids[b, 0] // 2) * (grids[b, 1] // 2) * (grids[b, 2] // 2)
    owner = np.empty(offsets[n_sys], np.int64)
    for b in range(n_sys):
        owner[offsets[b] : offsets[b + 1]] = b
    return offsets, owner


@numba.njit(cache=True)
def _update_into(
    res, t, b, kset, offsets, sweep, pos, quat, shapes, cells, boxes, grids, seeds, moves, pair_params
):  # noqa: PLR0913 (thin wrapper so prange bodies stay small)
    grid = (grids[b, 0], grids[b, 1], grids[b, 2])
    box = (boxes[b, 0], boxes[b, 1], boxes[b, 2])
    mv = (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3])
    r = update_active_cell(
        t - offsets[b],
        kset,
        seeds[b],
        sweep,
        pos[b],
        quat[b],
        shapes[b],
        (cells[0][b], cells[1][b]),
        grid,
        box,
        mv,
        pair_params[b],
    )
    for q in range(5):
        res[t, q] = r[q]


@numba.njit(cache=True)
def _build_system_cells(b, s, pos, boxes, grids, seeds, sweep0, cells, built):
    box = (boxes[b, 0], boxes[b, 1], boxes[b, 2])
    shift = grid_shift(seeds[b], sweep0[b] + s, box[0], box[1], box[2])
    built[b] = build_cells(pos[b], box, shift, grids[b], cells[0][b], cells[1][b])


@numba.njit(parallel=True, cache=True)
def sweeps(
    pos, quat, shapes, boxes, grids, cap, seeds, sweep0, n_sweeps, moves, pair_params, units, counts, trace
):  # noqa: PLR0913 (one compiled call per run: all arrays in)
    """Run n_sweeps checkerboard sweeps of B systems of equal N, in place.

    pos (B, N, 3), quat (B, N, 4), shapes (B, N, P), boxes (B, 3), grids (B, 3); per system the
    seed, starting sweep, moves (d, a, beta_epsilon, largest overlap distance^2), pair parameters,
    running energy units (B,), counts (B, 4) = (accepted translations, translations, accepted
    rotations, rotations) and trace (B, n_sweeps) = units after each sweep.  Each system draws
    exactly the random numbers of its own separate run.  Returns False on a cell overflow (only
    possible for an overlapping configuration).
    """
    n_sys = pos.shape[0]
    n_cells = 0
    for b in range(n_sys):
        n_cells = max(n_cells, grids[b, 0] * grids[b, 1] * grids[b, 2])
    cell_count = np.zeros((n_sys, n_cells), np.int64)
    members = np.empty((n_sys, n_cells, cap), np.int32)
    cells = (cell_count, members)
    built = np.ones(n_sys, np.bool_)
    offsets, owner = _layout(grids)
    total = offsets[n_sys]
    res = np.zeros((total, 5), np.int64)
    for s in range(n_sweeps):
        if n_sys > 1:
            for b in prange(n_sys):
                _build_system_cells(b, s, pos, boxes, grids, seeds, sweep0, cells, built)
        else:  # a batch of one: no parallel region for one cell list
            _build_system_cells(0, s, pos, boxes, grids, seeds, sweep0, cells, built)
        if not built.all():
            return False
        for kset in range(8):
            if total >= PARALLEL_MIN_CELLS:
                for t in prange(total):
                    _update_into(
                        res,
                        t,
                        owner[t],
                        kset,
                        offsets,
                        sweep0[owner[t]] + s,
                        pos,
                        quat,
                        shapes,
                        cells,
                        boxes,
                        grids,
                        seeds,
                        moves,
                        pair_params,
                    )
            else:  # a few cells: starting threads would cost more than the work
                for t in range(total):
                    _update_into(
                        res,
                        t,
                        owner[t],
                        kset,
                        offsets,
                        sweep0[owner[t]] + s,
                        pos,
                        quat,
                        shapes,
                        cells,
                        boxes,
                        grids,
                        seeds,
                        moves,
                        pair_params,
                    )
            for t in range(total):
                b = owner[t]
                units[b] += res[t, 0]
                for q in range(4):
                    counts[b, q] += res[t, q + 1]
        for b in range(n_sys):
            trace[b, s] = units[b]
    return True


@numba.njit(cache=True)
def serial_sweeps(pos, quat, shapes, box, seed, sweep0, n_sweeps, moves, pair_params, units, counts, trace):  # noqa: PLR0913 (one compiled call per run)
    """Reference schedule for one system: each sweep is N trials on uniformly chosen particles."""
    n = pos.shape[0]
    bx = (box[0], box[1], box[2])
    mv = (moves[0], moves[1], moves[2], moves[3])
    for s in range(n_sweeps):
        sweep = sweep0 + s
        for t in range(n):
            delta, is_t, accepted = serial_trial(t, seed, sweep, pos, quat, shapes, bx, mv, pair_params)
            units += delta
            if is_t:
                counts[1] += 1
                counts[0] += accepted
            else:
                counts[3] += 1
                counts[2] += accepted
        trace[s] = units
    return units


@numba.njit(parallel=True, cache=True)
def count_pairs(pos, quat, shapes, box, grid, cap, pair_params):
    """From-scratch (energy units, overlaps) with a cell list; each unordered pair counted once.

    Returns (-1, -1) if a cell overflows (then the configuration overlaps)."""
    nx, ny, nz = grid[0], grid[1], grid[2]
    cell_count = np.zeros(nx * ny * nz, np.int64)
    members = np.empty((nx * ny * nz, cap), np.int32)
    if not build_cells(pos, box, (0.0, 0.0, 0.0), grid, cell_count, members):
        return -1, -1
    n = pos.shape[0]
    units_i = np.zeros(n, np.int64)
    over_i = np.zeros(n, np.int64)
    for i in prange(n):
        c = assign_cell(pos[i, 0], pos[i, 1], pos[i, 2], box[0], box[1], box[2], 0.0, 0.0, 0.0, nx, ny, nz)
        cz = c % nz
        cy = (c // nz) % ny
        cx = c // (nz * ny)
        for ox in range(-1 if nx > 2 else 0, 2):
            for oy in range(-1 if ny > 2 else 0, 2):
                for oz in range(-1 if nz > 2 else 0, 2):
                    m = (((cx + ox + nx) % nx) * ny + (cy + oy + ny) % ny) * nz + (cz + oz + nz) % nz
                    for s in range(cell_count[m]):
                        j = members[m, s]
                        if j <= i:
                            continue
                        overlap, u = pair_state(i, j, pos, quat, shapes, box, pair_params)
                        over_i[i] += overlap
                        units_i[i] += u
    return units_i.sum(), over_i.sum()


@numba.njit(cache=True)
def first_overlap(pos, quat, shapes, box, pair_params):
    """Indices of one overlapping pair (brute force; only called after overlaps were found)."""
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            if pair_state(i, j, pos, quat, shapes, box, pair_params)[0]:
                return i, j
    return -1, -1


@numba.njit(parallel=True, cache=True)
def overlap_many(d, qa, qb, shapes, out):
    """Exact overlap of many pairs: particle 1 (orientation qb[k]) at d[k] from particle 0 (qa[k]).

    shapes (2, P) holds the shape parameters of particles 0 and 1 (used by tests and checks)."""
    for k in prange(d.shape[0]):
        quat = np.empty((2, 4))
        quat[0] = qa[k]
        quat[1] = qb[k]
        mi = quat_to_matrix(qa[k, 0], qa[k, 1], qa[k, 2], qa[k, 3])
        out[k] = overlap_at(0, 1, d[k, 0], d[k, 1], d[k, 2], mi, quat, shapes)
