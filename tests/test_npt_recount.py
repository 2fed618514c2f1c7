"""The box moves' recount (cubemc/npt_cpu.py through cubemc.npt.recount) against the from-scratch
count of Simulation.count_pairs / State.count_pairs (cpu.count_pairs): equal integers with and
without overlaps, hard and square-well, cubes and polydisperse cuboids, small and larger cell
grids; stopping at the first overlap says "overlap" exactly when there is one."""

import numba
import numpy as np
import pytest

import cubemc
from cubemc import lattices
from cubemc.geometry import random_quaternions
from cubemc.npt import recount, scaled_positions


@pytest.fixture(autouse=True)
def one_thread():
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)


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
        if exact[1] == 0:
            assert stopped == exact
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
    for k in rng.choice(state.N, size=24, replace=False):
        pos = state.positions.copy()
        partner = int(rng.integers(state.N - 1))
        partner += partner >= k
        pos[partner] = pos[k] + rng.uniform(-0.3, 0.3, 3)  # centres 0.5 apart at most: overlap
        other = cubemc.State(
            pos,
            state.orientations,
            state.box,
            check=False,
            shape=state.shape,
            shape_params=state.shape_params,
        )
        exact = sim.count_pairs(other)
        full, stopped = both_counts(sim, other)
        assert exact[1] >= 1 and full == exact and stopped[1] >= 1, (k, partner, exact, full, stopped)


def test_scaled_positions_are_those_of_the_state():
    """The recount sees the positions the accepted State will hold, bit for bit."""
    state = squeezed(lattice("cube", 4, 0.3), 1.0, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(20):
        new_box = state.box * np.exp(rng.uniform(-0.1, 0.1, 3))
        scaled, wrapped = scaled_positions(state.positions, state.box, new_box)
        made = cubemc.State(scaled, state.orientations, new_box, check=False)
        assert np.array_equal(made.positions, wrapped)
