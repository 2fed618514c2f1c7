"""HOOMD-blue backend (``CUBEMC_ENGINE=hoomd``): the cubemc model run by HOOMD's HPMC (docs/hoomd.md).

The only module that imports ``hoomd``, and only when an :class:`Engine` or :class:`HoomdSimulation`
is created. :class:`HoomdSimulation` implements :class:`cubemc.contract.SimulationProtocol`: one
HOOMD timestep is one sweep (``nselect=1``), frames carry the native ``log/cubemc/*`` names and the
checkpoints are the native ``.npz`` format, so a job can continue with either engine. Move sizes
are always cubemc's definitions, whatever HOOMD's version (:func:`hoomd_rotate_size`). HOOMD's kT is
left at 1, so ``epsilon=[beta_epsilon]`` gives beta*U. Nothing here imports the workflow layer.
"""

from __future__ import annotations

import functools
import logging
import math
import re

import numpy as np

from . import shapes, validate
from . import trajectory as gsdio
from .contract import CHECKPOINT_KEYS, CHECKPOINT_VERSION, DEVICES, pause_points, run_arguments
from .errors import DeviceError, EngineSelectionError, InputError
from .geometry import cell_grid
from .hoomd_shapes import hoomd_types, make_integrator
from .state import State

log = logging.getLogger("cubemc")

#: hpmc.pair.Step appeared in 4.6.0; 7.x is the newest major release the adapter knows.
SUPPORTED = ((4, 6), (8, 0))
#: from 7.0 on, HOOMD draws 3D rotation moves from a Gaussian of standard deviation ``a``
GAUSSIAN_ROTATION_SINCE = (7, 0)
SEED_MASK = 0xFFFF  # HOOMD keeps only the low 16 bits of Simulation.seed
CONDA_HINT = "install it from conda-forge (conda install -c conda-forge 'hoomd>=4.6,<8')"
GPU_PAIR_MESSAGE = (
    "HOOMD-blue evaluates HPMC pair potentials (hpmc.pair.Step, the square well) on the CPU only, "
    "so beta_epsilon != 0 cannot run on device='gpu' with the hoomd engine; run square-well HOOMD "
    "jobs with device='cpu' (optionally on several MPI ranks), use HOOMD's GPU for hard cubes "
    "(beta_epsilon == 0) only, or use the native engine (CUBEMC_ENGINE=native), which runs the "
    "square well on GPUs"
)


def version_tuple(version) -> tuple[int, int]:
    """(major, minor) of a version string such as '4.8.2' or '7.1.1+3.gabcdef'."""
    return tuple(int(x) for x in re.findall(r"\d+", str(version))[:2])


def check_version(version) -> None:
    """Raise EngineSelectionError unless `version` (e.g. '4.8.2') is in the supported range."""
    low, high = SUPPORTED
    if not low <= version_tuple(version) < high:
        raise EngineSelectionError(
            f"CUBEMC_ENGINE=hoomd needs HOOMD-blue >= {low[0]}.{low[1]} and < {high[0]}, found "
            f"{version}; {CONDA_HINT} or use CUBEMC_ENGINE=native"
        )


def import_hoomd():
    """The hoomd module, imported here (not at module import) and version-checked."""
    try:
        import hoomd
    except ImportError:
        raise EngineSelectionError(
            f"the hoomd engine needs HOOMD-blue, which is not importable; {CONDA_HINT} or use "
            "CUBEMC_ENGINE=native"
        ) from None
    check_version(hoomd.version.version)
    return hoomd


# ---------------------------------------------------------------------- rotation move sizes
# cubemc (and HOOMD 4.6-6.x) rotate by q' = (q + a w)/|q + a w|, w uniform on S^3. HOOMD >= 7
# rotates by the vector s (angle |s|), s Gaussian with standard deviation a per component, drawn
# again while |s| > pi. Both moves are isotropic; HOOMD 7 gets the size with the same mean of
# 1 - cos(theta), the mean squared displacement of any point of the cube over (4/3) r^2 (r: its
# distance from the centre). For small moves the two sizes agree to O(a^3).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)


