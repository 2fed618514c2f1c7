"""CUDA template: the VMMC cluster moves of B GPU-resident systems, one thread per system.

Specialised per (shape, pair energy) by cubemc.targets like gpu.py (module globals SHAPE and PAIR)
and used by `Systems.vmmc_moves` for a GPU simulation, so the configuration stays on the device
between checkerboard sweeps and cluster moves (before, every VMMC action copied it to the host and
back).  The moves are the single source cubemc/vmmc_moves.py, compiled here with
cuda.jit(device=True) on the CUDA build of the kernels: the same functions, draws and order as
the CPU driver cubemc/vmmc_kernels.py, hence the same Markov chain (equal bit for bit under
NUMBA_ENABLE_CUDASIM=1; up to floating-point contraction on a real GPU), and the detailed-balance
argument of cubemc/vmmc.py holds unchanged.

The moves of one system are sequential (a move starts from the configuration the previous one
left), so one thread runs them all, in one block of its own: systems in one warp would diverge
at every step.  A batch of B systems runs B threads in parallel; a single system runs at the
speed of one GPU thread, slower than one CPU core (the block-per-move layout that would use
many threads per move is described in ARCHITECTURE.md).  The cell and work arrays stay on the
device between calls: every move leaves the flags and pending sums at zero (`_reset`).
"""

import warnings

import numba
import numpy as np
from numba import cuda

from cubemc.kernels import make_kernels
from cubemc.vmmc_moves import move_functions

SHAPE = globals().get("SHAPE")  # injected by cubemc.targets
PAIR = globals().get("PAIR")
_dev = cuda.jit(device=True)
_m = move_functions(_dev, make_kernels(_dev, SHAPE, PAIR), f"{SHAPE.NAME}_{PAIR.NAME}")
_run_moves = _m["run_moves"]  # module-level: numba cannot reach device functions through a dict


@cuda.jit
def _vmmc(
    pos, quat, shapes, boxes, grids,
    count, members, cell_of, slot_of, c0, c1, c2, c3, c4, c5, c6, c7,
    seeds, sweeps, n_moves, settings, pair_params, counts, trace, result,
):  # fmt: skip  # noqa: PLR0913 (one launch: the batch's arrays, flat, as every CUDA kernel here)
    """Thread b runs n_moves moves of system b; result[b] = (units change, ok).  The cell arrays
    (count, members, cell_of, slot_of) and the work arrays c0 .. c7 are those of `run_moves`."""
    b = cuda.grid(1)
    if b >= pos.shape[0]:
        return
    total, ok = _run_moves(
        (pos[b], quat[b], shapes[b]),
        boxes[b],
        grids[b],
        (count[b], members[b], cell_of[b], slot_of[b]),
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


def _work_arrays(n_sys, n, n_cells, cap):
    """(cells, work) of `run_moves` for every system, zeroed where run_moves needs zeros."""
    zeros, empty = (lambda shape, dtype=np.int64: cuda.to_device(np.zeros(shape, dtype))), cuda.device_array
    cells = (
        zeros((n_sys, n_cells)),
        empty((n_sys, n_cells, cap), np.int64),
        empty((n_sys, n), np.int64),
        empty((n_sys, n), np.int64),
    )
    work = (
        empty((n_sys, n), np.int64),
        zeros((n_sys, n), np.bool_),
        zeros((n_sys, n, 3), np.float64),
        zeros((n_sys, n), np.bool_),
        empty((n_sys, n), np.int64),
        zeros((n_sys, n)),
        zeros((n_sys, n), np.bool_),
        empty((n_sys, n), np.int64),
    )
    return cells, work


def vmmc_moves(device, cap, seeds, sweeps, n_moves, settings, pair_params, counts, record):  # noqa: PLR0913 (one call per action)
    """n_moves VMMC moves of every system of `device` (a gpu_host.DeviceArrays), in place.

    seeds (B,) uint64, sweeps (B,) int64, settings (B, 8) and pair_params (B, K) as for
    cubemc/vmmc_kernels.py; counts (B, N_COUNTS) int64 are
    updated (sums, and the largest cluster).  Returns (units change (B,),
    ok (B,) bool, trace (B, n_moves) of the units change after each move, or (B, 0) unless
    `record`)."""
    n_sys, n = device.pos.shape[0], device.pos.shape[1]
    n_cells = device.n_cells
    key = (n_sys, n, n_cells, int(cap))
    if getattr(device, "vmmc_work", (None,))[0] != key:
        device.vmmc_work = (key, *_work_arrays(*key))
    _, cells, work = device.vmmc_work
    d_counts = cuda.to_device(np.ascontiguousarray(counts, np.int64))  # in and out: one is a maximum
    trace = cuda.device_array((n_sys, n_moves if record else 0), np.int64)
    result = cuda.device_array((n_sys, 2), np.int64)
    with warnings.catch_warnings():
        if numba.config.ENABLE_CUDASIM:  # NumPy uint64 scalars wrap correctly but warn
            warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        _vmmc[n_sys, 1](
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
