"""The box moves' recount (cubemc/npt_cpu.py through cubemc.npt.recount) against the from-scratch
count of Simulation.count_pairs / State.count_pairs (cpu.count_pairs): equal integers with and
without overlaps, hard and square-well, cubes and polydisperse cuboids, small and larger cell
grids; stopping at the first overlap says "overlap" exactly when there is one."""

import numpy as np
import pytest

import cubemc
from cubemc import lattices
from cubemc.geometry import random_quaternions
from cubemc.npt import any_overlap, count_units, recount, scaled_positions

pytestmark = pytest.mark.usefixtures("one_numba_thread")


def lattice(shape, n, packing_fraction):
    if shape == "cube":
        return cubemc.State.simple_cubic(n, packing_fraction, seed=1)
    sizes = lattices.draw_sizes(n**3, polydispersity=0.1, seed=2)
    params = lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.3))
    return lattices.simple_cubic(n, "cuboid", params, packing_fraction=packing_fraction)


def squeezed(state, scale, seed):
    """The lattice squeezed by `scale` with random orientations (overlaps once squeezed enough)."""
    q = random_quaternions(np.random.default_rng(seed), state.N)
    return cubemc.State(
        state.positions * scale,
        q,
        state.box * scale,
        check=False,
        shape=state.shape,
        shape_params=state.shape_params,
    )


def both_counts(sim, state):
    """(recount without stopping, recount stopping at the first overlap)."""
    args = (sim, state.positions, state.orientations, state.shape_params, state.box)
    return recount(*args, stop_at_overlap=False), recount(*args)


def split_counts(sim, state):
    """(units of count_units, any_overlap): what a box move counts, energy and overlap apart."""
    args = (sim, state.positions, state.orientations, state.shape_params, state.box)
    units, unchecked = count_units(*args)
    assert unchecked is None  # the CPU never looks for overlaps while counting units
    return units, any_overlap(*args)


# at phi 0.1 the lattice constant is 2.15 largest extents, more than any circumsphere: randomly
# turned particles overlap only once squeezed (by 0.69: a few, 0.62: more); the cell grids have
# from 2 (n = 4 squeezed) to 6 cells per axis
@pytest.mark.parametrize("shape", ["cube", "cuboid"])
@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("beta_epsilon,well_range", [(0.0, 1.14), (-1.0, 1.5)])
def test_recount_equals_the_from_scratch_count(shape, n, beta_epsilon, well_range):
    state = lattice(shape, n, 0.1)
    sim = cubemc.Simulation(state, beta_epsilon, well_range, seed=3, device="cpu")
    seen = []
    grids = set()
    for k, scale in enumerate((1.0, 0.69, 0.62)):
        other = squeezed(state, scale, seed=10 + k)
        exact = sim.count_pairs(other)
        assert exact == other.count_pairs(well_range)  # the two from-scratch counts agree
        full, stopped = both_counts(sim, other)
        assert full == exact, (scale, full, exact)
        assert (stopped[1] > 0) == (exact[1] > 0)
        units, overlap = split_counts(sim, other)
        assert overlap == (exact[1] > 0)
        if exact[1] == 0:
            assert stopped == exact
            assert units == exact[0]
        seen.append(exact)
        grids.add(
            int(min(cubemc.geometry.cell_grid(other.box, well_range, sim.shape, other.shape_params)[0]))
        )
    # the configurations cover no overlap, some and more, and (in the wider well) bonds
    assert seen[0][1] == 0 < seen[1][1] < seen[2][1], seen
    assert max(units for units, _ in seen) > 0 or well_range < 1.2, seen
    assert min(grids) == 2 if n == 4 else min(grids) > 2


@pytest.mark.parametrize("shape", ["cube", "cuboid"])
@pytest.mark.parametrize("well_range", [1.14, 2.0])
def test_recount_equals_the_from_scratch_count_of_a_random_gas(shape, well_range):
    """Uniformly random centres and orientations: pairs at every distance, overlapping up to the
    largest overlap distance and bonded up to the well's edge (2.0 reaches past every
    circumsphere), so a recount that skipped pairs just inside the interaction range would
    miss some."""
    state = lattice(shape, 7, 0.1)
    sim = cubemc.Simulation(state, -1.0, well_range, seed=3, device="cpu")
    rng = np.random.default_rng(6)
    for edge in (8.0, 10.0):
        box = np.full(3, edge)
        gas = cubemc.State(
            rng.uniform(-edge / 2, edge / 2, (state.N, 3)),
            random_quaternions(rng, state.N),
            box,
            check=False,
            shape=state.shape,
            shape_params=state.shape_params,
        )
        exact = sim.count_pairs(gas)
        full, stopped = both_counts(sim, gas)
        assert full == exact and stopped[1] > 0, (exact, full, stopped)
        assert split_counts(sim, gas)[1]
        assert exact[1] > 0 and (exact[0] > 0 or well_range < 1.2), exact  # at 1.14 all near pairs overlap