def native_rotation_spread(a: float) -> float:
    """Mean of 1 - cos(theta) for cubemc's rotation move of size `a`: exact, the average of
    2 sin^2(theta/2) = 2 a^2 (1 - u0^2)/(1 + 2 a u0 + a^2) over u uniform on S^3."""
    a2 = float(a) ** 2
    return a2 * (3.0 - a2) / 2.0 if a2 <= 1.0 else (3.0 * a2 - 1.0) / (2.0 * a2)


def gaussian_rotation_spread(sigma: float) -> float:
    """Mean of 1 - cos(theta) for HOOMD >= 7's rotation move of size `sigma`: theta has density
    ~ theta^2 exp(-theta^2 / 2 sigma^2) on [0, pi]; Gauss-Legendre on [0, min(pi, 12 sigma)]."""
    top = min(math.pi, 12.0 * float(sigma))
    theta = 0.5 * top * (_NODES + 1.0)
    weight = _WEIGHTS * theta**2 * np.exp(-0.5 * (theta / sigma) ** 2)
    return float(np.sum(weight * 2.0 * np.sin(0.5 * theta) ** 2) / np.sum(weight))


def hoomd_rotate_size(a: float, gaussian: bool) -> float:
    """HOOMD's rotation move size for cubemc's size `a`: `a` itself before HOOMD 7, else the
    Gaussian width with the same mean 1 - cos(theta) (found by bisection, to the last bit)."""
    if not gaussian or a <= 0:
        return float(a)
    target = native_rotation_spread(a)  # < 1.5 <= the Gaussian move's limit 1 + 6/pi^2
    lo, hi = 0.0, 1.0
    while gaussian_rotation_spread(hi) < target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if gaussian_rotation_spread(mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def native_rotate_size(a_hoomd: float, gaussian: bool) -> float:
    """cubemc's rotation move size for HOOMD's `a_hoomd` (inverse of hoomd_rotate_size).

    inf where HOOMD's move is wider than any of cubemc's (mean 1 - cos(theta) >= 3/2)."""
    if not gaussian or a_hoomd <= 0:
        return float(a_hoomd)
    m = gaussian_rotation_spread(a_hoomd)
    if m <= 1.0:  # root of a^4 - 3 a^2 + 2 m = 0 below 1, written without cancellation
        return math.sqrt(4.0 * m / (3.0 + math.sqrt(9.0 - 8.0 * m)))
    return math.sqrt(1.0 / (3.0 - 2.0 * m)) if m < 1.5 else math.inf


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
        raise DeviceError(
            f"device='gpu' was requested but HOOMD-blue cannot use a GPU here "
            f"({reason}); use device='cpu' or 'auto'"
        )
    return "cpu"


def _hoomd_gpu_usable(hoomd):
    gpu = hoomd.device.GPU
    if not gpu.is_available():
        return False, "this HOOMD-blue build has no GPU support (install a conda-forge gpu build)"
    if not gpu.get_available_devices():
        return False, "; ".join(gpu.get_unavailable_device_reasons()) or "no GPU found"
    return True, ""


class Engine:
    """The hoomd engine as the workflow's engine registry sees it (name, version, constructors)."""

    name = "hoomd"

    def __init__(self) -> None:
        self._hoomd = import_hoomd()
        self.version = str(self._hoomd.version.version)
        self.input_errors = (InputError, DeviceError)

    def new_simulation(
        self, state: State, *, beta_epsilon: float, well_range: float, seed: int, device: str
    ) -> HoomdSimulation:
        return HoomdSimulation(state, beta_epsilon, well_range, seed=seed, device=device)

    def load_checkpoint(self, path, *, device: str) -> HoomdSimulation:
        return HoomdSimulation.from_checkpoint(path, device=device)


class HoomdSimulation:
    """NVT HPMC of cubemc's particles (cubemc.hoomd_shapes: one HOOMD type per distinct particle)
    with the centre-centre square well, sized per pair of types: a SimulationProtocol.

    `rotate_size` and ``move_sizes["rotate"]`` are always cubemc's rotation move size; HOOMD >= 7
    is given the equivalent width ``hoomd_rotate_size(a, True)`` (``hoomd_move_sizes``).
    """

    schedule = "hoomd"

    def __init__(
        self,
        state: State,
        beta_epsilon: float,
        well_range: float = 1.14,
        seed: int = 0,
        device: str = "auto",
        translate_size: float = 0.1,
        rotate_size: float = 0.1,
        *,
        sweep: int = 0,
        _from_checkpoint: bool = False,
    ):  # noqa: PLR0913 (as Simulation)
        hoomd = self._hoomd = import_hoomd()
        self._gaussian = version_tuple(hoomd.version.version) >= GAUSSIAN_ROTATION_SINCE
        if not isinstance(state, State):
            raise InputError("state must be a cubemc.State")
        self.beta_epsilon = validate.finite("beta_epsilon", beta_epsilon)
        if _from_checkpoint:  # a stored run keeps the well it was started with
            self.well_range = validate.positive("well_range", well_range)
        else:
            self.well_range = validate.well_range(well_range)
        self.seed = validate.seed(seed) & SEED_MASK  # record what HOOMD really uses
        self._types = hoomd_types(state)  # refuses what HOOMD cannot run, before any HOOMD object
        self._shape, self._shape_params = shapes.get(state.shape), state.shape_params.copy()
        try:  # the native box rule, so both engines accept the same inputs; also bounds d
            grid, _ = cell_grid(state.box, self.well_range, self._shape, self._shape_params)
        except ValueError as err:
            raise InputError(str(err)) from None
        self._max_translate = 0.5 * float(np.min(state.box / grid))
        self.device = resolve_device(device, self.beta_epsilon, functools.partial(_hoomd_gpu_usable, hoomd))
        self._box = state.box.copy()
        self._counts = np.zeros(4, np.int64)  # accepted/total translations, accepted/total rotations
        self._in_run = False
        self._cache = self._pressure = None
        self.tuned = False
        # cubemc's rotation size is the record; HOOMD's is always derived from it, so a restart
        # gives HOOMD the very same number
        self._rotate_size = validate.positive("rotate_size", rotate_size)
        d = validate.positive("translate_size", translate_size)
        self._sim = self._build(state, sweep, d, hoomd_rotate_size(self._rotate_size, self._gaussian))
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
            snap.particles.types = list(self._types.names)
            snap.particles.typeid[:] = self._types.typeid
            snap.particles.position[:] = state.positions  # float64 kept (double precision build)
            snap.particles.orientation[:] = state.orientations
        sim.create_state_from_snapshot(snap)
        # the trial-move RNG is keyed by the particle's memory index: without the default
        # ParticleSorter that index stays the tag, as after a restart from a checkpoint
        for tuner in list(sim.operations.tuners):
            if isinstance(tuner, hoomd.tune.ParticleSorter):
                sim.operations.tuners.remove(tuner)
        moves = dict(default_d=d, default_a=a, translation_move_probability=0.5, nselect=1)
        mc = make_integrator(hoomd, self._types, self.beta_epsilon, self.well_range, **moves)
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
                st = State(p.position, p.orientation, self._box, False, self._shape.NAME, self._shape_params)
                # cubemc's own float64 count: engine independent, equal to a native recount
                bonds, overlaps = st.count_pairs(self.well_range)
                if overlaps:
                    msg = "sweep %d: cubemc's float64 test finds %d overlapping pair(s) that HOOMD's"
                    log.warning(msg + " reduced-precision test accepted", step, overlaps)
            self._cache = (step, st, bonds, overlaps)
        return self._cache

    sweep = property(lambda self: int(self._sim.timestep))
    bonds = property(lambda self: self._configuration()[2])
    energy = property(lambda self: self.beta_epsilon * self.bonds, doc="beta * U of the system")
    state = property(lambda self: self._configuration()[1].copy())
    positions = property(lambda self: self._configuration()[1].positions.copy())
    orientations = property(lambda self: self._configuration()[1].orientations.copy())
    box = property(lambda self: self._box.copy())
    _type0 = property(lambda self: self._types.names[0])  # all types share the move sizes
    N = property(lambda self: int(self._sim.state.N_particles))
    move_sizes = property(
        lambda self: {"translate": float(self._mc.d[self._type0]), "rotate": self._rotate_size},
        doc="cubemc's move sizes (the rotation in cubemc's definition)",
    )
    hoomd_move_sizes = property(
        lambda self: {"translate": float(self._mc.d[self._type0]), "rotate": float(self._mc.a[self._type0])},
        doc="the move sizes HOOMD-blue is given (its own definitions)",
    )

    @property
    def pressure(self) -> float:
        """beta P sigma^3 of the current configuration by cubemc's own estimator, as the native
        engine logs it (nan off the root rank); computed once per sweep."""
        from . import pairs, pressure  # noqa: PLC0415 (needed only once a frame is logged)

        step, st, _, _ = self._configuration()
        if self._pressure is None or self._pressure[0] != step:
            value = float("nan")
            if st is not None:
                well = pairs.get("square_well")
                value = pressure.measure(st, well, self.well_range, self.beta_epsilon)
            self._pressure = (step, value)
        return self._pressure[1]

    def _live_counts(self):
        """Counts since the last reset, plus the current HOOMD run's (reset by every run)."""
        if not self._in_run:
            return self._counts.copy()
        t, r = self._mc.translate_moves, self._mc.rotate_moves  # (accepted, rejected)
        return self._counts + np.array([t[0], t[0] + t[1], r[0], r[0] + r[1]], np.int64)

    @property
    def acceptance(self):
        c = self._live_counts()
        nan = float("nan")
        return {"translate": c[0] / c[1] if c[1] else nan, "rotate": c[2] / c[3] if c[3] else nan}

    def reset_acceptance(self) -> None:
        self._counts[:] = 0

    # ------------------------------------------------------------------ running
    def _advance(self, steps):
        self._in_run = True
        try:
            self._sim.run(int(steps))
            self._counts = self._live_counts()
        finally:
            self._in_run = False

    def tune(self, sweeps: int, target_acceptance: float = 0.3, period: int = 10) -> None:
        """Equilibration with HOOMD's MoveSize tuner (scale solver) on moves a and d.

        The tuner exists only during this call, so run() keeps move sizes frozen (a Markov
        chain). Limits match the native engine: d below half a cell, cubemc's rotation size at
        most 1 (HOOMD's equivalent of 1 from 7.0 on).
        """
        sweeps = validate.nonnegative_int("sweeps", sweeps)
        period = validate.positive_int("period", period)
        target = validate.fraction("target_acceptance", target_acceptance)
        hoomd = self._hoomd
        limits = dict(max_translation_move=self._max_translate)
        limits.update(max_rotation_move=hoomd_rotate_size(1.0, self._gaussian))
        trigger = hoomd.trigger.Periodic(period)
        tuner = hoomd.hpmc.tune.MoveSize.scale_solver(trigger, ["a", "d"], target, **limits)
        self._sim.operations.tuners.append(tuner)
        try:
            self._advance(sweeps)
        finally:
            self._sim.operations.tuners.remove(tuner)
            # record the tuned size in cubemc's definition and give HOOMD the value derived from
            # that record (a last-bit change at most), as a restart will; all types were tuned alike
            names = list(self._types.names)
            tuned = native_rotate_size(float(self._mc.a[self._type0]), self._gaussian)
            self._rotate_size = min(tuned, 1.0)  # the cap, also where its conversion rounds up
            self._mc.a[names] = hoomd_rotate_size(self._rotate_size, self._gaussian)
            self._mc.d[names] = float(self._mc.d[self._type0])
        self.reset_acceptance()
        self.tuned = True

    def run(
        self,
        sweeps: int,
        trajectory=None,
        period=None,
        checkpoint=None,
        checkpoint_period=None,
        progress: bool = False,
    ) -> None:
        """Run `sweeps` more sweeps with frozen move sizes (same contract as cubemc.Simulation).

        Frames are written by cubemc's own GSD writer, not hoomd.write.GSD: HOOMD < 7 refuses to
        append to files that gsd >= 5 wrote (hoomd schema 2.0), e.g. one trimmed after a restart
        or begun by the native engine.
        """
        sweeps, path, period, checkpoint_period = run_arguments(
            sweeps, trajectory, period, checkpoint, checkpoint_period
        )
        keys = gsdio.LogKeys()  # the trajectory's log keys, read once, not at every frame
        if path is not None:
            self._configuration()  # collective, on every rank; the root's frame below reuses it
            if self._is_root() and gsdio.needs_first_frame(path, self, period):
                self._write_frame(path, keys)
        end = self.sweep + sweeps
        for stop in pause_points(self.sweep, end, period, checkpoint_period):
            self._advance(stop - self.sweep)
            if path is not None and self.sweep % period == 0:
                self._write_frame(path, keys)
            if checkpoint is not None and (self.sweep % checkpoint_period == 0 or self.sweep == end):
                self.save_checkpoint(checkpoint)
                if progress:
                    log.info("sweep %d of %d, energy %.4f", self.sweep, end, self.energy)

    def _write_frame(self, path, keys=None):
        """The native engine's frame (float32, log/cubemc/*, type_shapes), root rank only."""
        step, st, _, _ = self._configuration()  # collective: every MPI rank calls it
        if st is not None:
            values, kinds = self.log_values(), gsdio.shape_types(self._shape, self._shape_params)
            frame = gsdio.make_frame(st.positions, st.orientations, self._box, step, values, *kinds)
            gsdio.append(path, frame, keys)

    def log_values(self) -> dict:
        """The per-frame log (contract.LOG_KEYS); move sizes in cubemc's definitions."""
        acc, sizes = self.acceptance, self.move_sizes
        values = dict(sweep=self.sweep, energy=self.energy, bonds=self.bonds, seed=self.seed)
        values.update(beta_epsilon=self.beta_epsilon, well_range=self.well_range)
        values.update(translate_acceptance=acc["translate"], rotate_acceptance=acc["rotate"])
        values.update(translate_move_size=sizes["translate"], rotate_move_size=sizes["rotate"])
        values.update(pressure=self.pressure)
        return values

    def _is_root(self):
        return self._sim.device.communicator.rank == 0

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path) -> None:
        """The native engine's checkpoint format (float64, atomic rename), root rank only."""
        step, st, bonds, _ = self._configuration()
        if st is None:
            return
        sizes = self.move_sizes
        data = dict(version=CHECKPOINT_VERSION, positions=st.positions, orientations=st.orientations)
        data.update(box=self._box, sweep=step, bonds=bonds, counts=self._counts, seed=self.seed)
        data.update(beta_epsilon=self.beta_epsilon, well_range=self.well_range)
        data.update(translate_size=sizes["translate"], rotate_size=sizes["rotate"])
        data.update(schedule=self.schedule, tuned=self.tuned)
        if self._shape.NAME != "cube":  # as the native engine: cube checkpoints keep their format
            data.update(shape=self._shape.NAME, shape_params=self._shape_params)
        gsdio.write_checkpoint(str(path), data)

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto") -> HoomdSimulation:
        """Continue from a checkpoint of either engine, at timestep = its sweep."""
        data = gsdio.read_checkpoint(str(path), CHECKPOINT_KEYS)
        shape = (str(data["shape"]), data["shape_params"]) if "shape" in data else ("cube", None)
        state = State(data["positions"], data["orientations"], data["box"], False, *shape)
        sizes = {k: float(data[k]) for k in ("translate_size", "rotate_size")}
        model = (float(data["beta_epsilon"]), float(data["well_range"]))
        sim = cls(
            state, *model, int(data["seed"]), device, **sizes, sweep=int(data["sweep"]), _from_checkpoint=True
        )
        stored = int(data["bonds"])
        if sim._is_root() and sim.bonds != stored:
            raise InputError(
                f"checkpoint {path} is inconsistent: {sim.bonds} bonds recounted, {stored} stored"
            )
        sim.tuned = bool(data["tuned"])
        sim._counts[:] = data["counts"]
        return sim
