"""HOOMD-blue backend (``CUBEMC_ENGINE=hoomd``): the cubemc model run by HOOMD's HPMC.

The only module that imports ``hoomd``, and only when an :class:`Engine` or
:class:`HoomdSimulation` is created, so ``import cubemc.hoomd_engine`` works without it.
The simulation mimics ``cubemc.Simulation`` (docs/engine-api.md): one HOOMD timestep is one
sweep (``nselect=1``: N trial moves), GSD frames carry the native ``log/cubemc/*`` names and the
checkpoints are the native ``.npz`` format, so a job can continue with either engine.
HOOMD's energies are in units of kT = 1, so ``epsilon=[beta_epsilon]`` gives beta*U directly.
"""

import functools
import logging
import re

import numpy as np

from . import trajectory as gsdio
from . import validate
from .contract import (CHECKPOINT_KEYS, CHECKPOINT_VERSION, DEVICES, pause_points,
                       run_arguments)
from .errors import DeviceError, EngineSelectionError, InputError
from .geometry import CUBE_VERTICES, cell_grid
from .state import State

log = logging.getLogger("cubemc")

#: hpmc.pair.Step appeared in 4.6.0; 7.0 writes GSD schema 2.0 (readable only by gsd >= 5) and
#: redefines the rotation move size ``a`` (no longer the native engine's definition).
SUPPORTED = ((4, 6), (7, 0))
SEED_MASK = 0xFFFF  # HOOMD keeps only the low 16 bits of Simulation.seed
CONDA_HINT = "install it from conda-forge (conda install -c conda-forge 'hoomd>=4.6,<7')"
GPU_PAIR_MESSAGE = (
    "HOOMD-blue evaluates HPMC pair potentials (hpmc.pair.Step, the square well) on the CPU only, "
    "so beta_epsilon != 0 cannot run on device='gpu' with the hoomd engine; run square-well HOOMD "
    "jobs with device='cpu' (optionally on several MPI ranks), use HOOMD's GPU for hard cubes "
    "(beta_epsilon == 0) only, or use the native engine (CUBEMC_ENGINE=native), which runs the "
    "square well on GPUs")


def check_version(version):
    """Raise EngineSelectionError unless `version` (e.g. '4.8.2') is in the supported range."""
    low, high = SUPPORTED
    found = tuple(int(x) for x in re.findall(r"\d+", str(version))[:2])
    if not low <= found < high:
        raise EngineSelectionError(
            f"CUBEMC_ENGINE=hoomd needs HOOMD-blue >= {low[0]}.{low[1]} and < {high[0]}, found "
            f"{version}; {CONDA_HINT} or use CUBEMC_ENGINE=native")


def import_hoomd():
    """The hoomd module, imported here (not at module import) and version-checked."""
    try:
        import hoomd
    except ImportError:
        raise EngineSelectionError(
            f"the hoomd engine needs HOOMD-blue, which is not importable; {CONDA_HINT} or use "
            "CUBEMC_ENGINE=native") from None
    check_version(hoomd.version.version)
    return hoomd


def resolve_device(device, beta_epsilon, gpu_usable):
    """'cpu' or 'gpu', or DeviceError; gpu_usable() -> (bool, reason) is asked only if needed."""
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cpu" or (device == "auto" and beta_epsilon != 0):
        return "cpu"  # 'auto' picks the CPU for square wells: the pair potential is CPU-only
    if beta_epsilon != 0:
        raise DeviceError(GPU_PAIR_MESSAGE)
    usable, reason = gpu_usable()
    if usable:
        return "gpu"
    if device == "gpu":
        raise DeviceError(f"device='gpu' was requested but HOOMD-blue cannot use a GPU here "
                          f"({reason}); use device='cpu' or 'auto'")
    return "cpu"


def _hoomd_gpu_usable(hoomd):
    gpu = hoomd.device.GPU
    if not gpu.is_available():
        return False, "this HOOMD-blue build has no GPU support (install a conda-forge gpu build)"
    if not gpu.get_available_devices():
        return False, "; ".join(gpu.get_unavailable_device_reasons()) or "no GPU found"
    return True, ""


class Engine:
    """Workflow adapter (cubemc/workflow/engine.py) for HOOMD-blue."""

    name = "hoomd"

    def __init__(self):
        self._hoomd = import_hoomd()
        self.version = str(self._hoomd.version.version)
        self.input_errors = (InputError, DeviceError)

    def new_simulation(self, state, *, beta_epsilon, well_range, seed, device):
        return HoomdSimulation(state, beta_epsilon, well_range, seed=seed, device=device)

    def load_checkpoint(self, path, *, device):
        return HoomdSimulation.from_checkpoint(path, device=device)


