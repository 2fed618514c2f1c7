"""CUDA template: the VMMC cluster moves of B GPU-resident systems, a thread or a block each.

Specialised per (shape, pair energy) by cubemc.targets like gpu.py (module globals SHAPE and PAIR)
and used by `Systems.vmmc_moves` for a GPU simulation, so the configuration stays on the device
between checkerboard sweeps and cluster moves (before, every VMMC action copied it to the host and
back).  The moves are the single source cubemc/vmmc_moves.py, compiled here with
cuda.jit(device=True) on the CUDA build of the kernels: the same functions, draws and order as
the CPU driver cubemc/vmmc_kernels.py, hence the same Markov chain (equal bit for bit under
NUMBA_ENABLE_CUDASIM=1; up to floating-point contraction on a real GPU), and the detailed-balance
argument of cubemc/vmmc.py holds unchanged.

The moves of one system are sequential (a move starts from the configuration the previous one
left).  Two layouts (`vmmc_moves(lanes=...)`), both making exactly the CPU's moves:
* lanes = 1, `_vmmc`: one thread runs a system's moves, in a block of its own (systems in one
  warp would diverge at every step).  A batch of B systems runs B threads in parallel; one system
  runs at the speed of one GPU thread, slower than one CPU core.
* lanes > 1, `_vmmc_block`: the block's lanes make each member's scan together (`_scan_block`):
  lane 0 lists the cells the scan visits, the lanes filter their cubes, lane 0 lists the
  candidates in scan order, the lanes compute each pair's units now, after the forward and after
  the reverse virtual move (lane 0 places the member between barriers), lane 0 numbers the link
  draws in scan order (a draw only where p_forward > 0 or the forward move overlaps, as
  `test_pair` draws), the lanes decide each link from its own draw, and lane 0 applies the
  outcomes in scan order.  Each outcome is a function of the pair, the member's virtual states and
  its draw only, so this is `scan_neighbours` evaluated out of order: the same links, draws and
  bookkeeping.  A scan over more than MAX_CELLS cells or MAX_ITEMS cubes is made by lane 0 with
  `scan_neighbours` itself.  Everything else of a move is one lane's.
Which is faster is for a GPU to measure (benchmarks/bench_gpu_vmmc.py); the updater uses
DEFAULT_LANES.  The cell and work arrays stay on the device between calls: every move leaves the
flags and pending sums at zero (`_reset`).
"""

import math
import warnings

import numba
import numpy as np
from numba import cuda

from cubemc import validate
from cubemc.kernels import make_kernels
from cubemc.vmmc_moves import (
    ACCEPTED,
    CUTOFF,
    FIRST_LINK_DRAW,
    GPU_LANES,
    OVERFLOW,
    PURPOSE_VMMC,
    TOO_WIDE,
    U64,
    move_functions,
    work_arrays,
)

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_dev = cuda.jit(device=True)
_m = move_functions(_dev, make_kernels(_dev, SHAPE, PAIR), f"{SHAPE.NAME}_{PAIR.NAME}")
# module-level names: numba cannot reach device functions through a dict
_run_moves, _scan_neighbours, _moved, _place = (
    _m[n] for n in "run_moves scan_neighbours moved place".split()
)
_free_units, _overlaps, _link_weight, _geometry = (
    _m[n] for n in "free_units overlaps link_weight geometry".split()
)
_build_cells, _begin_move, _seed_cluster, _unfrustrated = (
    _m[n] for n in "build_cells begin_move seed_cluster unfrustrated".split()
)
_finish_move, _tally, _list_cells = (_m[n] for n in "finish_move tally list_cells".split())
_near_image, _wrap = _m["near_image"], _m["wrap"]
_stream_key, _uniform = (_m[n] for n in "stream_key uniform".split())
#: the layout the updater uses until a GPU measurement says otherwise (benchmarks/bench_gpu_vmmc.py)
DEFAULT_LANES = 1
#: most cells and cubes one member's scan may visit in the block layout (shared memory, about 33
#: kB per block); a larger scan is made by lane 0 alone with the single-thread code: same result
MAX_CELLS, MAX_ITEMS = 256, 1024
_STARTS = MAX_CELLS + 1  # a shared array's size must be a constant, not an expression


