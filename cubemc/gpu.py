"""CUDA target: the shared kernels compiled with numba-cuda.

Imported only when a GPU (or the CUDA simulator, NUMBA_ENABLE_CUDASIM=1) is requested.  Per sweep
the host only enqueues kernels (cell list, 8 checkerboard sets, trace); nothing is copied back until
the caller asks for positions, so a batch of sweeps has no host round trips.

The cell list is built with atomics, whose order is arbitrary, so each cell's members are sorted by
particle index afterwards: cube k of a cell is then the same cube as on the CPU, and both targets
produce the same trajectory for the same seed (up to floating-point contraction on real GPUs).
"""

import warnings

import numba
import numpy as np
from numba import cuda

from .kernels import make_kernels

# the simulator does uint64 arithmetic with NumPy scalars, which wrap correctly but warn
warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)

_k = make_kernels(cuda.jit(device=True))
update_cell = _k["update_cell"]
assign_cell = _k["assign_cell"]
active_cell = _k["active_cell"]
grid_shift = _k["grid_shift"]

THREADS = 64


@cuda.jit
def _clear(cell_count, status):
    c = cuda.grid(1)
    if c < cell_count.shape[0]:
        cell_count[c] = 0


@cuda.jit
def _assign(pos, box, grid, seed, sweep, cell_count, members, status):
    i = cuda.grid(1)
    if i >= pos.shape[0]:
        return
    sx, sy, sz = grid_shift(seed, sweep, box[0], box[1], box[2])
    c = assign_cell(pos[i, 0], pos[i, 1], pos[i, 2], box[0], box[1], box[2], sx, sy, sz,
                    grid[0], grid[1], grid[2])
    k = cuda.atomic.add(cell_count, c, 1)
    if k < members.shape[1]:
        members[c, k] = i
    else:
        status[0] = 1


@cuda.jit
def _sort(cell_count, members):
    c = cuda.grid(1)
    if c >= cell_count.shape[0]:
        return
    n = min(cell_count[c], members.shape[1])
    for a in range(1, n):  # insertion sort: cells hold a handful of cubes
        v = members[c, a]
        b = a - 1
        while b >= 0 and members[c, b] > v:
            members[c, b + 1] = members[c, b]
            b -= 1
        members[c, b + 1] = v


@cuda.jit
def _update(parity, pos, quat, box, grid, seed, sweep, cell_count, members, d_move, a_move,
            beta_eps, well2, counts):
    m = cuda.grid(1)
    nx, ny, nz = grid[0], grid[1], grid[2]
    if m >= (nx // 2) * (ny // 2) * (nz // 2):
        return
    sx, sy, sz = grid_shift(seed, sweep, box[0], box[1], box[2])
    c = active_cell(m, parity, nx, ny, nz)
    r = update_cell(c, seed, sweep, pos, quat, cell_count, members, nx, ny, nz,
                    box[0], box[1], box[2], sx, sy, sz, d_move, a_move, beta_eps, well2)
    if r[0] != 0:
        cuda.atomic.add(counts, 0, r[0])
    cuda.atomic.add(counts, 1, r[1])
    cuda.atomic.add(counts, 2, r[2])
    cuda.atomic.add(counts, 3, r[3])
    cuda.atomic.add(counts, 4, r[4])


@cuda.jit
def _trace(counts, trace, s):
    if cuda.grid(1) == 0:
        trace[s] = counts[0]


def _blocks(n):
    return max(1, (n + THREADS - 1) // THREADS)


class GPUBackend:
    """Holds the configuration on the device and runs checkerboard sweeps there."""

    def __init__(self, pos, quat, box, grid, cap):
        self.pos = cuda.to_device(np.ascontiguousarray(pos))
        self.quat = cuda.to_device(np.ascontiguousarray(quat))
        self.box = cuda.to_device(np.asarray(box, np.float64))
        self.grid = cuda.to_device(np.asarray(grid, np.int64))
        self.n_cells = int(np.prod(grid))
        self.n_active = self.n_cells // 8
        self.cell_count = cuda.device_array(self.n_cells, np.int64)
        self.members = cuda.device_array((self.n_cells, cap), np.int32)
        self.status = cuda.to_device(np.zeros(1, np.int64))
        self.n = pos.shape[0]

    def sweeps(self, seed, sweep0, n_sweeps, d_move, a_move, beta_eps, well2, first_set):
        """Run sweeps; returns (delta_bonds trace, counts[4], ok)."""
        counts = cuda.to_device(np.zeros(5, np.int64))
        trace = cuda.device_array(n_sweeps, np.int64)
        seed = np.uint64(seed)
        d_move, a_move = np.float64(d_move), np.float64(a_move)
        beta_eps, well2 = np.float64(beta_eps), np.float64(well2)
        for s in range(n_sweeps):
            sweep = np.int64(sweep0 + s)
            _clear[_blocks(self.n_cells), THREADS](self.cell_count, self.status)
            _assign[_blocks(self.n), THREADS](self.pos, self.box, self.grid, seed, sweep,
                                              self.cell_count, self.members, self.status)
            _sort[_blocks(self.n_cells), THREADS](self.cell_count, self.members)
            start = first_set(seed, int(sweep))
            for k in range(8):
                _update[_blocks(self.n_active), THREADS](
                    np.int64((start + k) % 8), self.pos, self.quat, self.box, self.grid, seed,
                    sweep, self.cell_count, self.members, d_move, a_move, beta_eps, well2, counts)
            _trace[1, 1](counts, trace, np.int64(s))
        ok = int(self.status.copy_to_host()[0]) == 0
        c = counts.copy_to_host()
        return trace.copy_to_host(), c[1:5], ok

    def download(self):
        return self.pos.copy_to_host(), self.quat.copy_to_host()


def available():
    """True when numba-cuda sees a usable device (or runs the simulator)."""
    try:
        return bool(cuda.is_available())
    except Exception:  # driver libraries missing or broken: no GPU
        return False


def describe():
    if numba.config.ENABLE_CUDASIM:
        return "CUDA simulator"
    dev = cuda.get_current_device()
    name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
    return f"{name} (cc {dev.compute_capability[0]}.{dev.compute_capability[1]})"
