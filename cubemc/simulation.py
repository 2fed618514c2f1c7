"""NVT Metropolis Monte Carlo of hard particles with a pair energy (hard cubes with a square well
unless told otherwise), on the CPU or a GPU; a single simulation is a batch of one."""

from __future__ import annotations

import logging
import sys

import numpy as np

from . import pairs, restart, shapes, targets, validate
from . import pressure as sdf
from . import trajectory as gsdio
from .contract import LOG_PREFIX, SCHEDULES, run_arguments
from .devices import resolve_device
from .errors import DeviceError, InputError
from .geometry import cell_grid, interaction_range, min_box_edge
from .operations import CheckpointWriter, GSDWriter, MoveSizeTuner, Operations
from .state import State
from .systems import Systems

log = logging.getLogger("cubemc")


class Simulation:
    """Metropolis MC of `state` with translation and rotation moves (half of the trials each).

    beta_epsilon is the well depth in units of kT (negative = attractive); a pair of
    non-overlapping particles whose centres are closer than well_range contributes beta_epsilon to
    beta*U.  Move sizes change only while tuning, never in a plain run(), so production runs are
    Markov chains.  Operations (writers, updaters, tuners) attached to `sim.operations` act between
    sweeps during run().
    """

    def __init__(
        self,
        state: State,
        beta_epsilon: float,
        well_range: float = 1.14,
        seed: int = 0,
        device: str = "auto",
        translate_size: float = 0.1,
        rotate_size: float = 0.1,
        schedule: str = "checkerboard",
        pair: str = "square_well",
        gpu_variant: str = "cell",
        _warn_well: bool = True,
    ):  # noqa: PLR0913 (the model's parameters, by name)
        if not isinstance(state, State):
            raise InputError("state must be a cubemc.State")
        self.beta_epsilon = validate.finite("beta_epsilon", beta_epsilon)
        self.well_range = (
            validate.well_range(well_range) if _warn_well else validate.positive("well_range", well_range)
        )
        self.seed = validate.seed(seed)
        self.translate_size = validate.positive("translate_size", translate_size)
        self.rotate_size = validate.positive("rotate_size", rotate_size)
        if schedule not in SCHEDULES:
            raise InputError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
        self.schedule = schedule
        self.shape = shapes.get(state.shape)
        self.pair = pairs.get(pair)
        self._grid, self._cap = self._grid_for(state.box, state.shape_params)
        self.requested_device = device  # a batch of "auto" simulations decides for all (batch.py)
        self.device = resolve_device(device, state.N if schedule == "checkerboard" else 0)
        self.gpu_variant = gpu_variant  # which CUDA kernel layout runs (cubemc/gpu.py VARIANTS)
        if self.device == "gpu" and schedule == "serial":
            raise DeviceError("the serial schedule runs on the CPU only; use device='cpu'")
        bonds, overlaps = state.count_pairs(self.well_range)
        if overlaps:
            state.check_overlaps()  # raises OverlapError with a pair named
        self._box = state.box.copy()
        self.bonds = bonds
        self.sweep = 0
        self.tuned = False
        self.counts = np.zeros(4, np.int64)  # accepted/total translations, accepted/total rotations
        self.operations = Operations()
        self.bind(self._new_systems(state), 0)

    # ------------------------------------------------------------------ batch membership
    @property
    def systems(self) -> Systems:
        """The Systems holding this simulation's configuration (shared while in a batch)."""
        return self._systems

    @property
    def cells(self) -> tuple:
        """(cell counts per axis, cell capacity) of the checkerboard grid for this box."""
        return self._grid.copy(), self._cap

    def bind(self, systems: Systems, index: int) -> None:
        """Make this simulation a view of system `index` of `systems` (SimulationBatch does)."""
        self._systems, self._index = systems, index

    def _own_systems(self) -> Systems:
        """This simulation's systems, after leaving a batch if it is in one (copies its data)."""
        if self._systems.size > 1:
            self.bind(self._new_systems(self.state), 0)
        return self._systems

    def _new_systems(self, state):
        return Systems(
            self.shape,
            self.pair,
            self.device,
            [_configuration(state)],
            [self._grid],
            self._cap,
            self.gpu_variant,
        )

    def _grid_for(self, box, shape_params):
        """(cell counts, capacity) of the checkerboard grid for `box`; InputError if too small."""
        try:
            return cell_grid(box, self.pair.cutoff(self.well_range), self.shape, shape_params)
        except ValueError as err:
            raise InputError(str(err)) from None

    def kernel_parameters(self):
        """(moves, pair parameters) rows passed to the drivers for this system."""
        params = self._systems.shape_params(self._index)
        moves = (
            self.translate_size,
            self.rotate_size,
            self.beta_epsilon,
            self.shape.overlap_distance2(params),
        )
        # the reach covers the largest pair (exactly well_range for unit cubes: bit-exact)
        return moves, self.pair.parameters(self.well_range, shapes.max_size(self.shape, params))

    # ------------------------------------------------------------------ read-only views
    @property
    def state(self) -> State:
        pos, quat = self._systems.configuration(self._index)
        return State(
            pos.copy(),
            quat.copy(),
            self._box.copy(),
            check=False,
            shape=self.shape.NAME,
            shape_params=self._systems.shape_params(self._index).copy(),
        )

    @property
    def positions(self):
        return self._systems.configuration(self._index)[0].copy()

    @property
    def orientations(self):
        return self._systems.configuration(self._index)[1].copy()

    @property
    def box(self):
        return self._box.copy()

    @property
    def shape_params(self):
        return self._systems.shape_params(self._index).copy()

    @property
    def N(self) -> int:
        return int(self._systems.configuration(self._index)[0].shape[0])

    @property
    def energy(self) -> float:
        """beta * U of the whole system."""
        return self.beta_epsilon * self.bonds

    @property
    def acceptance(self) -> dict:
        c = self.counts
        return {
            "translate": c[0] / c[1] if c[1] else float("nan"),
            "rotate": c[2] / c[3] if c[3] else float("nan"),
        }

    @property
    def move_sizes(self) -> dict:
        return {"translate": self.translate_size, "rotate": self.rotate_size}

    def reset_acceptance(self) -> None:
        self.counts[:] = 0

    # ------------------------------------------------------------------ box changes (NPT)
    @property
    def min_box_edge(self) -> float:
        """The smallest allowed box edge: twice the interaction range (geometry.min_box_edge)."""
        params = self._systems.shape_params(self._index)
        return min_box_edge(interaction_range(self.pair.cutoff(self.well_range), self.shape, params))

    def count_pairs(self, state: State | None = None) -> tuple[int, int]:
        """(energy units, overlapping pairs) of `state` (default: the current configuration),
        counted from scratch with this simulation's pair energy, in parallel on the CPU
        (cpu.count_pairs, one cell-list pass over all particles) or, for a GPU simulation, in
        one launch on the GPU (cubemc/gpu_count.py)."""
        state = self.state if state is None else state
        grid, cap = self._grid_for(state.box, state.shape_params)
        if self.device == "gpu":
            reach = interaction_range(self.pair.cutoff(self.well_range), self.shape, state.shape_params)
            cells = sdf.cell_lists(state.positions, state.box, reach)
            gpu_count = targets.specialise("gpu_count", self.shape, self.pair)
            pair_params = np.asarray(self.kernel_parameters()[1], np.float64)
            return gpu_count.count_pairs(
                state.positions, state.orientations, state.shape_params, state.box, cells, pair_params
            )
        units, overlaps = self._systems.kernels().count_pairs(
            state.positions,
            state.orientations,
            state.shape_params,
            state.box,
            grid,
            cap,
            np.asarray(self.kernel_parameters()[1], np.float64),
        )
        if units < 0:  # a cell held more particles than non-overlapping ones can
            return 0, max(int(overlaps), 1)
        return int(units), int(overlaps)

    def set_state(self, state: State, bonds: int | None = None) -> None:
        """Continue from `state` (same N and shape; the box may differ): the cell grid is
        recomputed for its box and the systems rebuilt (a simulation in a batch leaves it).

        bonds: the from-scratch count of exactly this state (count_pairs) when the caller has
        it; otherwise it is recounted here.  Raises OverlapError for overlapping particles and
        InputError for a box below min_box_edge.  The sweep count and move sizes are kept.
        """
        if not isinstance(state, State) or state.N != self.N or state.shape != self.shape.NAME:
            raise InputError(f"set_state needs a State of {self.N} particles of shape {self.shape.NAME!r}")
        grid, cap = self._grid_for(state.box, state.shape_params)
        if bonds is None:
            bonds, overlaps = self.count_pairs(state)
            if overlaps:
                state.check_overlaps()  # raises OverlapError with a pair named
        self._grid, self._cap = grid, cap
        self._box = state.box.copy()
        self.bonds = int(bonds)
        self.bind(self._new_systems(state), 0)

    def scale_box(self, new_box, positions, bonds: int) -> None:
        """Box moves' fast path: the same particles with every centre scaled into `new_box`
        (`positions` wrapped as State wraps them: npt.scaled_positions) and the exact bond count
        of that configuration; orientations and shape parameters unchanged.  The same as
        set_state with that State, without building one: a CPU simulation outside a batch
        updates its arrays in place (no copies, no checks: box moves have done them)."""
        new_box = np.array(new_box, np.float64)
        if self.device == "gpu" or self._systems.size > 1:
            _, quat, params = self.arrays()
            state = State(positions, quat, new_box, check=False, shape=self.shape.NAME, shape_params=params)
            self.set_state(state, bonds)
            return
        grid, cap = self._grid_for(new_box, self._systems.shape_params(self._index))
        self._systems.set_box(self._index, positions, new_box, grid, cap)
        self._grid, self._cap = grid, cap
        self._box = new_box
        self.bonds = int(bonds)

    def arrays(self):
        """(positions, orientations, shape parameters) as views of the simulation's own arrays,
        for code that reads them at once between sweeps (box moves, the pressure); never write
        to them or keep them (use state, positions or orientations for copies)."""
        pos, quat = self._systems.configuration(self._index)
        return pos, quat, self._systems.shape_params(self._index)

    def apply_configuration(self, positions, orientations, bonds: int) -> None:
        """Replace positions and orientations (same N, box and shape) and the running bond count,
        for updaters that move particles between sweeps (cubemc.vmmc).  `bonds` must be the exact
        count of the new configuration (count_pairs); a simulation in a batch leaves it."""
        n = self.N
        positions, orientations = np.asarray(positions, np.float64), np.asarray(orientations, np.float64)
        if positions.shape != (n, 3) or orientations.shape != (n, 4):
            raise InputError(f"apply_configuration needs ({n}, 3) positions and ({n}, 4) orientations")
        self._own_systems().set_configuration(self._index, positions, orientations)
        self.bonds = int(bonds)

    # ------------------------------------------------------------------ pressure
    @property
    def pressure(self) -> float:
        """beta P sigma^3 estimated from the current configuration alone (cubemc.pressure);
        average it over many configurations (pressure.PressureCompute) for a measurement."""
        return self.measure_pressure()

    def measure_pressure(self, max_scale=None, bins=sdf.BINS, degree=sdf.DEGREE):
        """beta P sigma^3 of the current configuration with these histogram settings."""
        return sdf.measure(self.state, self.pair, self.well_range, self.beta_epsilon, max_scale, bins, degree)

    # ------------------------------------------------------------------ running
    def _advance(self, n_sweeps):
        """Run n_sweeps with the current move sizes; returns the bond count after each sweep."""
        n_sweeps = int(n_sweeps)
        if n_sweeps == 0:
            return np.zeros(0, np.int64)
        systems = self._own_systems()
        moves, pair_params = self.kernel_parameters()
        if self.schedule == "serial":
            trace, counts = systems.serial(n_sweeps, self.seed, self.sweep, moves, pair_params, self.bonds)
        else:
            traces, counts, ok = systems.advance(
                n_sweeps, [self.seed], [self.sweep], [moves], [pair_params], [self.bonds]
            )
            if not ok:
                raise RuntimeError(
                    "cell list overflow: the configuration must contain overlaps "
                    "(this indicates a bug; please report it with the input file)"
                )
            trace, counts = traces[0], counts[0]
        self.counts += counts
        self.bonds = int(trace[-1])
        self.sweep += n_sweeps
        return trace

    def run_trace(self, sweeps):
        """Run `sweeps` sweeps and return the bond count after each one (for time series)."""
        return self._advance(validate.nonnegative_int("sweeps", sweeps))

    def tune(self, sweeps, target_acceptance=0.3, period=10):
        """Equilibration with move-size tuning toward `target_acceptance` (both move kinds).

        A MoveSizeTuner acts every `period` sweeps of this call (and at its end); translations
        stay below half a cell, rotations below 1.  The acceptance counters are reset at the end,
        so later statistics cover frozen moves only.
        """
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        period = validate.positive_int("period", period)
        max_translate = 0.5 * float(np.min(self._box / self._grid))
        tuners = [MoveSizeTuner(target_acceptance, period, self.sweep, max_translate)]
        # updaters with move sizes of their own (box moves) are tuned alongside
        tuners += [
            op.tuner(target_acceptance, period, self.sweep)
            for op in self.operations.updaters
            if hasattr(op, "tuner")
        ]
        self.operations.tuners.extend(tuners)
        try:
            self._run_operations(sweeps, list(self.operations))
        finally:
            for tuner in tuners:
                self.operations.tuners.remove(tuner)
        self.reset_acceptance()
        for op in self.operations.updaters:
            if hasattr(op, "reset_acceptance"):
                op.reset_acceptance()
        self.tuned = True

    def run(
        self, sweeps, trajectory=None, period=None, checkpoint=None, checkpoint_period=None, progress=False
    ):  # noqa: PLR0913 (convenience keywords for the common writers)
        """Run `sweeps` more sweeps with frozen move sizes, triggering the attached operations.

        trajectory: GSD file; a frame is appended whenever the sweep count is a multiple of
        `period` (and at the start if that sweep has no frame yet).  Frames newer than the current
        sweep (left by a killed run) are dropped first.  checkpoint: .npz written atomically every
        `checkpoint_period` sweeps and at the end.  These keywords add a GSDWriter and a
        CheckpointWriter for this run only.  progress: a tqdm bar on a terminal, else one log line
        per checkpoint.
        """
        sweeps, path, period, checkpoint_period = run_arguments(
            sweeps, trajectory, period, checkpoint, checkpoint_period
        )
        extra = []
        if path is not None:
            extra.append(GSDWriter(path, period))
        if checkpoint is not None:
            extra.append(_LoggedCheckpoint(checkpoint, checkpoint_period, progress))
        self._run_operations(sweeps, list(self.operations) + extra, progress)

    def _run_operations(self, sweeps, ops, progress=False):
        for op in ops:
            op.attach(self)
        end = self.sweep + sweeps
        bar = _progress_bar(sweeps, progress)
        try:
            while self.sweep < end:
                stop = min([end] + [op.next_stop(self.sweep) for op in ops])
                done = stop - self.sweep
                self._advance(done)
                if bar is not None:
                    bar.update(done)
                for op in ops:
                    if op.due(self.sweep) or (op.at_end and self.sweep == end):
                        op.act(self)
                        if bar is None and getattr(op, "progress", False):
                            log.info(
                                "sweep %d of %d, energy %.4f, checkpoint %s",
                                self.sweep,
                                end,
                                self.energy,
                                op.path,
                            )
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------------ output
    def log_values(self) -> dict:
        acc = self.acceptance
        return {
            "sweep": self.sweep,
            "energy": self.energy,
            "bonds": self.bonds,
            "beta_epsilon": self.beta_epsilon,
            "well_range": self.well_range,
            "seed": self.seed,
            "translate_acceptance": acc["translate"],
            "rotate_acceptance": acc["rotate"],
            "translate_move_size": self.translate_size,
            "rotate_move_size": self.rotate_size,
            "pressure": self.pressure,
        }

    def write_frame(self, path, keys=None) -> None:
        pos, quat = self._systems.configuration(self._index)
        type_shapes, typeid = gsdio.shape_types(self.shape, self._systems.shape_params(self._index))
        frame = gsdio.make_frame(pos, quat, self._box, self.sweep, self.log_values(), type_shapes, typeid)
        for op in self.operations:  # the attached operations' own quantities (cluster moves)
            for key, value in op.log_values().items():
                frame.log[LOG_PREFIX + key] = np.array([value], np.float64)
        gsdio.append(str(path), frame, keys)  # keys: a writer's trajectory.LogKeys

    def save_checkpoint(self, path) -> None:
        """Everything needed to continue bit for bit, in float64, written atomically."""
        restart.save(self, path)

    @classmethod
    def from_checkpoint(cls, path, device="auto") -> Simulation:
        return restart.load(cls, path, device)


class _LoggedCheckpoint(CheckpointWriter):
    """The checkpoint writer of run(checkpoint=...), which also reports progress in the log."""

    def __init__(self, path, period, progress):
        super().__init__(path, period)
        self.progress = progress


def _configuration(state):
    return (state.positions, state.orientations, state.shape_params, state.box)


def _progress_bar(total, progress):
    if not progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="sweep", dynamic_ncols=True)
