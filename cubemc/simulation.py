"""NVT Metropolis Monte Carlo of hard cubes with a centre-centre square well."""

import logging
import sys

import numpy as np

from . import trajectory as gsdio
from . import validate
from .contract import (CHECKPOINT_KEYS, CHECKPOINT_VERSION, DEVICES, pause_points,
                       run_arguments)
from .errors import DeviceError, InputError
from .geometry import cell_grid
from .state import State

log = logging.getLogger("cubemc")

SCHEDULES = ("checkerboard", "serial")


def resolve_device(device):
    """'cpu' or 'gpu' for a requested 'cpu' | 'gpu' | 'auto'; DeviceError if impossible."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    reason = "numba-cuda found no usable CUDA device"
    try:
        from . import gpu

        usable = gpu.available()
    except Exception as err:  # numba-cuda missing or its driver bindings broken
        usable, reason = False, f"numba-cuda cannot be used ({type(err).__name__}: {err})"
    if usable:
        return "gpu"
    if device == "gpu":
        raise DeviceError(f"device='gpu' was requested but {reason}; use device='cpu' or 'auto'")
    return "cpu"


class Simulation:
    """Metropolis MC of `state` with translation and rotation moves (half of the trials each).

    beta_epsilon is the well depth in units of kT (negative = attractive); a pair of
    non-overlapping cubes whose centres are closer than well_range contributes beta_epsilon to
    beta*U.  Move sizes change only in tune(), never in run(), so production runs are Markov chains.
    """

    def __init__(self, state, beta_epsilon, well_range=1.14, seed=0, device="auto",
                 translate_size=0.1, rotate_size=0.1, schedule="checkerboard", _warn_well=True):
        if not isinstance(state, State):
            raise InputError("state must be a cubemc.State")
        self.beta_epsilon = validate.finite("beta_epsilon", beta_epsilon)
        self.well_range = (validate.well_range(well_range) if _warn_well
                           else validate.positive("well_range", well_range))
        self.seed = validate.seed(seed)
        self.translate_size = validate.positive("translate_size", translate_size)
        self.rotate_size = validate.positive("rotate_size", rotate_size)
        if schedule not in SCHEDULES:
            raise InputError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
        self.schedule = schedule
        try:
            self._grid, self._cap = cell_grid(state.box, self.well_range)
        except ValueError as err:
            raise InputError(str(err)) from None
        self.device = resolve_device(device)
        if self.device == "gpu" and schedule == "serial":
            raise DeviceError("the serial schedule runs on the CPU only; use device='cpu'")
        bonds, overlaps = state.count_pairs(self.well_range)
        if overlaps:
            state.check_overlaps()  # raises OverlapError with a pair named
        self._state = state.copy()
        self.bonds = bonds
        self.sweep = 0
        self.tuned = False
        self._counts = np.zeros(4, np.int64)  # accepted/total translations, accepted/total rotations
        self._gpu = None
        if self.device == "gpu":
            from . import gpu

            self._gpu = gpu.GPUBackend(self._state.positions, self._state.orientations,
                                       self._state.box, self._grid, self._cap)
        self._host_stale = False

    # ------------------------------------------------------------------ read-only views
    @property
    def state(self):
        self._sync()
        return self._state.copy()

    @property
    def positions(self):
        self._sync()
        return self._state.positions.copy()

    @property
    def orientations(self):
        self._sync()
        return self._state.orientations.copy()

    @property
    def box(self):
        return self._state.box.copy()

    @property
    def N(self):
        return self._state.N

    @property
    def energy(self):
        """beta * U of the whole system."""
        return self.beta_epsilon * self.bonds

    @property
    def acceptance(self):
        c = self._counts
        return {"translate": c[0] / c[1] if c[1] else float("nan"),
                "rotate": c[2] / c[3] if c[3] else float("nan")}

    @property
    def move_sizes(self):
        return {"translate": self.translate_size, "rotate": self.rotate_size}

    def reset_acceptance(self):
        self._counts[:] = 0

    def _set_configuration(self, positions, orientations):
        """Replace positions and orientations (used by SimulationBatch; no checks)."""
        self._sync()
        self._state.positions[:] = positions
        self._state.orientations[:] = orientations
        if self._gpu is not None:
            self._gpu.upload(self._state.positions, self._state.orientations)

    def _sync(self):
        if self._host_stale:
            pos, quat = self._gpu.download()
            self._state.positions[:] = pos
            self._state.orientations[:] = quat
            self._host_stale = False

    # ------------------------------------------------------------------ running
    def _advance(self, n_sweeps):
        """Run n_sweeps with the current move sizes; returns the bond count after each sweep."""
        from . import cpu

        n_sweeps = int(n_sweeps)
        if n_sweeps == 0:
            return np.zeros(0, np.int64)
        well2 = self.well_range ** 2
        seed = np.uint64(self.seed)
        if self.device == "gpu":
            trace, counts, ok = self._gpu.sweeps(seed, self.sweep, n_sweeps, self.translate_size,
                                                 self.rotate_size, self.beta_epsilon, well2)
            trace = trace + self.bonds
            self._counts += counts
            self._host_stale = True
        else:
            trace = np.zeros(n_sweeps, np.int64)
            st = self._state
            if self.schedule == "serial":
                bonds, ok = cpu.serial_sweeps(st.positions, st.orientations, st.box, seed,
                                              self.sweep, n_sweeps, self.translate_size,
                                              self.rotate_size, self.beta_epsilon, well2,
                                              self.bonds, self._counts, trace)
            else:
                bonds, ok = cpu.checkerboard_sweeps(st.positions, st.orientations, st.box,
                                                    self._grid, self._cap, seed, self.sweep,
                                                    n_sweeps, self.translate_size,
                                                    self.rotate_size, self.beta_epsilon, well2,
                                                    self.bonds, self._counts, trace)
        if not ok:
            raise RuntimeError("cell list overflow: the configuration must contain overlaps "
                               "(this indicates a bug; please report it with the input file)")
        self.bonds = int(trace[-1])
        self.sweep += n_sweeps
        return trace

    def run_trace(self, sweeps):
        """Run `sweeps` sweeps and return the bond count after each one (for time series)."""
        return self._advance(validate.nonnegative_int("sweeps", sweeps))

    def tune(self, sweeps, target_acceptance=0.3, period=10):
        """Equilibration with move-size tuning toward `target_acceptance` (both move kinds).

        After every `period` sweeps each move size is scaled by (acc + 0.05)/(target + 0.05),
        clipped to [0.5, 2]; translations stay below half a cell, rotations below 1.  The
        acceptance counters are reset at the end, so later statistics cover frozen moves only.
        """
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        period = validate.positive_int("period", period)
        target = validate.fraction("target_acceptance", target_acceptance)
        max_translate = 0.5 * float(np.min(self._state.box / self._grid))
        done = 0
        while done < sweeps:
            chunk = min(period, sweeps - done)
            before = self._counts.copy()
            self._advance(chunk)
            c = self._counts - before
            if c[1]:
                self.translate_size = min(max_translate, self.translate_size
                                          * _tune_factor(c[0] / c[1], target))
            if c[3]:
                self.rotate_size = min(1.0, self.rotate_size * _tune_factor(c[2] / c[3], target))
            done += chunk
        self.reset_acceptance()
        self.tuned = True

    def run(self, sweeps, trajectory=None, period=None, checkpoint=None, checkpoint_period=None,
            progress=False):
        """Run `sweeps` more sweeps with frozen move sizes.

        trajectory: GSD file; a frame is appended whenever the sweep count is a multiple of
        `period` (and at the start if that sweep has no frame yet).  Frames newer than the current
        sweep (left by a killed run) are dropped first.  checkpoint: .npz written atomically every
        `checkpoint_period` sweeps and at the end.  progress: a tqdm bar on a terminal, else one
        log line per checkpoint.
        """
        sweeps, path, period, checkpoint_period = run_arguments(sweeps, trajectory, period,
                                                                checkpoint, checkpoint_period)
        if path is not None and gsdio.needs_first_frame(path, self.sweep, period):
            self.write_frame(path)
        end = self.sweep + sweeps
        bar = _progress_bar(sweeps, progress)
        try:
            for stop in pause_points(self.sweep, end, period, checkpoint_period):
                start = self.sweep
                self._advance(stop - start)
                if bar is not None:
                    bar.update(stop - start)
                if path is not None and self.sweep % period == 0:
                    self.write_frame(path)
                if checkpoint is not None and (self.sweep % checkpoint_period == 0
                                               or self.sweep == end):
                    self.save_checkpoint(checkpoint)
                    if bar is None and progress:
                        log.info("sweep %d of %d, energy %.4f, checkpoint %s",
                                 self.sweep, end, self.energy, checkpoint)
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------------ output
    def log_values(self):
        acc = self.acceptance
        return {"sweep": self.sweep, "energy": self.energy, "bonds": self.bonds,
                "beta_epsilon": self.beta_epsilon, "well_range": self.well_range, "seed": self.seed,
                "translate_acceptance": acc["translate"], "rotate_acceptance": acc["rotate"],
                "translate_move_size": self.translate_size, "rotate_move_size": self.rotate_size}

    def write_frame(self, path):
        self._sync()
        st = self._state
        gsdio.append(str(path), gsdio.make_frame(st.positions, st.orientations, st.box,
                                                           self.sweep, self.log_values()))

    def save_checkpoint(self, path):
        """Everything needed to continue bit for bit, in float64, written atomically."""
        self._sync()
        st = self._state
        gsdio.write_checkpoint(str(path), dict(
            version=CHECKPOINT_VERSION, positions=st.positions, orientations=st.orientations,
            box=st.box, sweep=self.sweep, bonds=self.bonds, counts=self._counts,
            beta_epsilon=self.beta_epsilon, well_range=self.well_range, seed=self.seed,
            translate_size=self.translate_size, rotate_size=self.rotate_size,
            schedule=self.schedule, tuned=self.tuned))

    @classmethod
    def from_checkpoint(cls, path, device="auto"):
        data = gsdio.read_checkpoint(str(path), CHECKPOINT_KEYS)
        state = State(data["positions"], data["orientations"], data["box"])
        sim = cls(state, float(data["beta_epsilon"]), float(data["well_range"]),
                  seed=int(data["seed"]), device=device,
                  translate_size=float(data["translate_size"]),
                  rotate_size=float(data["rotate_size"]), schedule=_native_schedule(data),
                  _warn_well=False)
        # positions are stored exactly, so the recount must equal the running total
        if sim.bonds != int(data["bonds"]):
            raise InputError(f"checkpoint {path} is inconsistent: {sim.bonds} bonds recounted, "
                             f"{int(data['bonds'])} stored")
        sim.sweep = int(data["sweep"])
        sim.tuned = bool(data["tuned"])
        sim._counts[:] = data["counts"]
        return sim


def _native_schedule(data):
    """Schedule to continue with: a checkpoint written by another engine (e.g. "hoomd") goes on
    with the checkerboard schedule, which samples the same distribution."""
    schedule = str(data["schedule"])
    return schedule if schedule in SCHEDULES else "checkerboard"


def _tune_factor(acc, target):
    return min(2.0, max(0.5, (acc + 0.05) / (target + 0.05)))


def _progress_bar(total, progress):
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="sweep", dynamic_ncols=True)
