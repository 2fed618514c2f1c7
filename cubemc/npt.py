"""The isobaric ensemble: box moves between sweeps, their tuner, and initial states at a pressure.

Target distribution and acceptance
----------------------------------
With box edges L = (Lx, Ly, Lz), V = Lx Ly Lz and scaled coordinates s_i = r_i / L (per axis), the
NPT ensemble at pressure P (beta P in kT / sigma^3) has the density

    p(L, s) ∝ V^N exp(-beta P V - beta U(L, s))    with respect to dLx dLy dLz ds,

V^N being the Jacobian from the centres r to s (orientations are unchanged by box moves).  A box
move acts on the logarithms of the edges, keeping s fixed (every centre scales with its axis):
an isotropic move adds delta / 3 to each ln L_a, so ln V changes by delta, uniform in
[-volume_size, volume_size]; an axis move adds delta, uniform in [-axis_size, axis_size], to one
ln L_a (axis uniform).  In the variables (ln Lx, ln Ly, ln Lz, s) the density picks up the
Jacobian Lx Ly Lz = V, so it is ∝ V^(N+1) exp(-beta P V - beta U).  Both proposals are symmetric
there (delta and -delta equally likely, the same axis both ways, the choice between the two kinds
independent of the state), so the Metropolis acceptance is

    min(1, exp(-beta P (V' - V) - beta (U' - U) + (N + 1) ln(V' / V))),

with U' infinite for any overlap.  The N + 1 (not N) is the Jacobian of stepping in ln V: a move
uniform in V would carry N ln(V'/V).  For non-interacting particles and isotropic moves V is then
Gamma(N + 1, beta P) distributed, exactly the V^N exp(-beta P V) dV of the ensemble (tested).
Boxes with an edge below twice the interaction range are rejected: the chain samples the ensemble
restricted to allowed boxes (the reverse of an allowed move is allowed, so detailed balance holds
on that set).  Box moves alternate with sweeps, each of which leaves the same density invariant at
fixed L, so the composition does too.

Early rejection: when a move cannot lower U (an expansion, which never shortens a centre distance,
with an attractive or no well; a compression with a repulsive or no well), beta (U' - U) >= 0, so
a proposal that the volume terms alone reject with the same uniform number is rejected without the
recount; the outcome is identical, only cheaper.  Likewise the energy is counted first, and the
overlap test (the dearer half) runs only for a move that would be accepted without an overlap and
that could create one (not an isotropic expansion: cannot_overlap).

Random numbers: the kernels' splitmix64 streams (kernel_basics.random_functions) keyed by
(seed, sweep, PURPOSE_BOX) with counter 4 * trial + k, so a restart at sweep s makes the same box
moves as the uninterrupted run, independently of NumPy.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import shapes, targets, validate
from .errors import InputError
from .kernel_basics import U64
from .operations import Operation, tune_factor
from .state import State

#: random-number stream of box moves (kernel_basics reserves 1-3 << 48 for the sweep kernels)
PURPOSE_BOX = U64(4) << U64(48)
#: largest tuned sizes: ln V and ln L steps
MAX_VOLUME_SIZE = 1.0
MAX_AXIS_SIZE = 0.5
#: compression route: sweeps per NVT stage, largest density ratio between stages
STAGE_SWEEPS = 200
#: box moves per sweep while relaxing to a pressure: one per sweep left 64 hard cubes expanding
#: from phi 0.85 at beta P 8 at 0.656 after 3000 sweeps, still drifting; five reach 0.60-0.61
#: (equilibrium) within 2000 (measured; each move costs one recount)
PREPARATION_BOX_MOVES = 5
MAX_STAGE_FACTOR = 1.2
#: the NVT stages stop here whatever they measure (a fluid of hard cubes freezes near 0.5; a
#: condensed attractive fluid may never reach the pressure in NVT stages); box moves go on
MAX_STAGE_PACKING_FRACTION = 0.55
#: relative widening of the squared distance beyond which the recount skips a pair
CUT_MARGIN = 1e-6
#: smallest relative edge growth of an isotropic expansion that skips the overlap test
SAFE_EXPANSION = 1e-9


@functools.cache
def _draws():
    """Four uniforms in (0, 1] for box trial `trial` at (seed, sweep), compiled on first use."""
    import numba

    from .kernel_basics import host_functions

    rng = host_functions()
    stream_key, uniform = rng["stream_key"], rng["uniform"]

    @numba.njit
    def draws(seed, sweep, trial):
        key = stream_key(seed, sweep, PURPOSE_BOX)
        base = trial * U64(4)
        return (
            uniform(key, base),
            uniform(key, base + U64(1)),
            uniform(key, base + U64(2)),
            uniform(key, base + U64(3)),
        )

    return draws


def _accepts(log_ratio, u):
    """Metropolis with a uniform u in (0, 1], as the kernels decide (cubemc/kernels.py)."""
    return log_ratio >= 0.0 or u < math.exp(log_ratio)


def scaled_positions(positions, box, new_box):
    """(every centre scaled with its box axis, the same wrapped into new_box): the second is,
    bit for bit, `State(first, ..., new_box).positions` (the same NumPy expression)."""
    scaled = positions * (new_box / box)
    return scaled, scaled - new_box * np.floor(scaled / new_box + 0.5)


@functools.lru_cache(maxsize=16)
def _neighbour_cells(kernels, grid):
    """The recount's table of neighbouring cells of a grid (box moves seldom change the grid)."""
    return kernels.neighbour_cells(np.array(grid, np.int64))


