"""Host side of the CUDA target: kernel-variant names, register caps, and the device-resident
arrays of B systems with the launches that advance them (the kernels themselves are those of one
(shape, pair) specialisation of cubemc/gpu.py, which subclasses `DeviceArrays` with them).

Imported only by cubemc/gpu.py, i.e. only when a GPU (or the CUDA simulator) is requested.
"""

import warnings

import numba
import numpy as np
from numba import cuda

from cubemc.errors import InputError

THREADS = 64
#: threads per block of the tile and fused kernels (their shared arrays have this size)
TILE_BLOCK = 128
#: kernel layouts (Simulation(gpu_variant=...)): see the docstring of cubemc/gpu.py
VARIANTS = ("cell", "tile", "fused")
#: lanes per active cell allowed by each layout, and the default
LANES = {"cell": (1,), "tile": (2, 4, 8, 16, 32), "fused": (1, 2, 4, 8, 16, 32)}
DEFAULT_LANES = {"cell": 1, "tile": 32, "fused": 32}


def parse_variant(variant):
    """(layout, lanes, regs) of a gpu_variant "layout[:lanes][/regs]", e.g. "cell", "tile:8",
    "fused:1/128"; regs (None: the compiler's choice) caps the registers per thread of the update
    kernels, trading spills for more resident threads."""
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
    key = (kernel.py_func, regs)  # each (shape, pair) has its own kernel functions
    if key not in _CAPPED:
        bounds = (TILE_BLOCK, max(1, 65536 // (TILE_BLOCK * regs)))
        _CAPPED[key] = cuda.jit(launch_bounds=bounds)(kernel.py_func)
    return _CAPPED[key]


def resources(kernels, variant):
    """Registers and local (spill) memory per thread and static shared memory per block of the
    compiled update kernel of `variant` among `kernels` (DeviceArrays.kernels), for reports; {}
    before it ran or in the simulator."""
    layout, _, regs = parse_variant(variant)
    if numba.config.ENABLE_CUDASIM:
        return {}
    kernel = capped(
        {"cell": kernels.update, "tile": kernels.update_tiles, "fused": kernels.fused}[layout], regs
    )
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


def _blocks(n):
    return max(1, (n + THREADS - 1) // THREADS)


class DeviceArrays:
    """The configuration of B systems resident on the GPU, and the sweeps that advance it.

    `kernels` (set by the subclass in each specialisation of cubemc/gpu.py) holds the kernels of
    one (shape, pair): clear, assign, sort, update, update_tiles, trace, fused.
    """

    kernels = None

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

    def _resident(self):
        """The arrays every update kernel takes first, in its order: the active cells' systems and
        offsets, then the configuration, box and grid of every system."""
        return self.owner, self.offsets, self.pos, self.quat, self.shapes, self.boxes, self.grids

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
        kern = self.kernels
        kern.clear[_blocks(cell_count.size), THREADS](cell_count)
        kern.assign[_blocks(n_sys * n), THREADS](
            self.pos, self.boxes, self.grids, seeds, sweep0, s, cell_count, members, status
        )
        kern.sort[_blocks(cell_count.size), THREADS](cell_count, members)
        common = (
            *self._resident(),
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
                capped(kern.update, self.regs)[_blocks(self.total), THREADS](np.int64(k), *common)
            else:
                block = self.tile_block()
                groups = block // self.lanes
                blocks = (self.total + groups - 1) // groups
                capped(kern.update_tiles, self.regs)[blocks, block](
                    np.int64(k), np.int64(self.lanes), *common
                )
        kern.trace[_blocks(n_sys), THREADS](counts, trace, s)

    def _run_fused(
        self, n_sweeps, seeds, sweep0, cell_count, members, moves, pair_params, counts, status, trace
    ):  # noqa: PLR0913 (the arrays of one call)
        args = (
            np.int64(self.lanes),
            np.int64(n_sweeps),
            *self._resident(),
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
        kernel = capped(self.kernels.fused, self.regs)
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
