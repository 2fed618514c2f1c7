"""CUDA target: the shared kernels compiled with numba-cuda for batches of B systems.

A template specialised per (shape, pair energy) by cubemc/targets.py (module globals SHAPE and
PAIR), imported only when a GPU (or the CUDA simulator, NUMBA_ENABLE_CUDASIM=1) is requested.  A
single simulation is a batch of one.  Grid shift and set order come from the counter-based RNG on
the device, the cell list is rebuilt on the device every sweep, and the configuration stays on the
device across calls until the host asks for it; a call copies the per-system scalars in and the
energy trace and counters out, nothing in between.

The cell list is built with atomics, whose order is arbitrary, so each cell's members are sorted by
particle index afterwards: member k of a cell is then the same particle as on the CPU, and both
targets produce the same trajectory for the same seed (up to floating-point contraction on real
GPUs).

The per-item device functions are in cubemc/gpu_items.py, variant names and the host side (the
device-resident arrays and their launches) in cubemc/gpu_host.py.

Kernel variants: Simulation(gpu_variant="layout[:lanes][/registers]")
----------------------------------------------------------------------
* "cell": one thread per active cell runs the single-source `update_active_cell` (kernels.py),
  i.e. the cell's trials one after another.  12 launches per sweep: clear, assign and sort the cell
  list, 8 checkerboard sets, trace.
* "tile[:T]" (T = 2, 4, 8, 16 or 32 lanes, default 32 = one warp): a group of T threads per
  active cell, the layout of HOOMD-blue's GPU HPMC.  The trials of the cell still run one after
  another, in the same order with the same random numbers; within a trial every lane computes the
  same proposal (identical inputs, identical code), the lanes split the candidate neighbours (the
  members of the 27 neighbouring cells, dealt round-robin), each lane tests its share with the
  single-source `overlap_at` and `units`, marks an overlap in shared memory and adds its integer
  energy change there atomically; after a block barrier lane 0 alone reads the combined result,
  draws the Metropolis number and commits; a second barrier makes the commit visible to every lane
  before the next trial.  Launches as for "cell".
* "fused[:T]" (T = 1 .. 32, default 32; T = 1 runs the "cell" code, T > 1 the "tile" code): every
  sweep of one call in a single cooperative launch: a persistent grid (no more blocks than fit on
  the GPU at once) walks clear, assign, sort, the 8 sets and the trace with grid-stride loops,
  separated by grid-wide barriers (11 per sweep) instead of kernel boundaries.  One launch per
  call instead of 12 per sweep.
* a suffix "/R" (e.g. "fused:8/128") caps the update kernels at about R registers per thread
  (launch bounds): the float64 kernels use about 250, which leaves 8 warps per multiprocessor
  resident; a cap trades register spills for more resident warps to hide memory latency.  The
  code and the Markov chain are the same with or without it.

Float32 geometry with float64 bookkeeping (the issue's variant c) is not provided: a float32
separating-axis test can only stay exact as a three-way filter (certainly apart / certainly
overlapping / undecided, then float64) whose margins come from a rounding-error bound of that
shape's test, which belongs to each shape module, not to this target.  See docs/gpu.md.

Why every variant keeps the Boltzmann distribution invariant
-------------------------------------------------------------
The argument is the one of kernels.py (checkerboard sets of cells, each cell's trials symmetric
Metropolis steps, active cells of one set more than an interaction range apart); it holds for a
variant as soon as the variant makes the same trials with the same outcomes, which each does:
* "cell" runs `update_cell` itself.
* "tile": a trial's outcome depends on its neighbours only through "does any neighbour overlap"
  (an OR) and "the sum of the integer energy changes" (an integer sum); both are independent of
  how the neighbours are split between lanes and of the order of evaluation, and each pair is
  evaluated by the same device functions on the same numbers as in `update_cell`.  The proposal,
  the cell-leaving test and the acceptance draw use the same counters of the same stream, and
  exactly one thread writes.  The barrier after each commit makes the trials of a cell sequential,
  as in `update_cell`.  So the map (configuration, random numbers) -> configuration is the one of
  "cell", trial by trial, and the chain is the same Markov chain.
* "fused": the same phase bodies as the separate kernels, in the same order; a grid-wide barrier
  orders memory as a kernel boundary does (every write before it is visible to every thread after
  it), so each phase reads exactly what it read before.  A cooperative launch guarantees that all
  blocks are resident, so the barriers cannot deadlock (too large a grid fails to launch).
"""

from types import SimpleNamespace

import numpy as np
from numba import cuda

from cubemc import gpu_host
from cubemc.gpu_host import DEFAULT_LANES, LANES, THREADS, TILE_BLOCK, VARIANTS, parse_variant  # noqa: F401 (this module's interface)
from cubemc.gpu_items import make_items
from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
# module-level names: numba cannot reach device functions through a dict
_items = make_items(make_kernels(cuda.jit(device=True), SHAPE, PAIR), PAIR.ISOTROPIC)
_clear_at = _items["clear_at"]
_assign_at = _items["assign_at"]
_sort_at = _items["sort_at"]
_cell_at = _items["cell_at"]
_tile_at = _items["tile_at"]
_zero_shared = _items["zero_shared"]


@cuda.jit
def _clear(cell_count):
    t = cuda.grid(1)
    if t < cell_count.size:
        _clear_at(t, cell_count)


@cuda.jit
def _assign(pos, boxes, grids, seeds, sweep0, s, cell_count, members, status):
    t = cuda.grid(1)
    if t < pos.shape[0] * pos.shape[1]:
        _assign_at(t, pos, boxes, grids, seeds, sweep0, s, cell_count, members, status)