class HoomdSimulation:
    """NVT HPMC of unit cubes with the centre-centre square well, with the cubemc.Simulation API."""

    schedule = "hoomd"

    def __init__(self, state, beta_epsilon, well_range=1.14, seed=0, device="auto",
                 translate_size=0.1, rotate_size=0.1, *, sweep=0, _from_checkpoint=False):
        hoomd = self._hoomd = import_hoomd()
        if not isinstance(state, State):
            raise InputError("state must be a cubemc.State")
        self.beta_epsilon = validate.finite("beta_epsilon", beta_epsilon)
        self.well_range = (validate.positive("well_range", well_range) if _from_checkpoint
                           else validate.well_range(well_range))
        self.seed = validate.seed(seed) & SEED_MASK  # record what HOOMD really uses
        try:  # the native box rule, so both engines accept the same inputs; also bounds d
            grid, _ = cell_grid(state.box, self.well_range)
        except ValueError as err:
            raise InputError(str(err)) from None
        self._max_translate = 0.5 * float(np.min(state.box / grid))
        self.device = resolve_device(device, self.beta_epsilon,
                                     functools.partial(_hoomd_gpu_usable, hoomd))
        self._box = state.box.copy()
        self._counts = np.zeros(4, np.int64)  # accepted/total translations, accepted/total rotations
        self._in_run = False
        self._cache = None
        self.tuned = False
        self._sim = self._build(state, sweep, validate.positive("translate_size", translate_size),
                                validate.positive("rotate_size", rotate_size))
        if self._configuration()[3] and not _from_checkpoint:
            state.check_overlaps()  # raises OverlapError naming a pair (checkpoints only warn)

    def _build(self, state, sweep, d, a):
        hoomd = self._hoomd
        dev = hoomd.device.GPU() if self.device == "gpu" else hoomd.device.CPU()
        sim = hoomd.Simulation(device=dev, seed=self.seed)
        sim.timestep = int(sweep)  # HOOMD's RNG streams depend on (seed, timestep): exact restarts
        snap = hoomd.Snapshot(dev.communicator)
        if snap.communicator.rank == 0:  # a Snapshot holds data on the root rank only
            snap.configuration.box = [*map(float, state.box), 0.0, 0.0, 0.0]
            snap.particles.N = state.N
            snap.particles.types = ["A"]
            snap.particles.typeid[:] = 0
            snap.particles.position[:] = state.positions  # float64 kept (double precision build)
            snap.particles.orientation[:] = state.orientations
        sim.create_state_from_snapshot(snap)
        # the trial-move RNG is keyed by the particle's memory index: without the default
        # ParticleSorter that index stays the tag, as after a restart from a checkpoint
        for tuner in list(sim.operations.tuners):
            if isinstance(tuner, hoomd.tune.ParticleSorter):
                sim.operations.tuners.remove(tuner)
        mc = hoomd.hpmc.integrate.ConvexPolyhedron(
            default_d=d, default_a=a, translation_move_probability=0.5, nselect=1)
        mc.shape["A"] = {"vertices": CUBE_VERTICES.tolist()}
        if self.beta_epsilon != 0:  # hard cubes need no pair potential (and may use a GPU)
            well = hoomd.hpmc.pair.Step()
            well.params[("A", "A")] = {"epsilon": [self.beta_epsilon], "r": [self.well_range]}
            mc.pair_potentials = [well]
        sim.operations.integrator = mc
        self._mc = mc
        return sim

    # ------------------------------------------------------------------ read-only views
    def _configuration(self):
        """(sweep, State or None off the root rank, bonds, overlaps), cached per timestep."""
        step = int(self._sim.timestep)
        if self._cache is None or self._cache[0] != step:
            snap = self._sim.state.get_snapshot()  # collective: every MPI rank calls it
            st, bonds, overlaps = None, 0, 0
            if snap.communicator.rank == 0:
                p = snap.particles
                st = State(p.position, p.orientation, self._box, check=False)
                # cubemc's own float64 count: engine independent, equal to a native recount
                bonds, overlaps = st.count_pairs(self.well_range)
                if overlaps:
                    log.warning("sweep %d: cubemc's float64 test finds %d overlapping pair(s) that "
                                "HOOMD's reduced-precision test accepted", step, overlaps)
            self._cache = (step, st, bonds, overlaps)
        return self._cache

    sweep = property(lambda self: int(self._sim.timestep))
    bonds = property(lambda self: self._configuration()[2])
    energy = property(lambda self: self.beta_epsilon * self.bonds, doc="beta * U of the system")
    state = property(lambda self: self._configuration()[1].copy())
    positions = property(lambda self: self._configuration()[1].positions.copy())
    orientations = property(lambda self: self._configuration()[1].orientations.copy())
    box = property(lambda self: self._box.copy())
    N = property(lambda self: int(self._sim.state.N_particles))
    move_sizes = property(lambda self: {"translate": float(self._mc.d["A"]),
                                        "rotate": float(self._mc.a["A"])})

    def _live_counts(self):
        """Counts since the last reset, plus the current HOOMD run's (reset by every run)."""
        if not self._in_run:
            return self._counts.copy()
        t, r = self._mc.translate_moves, self._mc.rotate_moves  # (accepted, rejected)
        return self._counts + np.array([t[0], t[0] + t[1], r[0], r[0] + r[1]], np.int64)

    @property
    def acceptance(self):
        c = self._live_counts()
        return {"translate": c[0] / c[1] if c[1] else float("nan"),
                "rotate": c[2] / c[3] if c[3] else float("nan")}

    def reset_acceptance(self):
        self._counts[:] = 0

    # ------------------------------------------------------------------ running
    def _advance(self, steps):
        self._in_run = True
        try:
            self._sim.run(int(steps))
            self._counts = self._live_counts()
        finally:
            self._in_run = False

    def tune(self, sweeps, target_acceptance=0.3, period=10):
        """Equilibration with HOOMD's MoveSize tuner (scale solver) on moves a and d.

        The tuner exists only during this call, so run() keeps move sizes frozen (a Markov
        chain). Limits match the native engine: d below half a cell, a at most 1.
        """
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        period = validate.positive_int("period", period)
        target = validate.fraction("target_acceptance", target_acceptance)
        hoomd = self._hoomd
        tuner = hoomd.hpmc.tune.MoveSize.scale_solver(
            trigger=hoomd.trigger.Periodic(period), moves=["a", "d"], target=target,
            max_translation_move=self._max_translate, max_rotation_move=1.0)
        self._sim.operations.tuners.append(tuner)
        try:
            self._advance(sweeps)
        finally:
            self._sim.operations.tuners.remove(tuner)
        self.reset_acceptance()
        self.tuned = True

    def run(self, sweeps, trajectory=None, period=None, checkpoint=None, checkpoint_period=None,
            progress=False):
        """Run `sweeps` more sweeps with frozen move sizes (same contract as cubemc.Simulation).

        Frames are written by cubemc's own GSD writer, not hoomd.write.GSD: HOOMD < 7 refuses to
        append to files that gsd >= 5 wrote (hoomd schema 2.0), e.g. one trimmed after a restart
        or begun by the native engine.
        """
        sweeps, path, period, checkpoint_period = run_arguments(sweeps, trajectory, period,
                                                                checkpoint, checkpoint_period)
        if path is not None:
            self._configuration()  # collective, on every rank; the root's frame below reuses it
            if self._is_root() and gsdio.needs_first_frame(path, self.sweep, period):
                self._write_frame(path)
        end = self.sweep + sweeps
        for stop in pause_points(self.sweep, end, period, checkpoint_period):
            self._advance(stop - self.sweep)
            if path is not None and self.sweep % period == 0:
                self._write_frame(path)
            if checkpoint is not None and (self.sweep % checkpoint_period == 0
                                           or self.sweep == end):
                self.save_checkpoint(checkpoint)
                if progress:
                    log.info("sweep %d of %d, energy %.4f", self.sweep, end, self.energy)

    def _write_frame(self, path):
        """The native engine's frame (float32, log/cubemc/*, cube type_shapes), root rank only."""
        step, st, _, _ = self._configuration()  # collective: every MPI rank calls it
        if st is not None:
            gsdio.append(path, gsdio.make_frame(st.positions, st.orientations, self._box, step,
                                                self.log_values()))

    def log_values(self):
        acc, sizes = self.acceptance, self.move_sizes
        return {"sweep": self.sweep, "energy": self.energy, "bonds": self.bonds,
                "beta_epsilon": self.beta_epsilon, "well_range": self.well_range, "seed": self.seed,
                "translate_acceptance": acc["translate"], "rotate_acceptance": acc["rotate"],
                "translate_move_size": sizes["translate"], "rotate_move_size": sizes["rotate"]}

    def _is_root(self):
        return self._sim.device.communicator.rank == 0

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path):
        """The native engine's checkpoint format (float64, atomic rename), root rank only."""
        step, st, bonds, _ = self._configuration()
        if st is None:
            return
        sizes = self.move_sizes
        gsdio.write_checkpoint(str(path), {
            "version": CHECKPOINT_VERSION, "positions": st.positions,
            "orientations": st.orientations, "box": self._box, "sweep": step, "bonds": bonds,
            "counts": self._counts, "beta_epsilon": self.beta_epsilon,
            "well_range": self.well_range, "seed": self.seed, "translate_size": sizes["translate"],
            "rotate_size": sizes["rotate"], "schedule": self.schedule, "tuned": self.tuned})

    @classmethod
    def from_checkpoint(cls, path, device="auto"):
        """Continue from a checkpoint of either engine, at timestep = its sweep."""
        data = gsdio.read_checkpoint(str(path), CHECKPOINT_KEYS)
        state = State(data["positions"], data["orientations"], data["box"], check=False)
        sim = cls(state, float(data["beta_epsilon"]), float(data["well_range"]),
                  seed=int(data["seed"]), device=device,
                  translate_size=float(data["translate_size"]),
                  rotate_size=float(data["rotate_size"]), sweep=int(data["sweep"]),
                  _from_checkpoint=True)
        if sim._is_root() and sim.bonds != int(data["bonds"]):
            raise InputError(f"checkpoint {path} is inconsistent: {sim.bonds} bonds recounted, "
                             f"{int(data['bonds'])} stored")
        sim.tuned = bool(data["tuned"])
        sim._counts[:] = data["counts"]
        return sim
