"""Many independent simulations of the same N advanced together (replicas, state-point sweeps).

On a GPU one launch per checkerboard set covers the active cells of every system, so a batch of
~1000-cube systems fills the device; on the CPU one prange covers them all.  Each system draws
exactly the random numbers of its own separate run, so a batched run equals separate runs.  The
batch owns the configurations (resident on the device across runs); its simulations become views
of it, and a simulation run on its own afterwards takes a private copy of its system.
"""

from __future__ import annotations

import numpy as np

from . import validate, vmmc
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
        """Run `sweeps` sweeps of every system, with the members' VMMC cluster moves where due
        (`cluster_updaters`); returns the (B, sweeps) bond traces (after each sweep and the
        cluster moves made then).  Other operations of the members do not act in a batch."""
        sims = self.simulations
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        if sweeps == 0:
            return np.zeros((len(sims), 0), np.int64)
        updaters = self.cluster_updaters()
        systems = self._gather()
        traces, end = [], sims[0].sweep + sweeps
        while sims[0].sweep < end:
            stop = end if updaters is None else min(end, updaters[0].next_stop(sims[0].sweep))
            traces.append(self._sweeps(systems, stop - sims[0].sweep))
            if updaters is not None and updaters[0].due(sims[0].sweep):
                moves = vmmc.act_together(updaters, sims, systems, any(u.record for u in updaters))
                for b, u in enumerate(updaters):
                    if u.record:
                        u._trace.append(moves[b])
                traces[-1][:, -1] = [s.bonds for s in sims]
        return np.concatenate(traces, axis=1)

    def _sweeps(self, systems, sweeps):
        sims = self.simulations
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

    def cluster_updaters(self):
        """The members' VMMC updaters, which a batch runs together (one GPU launch for all), or None
        if no member has an updater.  Raises InputError unless every member has exactly one updater,
        a VMMC, and all act at the same sweeps: box moves change one system's box, which a batch
        cannot, and cluster moves acting at different sweeps would split every launch."""
        sims = self.simulations
        if not any(s.operations.updaters for s in sims):
            return None
        updaters = [s.operations.updaters for s in sims]
        if any(len(u) != 1 or not isinstance(u[0], vmmc.VMMC) for u in updaters):
            raise InputError(
                "a batch runs VMMC cluster moves only, one updater on every member; "
                "other updaters (box moves) need a simulation of its own"
            )
        updaters = [u[0] for u in updaters]
        if len({(u.period, u.next_stop(s.sweep) - s.sweep) for u, s in zip(updaters, sims)}) != 1:
            raise InputError(
                "the VMMC updaters of a batch must act at the same sweeps (period, phase, sweep count)"
            )
        vmmc.common_moves(updaters, sims)
        return updaters
