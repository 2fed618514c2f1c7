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

import warnings

import numba
import numpy as np
from numba import cuda

from cubemc.kernel_basics import DRAWS, PURPOSE_CELL, U64
from cubemc.kernels import make_kernels

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_k = make_kernels(cuda.jit(device=True), SHAPE, PAIR)
# module-level names: numba cannot reach device functions through a dict
update_active_cell = _k["update_active_cell"]
assign_cell = _k["assign_cell"]
grid_shift = _k["grid_shift"]
first_set = _k["first_set"]
active_cell = _k["active_cell"]
stream_key = _k["stream_key"]
uniform = _k["uniform"]
cell_coord = _k["cell_coord"]
propose = _k["propose"]
metropolis = _k["metropolis"]
commit = _k["commit"]
overlap_at = _k["overlap_at"]
units = _k["units"]
min_image = _k["min_image"]
quat_to_matrix = _k["quat_to_matrix"]
reach_of = _k["reach"]
ISOTROPIC = PAIR.ISOTROPIC  # frozen into the code, as in kernels.neighbour_change
pair_units = _k["pair_units"]  # the energy neighbour_change counts (particle sizes included)

THREADS = 64
#: threads per block of the tile and fused kernels (their shared arrays have this size)
TILE_BLOCK = 128
#: kernel layouts (Simulation(gpu_variant=...)): see the module docstring
VARIANTS = ("cell", "tile", "fused")
#: lanes per active cell allowed by each layout, and the default
LANES = {"cell": (1,), "tile": (2, 4, 8, 16, 32), "fused": (1, 2, 4, 8, 16, 32)}
DEFAULT_LANES = {"cell": 1, "tile": 32, "fused": 32}


def parse_variant(variant):
    """(layout, lanes, regs) of a gpu_variant "layout[:lanes][/regs]", e.g. "cell", "tile:8",
    "fused:1/128"; regs (None: the compiler's choice) caps the registers per thread of the update
    kernels, trading spills for more resident threads."""
    from cubemc.errors import InputError

    spec, _, regs = str(variant).partition("/")
    layout, _, lanes = spec.partition(":")
    if layout not in VARIANTS:
        raise InputError(
            f"unknown gpu_variant {variant!r}; choose one of {', '.join(VARIANTS)}, "
            "optionally with ':lanes' and '/registers' (e.g. 'tile:8/128')"
        )
    try:
        lanes = int(lanes) if lanes else DEFAULT_LANES[layout]
        regs = int(regs) if regs else None
    except ValueError:
        raise InputError(f"gpu_variant {variant!r}: lanes and registers are integers") from None
    if lanes not in LANES[layout]:
        raise InputError(
            f"gpu_variant {variant!r}: lanes per cell for {layout!r} must be one of "
            f"{', '.join(map(str, LANES[layout]))}"
        )
    if regs is not None and not 32 <= regs <= 255:
        raise InputError(f"gpu_variant {variant!r}: registers per thread must be in [32, 255]")
    return layout, lanes, regs


_CAPPED = {}