@cuda.jit
def _sort(cell_count, members):
    t = cuda.grid(1)
    if t < cell_count.size:
        _sort_at(t, cell_count, members)


@cuda.jit
def _update(
    kset,
    owner,
    offsets,
    pos,
    quat,
    shapes,
    boxes,
    grids,
    seeds,
    sweep0,
    s,
    cell_count,
    members,
    moves,
    pair_params,
    counts,
):  # noqa: PLR0913 (a kernel takes every array)
    t = cuda.grid(1)
    if t < owner.shape[0]:
        _cell_at(
            t,
            kset,
            owner,
            offsets,
            pos,
            quat,
            shapes,
            boxes,
            grids,
            seeds,
            sweep0,
            s,
            cell_count,
            members,
            moves,
            pair_params,
            counts,
        )


@cuda.jit
def _update_tiles(
    kset,
    lanes,
    owner,
    offsets,
    pos,
    quat,
    shapes,
    boxes,
    grids,
    seeds,
    sweep0,
    s,
    cell_count,
    members,
    moves,
    pair_params,
    counts,
):  # noqa: PLR0913
    """One checkerboard set, `lanes` threads per active cell (blockDim a multiple of lanes)."""
    sh_over = cuda.shared.array(TILE_BLOCK, np.int32)
    sh_du = cuda.shared.array(TILE_BLOCK, np.int64)
    sh_n = cuda.shared.array(TILE_BLOCK, np.int64)
    _zero_shared(sh_over, sh_du)
    tid = cuda.threadIdx.x
    groups = cuda.blockDim.x // lanes
    _tile_at(
        cuda.blockIdx.x * groups + tid // lanes,
        kset,
        tid % lanes,
        lanes,
        tid // lanes,
        owner,
        offsets,
        pos,
        quat,
        shapes,
        boxes,
        grids,
        seeds,
        sweep0,
        s,
        cell_count,
        members,
        moves,
        pair_params,
        counts,
        sh_over,
        sh_du,
        sh_n,
    )


@cuda.jit
def _trace(counts, trace, s):
    b = cuda.grid(1)
    if b < counts.shape[0]:
        trace[b, s] = counts[b, 0]


@cuda.jit
def _fused(
    lanes,
    n_sweeps,
    owner,
    offsets,
    pos,
    quat,
    shapes,
    boxes,
    grids,
    seeds,
    sweep0,
    cell_count,
    members,
    moves,
    pair_params,
    counts,
    trace,
    status,
):  # noqa: PLR0913, C901
    """Every phase of n_sweeps sweeps in one cooperative launch (grid-stride loops, grid barriers).

    lanes == 1 runs the thread-per-cell code, lanes > 1 the tile code (blockDim a multiple of
    lanes).  Loops that contain block barriers are block-uniform (they stride by whole blocks).
    """
    sh_over = cuda.shared.array(TILE_BLOCK, np.int32)
    sh_du = cuda.shared.array(TILE_BLOCK, np.int64)
    sh_n = cuda.shared.array(TILE_BLOCK, np.int64)
    _zero_shared(sh_over, sh_du)
    whole = cuda.cg.this_grid()
    start = cuda.grid(1)
    stride = cuda.gridsize(1)
    tid = cuda.threadIdx.x
    groups = cuda.blockDim.x // lanes
    n_items = pos.shape[0] * pos.shape[1]
    total = owner.shape[0]
    for s in range(n_sweeps):
        for q in range(start, cell_count.size, stride):
            _clear_at(q, cell_count)
        whole.sync()
        for q in range(start, n_items, stride):
            _assign_at(q, pos, boxes, grids, seeds, sweep0, s, cell_count, members, status)
        whole.sync()
        for q in range(start, cell_count.size, stride):
            _sort_at(q, cell_count, members)
        whole.sync()
        for kset in range(8):
            if lanes == 1:
                for t in range(start, total, stride):
                    _cell_at(
                        t,
                        kset,
                        owner,
                        offsets,
                        pos,
                        quat,
                        shapes,
                        boxes,
                        grids,
                        seeds,
                        sweep0,
                        s,
                        cell_count,
                        members,
                        moves,
                        pair_params,
                        counts,
                    )
            else:
                for first in range(cuda.blockIdx.x * groups, total, cuda.gridDim.x * groups):
                    _tile_at(
                        first + tid // lanes,
                        kset,
                        tid % lanes,
                        lanes,
                        tid // lanes,
                        owner,
                        offsets,
                        pos,
                        quat,
                        shapes,
                        boxes,
                        grids,
                        seeds,
                        sweep0,
                        s,
                        cell_count,
                        members,
                        moves,
                        pair_params,
                        counts,
                        sh_over,
                        sh_du,
                        sh_n,
                    )
            whole.sync()
        for b in range(start, counts.shape[0], stride):
            trace[b, s] = counts[b, 0]  # the next writes to counts come after 3 more barriers


KERNELS = SimpleNamespace(
    clear=_clear,
    assign=_assign,
    sort=_sort,
    update=_update,
    update_tiles=_update_tiles,
    trace=_trace,
    fused=_fused,
)


class DeviceArrays(gpu_host.DeviceArrays):
    """The configuration of B systems resident on the GPU, advanced by this (shape, pair)'s kernels."""

    kernels = KERNELS


def resources(variant):
    """Registers, spill and shared memory of the update kernel of `variant` (gpu_host.resources)."""
    return gpu_host.resources(KERNELS, variant)