@functools.lru_cache(maxsize=64)
def _static_arguments(shape, pair, well_range, max_size, overlap_distance2):
    """(kernels, pair parameters, squared reach of the pair energy, squared largest overlap
    distance) of a model, both squares widened by CUT_MARGIN: beyond them no pair interacts or
    overlaps (the margin only guards against rounding: pairs inside are tested exactly)."""
    kernels = targets.specialise("npt_cpu", shape, pair)
    pair_params = np.asarray(pair.parameters(well_range, max_size), np.float64)
    reach = pair.cutoff(well_range) * max_size  # the largest pair's energy range
    widen = 1.0 + CUT_MARGIN
    return kernels, pair_params, widen * reach * reach, widen * overlap_distance2


def _recount_arguments(sim, params):
    """(kernels, pair parameters, squared energy reach, squared overlap distance) of `sim` (see
    _static_arguments); the walk over cells of either width comes from _walk_grid."""
    return _static_arguments(
        sim.shape,
        sim.pair,
        sim.well_range,
        shapes.max_size(sim.shape, params),
        float(sim.shape.overlap_distance2(params)),
    )


def _walk_grid(kernels, box, width2, n):
    """(cells per axis, neighbour table) of cells at least sqrt(width2) wide, 2 to about
    2 n^(1/3) per axis (wider cells only cost time; point particles have width 0).  The energy
    walk's cells are one energy reach wide (cubes in a 1.14 well: a third of the particles)."""
    most = max(2, round(2.0 * n ** (1.0 / 3.0)))
    cells = box / math.sqrt(width2) if width2 > 0 else np.full(3, most)
    grid = np.clip(np.floor(cells).astype(np.int64), 2, most)
    return grid, _neighbour_cells(kernels, tuple(int(g) for g in grid))


def recount(sim, positions, orientations, params, new_box, stop_at_overlap=True):  # noqa: PLR0913 (a configuration and how to count it)
    """(energy units, overlaps) of the configuration (wrapped `positions` in `new_box`) as
    `sim.count_pairs` counts it (on the CPU with cubemc/npt_cpu.py: fewer needless pairs), except
    that with stop_at_overlap overlaps only says whether there are any (units then partial)."""
    if sim.device == "gpu":
        state = State(
            positions, orientations, new_box, check=False, shape=sim.shape.NAME, shape_params=params
        )
        return sim.count_pairs(state)
    kernels, pair_params, reach2, outer2 = _recount_arguments(sim, params)
    cut2 = max(reach2, outer2)
    grid, neighbours = _walk_grid(kernels, new_box, cut2, len(params))
    args = (positions, orientations, params, new_box, grid, neighbours, pair_params, cut2)
    units, overlaps = kernels.walk(*args, kernels.BOTH, stop_at_overlap)
    return int(units), int(overlaps)