@cuda.jit
def _vmmc(
    pos, quat, shapes, boxes, grids,
    count, members, cell_of, slot_of, visit, starts, c0, c1, c2, c3, c4, c5, c6, c7,
    seeds, sweeps, n_moves, settings, pair_params, counts, trace, result,
):  # fmt: skip  # noqa: PLR0913 (one launch: the batch's arrays, flat, as every CUDA kernel here)
    """Thread b runs n_moves moves of system b; result[b] = (units change, ok).  The cell arrays
    (count .. starts) and the work arrays c0 .. c7 are those of `run_moves`."""
    b = cuda.grid(1)
    if b >= pos.shape[0]:
        return
    total, ok = _run_moves(
        (pos[b], quat[b], shapes[b]),
        boxes[b],
        grids[b],
        (count[b], members[b], cell_of[b], slot_of[b], visit[b], starts[b]),
        (c0[b], c1[b], c2[b], c3[b], c4[b], c5[b], c6[b], c7[b]),
        seeds[b],
        sweeps[b],
        n_moves,
        settings[b],
        pair_params[b],
        counts[b],
        trace[b],
    )
    result[b, 0] = total
    result[b, 1] = 1 if ok else 0


# ---------------------------------------------------------------------- block layout
@cuda.jit(device=True)
def _scan_block(lane, lanes, i, mv, centre, key, counters, conf, geo, cells, work, model, sh):  # noqa: C901, PLR0912, PLR0913, PLR0915 (the phases of one collective scan)
    """scan_neighbours of member i by every lane of the block; returns the same (counters,
    status) in every lane.  Lane 0 gathers the cells, numbers the draws and applies the outcomes
    in scan order; the lanes filter the cubes and evaluate the pairs (units now, after the
    forward and after the reverse virtual move of i, which lane 0 places between barriers)."""
    pos, quat, _ = conf
    box, reach = geo[0], geo[3]
    cluster, in_cluster, offsets, frustrated, frustrated_list, pending, touched, touched_list = work
    pair_params, beta_eps = model
    s_cell, s_start, s_item, s_cand, s_u0, s_uf, s_t, s_draw, s_ovf, s_out, st = sh
    n_mem, n_fr, n_touch, t, cutoff = counters
    is_t = mv[0] > 0.5
    shift = mv[8]
    if not is_t:
        shift *= math.sqrt(offsets[i, 0] ** 2 + offsets[i, 1] ** 2 + offsets[i, 2] ** 2)
    old = (pos[i, 0], pos[i, 1], pos[i, 2], quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3])
    fwd = _moved(i, 1.0, mv, centre, pos, quat, offsets, box)
    rev = _moved(i, -1.0, mv, centre, pos, quat, offsets, box)
    if lane == 0:
        st[0], st[1] = _list_cells(i, old, fwd, reach + shift + 1e-9, geo, cells, s_cell, s_start)
    cuda.syncthreads()
    n_items = st[1]
    if n_items < 0 or n_items > MAX_ITEMS:  # lane 0 alone, as on one thread
        if lane == 0:
            out, status = _scan_neighbours(i, mv, centre, key, counters, conf, geo, cells, work, model)
            st[2], st[3], st[4], st[5], st[6] = out[0], out[1], out[2], out[3], status
        cuda.syncthreads()
        out, status = (st[2], st[3], st[4], st[5], cutoff), st[6]
        cuda.syncthreads()
        return out, status
    reach2 = reach * reach
    members = cells[1]
    for k in range(lane, n_items, lanes):  # the cubes that could interact now or after the move
        c = 0
        while s_start[c + 1] <= k:
            c += 1
        j = members[s_cell[c], k - s_start[c]]
        keep = False
        if not in_cluster[j]:
            dx = _near_image(pos[j, 0] - old[0], box[0])
            dy = _near_image(pos[j, 1] - old[1], box[1])
            dz = _near_image(pos[j, 2] - old[2], box[2])
            keep = dx * dx + dy * dy + dz * dz < reach2
            if not keep:
                dx = _near_image(pos[j, 0] - fwd[0], box[0])
                dy = _near_image(pos[j, 1] - fwd[1], box[1])
                dz = _near_image(pos[j, 2] - fwd[2], box[2])
                keep = dx * dx + dy * dy + dz * dz < reach2
        s_item[k] = j if keep else -1
    cuda.syncthreads()
    if lane == 0:
        n_cand = 0
        for k in range(n_items):
            if s_item[k] >= 0:
                s_cand[n_cand] = s_item[k]
                n_cand += 1
        st[2] = n_cand
    cuda.syncthreads()
    n_cand = st[2]
    for k in range(lane, n_cand, lanes):
        s_u0[k] = _free_units(i, s_cand[k], conf, box, pair_params)
    cuda.syncthreads()
    if lane == 0:
        _place(i, fwd, pos, quat)
    cuda.syncthreads()
    for k in range(lane, n_cand, lanes):  # p_forward; the overlap test where it decides a draw
        j = s_cand[k]
        s_uf[k] = _free_units(i, j, conf, box, pair_params)
        s_ovf[k], s_draw[k] = -1, 1
        if _link_weight(beta_eps, s_u0[k], s_uf[k], False) <= 0.0:
            overlap = _overlaps(i, j, conf, box)
            s_ovf[k], s_draw[k] = overlap, overlap
    cuda.syncthreads()
    if lane == 0:  # the draws are numbered in scan order, as one thread numbers them
        for k in range(n_cand):
            s_t[k] = t
            t += s_draw[k]
        st[3] = t
    cuda.syncthreads()
    for k in range(lane, n_cand, lanes):  # outcome 0 (no link) or 3 (the reverse move decides)
        s_out[k] = 0
        if s_draw[k] == 1:
            u = _uniform(key, U64(FIRST_LINK_DRAW) + U64(s_t[k]))
            p_fwd = 1.0 if s_ovf[k] == 1 else _link_weight(beta_eps, s_u0[k], s_uf[k], False)
            if u <= p_fwd or _overlaps(i, s_cand[k], conf, box):
                s_out[k] = 3
    cuda.syncthreads()
    if lane == 0:
        _place(i, rev, pos, quat)
    cuda.syncthreads()
    for k in range(lane, n_cand, lanes):  # 1: link, 2: frustrated
        if s_out[k] == 3:
            j = s_cand[k]
            u = _uniform(key, U64(FIRST_LINK_DRAW) + U64(s_t[k]))
            units_r = _free_units(i, j, conf, box, pair_params)
            linked = u <= _link_weight(beta_eps, s_u0[k], units_r, False) or _overlaps(i, j, conf, box)
            s_out[k] = 1 if linked else 2
    cuda.syncthreads()
    if lane == 0:
        _place(i, old, pos, quat)
        status = ACCEPTED
        for k in range(n_cand):  # the outcomes in scan order, as scan_neighbours applies them
            j = s_cand[k]
            if s_out[k] == 1:
                in_cluster[j] = True
                cluster[n_mem] = j
                n_mem += 1
                if n_mem > cutoff:
                    status = CUTOFF
                    break
                ox = _wrap(pos[j, 0] - centre[0], box[0])
                oy = _wrap(pos[j, 1] - centre[1], box[1])
                oz = _wrap(pos[j, 2] - centre[2], box[2])
                offsets[j, 0], offsets[j, 1], offsets[j, 2] = ox, oy, oz
                if not is_t and ox * ox + oy * oy + oz * oz >= geo[4]:
                    status = TOO_WIDE
                    break
                continue
            if not touched[j]:
                touched[j] = True
                touched_list[n_touch] = j
                n_touch += 1
            pending[j] += s_uf[k] - s_u0[k]
            if s_out[k] == 2 and not frustrated[j]:
                frustrated[j] = True
                frustrated_list[n_fr] = j
                n_fr += 1
        st[2], st[3], st[4], st[5], st[6] = n_mem, n_fr, n_touch, st[3], status
    cuda.syncthreads()
    out, status = (st[2], st[3], st[4], st[5], cutoff), st[6]
    cuda.syncthreads()
    return out, status