@pytest.mark.parametrize("shape", ["cube", "cuboid"])
def test_stopping_at_the_first_overlap_finds_a_single_overlap_anywhere(shape):
    """One overlapping pair, put in turn into many different cells: the early exit must never
    skip a cell, a particle or a neighbour cell."""
    state = lattice(shape, 6, 0.1)
    sim = cubemc.Simulation(state, -1.0, 1.5, seed=3, device="cpu")
    rng = np.random.default_rng(5)
    assert (
        recount(sim, state.positions, state.orientations, state.shape_params, state.box) == sim.count_pairs()
    )
    assert split_counts(sim, state) == (sim.count_pairs()[0], False)
    for k in rng.choice(state.N, size=24, replace=False):
        pos = state.positions.copy()
        partner = int(rng.integers(state.N - 1))
        partner += partner >= k
        pos[partner] = pos[k] + rng.uniform(-0.3, 0.3, 3)  # centres 0.5 apart at most: overlap
        other = state.with_positions(pos)
        exact = sim.count_pairs(other)
        full, stopped = both_counts(sim, other)
        assert exact[1] >= 1 and full == exact and stopped[1] >= 1, (k, partner, exact, full, stopped)
        assert split_counts(sim, other)[1], (k, partner)


def test_scaled_positions_are_those_of_the_state():
    """The recount sees the positions the accepted State will hold, bit for bit."""
    state = squeezed(lattice("cube", 4, 0.3), 1.0, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(20):
        new_box = state.box * np.exp(rng.uniform(-0.1, 0.1, 3))
        scaled, wrapped = scaled_positions(state.positions, state.box, new_box)
        made = cubemc.State(scaled, state.orientations, new_box, check=False)
        assert np.array_equal(made.positions, wrapped)


@pytest.mark.parametrize("shape", ["cube", "cuboid"])
def test_units_of_a_bonded_lattice_without_overlaps(shape):
    """A jiggled lattice in a wide well: many bonds and no overlap, so count_units must give
    exactly the from-scratch units and any_overlap must find nothing."""
    state = lattice(shape, 6, 0.45)
    rng = np.random.default_rng(8)
    jiggled = state.with_positions(state.positions + rng.uniform(-0.02, 0.02, (state.N, 3)))
    sim = cubemc.Simulation(state, -1.0, 1.5, seed=3, device="cpu")
    exact = sim.count_pairs(jiggled)
    assert exact[1] == 0 and exact[0] > state.N, exact  # about three bonds per particle
    assert split_counts(sim, jiggled) == (exact[0], False)


class FullRecountBoxMove(cubemc.npt.BoxMove):
    """Box moves deciding on one whole count (energy and overlaps together), as before the
    energy-first order and the skipped overlap test of isotropic expansions."""

    @staticmethod
    def count_units(sim, positions, orientations, params, new_box):
        units, overlaps = recount(sim, positions, orientations, params, new_box, stop_at_overlap=False)
        return units, overlaps > 0


@pytest.mark.parametrize("beta_epsilon,pressure", [(0.0, 6.0), (-1.5, 2.0)])
def test_box_moves_make_the_chain_of_a_full_recount(beta_epsilon, pressure):
    """Counting the energy first, testing overlaps only where the move could still be accepted
    and never after an isotropic expansion changes no decision: the same trajectory, bit for bit,
    as deciding on the full count, for hard and attractive cubes with isotropic and per-axis
    moves near the overlap limit (many rejected compressions)."""
    finals = []
    for move_class in (cubemc.npt.BoxMove, FullRecountBoxMove):
        state = cubemc.State.simple_cubic(4, 0.55, seed=4)
        sim = cubemc.Simulation(state, beta_epsilon, 1.3, seed=5, device="cpu")
        move = move_class(pressure, volume_size=0.05, axis_size=0.03, axis_fraction=0.5, trials=3)
        sim.operations.updaters.append(move)
        sim.run(150)
        finals.append((sim.positions, sim.box, sim.bonds, move.counts.copy()))
    (p1, b1, n1, c1), (p2, b2, n2, c2) = finals
    assert 0 < c1[0] < c1[1] and 0 < c1[2] < c1[3], c1  # both kinds accepted and rejected
    assert np.array_equal(c1, c2) and n1 == n2
    assert np.array_equal(b1, b2) and np.array_equal(p1, p2)
