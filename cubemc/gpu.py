"""CUDA target: the shared kernels compiled with numba-cuda.

Imported only when a GPU (or the CUDA simulator, NUMBA_ENABLE_CUDASIM=1) is requested.  Per sweep
the host only enqueues kernels (cell list, 8 checkerboard sets, trace): grid shift and set order
are computed on the device from the counter-based RNG, and nothing is copied back until the caller
asks for positions, so a batch of sweeps has no host round trips.

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
update_active_cell = _k["update_active_cell"]
assign_cell = _k["assign_cell"]
grid_shift = _k["grid_shift"]

THREADS = 64


@cuda.jit
def _clear(cell_count):
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
def _update(k, pos, quat, box, grid, seed, sweep, cell_count, members, d_move, a_move,
            beta_eps, well2, counts):
    m = cuda.grid(1)
    nx, ny, nz = grid[0], grid[1], grid[2]
    if m >= (nx // 2) * (ny // 2) * (nz // 2):
        return
    r = update_active_cell(m, k, seed, sweep, pos, quat, cell_count, members, nx, ny, nz,
                           box[0], box[1], box[2], d_move, a_move, beta_eps, well2)
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


@cuda.jit
def _clear_batched(cell_count):
    t = cuda.grid(1)
    if t < cell_count.size:
        cell_count[t // cell_count.shape[1], t % cell_count.shape[1]] = 0


@cuda.jit
def _assign_batched(pos, boxes, grids, seeds, sweep0, s, cell_count, members, status):
    t = cuda.grid(1)
    n = pos.shape[1]
    if t >= pos.shape[0] * n:
        return
    b = t // n
    i = t % n
    sx, sy, sz = grid_shift(seeds[b], sweep0[b] + s, boxes[b, 0], boxes[b, 1], boxes[b, 2])
    c = assign_cell(pos[b, i, 0], pos[b, i, 1], pos[b, i, 2], boxes[b, 0], boxes[b, 1],
                    boxes[b, 2], sx, sy, sz, grids[b, 0], grids[b, 1], grids[b, 2])
    k = cuda.atomic.add(cell_count, (b, c), 1)
    if k < members.shape[2]:
        members[b, c, k] = i
    else:
        status[0] = 1


@cuda.jit
def _sort_batched(cell_count, members):
    t = cuda.grid(1)
    if t >= cell_count.size:
        return
    b = t // cell_count.shape[1]
    c = t % cell_count.shape[1]
    n = min(cell_count[b, c], members.shape[2])
    for a in range(1, n):
        v = members[b, c, a]
        q = a - 1
        while q >= 0 and members[b, c, q] > v:
            members[b, c, q + 1] = members[b, c, q]
            q -= 1
        members[b, c, q + 1] = v


@cuda.jit
def _update_batched(k, owner, offsets, pos, quat, boxes, grids, seeds, sweep0, s,
                    cell_count, members, d_moves, a_moves, beta_eps, well2s, counts):
    t = cuda.grid(1)
    if t >= owner.shape[0]:
        return
    b = owner[t]
    r = update_active_cell(t - offsets[b], k, seeds[b], sweep0[b] + s, pos[b], quat[b],
                           cell_count[b], members[b], grids[b, 0], grids[b, 1], grids[b, 2],
                           boxes[b, 0], boxes[b, 1], boxes[b, 2], d_moves[b], a_moves[b],
                           beta_eps[b], well2s[b])
    for q in range(5):
        if r[q] != 0:
            cuda.atomic.add(counts, (b, q), r[q])


@cuda.jit
def _trace_batched(counts, trace, s):
    b = cuda.grid(1)
    if b < counts.shape[0]:
        trace[b, s] = counts[b, 0]


def batched_sweeps(pos, quat, boxes, grids, cap, seeds, sweep0, n_sweeps, d_moves, a_moves,
                   beta_eps, well2s):
    """GPU counterpart of cpu.batched_sweeps on host arrays (uploaded once, downloaded once).

    Returns (pos, quat, delta-bond trace (B, n_sweeps), counts (B, 4), ok).
    """
    n_sys = pos.shape[0]
    n_cells = np.prod(grids, axis=1)
    n_active = np.prod(grids // 2, axis=1)
    offsets = np.concatenate([[0], np.cumsum(n_active)]).astype(np.int64)
    owner = np.repeat(np.arange(n_sys), n_active).astype(np.int64)
    d = {name: cuda.to_device(np.ascontiguousarray(arr)) for name, arr in dict(
        pos=pos, quat=quat, boxes=boxes, grids=grids.astype(np.int64), seeds=seeds,
        sweep0=sweep0.astype(np.int64), d_moves=d_moves, a_moves=a_moves, beta_eps=beta_eps,
        well2s=well2s, owner=owner, offsets=offsets).items()}
    cell_count = cuda.device_array((n_sys, int(n_cells.max())), np.int64)
    members = cuda.device_array((n_sys, int(n_cells.max()), cap), np.int32)
    status = cuda.to_device(np.zeros(1, np.int64))
    counts = cuda.to_device(np.zeros((n_sys, 5), np.int64))
    trace = cuda.device_array((n_sys, n_sweeps), np.int64)
    total = int(offsets[-1])
    for s in range(n_sweeps):
        s64 = np.int64(s)
        _clear_batched[_blocks(cell_count.size), THREADS](cell_count)
        _assign_batched[_blocks(pos.shape[0] * pos.shape[1]), THREADS](
            d["pos"], d["boxes"], d["grids"], d["seeds"], d["sweep0"], s64, cell_count, members,
            status)
        _sort_batched[_blocks(cell_count.size), THREADS](cell_count, members)
        for k in range(8):
            _update_batched[_blocks(total), THREADS](
                np.int64(k), d["owner"], d["offsets"], d["pos"], d["quat"], d["boxes"],
                d["grids"], d["seeds"], d["sweep0"], s64, cell_count, members, d["d_moves"],
                d["a_moves"], d["beta_eps"], d["well2s"], counts)
        _trace_batched[_blocks(n_sys), THREADS](counts, trace, s64)
    ok = int(status.copy_to_host()[0]) == 0
    return (d["pos"].copy_to_host(), d["quat"].copy_to_host(), trace.copy_to_host(),
            counts.copy_to_host()[:, 1:5], ok)


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

    def sweeps(self, seed, sweep0, n_sweeps, d_move, a_move, beta_eps, well2):
        """Run sweeps; returns (delta_bonds trace, counts[4], ok)."""
        counts = cuda.to_device(np.zeros(5, np.int64))
        trace = cuda.device_array(n_sweeps, np.int64)
        seed = np.uint64(seed)
        d_move, a_move = np.float64(d_move), np.float64(a_move)
        beta_eps, well2 = np.float64(beta_eps), np.float64(well2)
        for s in range(n_sweeps):
            sweep = np.int64(sweep0 + s)
            _clear[_blocks(self.n_cells), THREADS](self.cell_count)
            _assign[_blocks(self.n), THREADS](self.pos, self.box, self.grid, seed, sweep,
                                              self.cell_count, self.members, self.status)
            _sort[_blocks(self.n_cells), THREADS](self.cell_count, self.members)
            for k in range(8):
                _update[_blocks(self.n_active), THREADS](
                    np.int64(k), self.pos, self.quat, self.box, self.grid, seed,
                    sweep, self.cell_count, self.members, d_move, a_move, beta_eps, well2, counts)
            _trace[1, 1](counts, trace, np.int64(s))
        ok = int(self.status.copy_to_host()[0]) == 0
        c = counts.copy_to_host()
        return trace.copy_to_host(), c[1:5], ok

    def upload(self, pos, quat):
        self.pos.copy_to_device(np.ascontiguousarray(pos))
        self.quat.copy_to_device(np.ascontiguousarray(quat))

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