@cuda.jit
def _vmmc_block(
    pos, quat, shapes, boxes, grids,
    count, members, cell_of, slot_of, visit, starts, c0, c1, c2, c3, c4, c5, c6, c7,
    seeds, sweeps, n_moves, settings, pair_params, counts, trace, result,
):  # fmt: skip  # noqa: PLR0913 (the arguments of _vmmc)
    """Block b (its lanes together) runs n_moves moves of system b: the moves of `_vmmc`."""
    b, lane, lanes = cuda.blockIdx.x, cuda.threadIdx.x, cuda.blockDim.x
    i32, i8 = np.int32, np.int8
    sh = (
        cuda.shared.array(MAX_CELLS, i32),
        cuda.shared.array(_STARTS, i32),
        cuda.shared.array(MAX_ITEMS, i32),
        cuda.shared.array(MAX_ITEMS, i32),
        cuda.shared.array(MAX_ITEMS, np.int64),
        cuda.shared.array(MAX_ITEMS, np.int64),
        cuda.shared.array(MAX_ITEMS, i32),
        cuda.shared.array(MAX_ITEMS, i8),
        cuda.shared.array(MAX_ITEMS, i8),
        cuda.shared.array(MAX_ITEMS, i8),
        cuda.shared.array(8, np.int64),
    )
    st = sh[10]
    conf = (pos[b], quat[b], shapes[b])
    cells = (count[b], members[b], cell_of[b], slot_of[b], visit[b], starts[b])
    work = (c0[b], c1[b], c2[b], c3[b], c4[b], c5[b], c6[b], c7[b])
    geo = _geometry(boxes[b], grids[b], settings[b])
    if lane == 0:
        st[7] = 1 if _build_cells(conf[0], geo[0], geo[1], cells) else 0
    cuda.syncthreads()
    ok = st[7] == 1
    model = (pair_params[b], settings[b, 5])
    total = 0
    for m in range(n_moves if ok else 0):
        key = _stream_key(U64(seeds[b]), U64(sweeps[b]), PURPOSE_VMMC | U64(m))
        seed, mv, cutoff = _begin_move(key, settings[b], conf[0].shape[0])
        centre, status = _seed_cluster(seed, mv, cutoff, conf, geo, work, lane == 0)
        counters = (1, 0, 0, 0, cutoff)
        cuda.syncthreads()
        head = 0
        while status == ACCEPTED and head < counters[0]:
            counters, status = _scan_block(
                lane, lanes, c0[b, head], mv, centre, key, counters, conf, geo, cells, work, model, sh
            )
            head += 1
        if lane == 0:
            status, delta = _finish_move(
                _unfrustrated(status, counters, work), counters, mv, centre, conf, geo, cells, work
            )
            if status != OVERFLOW:
                _tally(status, mv[0] > 0.5, counters[0], counts[b])
                total += delta if status == ACCEPTED else 0
                if trace.shape[1] > 0:
                    trace[b, m] = total
            st[7] = 0 if status == OVERFLOW else 1
        cuda.syncthreads()
        if st[7] == 0:
            break
    if lane == 0:
        result[b, 0] = total
        result[b, 1] = st[7]


