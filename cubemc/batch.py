"""Many independent simulations of the same N advanced together (replicas, state-point sweeps).

On a GPU one launch per checkerboard set covers the active cells of every system, so a batch of
~1000-cube systems fills the device; on the CPU one prange covers them all.  Each system draws
exactly the random numbers of its own separate run, so a batched run equals separate runs.  The
batch owns the configurations (resident on the device across runs); its simulations become views
of it, and a simulation run on its own afterwards takes a private copy of its system.
"""

from __future__ import annotations

import numpy as np

from . import validate
from .devices import resolve_device
from .errors import InputError
from .systems import Systems


class SimulationBatch:
    """Advance `simulations` (cubemc.Simulation objects, equal N, one device) in lockstep."""

    def __init__(self, simulations):
        self.simulations = list(simulations)
        if not self.simulations:
            raise InputError("a batch needs at least one simulation")
        sims = self.simulations
        if len({s.N for s in sims}) != 1:
            raise InputError("all simulations of a batch must have the same number of cubes")
        if len({(s.shape.NAME, s.pair.NAME) for s in sims}) != 1:
            raise InputError("all simulations of a batch must have the same shape and pair energy")
        if len({s.gpu_variant for s in sims}) != 1:
            raise InputError("all simulations of a batch must use the same gpu_variant")
        if any(s.schedule != "checkerboard" for s in sims):
            raise InputError("batches run the checkerboard schedule only")
        if all(s.requested_device == "auto" for s in sims):
            # "auto" chose per system; the batch fills one launch with all of them (devices.py)
            device = resolve_device("auto", sum(s.N for s in sims))
            for sim in sims:
                sim.device = device
        if len({s.device for s in sims}) != 1:
            raise InputError("all simulations of a batch must use the same device")
        self.device = sims[0].device
        self._systems = None

    def _gather(self) -> Systems:
        """The shared systems, (re)built if a member left the batch since the last run."""
        sims = self.simulations
        if self._systems is None or any(s.systems is not self._systems for s in sims):
            states = [s.state for s in sims]
            self._systems = Systems(
                sims[0].shape,
                sims[0].pair,
                self.device,
                [(st.positions, st.orientations, st.shape_params, st.box) for st in states],
                [s.cells[0] for s in sims],
                max(s.cells[1] for s in sims),
                sims[0].gpu_variant,
            )
            for b, sim in enumerate(sims):
                sim.bind(self._systems, b)
        return self._systems

    def run(self, sweeps):
        """Run `sweeps` sweeps of every system; returns the (B, sweeps) bond traces."""
        sims = self.simulations
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        if sweeps == 0:
            return np.zeros((len(sims), 0), np.int64)
        systems = self._gather()
        params = [s.kernel_parameters() for s in sims]
        trace, counts, ok = systems.advance(
            sweeps,
            [s.seed for s in sims],
            [s.sweep for s in sims],
            [p[0] for p in params],
            [p[1] for p in params],
            [s.bonds for s in sims],
        )
        if not ok:
            raise RuntimeError("cell list overflow in a batch: a configuration overlaps (bug)")
        for b, sim in enumerate(sims):
            sim.bonds = int(trace[b, -1])
            sim.sweep += sweeps
            sim.counts += counts[b]
        return trace
