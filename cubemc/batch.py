"""Many independent simulations of the same N advanced together (replicas, state-point sweeps).

On a GPU one launch per checkerboard set covers the active cells of every system, so a batch of
~1000-cube systems fills the device; on the CPU one prange covers them all.  Each system draws
exactly the random numbers of its own separate run, so a batched run equals separate runs.
"""

import numpy as np

from .errors import InputError


class SimulationBatch:
    """Advance `simulations` (cubemc.Simulation objects, equal N, one device) in lockstep."""

    def __init__(self, simulations):
        self.simulations = list(simulations)
        if not self.simulations:
            raise InputError("a batch needs at least one simulation")
        sims = self.simulations
        if len({s.N for s in sims}) != 1:
            raise InputError("all simulations of a batch must have the same number of cubes")
        if len({s.device for s in sims}) != 1:
            raise InputError("all simulations of a batch must use the same device")
        if any(s.schedule != "checkerboard" for s in sims):
            raise InputError("batches run the checkerboard schedule only")
        self.device = sims[0].device

    def run(self, sweeps):
        """Run `sweeps` sweeps of every system; returns the (B, sweeps) bond traces."""
        from . import cpu

        sims = self.simulations
        sweeps = int(sweeps)
        if sweeps < 0:
            raise InputError(f"sweeps must be a non-negative integer, got {sweeps}")
        if sweeps == 0:
            return np.zeros((len(sims), 0), np.int64)
        pos = np.stack([s.positions for s in sims])
        quat = np.stack([s.orientations for s in sims])
        boxes = np.stack([s.box for s in sims])
        grids = np.stack([s._grid for s in sims]).astype(np.int64)
        cap = max(s._cap for s in sims)
        seeds = np.array([s.seed for s in sims], np.uint64)
        sweep0 = np.array([s.sweep for s in sims], np.int64)
        d_moves = np.array([s.translate_size for s in sims], np.float64)
        a_moves = np.array([s.rotate_size for s in sims], np.float64)
        beta = np.array([s.beta_epsilon for s in sims], np.float64)
        well2 = np.array([s.well_range ** 2 for s in sims], np.float64)
        bonds = np.array([s.bonds for s in sims], np.int64)
        if self.device == "gpu":
            from . import gpu

            pos, quat, trace, counts, ok = gpu.batched_sweeps(
                pos, quat, boxes, grids, cap, seeds, sweep0, sweeps, d_moves, a_moves, beta,
                well2)
            trace = trace + bonds[:, None]
        else:
            counts = np.zeros((len(sims), 4), np.int64)
            trace = np.zeros((len(sims), sweeps), np.int64)
            ok = cpu.batched_sweeps(pos, quat, boxes, grids, cap, seeds, sweep0, sweeps, d_moves,
                                    a_moves, beta, well2, bonds, counts, trace)
        if not ok:
            raise RuntimeError("cell list overflow in a batch: a configuration overlaps (bug)")
        for b, sim in enumerate(sims):
            sim._set_configuration(pos[b], quat[b])
            sim.bonds = int(trace[b, -1])
            sim.sweep += sweeps
            sim._counts += counts[b]
        return trace
