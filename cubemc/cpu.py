"""CPU target: the shared kernels compiled with numba and driven by multithreaded loops.

A whole batch of sweeps runs inside one compiled call (no Python per sweep); the active cells of a
checkerboard set are distributed over threads with `prange`.
"""

import hashlib
import os

import numba
import numpy as np
from numba import prange

from .kernels import make_kernels


def _cache_dir():
    """Compiled-kernel cache keyed by the kernel sources and numba's version.

    numba's own cache only notices edits to the file of the cached function, not to kernels.py,
    so the folder name carries a hash of both sources.  CUBEMC_CACHE_DIR overrides the location.
    """
    digest = hashlib.sha256(numba.__version__.encode())
    for name in ("kernels.py", "cpu.py"):
        with open(os.path.join(os.path.dirname(__file__), name), "rb") as fh:
            digest.update(fh.read())
    base = os.environ.get("CUBEMC_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "cubemc")
    return os.path.join(base, "numba-" + digest.hexdigest()[:16])


# numba reads CACHE_DIR when a cached function is decorated, so set it around this module only
_user_cache_dir = numba.config.CACHE_DIR
numba.config.CACHE_DIR = _cache_dir()

_k = make_kernels(numba.njit)
# module-level names: numba cannot reach helpers through a dict or namespace object
cubes_overlap = _k["cubes_overlap"]
pair_overlap = _k["pair_overlap"]
in_well = _k["in_well"]
update_active_cell = _k["update_active_cell"]
serial_trial = _k["serial_trial"]
assign_cell = _k["assign_cell"]
grid_shift = _k["grid_shift"]


@numba.njit(cache=True)
def build_cells(pos, lx, ly, lz, sx, sy, sz, nx, ny, nz, cell_count, members):
    """Fill the cell list in particle order; returns False if a cell overflows."""
    cell_count[:] = 0
    cap = members.shape[1]
    for i in range(pos.shape[0]):
        c = assign_cell(pos[i, 0], pos[i, 1], pos[i, 2], lx, ly, lz, sx, sy, sz, nx, ny, nz)
        k = cell_count[c]
        if k >= cap:
            return False
        members[c, k] = i
        cell_count[c] = k + 1
    return True


#: below this many active cells per set the cells are updated on one thread
PARALLEL_MIN_CELLS = 8


@numba.njit(cache=True)
def _update_into(res, m, k, seed, sweep, pos, quat, cell_count, members, grid, box, d_move, a_move,
                 beta_eps, well2):
    r = update_active_cell(m, k, seed, sweep, pos, quat, cell_count, members, grid[0], grid[1],
                           grid[2], box[0], box[1], box[2], d_move, a_move, beta_eps, well2)
    for q in range(5):
        res[m, q] = r[q]


@numba.njit(parallel=True, cache=True)
def checkerboard_sweeps(pos, quat, box, grid, cap, seed, sweep0, n_sweeps, d_move, a_move,
                        beta_eps, well2, bonds, counts, trace):
    """Run n_sweeps checkerboard sweeps in place.

    counts[0:4] accumulates (accepted translations, translations, accepted rotations, rotations);
    trace[s] receives the bond count after sweep s.  Returns (bonds, ok); ok is False if a cell
    overflowed (only possible for an overlapping configuration).
    """
    lx, ly, lz = box[0], box[1], box[2]
    nx, ny, nz = grid[0], grid[1], grid[2]
    cell_count = np.zeros(nx * ny * nz, np.int64)
    members = np.empty((nx * ny * nz, cap), np.int32)
    n_active = (nx // 2) * (ny // 2) * (nz // 2)
    res = np.zeros((n_active, 5), np.int64)
    for s in range(n_sweeps):
        sweep = sweep0 + s
        sx, sy, sz = grid_shift(seed, sweep, lx, ly, lz)
        if not build_cells(pos, lx, ly, lz, sx, sy, sz, nx, ny, nz, cell_count, members):
            return bonds, False
        for k in range(8):
            if n_active >= PARALLEL_MIN_CELLS:
                for m in prange(n_active):
                    _update_into(res, m, k, seed, sweep, pos, quat, cell_count, members, grid, box,
                                 d_move, a_move, beta_eps, well2)
            else:  # a few cells: starting threads would cost more than the work
                for m in range(n_active):
                    _update_into(res, m, k, seed, sweep, pos, quat, cell_count, members, grid, box,
                                 d_move, a_move, beta_eps, well2)
            for m in range(n_active):
                bonds += res[m, 0]
                counts[0] += res[m, 1]
                counts[1] += res[m, 2]
                counts[2] += res[m, 3]
                counts[3] += res[m, 4]
        trace[s] = bonds
    return bonds, True


@numba.njit(cache=True)
def serial_sweeps(pos, quat, box, seed, sweep0, n_sweeps, d_move, a_move, beta_eps, well2,
                  bonds, counts, trace):
    """Reference schedule: each sweep is N trials on uniformly chosen cubes."""
    lx, ly, lz = box[0], box[1], box[2]
    n = pos.shape[0]
    for s in range(n_sweeps):
        sweep = sweep0 + s
        for t in range(n):
            delta, is_t, accepted = serial_trial(t, seed, sweep, pos, quat, lx, ly, lz,
                                                 d_move, a_move, beta_eps, well2)
            bonds += delta
            if is_t:
                counts[1] += 1
                counts[0] += accepted
            else:
                counts[3] += 1
                counts[2] += accepted
        trace[s] = bonds
    return bonds, True


@numba.njit(parallel=True, cache=True)
def count_pairs(pos, quat, box, grid, cap, well2):
    """From-scratch (bonds, overlaps) with a cell list; each unordered pair counted once."""
    lx, ly, lz = box[0], box[1], box[2]
    nx, ny, nz = grid[0], grid[1], grid[2]
    cell_count = np.zeros(nx * ny * nz, np.int64)
    members = np.empty((nx * ny * nz, cap), np.int32)
    if not build_cells(pos, lx, ly, lz, 0.0, 0.0, 0.0, nx, ny, nz, cell_count, members):
        return -1, -1
    n = pos.shape[0]
    bonds_i = np.zeros(n, np.int64)
    over_i = np.zeros(n, np.int64)
    for i in prange(n):
        c = assign_cell(pos[i, 0], pos[i, 1], pos[i, 2], lx, ly, lz, 0.0, 0.0, 0.0, nx, ny, nz)
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
                        if in_well(pos[i, 0], pos[i, 1], pos[i, 2], pos[j, 0], pos[j, 1],
                                   pos[j, 2], lx, ly, lz, well2):
                            bonds_i[i] += 1
                        if pair_overlap(i, j, pos[i, 0], pos[i, 1], pos[i, 2], quat[i, 0],
                                        quat[i, 1], quat[i, 2], quat[i, 3], pos, quat, lx, ly, lz):
                            over_i[i] += 1
    return bonds_i.sum(), over_i.sum()


@numba.njit(cache=True)
def first_overlap(pos, quat, box):
    """Indices of one overlapping pair (brute force; only called after overlaps were found)."""
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            if pair_overlap(i, j, pos[i, 0], pos[i, 1], pos[i, 2], quat[i, 0], quat[i, 1],
                            quat[i, 2], quat[i, 3], pos, quat, box[0], box[1], box[2]):
                return i, j
    return -1, -1


@numba.njit(parallel=True, cache=True)
def overlap_many(d, qa, qb, out):
    """Vectorised exact overlap test for many pairs (used by tests and geometry checks)."""
    for k in prange(d.shape[0]):
        out[k] = cubes_overlap(d[k, 0], d[k, 1], d[k, 2], qa[k, 0], qa[k, 1], qa[k, 2], qa[k, 3],
                               qb[k, 0], qb[k, 1], qb[k, 2], qb[k, 3])


@numba.njit(parallel=True, cache=True)
def batched_sweeps(pos, quat, boxes, grids, cap, seeds, sweep0, n_sweeps, d_moves, a_moves,
                   beta_eps, well2s, bonds, counts, trace):
    """Checkerboard sweeps of B independent systems of equal N in one call.

    pos (B, N, 3), quat (B, N, 4), boxes/grids (B, 3); per-system seeds, starting sweeps, move
    sizes, beta_eps, well2, bonds (B,), counts (B, 4) and trace (B, n_sweeps).  All active cells
    of all systems share one prange, so many small systems fill the cores; each system sees
    exactly the random numbers of its own separate run.  Returns ok (False on cell overflow).
    """
    n_sys = pos.shape[0]
    n_cells = np.empty(n_sys, np.int64)
    offsets = np.zeros(n_sys + 1, np.int64)
    for b in range(n_sys):
        n_cells[b] = grids[b, 0] * grids[b, 1] * grids[b, 2]
        offsets[b + 1] = offsets[b] + (grids[b, 0] // 2) * (grids[b, 1] // 2) * (grids[b, 2] // 2)
    cell_count = np.zeros((n_sys, n_cells.max()), np.int64)
    members = np.empty((n_sys, n_cells.max(), cap), np.int32)
    built = np.ones(n_sys, np.bool_)
    total = offsets[n_sys]
    res = np.zeros((total, 5), np.int64)
    owner = np.empty(total, np.int64)
    for b in range(n_sys):
        owner[offsets[b]:offsets[b + 1]] = b
    for s in range(n_sweeps):
        for b in prange(n_sys):
            sx, sy, sz = grid_shift(seeds[b], sweep0[b] + s, boxes[b, 0], boxes[b, 1], boxes[b, 2])
            built[b] = build_cells(pos[b], boxes[b, 0], boxes[b, 1], boxes[b, 2], sx, sy, sz,
                                   grids[b, 0], grids[b, 1], grids[b, 2], cell_count[b], members[b])
        if not built.all():
            return False
        for k in range(8):
            for t in prange(total):
                b = owner[t]
                r = update_active_cell(t - offsets[b], k, seeds[b], sweep0[b] + s, pos[b], quat[b],
                                       cell_count[b], members[b], grids[b, 0], grids[b, 1],
                                       grids[b, 2], boxes[b, 0], boxes[b, 1], boxes[b, 2],
                                       d_moves[b], a_moves[b], beta_eps[b], well2s[b])
                for q in range(5):
                    res[t, q] = r[q]
            for t in range(total):
                b = owner[t]
                bonds[b] += res[t, 0]
                for q in range(4):
                    counts[b, q] += res[t, q + 1]
        for b in range(n_sys):
            trace[b, s] = bonds[b]
    return True


numba.config.CACHE_DIR = _user_cache_dir
