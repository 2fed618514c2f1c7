"""CUDA target: the shared kernels compiled with numba-cuda for batches of B systems.

A template specialised per (shape, pair energy) by cubemc/targets.py (module globals SHAPE and
PAIR), imported only when a GPU (or the CUDA simulator, NUMBA_ENABLE_CUDASIM=1) is requested.  A
single simulation is a batch of one.  Per sweep the host only enqueues kernels (cell list, 8
checkerboard sets, trace): grid shift and set order come from the counter-based RNG on the device,
and the configuration stays on the device across calls until the host asks for it.

The cell list is built with atomics, whose order is arbitrary, so each cell's members are sorted by
particle index afterwards: member k of a cell is then the same particle as on the CPU, and both
targets produce the same trajectory for the same seed (up to floating-point contraction on real
GPUs).
"""

import warnings

import numba
import numpy as np
from numba import cuda

from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_k = make_kernels(cuda.jit(device=True), SHAPE, PAIR)
update_active_cell = _k["update_active_cell"]
assign_cell = _k["assign_cell"]
grid_shift = _k["grid_shift"]

THREADS = 64
#: CUDA kernel layouts (Simulation(gpu_variant=...)): "cell" = one thread per active cell
VARIANTS = ("cell",)


@cuda.jit
def _clear(cell_count):
    t = cuda.grid(1)
    if t < cell_count.size:
        cell_count[t // cell_count.shape[1], t % cell_count.shape[1]] = 0


@cuda.jit
def _assign(pos, boxes, grids, seeds, sweep0, s, cell_count, members, status):
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
def _sort(cell_count, members):
    t = cuda.grid(1)
    if t >= cell_count.size:
        return
    b = t // cell_count.shape[1]
    c = t % cell_count.shape[1]
    n = min(cell_count[b, c], members.shape[2])
    for a in range(1, n):  # insertion sort: cells hold a handful of particles
        v = members[b, c, a]
        q = a - 1
        while q >= 0 and members[b, c, q] > v:
            members[b, c, q + 1] = members[b, c, q]
            q -= 1
        members[b, c, q + 1] = v


@cuda.jit
def _update(kset, owner, offsets, pos, quat, shapes, boxes, grids, seeds, sweep0, s, cell_count,
            members, moves, pair_params, counts):  # noqa: PLR0913 (a kernel takes every array)
    t = cuda.grid(1)
    if t >= owner.shape[0]:
        return
    b = owner[t]
    r = update_active_cell(t - offsets[b], kset, seeds[b], sweep0[b] + s, pos[b], quat[b],
                           shapes[b], (cell_count[b], members[b]),
                           (grids[b, 0], grids[b, 1], grids[b, 2]),
                           (boxes[b, 0], boxes[b, 1], boxes[b, 2]),
                           (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3]), pair_params[b])
    for q in range(5):
        if r[q] != 0:
            cuda.atomic.add(counts, (b, q), r[q])


@cuda.jit
def _trace(counts, trace, s):
    b = cuda.grid(1)
    if b < counts.shape[0]:
        trace[b, s] = counts[b, 0]


def _blocks(n):
    return max(1, (n + THREADS - 1) // THREADS)


class DeviceArrays:
    """The configuration of B systems resident on the GPU, and the sweeps that advance it."""

    def __init__(self, pos, quat, shapes, boxes, grids, variant="cell"):
        if variant not in VARIANTS:
            from cubemc.errors import InputError

            raise InputError(f"unknown gpu_variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        self.variant = variant
        self.pos = cuda.to_device(pos)
        self.quat = cuda.to_device(quat)
        self.shapes = cuda.to_device(shapes)
        self.boxes = cuda.to_device(boxes)
        self.grids = cuda.to_device(grids)
        n_sys = pos.shape[0]
        n_active = np.prod(grids // 2, axis=1)
        offsets = np.concatenate([[0], np.cumsum(n_active)]).astype(np.int64)
        self.offsets = cuda.to_device(offsets)
        self.owner = cuda.to_device(np.repeat(np.arange(n_sys), n_active).astype(np.int64))
        self.total = int(offsets[-1])
        self.n_cells = int(np.prod(grids, axis=1).max())
        self._cells = None

    def upload(self, pos, quat, shapes):
        self.pos.copy_to_device(pos)
        self.quat.copy_to_device(quat)
        self.shapes.copy_to_device(shapes)

    def download(self):
        return self.pos.copy_to_host(), self.quat.copy_to_host()

    def _cell_arrays(self, cap):
        n_sys = self.pos.shape[0]
        if self._cells is None or self._cells[1].shape[2] != cap:
            self._cells = (cuda.device_array((n_sys, self.n_cells), np.int64),
                           cuda.device_array((n_sys, self.n_cells, cap), np.int32))
        return self._cells

    def sweeps(self, cap, seeds, sweep0, n_sweeps, moves, pair_params):
        """Run sweeps; returns (energy-unit changes (B, n_sweeps), counts (B, 4), ok)."""
        with warnings.catch_warnings():
            if numba.config.ENABLE_CUDASIM:  # NumPy uint64 scalars wrap correctly but warn
                warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
            return self._sweeps(cap, seeds, sweep0, n_sweeps, moves, pair_params)

    def _sweeps(self, cap, seeds, sweep0, n_sweeps, moves, pair_params):
        n_sys, n = self.pos.shape[0], self.pos.shape[1]
        cell_count, members = self._cell_arrays(cap)
        seeds, sweep0 = cuda.to_device(seeds), cuda.to_device(sweep0)
        moves, pair_params = cuda.to_device(moves), cuda.to_device(pair_params)
        status = cuda.to_device(np.zeros(1, np.int64))
        counts = cuda.to_device(np.zeros((n_sys, 5), np.int64))
        trace = cuda.device_array((n_sys, n_sweeps), np.int64)
        for s in range(n_sweeps):
            s64 = np.int64(s)
            _clear[_blocks(cell_count.size), THREADS](cell_count)
            _assign[_blocks(n_sys * n), THREADS](self.pos, self.boxes, self.grids, seeds, sweep0,
                                                 s64, cell_count, members, status)
            _sort[_blocks(cell_count.size), THREADS](cell_count, members)
            for k in range(8):
                _update[_blocks(self.total), THREADS](
                    np.int64(k), self.owner, self.offsets, self.pos, self.quat, self.shapes,
                    self.boxes, self.grids, seeds, sweep0, s64, cell_count, members, moves,
                    pair_params, counts)
            _trace[_blocks(n_sys), THREADS](counts, trace, s64)
        ok = int(status.copy_to_host()[0]) == 0
        return trace.copy_to_host(), counts.copy_to_host()[:, 1:5], ok