def count_units(sim, positions, orientations, params, new_box):  # noqa: PLR0913 (a configuration)
    """(energy units, overlap) of a proposed configuration for BoxMove: the units are exact
    whenever there is no overlap; overlap is None where it was not looked for (CPU: units only,
    cubemc/npt_cpu.walk) or whether there is one (GPU: one whole count)."""
    if sim.device == "gpu":
        units, overlaps = recount(sim, positions, orientations, params, new_box)
        return units, overlaps > 0
    kernels, pair_params, reach2, _ = _recount_arguments(sim, params)
    grid, neighbours = _walk_grid(kernels, new_box, reach2, len(params))
    args = (positions, orientations, params, new_box, grid, neighbours, pair_params, reach2)
    units, _ = kernels.walk(*args, kernels.UNITS, False)
    return int(units), None


def any_overlap(sim, positions, orientations, params, new_box):  # noqa: PLR0913 (a configuration)
    """Whether the proposed configuration has an overlapping pair (stops at the first)."""
    kernels, pair_params, _, outer2 = _recount_arguments(sim, params)
    if outer2 == 0.0:  # points
        return False
    grid, neighbours = _walk_grid(kernels, new_box, outer2, len(params))
    args = (positions, orientations, params, new_box, grid, neighbours, pair_params, outer2)
    return kernels.walk(*args, kernels.OVERLAPS, True)[1] > 0


def cannot_overlap(kind, box, new_box):
    """True for an isotropic expansion by more than SAFE_EXPANSION: it creates no overlap.

    Why: at fixed orientations the centre offsets at which two convex particles overlap form a
    convex set containing 0, so a non-overlapping offset stays outside when scaled by f > 1 (every
    shape here is convex).  The test is monotone in that scaling, and the margin keeps a pair at
    contact to within rounding from being moved by less than its rounding.  A per-axis move can
    carry an offset into the set, so it is always checked."""
    return kind == 0 and bool(np.all(new_box > box * (1.0 + SAFE_EXPANSION)))