def capped(kernel, regs):
    """`kernel` compiled with at most about `regs` registers per thread, through launch bounds
    (blocks of at most TILE_BLOCK threads, 65536 // (TILE_BLOCK * regs) of them resident per
    multiprocessor); built once per cap.  The simulator has no registers: the kernel itself."""
    if regs is None or numba.config.ENABLE_CUDASIM:
        return kernel
    key = (kernel.py_func.__name__, regs)
    if key not in _CAPPED:
        bounds = (TILE_BLOCK, max(1, 65536 // (TILE_BLOCK * regs)))
        _CAPPED[key] = cuda.jit(launch_bounds=bounds)(kernel.py_func)
    return _CAPPED[key]


def resources(variant):
    """Registers and local (spill) memory per thread and static shared memory per block of the
    compiled update kernel of `variant`, for reports; {} before it ran or in the simulator."""
    layout, _, regs = parse_variant(variant)
    if numba.config.ENABLE_CUDASIM:
        return {}
    kernel = capped({"cell": _update, "tile": _update_tiles, "fused": _fused}[layout], regs)
    out = {}
    for name, get in (
        ("registers", kernel.get_regs_per_thread),
        ("local_bytes", kernel.get_local_mem_per_thread),
        ("shared_bytes", kernel.get_shared_mem_per_block),
    ):
        try:
            value = get()
            out[name] = max(value.values()) if isinstance(value, dict) else value
        except Exception as err:  # not compiled yet, or an API change: say so, do not fail
            out[name] = f"unavailable ({type(err).__name__})"
    return out


# ---------------------------------------------------------------------- per-item device functions
# One work item of each phase; the separate kernels and the fused one call the same functions.
@cuda.jit(device=True)
def _clear_at(q, cell_count):
    cell_count[q // cell_count.shape[1], q % cell_count.shape[1]] = 0


@cuda.jit(device=True)
def _assign_at(q, pos, boxes, grids, seeds, sweep0, s, cell_count, members, status):
    n = pos.shape[1]
    b = q // n
    i = q % n
    sx, sy, sz = grid_shift(seeds[b], sweep0[b] + s, boxes[b, 0], boxes[b, 1], boxes[b, 2])
    c = assign_cell(
        pos[b, i, 0],
        pos[b, i, 1],
        pos[b, i, 2],
        boxes[b, 0],
        boxes[b, 1],
        boxes[b, 2],
        sx,
        sy,
        sz,
        grids[b, 0],
        grids[b, 1],
        grids[b, 2],
    )
    k = cuda.atomic.add(cell_count, (b, c), 1)
    if k < members.shape[2]:
        members[b, c, k] = i
    else:
        status[0] = 1


@cuda.jit(device=True)
def _sort_at(q, cell_count, members):
    b = q // cell_count.shape[1]
    c = q % cell_count.shape[1]
    n = min(cell_count[b, c], members.shape[2])
    for a in range(1, n):  # insertion sort: cells hold a handful of particles
        v = members[b, c, a]
        r = a - 1
        while r >= 0 and members[b, c, r] > v:
            members[b, c, r + 1] = members[b, c, r]
            r -= 1
        members[b, c, r + 1] = v


@cuda.jit(device=True)
def _add_counts(counts, b, r):
    for q in range(5):
        if r[q] != 0:
            cuda.atomic.add(counts, (b, q), r[q])


@cuda.jit(device=True)
def _cell_at(
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
):  # noqa: PLR0913 (all arrays)
    """Thread-per-cell layout: every trial of the t-th active cell (over all systems) in turn."""
    b = owner[t]
    r = update_active_cell(
        t - offsets[b],
        kset,
        seeds[b],
        sweep0[b] + s,
        pos[b],
        quat[b],
        shapes[b],
        (cell_count[b], members[b]),
        (grids[b, 0], grids[b, 1], grids[b, 2]),
        (boxes[b, 0], boxes[b, 1], boxes[b, 2]),
        (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3]),
        pair_params[b],
    )
    _add_counts(counts, b, r)


# ---------------------------------------------------------------------- tile layout
@cuda.jit(device=True)
def _pair_change(i, j, move, x, y, z, mi, mi_old, pos, quat, shapes, box, reach2, pair_params):
    """(overlap, change in energy units) between the trial `move` of particle i (which sits at
    (x, y, z)) and neighbour j: the loop body of kernels.neighbour_change for one pair."""
    lx, ly, lz = box
    dx = min_image(pos[j, 0] - move[1], lx)
    dy = min_image(pos[j, 1] - move[2], ly)
    dz = min_image(pos[j, 2] - move[3], lz)
    r2 = dx * dx + dy * dy + dz * dz
    if r2 >= reach2:
        return False, 0  # no overlap now, no interaction now or before the move
    if overlap_at(i, j, dx, dy, dz, mi, quat, shapes):
        return True, 0
    if move[0] or not ISOTROPIC:
        ex = min_image(pos[j, 0] - x, lx)
        ey = min_image(pos[j, 1] - y, ly)
        ez = min_image(pos[j, 2] - z, lz)
        return False, (
            pair_units(i, j, dx, dy, dz, r2, mi, quat, shapes, pair_params)
            - pair_units(i, j, ex, ey, ez, ex * ex + ey * ey + ez * ez, mi_old, quat, shapes, pair_params)
        )
    return False, 0


@cuda.jit(device=True)
def _lane_change(lane, lanes, i, move, x, y, z, pos, quat, shapes, cells, c, grid, box, reach2, pair_params):  # noqa: PLR0913 (hot path: arrays and scalars, no structs)
    """(overlap, energy change) of the trial over this lane's share of the neighbours: the
    members of the 27 (or fewer) neighbouring cells, numbered in cell order, dealt round-robin."""
    cell_count, members = cells
    nx, ny, nz = grid
    cz = c % nz
    cy = (c // nz) % ny
    cx = c // (nz * ny)
    # neighbour cell offsets; with 2 cells along an axis, -1 and +1 are the same cell
    lo_x = -1 if nx > 2 else 0
    lo_y = -1 if ny > 2 else 0
    lo_z = -1 if nz > 2 else 0
    mi = quat_to_matrix(move[4], move[5], move[6], move[7])
    mi_old = quat_to_matrix(quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
    delta = 0
    seen = 0  # candidates in the cells before this one
    for ox in range(lo_x, 2):
        mx = (cx + ox + nx) % nx
        for oy in range(lo_y, 2):
            my = (cy + oy + ny) % ny
            for oz in range(lo_z, 2):
                m = (mx * ny + my) * nz + (cz + oz + nz) % nz
                n_m = min(cell_count[m], members.shape[1])
                k = (lane + lanes - seen % lanes) % lanes  # this lane's first member of cell m
                while k < n_m:
                    j = members[m, k]
                    if j != i:
                        overlap, d = _pair_change(
                            i, j, move, x, y, z, mi, mi_old, pos, quat, shapes, box, reach2, pair_params
                        )
                        if overlap:
                            return True, 0
                        delta += d
                    k += lanes
                seen += n_m
    return False, delta


@cuda.jit(device=True)
def _tile_trials(
    c,
    n_c,
    n_max,
    lane,
    lanes,
    group,
    seed,
    sweep,
    pos,
    quat,
    shapes,
    cells,
    grid,
    box,
    shift,
    moves,
    pair_params,
    sh_over,
    sh_du,
):  # noqa: PLR0913, C901
    """The trials of active cell c (n_c of them) by the `lanes` threads of one group, as
    kernels.update_cell makes them; returns its (delta_units, acc_t, n_t, acc_r, n_r) in lane 0.

    Every thread of the block calls this with the same n_max (the most trials of any cell of the
    block), because the trials are separated by block barriers.
    """
    members = cells[1]
    nx, ny, nz = grid
    lx, ly, lz = box
    sx, sy, sz = shift
    d_move, a_move, beta_eps, outer2 = moves
    cz = c % nz
    cy = (c // nz) % ny
    cx = c // (nz * ny)
    key = stream_key(seed, U64(sweep), PURPOSE_CELL | U64(c))
    reach = reach_of(pair_params) + d_move
    reach2 = max(outer2, reach * reach)
    dunits = 0
    acc_t = 0
    n_t = 0
    acc_r = 0
    n_r = 0
    i = 0
    move = (False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    for t in range(n_max):
        base = U64(t) * U64(DRAWS)
        tried = False
        if t < n_c:
            kk = int(n_c * uniform(key, base))
            if kk >= n_c:
                kk = n_c - 1
            i = members[c, kk]
            x = pos[i, 0]
            y = pos[i, 1]
            z = pos[i, 2]
            move = propose(
                key, base, x, y, z, quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3], d_move, a_move, lx, ly, lz
            )
            tried = True
            if move[0]:
                n_t += 1
                if (
                    cell_coord(move[1], lx, sx, nx) != cx
                    or cell_coord(move[2], ly, sy, ny) != cy
                    or cell_coord(move[3], lz, sz, nz) != cz
                ):
                    tried = False  # leaving the cell is rejected (both directions alike)
            else:
                n_r += 1
            if tried:
                overlap, d = _lane_change(
                    lane, lanes, i, move, x, y, z, pos, quat, shapes, cells, c, grid, box, reach2, pair_params
                )
                if overlap:
                    sh_over[group] = 1  # every writer writes 1: no race on the value
                elif d != 0:
                    cuda.atomic.add(sh_du, group, d)
        cuda.syncthreads()  # all lanes' shares are in
        if lane == 0:
            if tried and sh_over[group] == 0:
                delta = sh_du[group]
                if metropolis(delta, beta_eps, uniform(key, base + U64(7))):
                    commit(i, move, pos, quat)
                    dunits += delta
                    if move[0]:
                        acc_t += 1
                    else:
                        acc_r += 1
            sh_over[group] = 0
            sh_du[group] = 0
        cuda.syncthreads()  # the commit is visible before the next trial reads positions
    return dunits, acc_t, n_t, acc_r, n_r


@cuda.jit(device=True)
def _tile_at(
    t,
    kset,
    lane,
    lanes,
    group,
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
):  # noqa: PLR0913 (all arrays)
    """Tile layout: the t-th active cell (over all systems) by one group of lanes; a group with
    t past the last cell idles.  Every thread of the block calls this (it holds barriers)."""
    valid = t < owner.shape[0]
    b = owner[t] if valid else owner[0]
    sweep = sweep0[b] + s
    box = (boxes[b, 0], boxes[b, 1], boxes[b, 2])
    grid = (grids[b, 0], grids[b, 1], grids[b, 2])
    shift = grid_shift(seeds[b], sweep, box[0], box[1], box[2])
    c = 0
    n_c = 0
    if valid:  # the same cell as update_active_cell picks
        c = active_cell(t - offsets[b], (first_set(seeds[b], sweep) + kset) % 8, grid[0], grid[1], grid[2])
        n_c = min(cell_count[b, c], members.shape[2])
    if lane == 0:
        sh_n[group] = n_c
    cuda.syncthreads()
    n_max = 0
    for g in range(cuda.blockDim.x // lanes):
        n_max = max(n_max, sh_n[g])
    r = _tile_trials(
        c,
        n_c,
        n_max,
        lane,
        lanes,
        group,
        seeds[b],
        sweep,
        pos[b],
        quat[b],
        shapes[b],
        (cell_count[b], members[b]),
        grid,
        box,
        shift,
        (moves[b, 0], moves[b, 1], moves[b, 2], moves[b, 3]),
        pair_params[b],
        sh_over,
        sh_du,
    )
    if lane == 0 and valid:
        _add_counts(counts, b, r)
    cuda.syncthreads()  # sh_n is read by everyone before the next cell overwrites it


@cuda.jit(device=True)
def _zero_shared(sh_over, sh_du):
    tid = cuda.threadIdx.x
    sh_over[tid] = 0
    sh_du[tid] = 0
    cuda.syncthreads()


# ---------------------------------------------------------------------- kernels
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


def _blocks(n):
    return max(1, (n + THREADS - 1) // THREADS)


class DeviceArrays:
    """The configuration of B systems resident on the GPU, and the sweeps that advance it."""

    def __init__(self, pos, quat, shapes, boxes, grids, variant="cell"):
        self.layout, self.lanes, self.regs = parse_variant(variant)
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
        self._grid_blocks = {}

    def upload(self, pos, quat, shapes):
        self.pos.copy_to_device(pos)
        self.quat.copy_to_device(quat)
        self.shapes.copy_to_device(shapes)

    def download(self):
        return self.pos.copy_to_host(), self.quat.copy_to_host()

    def _cell_arrays(self, cap):
        n_sys = self.pos.shape[0]
        if self._cells is None or self._cells[1].shape[2] != cap:
            self._cells = (
                cuda.device_array((n_sys, self.n_cells), np.int64),
                cuda.device_array((n_sys, self.n_cells, cap), np.int32),
            )
        return self._cells

    def tile_block(self):
        """Threads per block of the tile and fused kernels: whole groups, no more groups than
        active cells (small systems, and the simulator, then run no idle threads)."""
        return self.lanes * max(1, min(TILE_BLOCK // self.lanes, self.total))

    def sweeps(self, cap, seeds, sweep0, n_sweeps, moves, pair_params):
        """Run sweeps; returns (energy-unit changes (B, n_sweeps), counts (B, 4), ok)."""
        with warnings.catch_warnings():
            if numba.config.ENABLE_CUDASIM:  # NumPy uint64 scalars wrap correctly but warn
                warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
            return self._sweeps(cap, seeds, sweep0, n_sweeps, moves, pair_params)

    def _sweeps(self, cap, seeds, sweep0, n_sweeps, moves, pair_params):
        n_sys = self.pos.shape[0]
        cell_count, members = self._cell_arrays(cap)
        seeds, sweep0 = cuda.to_device(seeds), cuda.to_device(sweep0)
        moves, pair_params = cuda.to_device(moves), cuda.to_device(pair_params)
        status = cuda.to_device(np.zeros(1, np.int64))
        counts = cuda.to_device(np.zeros((n_sys, 5), np.int64))
        trace = cuda.device_array((n_sys, n_sweeps), np.int64)
        args = (seeds, sweep0, cell_count, members, moves, pair_params, counts, status, trace)
        if self.layout == "fused":
            self._run_fused(n_sweeps, *args)
        else:
            for s in range(n_sweeps):
                self._launch_sweep(np.int64(s), *args)
        ok = int(status.copy_to_host()[0]) == 0
        return trace.copy_to_host(), counts.copy_to_host()[:, 1:5], ok

    def _launch_sweep(self, s, seeds, sweep0, cell_count, members, moves, pair_params, counts, status, trace):  # noqa: PLR0913 (the arrays of one call)
        """One sweep as separate launches (layouts "cell" and "tile")."""
        n_sys, n = self.pos.shape[0], self.pos.shape[1]
        _clear[_blocks(cell_count.size), THREADS](cell_count)
        _assign[_blocks(n_sys * n), THREADS](
            self.pos, self.boxes, self.grids, seeds, sweep0, s, cell_count, members, status
        )
        _sort[_blocks(cell_count.size), THREADS](cell_count, members)
        common = (
            self.owner,
            self.offsets,
            self.pos,
            self.quat,
            self.shapes,
            self.boxes,
            self.grids,
            seeds,
            sweep0,
            s,
            cell_count,
            members,
            moves,
            pair_params,
            counts,
        )
        for k in range(8):
            if self.layout == "cell":
                capped(_update, self.regs)[_blocks(self.total), THREADS](np.int64(k), *common)
            else:
                block = self.tile_block()
                groups = block // self.lanes
                blocks = (self.total + groups - 1) // groups
                capped(_update_tiles, self.regs)[blocks, block](np.int64(k), np.int64(self.lanes), *common)
        _trace[_blocks(n_sys), THREADS](counts, trace, s)

    def _run_fused(
        self, n_sweeps, seeds, sweep0, cell_count, members, moves, pair_params, counts, status, trace
    ):  # noqa: PLR0913 (the arrays of one call)
        args = (
            np.int64(self.lanes),
            np.int64(n_sweeps),
            self.owner,
            self.offsets,
            self.pos,
            self.quat,
            self.shapes,
            self.boxes,
            self.grids,
            seeds,
            sweep0,
            cell_count,
            members,
            moves,
            pair_params,
            counts,
            trace,
            status,
        )
        block = self.tile_block() if self.lanes > 1 else min(TILE_BLOCK, self.total)
        work = max(cell_count.size, self.pos.shape[0] * self.pos.shape[1], self.total * self.lanes)
        wanted = (work + block - 1) // block
        kernel = capped(_fused, self.regs)
        kernel[min(wanted, self._resident_blocks(kernel, block, args)), block](*args)

    def _resident_blocks(self, kernel, block, args):
        """Most blocks of the fused kernel that fit on the GPU at once (a cooperative launch
        needs them all resident); 1 in the simulator, which runs cooperative grids of one block."""
        if numba.config.ENABLE_CUDASIM:
            return 1
        if block not in self._grid_blocks:
            try:
                compiled = kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))
                most = compiled.max_cooperative_grid_blocks(block)
            except Exception:  # an API change: one block per multiprocessor always fits
                most = cuda.get_current_device().MULTIPROCESSOR_COUNT
            self._grid_blocks[block] = max(1, int(most))
        return self._grid_blocks[block]
