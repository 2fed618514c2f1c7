"""B systems of equal N on one device: the arrays the compiled drivers advance.

A `cubemc.Simulation` is a view of one system of a `Systems` (a batch of one unless it was put
into a `cubemc.SimulationBatch`).  The configuration (positions, orientations, shape parameters)
stays where the drivers run: NumPy arrays on the CPU, device arrays on a GPU, resident across
calls and copied to the host only when someone reads it.  Per-system scalars (seed, sweep, move
sizes, beta_epsilon, pair parameters, running energy) belong to the simulations and are passed
in at each call, so they can change between calls without touching the configuration.
"""

from __future__ import annotations

import numpy as np

from . import targets
from .vmmc_moves import work_arrays


class Systems:
    """Configurations of B systems of N particles of one shape, pair energy and device."""

    def __init__(self, shape, pair, device, configurations, grids, cap, gpu_variant="cell"):  # noqa: PLR0913 (what defines a batch, by name)
        """configurations: a list of (positions, orientations, shape_params, box) per system;
        gpu_variant: the CUDA kernel layout (cubemc/gpu.py VARIANTS), ignored on the CPU."""
        self.shape, self.pair, self.device = shape, pair, device
        self.size = len(configurations)
        self.grids = np.ascontiguousarray(np.stack([np.asarray(g, np.int64) for g in grids]))
        self.boxes = np.ascontiguousarray(np.stack([np.asarray(c[3], np.float64) for c in configurations]))
        self.cap = int(cap)
        self._host = [
            np.ascontiguousarray(np.stack([c[k] for c in configurations])) for k in range(3)
        ]  # positions, orientations, shape params
        self._device = None
        self._stale = False  # True when the device copy is newer than the host copy
        if device == "gpu":
            self._device = targets.gpu(shape, pair).DeviceArrays(
                *self._host, self.boxes, self.grids, gpu_variant
            )

    def kernels(self):
        return targets.cpu(self.shape, self.pair)

    # ------------------------------------------------------------------ configuration access
    def configuration(self, b):
        """(positions, orientations) of system b as host arrays (views; copy before keeping)."""
        self._sync()
        return self._host[0][b], self._host[1][b]

    def shape_params(self, b):
        return self._host[2][b]

    def set_configuration(self, b, positions, orientations):
        self._sync()
        self._host[0][b] = positions
        self._host[1][b] = orientations
        if self._device is not None:
            self._device.upload(*self._host)

    def set_box(self, b, positions, box, grid, cap):
        """New positions, box and cell grid of the only system (CPU: box moves' fast path)."""
        assert self._device is None and self.size == 1, "set_box is for one CPU system"
        self._host[0][b] = positions
        self.boxes[b] = box
        self.grids[b] = grid
        self.cap = int(cap)

    def _sync(self):
        if self._stale:
            self._host[0][:], self._host[1][:] = self._device.download()
            self._stale = False

    # ------------------------------------------------------------------ running
    def advance(self, n_sweeps, seeds, sweep0, moves, pair_params, units):
        """Run n_sweeps checkerboard sweeps of every system.

        seeds (B,) uint64, sweep0 (B,) int64, moves (B, 4) = (translation size, rotation size,
        beta_epsilon, largest overlap distance^2), pair_params (B, K), units (B,) int64 energy
        units before the call.  Returns (trace (B, n_sweeps) of energy units after each sweep,
        counts (B, 4) of this call, ok); ok is False on a cell overflow (an overlap: a bug).
        """
        seeds = np.ascontiguousarray(seeds, np.uint64)
        sweep0 = np.ascontiguousarray(sweep0, np.int64)
        moves = np.ascontiguousarray(moves, np.float64)
        pair_params = np.ascontiguousarray(pair_params, np.float64)
        if self._device is not None:
            trace, counts, ok = self._device.sweeps(self.cap, seeds, sweep0, n_sweeps, moves, pair_params)
            self._stale = True
            return trace + np.asarray(units, np.int64)[:, None], counts, ok
        counts = np.zeros((self.size, 4), np.int64)
        trace = np.zeros((self.size, n_sweeps), np.int64)
        running = np.array(units, np.int64)
        pos, quat, shapes = self._host
        ok = self.kernels().sweeps(
            pos,
            quat,
            shapes,
            self.boxes,
            self.grids,
            self.cap,
            seeds,
            sweep0,
            n_sweeps,
            moves,
            pair_params,
            running,
            counts,
            trace,
        )
        return trace, counts, ok

    def vmmc_moves(self, n_moves, seeds, sweeps, settings, pair_params, counts, record, gpu_lanes=None):  # noqa: PLR0913 (one call per action)
        """n_moves VMMC cluster moves of every system where its configuration lives (cubemc/vmmc.py).

        seeds (B,) uint64, sweeps (B,) int64, settings (B, 8) and pair_params (B, K) as for
        cubemc/vmmc_kernels.py; counts (B, N_COUNTS) int64 are updated (sums, the largest
        cluster).  Returns (units change (B,), ok (B,), trace (B, n_moves) of the change after
        each move, (B, 0) unless `record`);
        ok is False on a cell overflow (an overlap: a bug).  gpu_lanes: threads per system on a
        GPU (vmmc_moves.GPU_LANES; default gpu_vmmc.DEFAULT_LANES), the same moves whatever it is.
        """
        if self._device is not None:
            gpu = targets.specialise("gpu_vmmc", self.shape, self.pair)
            out = gpu.vmmc_moves(
                self._device,
                self.cap,
                seeds,
                sweeps,
                n_moves,
                settings,
                pair_params,
                counts,
                record,
                gpu_lanes,
            )
            self._stale = True
            return out
        cpu = targets.specialise("vmmc_kernels", self.shape, self.pair)
        delta, ok = np.zeros(self.size, np.int64), np.zeros(self.size, bool)
        trace = np.zeros((self.size, n_moves if record else 0), np.int64)
        n = self._host[0].shape[1]
        n_cells = int(np.prod(self.grids, axis=1).max())
        cells, work = work_arrays(self.size, n, n_cells, self.cap, np.zeros, np.empty)
        for b in range(self.size):
            delta[b], ok[b] = cpu.vmmc_moves(
                tuple(a[b] for a in self._host),
                self.boxes[b],
                self.grids[b],
                tuple(a[b] for a in cells),
                tuple(a[b] for a in work),
                seeds[b],
                sweeps[b],
                n_moves,
                np.ascontiguousarray(settings[b], np.float64),
                np.ascontiguousarray(pair_params[b], np.float64),
                counts[b],
                trace[b],
            )
        return delta, ok, trace

    def serial(self, n_sweeps, seed, sweep0, moves, pair_params, units):
        """The serial reference schedule (CPU, one system); returns (trace, counts)."""
        pos, quat, shapes = (a[0] for a in self._host)
        counts = np.zeros(4, np.int64)
        trace = np.zeros(n_sweeps, np.int64)
        self.kernels().serial_sweeps(
            pos,
            quat,
            shapes,
            self.boxes[0],
            np.uint64(seed),
            sweep0,
            n_sweeps,
            np.asarray(moves, np.float64),
            np.asarray(pair_params, np.float64),
            units,
            counts,
            trace,
        )
        return trace, counts