class BoxMove(Operation):
    """NPT box moves at `pressure` (beta P sigma^3): `trials` moves every `period` sweeps.

    With period 1, `trials` is the number of box moves per sweep: each is a Metropolis step of its
    own (its own counter in the (seed, sweep) stream, so restarts stay exact), and a crystal
    relaxing its volume needs several (PREPARATION_BOX_MOVES).

    A fraction `axis_fraction` of the moves changes one edge (orthorhombic; needed for crystals),
    the rest scale the box isotropically.  Sizes are steps in ln V and ln L; `Simulation.tune`
    tunes them (and only it), so production runs keep them fixed.  One per simulation.
    """

    def __init__(
        self,
        pressure: float,
        period: int = 1,
        volume_size: float = 0.01,
        axis_size: float = 0.01,
        axis_fraction: float = 0.0,
        trials: int = 1,
        phase: int = 0,
    ):  # noqa: PLR0913 (the move's settings, by name)
        super().__init__(period, phase)
        self.pressure = validate.positive("pressure", pressure)
        self.volume_size = validate.positive("volume_size", volume_size)
        self.axis_size = validate.positive("axis_size", axis_size)
        self.axis_fraction = validate.finite("axis_fraction", axis_fraction)
        if not 0.0 <= self.axis_fraction <= 1.0:
            raise InputError(f"axis_fraction must lie in [0, 1], got {axis_fraction!r}")
        self.trials = validate.positive_int("trials", trials)
        self.counts = np.zeros(4, np.int64)  # accepted/total isotropic, accepted/total per axis

    @property
    def acceptance(self) -> dict:
        c = self.counts
        return {
            "volume": c[0] / c[1] if c[1] else float("nan"),
            "axis": c[2] / c[3] if c[3] else float("nan"),
        }

    def reset_acceptance(self) -> None:
        self.counts[:] = 0

    def attach(self, sim):
        if any(isinstance(op, BoxMove) and op is not self for op in sim.operations.updaters):
            raise InputError("a simulation takes one BoxMove (two would share random numbers)")

    def act(self, sim):
        for trial in range(self.trials):
            self._trial(sim, trial)

    def _proposal(self, box, u_kind, u_axis, u_step):
        """(kind, new box): kind 0 isotropic, 1 one axis."""
        if u_kind < self.axis_fraction:
            new_box = box.copy()
            axis = min(int(3.0 * u_axis), 2)
            new_box[axis] = box[axis] * math.exp(self.axis_size * (2.0 * u_step - 1.0))
            return 1, new_box
        return 0, box * math.exp(self.volume_size * (2.0 * u_step - 1.0) / 3.0)

    def _trial(self, sim, trial):
        u_kind, u_axis, u_step, u_accept = _draws()(U64(sim.seed), U64(sim.sweep), U64(trial))
        box = sim.box
        kind, new_box = self._proposal(box, u_kind, u_axis, u_step)
        self.counts[2 * kind + 1] += 1
        if new_box.min() < sim.min_box_edge:
            return
        volume, new_volume = float(np.prod(box)), float(np.prod(new_box))
        log_ratio = -self.pressure * (new_volume - volume) + (sim.N + 1) * math.log(new_volume / volume)
        expanding = new_volume > volume
        can_lower = sim.beta_epsilon > 0 if expanding else sim.beta_epsilon < 0
        if not can_lower and not _accepts(log_ratio, u_accept):
            return
        positions, orientations, params = sim.arrays()  # read here, never kept
        _, wrapped = scaled_positions(positions, box, new_box)
        config = (wrapped, orientations, params, new_box)
        # energy first (cheap): a move that fails on it needs no overlap test; one that has an
        # overlap is rejected either way, so the outcome is that of a full recount
        bonds, overlap = self.count_units(sim, *config)
        if overlap or not _accepts(log_ratio - sim.beta_epsilon * (bonds - sim.bonds), u_accept):
            return
        if overlap is None and not cannot_overlap(kind, box, new_box) and self.any_overlap(sim, *config):
            return
        sim.scale_box(new_box, wrapped, bonds)  # as set_state(State(...)) would: bit for bit
        self.counts[2 * kind] += 1

    #: (units, overlap or None) and whether there is an overlap, of a proposed configuration
    count_units = staticmethod(count_units)
    any_overlap = staticmethod(any_overlap)

    def tuner(self, target: float, period: int, phase: int) -> BoxMoveTuner:
        return BoxMoveTuner(self, target, period, phase)

    def checkpoint_data(self) -> dict:
        return {
            "box_move_settings": np.array(
                [
                    self.pressure,
                    self.period,
                    self.phase,
                    self.volume_size,
                    self.axis_size,
                    self.axis_fraction,
                    self.trials,
                ],
                np.float64,
            ),
            "box_move_counts": self.counts.copy(),
        }

    @classmethod
    def from_checkpoint_data(cls, data) -> BoxMove:
        pressure, period, phase, volume_size, axis_size, fraction, trials = (
            float(v) for v in data["box_move_settings"]
        )
        op = cls(pressure, int(period), volume_size, axis_size, fraction, int(trials), int(phase))
        op.counts[:] = data["box_move_counts"]
        return op


class BoxMoveTuner(Operation):
    """Scales a BoxMove's sizes toward `target` acceptance every `period` sweeps (as
    operations.MoveSizeTuner does for particle moves); only while tuning."""

    at_end = True

    def __init__(self, box_move: BoxMove, target: float, period: int, phase: int):
        super().__init__(period, phase)
        self.box_move = box_move
        self.target = validate.fraction("target_acceptance", target)
        self._before = None

    def attach(self, sim):
        self._before = self.box_move.counts.copy()

    def act(self, sim):
        move = self.box_move
        c = move.counts - self._before
        if c[1]:
            move.volume_size = min(MAX_VOLUME_SIZE, move.volume_size * tune_factor(c[0] / c[1], self.target))
        if c[3]:
            move.axis_size = min(MAX_AXIS_SIZE, move.axis_size * tune_factor(c[2] / c[3], self.target))
        self._before = move.counts.copy()