def _zeros(shape, dtype):
    return cuda.to_device(np.zeros(shape, dtype))


def vmmc_moves(device, cap, seeds, sweeps, n_moves, settings, pair_params, counts, record, lanes=None):  # noqa: PLR0913 (one call per action)
    """n_moves VMMC moves of every system of `device` (a gpu_host.DeviceArrays), in place.

    seeds (B,) uint64, sweeps (B,) int64, settings (B, 8) and pair_params (B, K) as for
    cubemc/vmmc_kernels.py; counts (B, N_COUNTS) int64 are
    updated (sums, and the largest cluster).  Returns (units change (B,),
    ok (B,) bool, trace (B, n_moves) of the units change after each move, or (B, 0) unless
    `record`).  lanes: 1 (one thread per system) or more (a block per system), default
    DEFAULT_LANES."""
    lanes = validate.int_choice("VMMC lanes per system", DEFAULT_LANES if lanes is None else lanes, GPU_LANES)
    n_sys, n = device.pos.shape[0], device.pos.shape[1]
    n_cells = device.n_cells
    key = (n_sys, n, n_cells, int(cap))
    if getattr(device, "vmmc_work", (None,))[0] != key:
        device.vmmc_work = (key, *work_arrays(*key, _zeros, cuda.device_array))
    _, cells, work = device.vmmc_work
    d_counts = cuda.to_device(np.ascontiguousarray(counts, np.int64))  # in and out: one is a maximum
    trace = cuda.device_array((n_sys, n_moves if record else 0), np.int64)
    result = cuda.device_array((n_sys, 2), np.int64)
    with warnings.catch_warnings():
        if numba.config.ENABLE_CUDASIM:  # NumPy uint64 scalars wrap correctly but warn
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        (_vmmc if lanes == 1 else _vmmc_block)[n_sys, lanes](
            device.pos,
            device.quat,
            device.shapes,
            device.boxes,
            device.grids,
            *cells,
            *work,
            cuda.to_device(np.ascontiguousarray(seeds, np.uint64)),
            cuda.to_device(np.ascontiguousarray(sweeps, np.int64)),
            np.int64(n_moves),
            cuda.to_device(np.ascontiguousarray(settings, np.float64)),
            cuda.to_device(np.ascontiguousarray(pair_params, np.float64)),
            d_counts,
            trace,
            result,
        )
    counts[:] = d_counts.copy_to_host()
    result = result.copy_to_host()
    return result[:, 0], result[:, 1].astype(bool), trace.copy_to_host()