# ---------------------------------------------------------------------- initial states
def relax_to_pressure(
    state, pressure, sweeps=2000, beta_epsilon=0.0, well_range=1.14, seed=0, axis_fraction=0.0, device="cpu"
):  # noqa: PLR0913 (model and route, by name)
    """NPT from `state` at `pressure` for `sweeps` sweeps, PREPARATION_BOX_MOVES box moves per
    sweep, with every move size (box moves included) tuned throughout; returns the final State.
    A preparation, not a Markov chain of the ensemble: equilibrate with frozen sizes afterwards."""
    from .simulation import Simulation

    pressure = validate.positive("pressure", pressure)
    sweeps = validate.positive_int("sweeps", sweeps)
    sim = Simulation(state, beta_epsilon, well_range, seed=seed, device=device)
    sim.operations.updaters.append(
        BoxMove(
            pressure,
            volume_size=0.1,
            axis_size=0.05,
            axis_fraction=axis_fraction,
            trials=PREPARATION_BOX_MOVES,
        )
    )
    sim.tune(sweeps, period=10)
    return sim.state


def fluid_at_pressure(
    n_particles,
    pressure,
    beta_epsilon=0.0,
    well_range=1.14,
    seed=0,
    sweeps=2000,
    start_packing_fraction=0.05,
    device="cpu",
):  # noqa: PLR0913 (model and route, by name)
    """Compression route: a dilute fluid (State.fluid at `start_packing_fraction`) compressed in
    NVT stages until its measured pressure reaches `pressure` (or the packing fraction reaches
    MAX_STAGE_PACKING_FRACTION), then NPT (relax_to_pressure).

    Box moves alone compress hard particles slowly (a compression is accepted only if it creates
    no overlap, so its size shrinks like 1/N); a uniform shrink whose overlaps the particle moves
    then remove (cubemc.compress) gets there in a number of sweeps independent of N.
    """
    from .compress import compress_fluid

    pressure = validate.positive("pressure", pressure)
    state = State.fluid(n_particles, start_packing_fraction, seed=seed)
    while state.packing_fraction < MAX_STAGE_PACKING_FRACTION * (1 - 1e-12):
        measured, state = _stage(state, beta_epsilon, well_range, seed, device)
        if measured >= pressure:
            break
        factor = stage_factor(measured, pressure, state.packing_fraction)
        state = compress_fluid(state, state.box[0] / factor ** (1.0 / 3.0), seed=seed)
    return relax_to_pressure(state, pressure, sweeps, beta_epsilon, well_range, seed, 0.0, device)


def stage_factor(measured, pressure, packing_fraction):
    """Density ratio of the next compression stage of fluid_at_pressure.

    beta P / rho grows with density, so the ideal-gas ratio pressure / measured overshoots: it is
    capped at MAX_STAGE_FACTOR.  A strongly attractive fluid condenses into clusters in a dilute
    box, where it measures beta P <= 0 (the vapour pressure plus noise), or more than the
    pressure / measured ratio can say; such stages compress by the largest factor.  No stage goes
    past MAX_STAGE_PACKING_FRACTION: from there box moves at the pressure take over.
    """
    factor = MAX_STAGE_FACTOR if measured * MAX_STAGE_FACTOR <= pressure else pressure / measured
    return min(factor, MAX_STAGE_PACKING_FRACTION / packing_fraction)


def _stage(state, beta_epsilon, well_range, seed, device):
    """(mean measured beta P, final state) of a short NVT run of `state`."""
    from .pressure import PressureCompute
    from .simulation import Simulation

    sim = Simulation(state, beta_epsilon, well_range, seed=seed, device=device)
    sim.tune(STAGE_SWEEPS // 2)
    compute = PressureCompute(period=10)
    sim.operations.writers.append(compute)
    sim.run(STAGE_SWEEPS)
    return float(np.mean(compute.values)), sim.state


def crystal_at_pressure(
    n,
    pressure,
    beta_epsilon=0.0,
    well_range=1.14,
    seed=0,
    sweeps=2000,
    start_packing_fraction=0.85,
    device="cpu",
):  # noqa: PLR0913 (model and route, by name)
    """Expansion route: an n x n x n simple-cubic crystal at `start_packing_fraction` relaxed at
    `pressure` with isotropic and per-axis moves (half each), so the lattice can expand or
    compress along each axis (relax_to_pressure)."""
    pressure = validate.positive("pressure", pressure)
    state = State.simple_cubic(n, start_packing_fraction, seed=seed)
    return relax_to_pressure(state, pressure, sweeps, beta_epsilon, well_range, seed, 0.5, device)
