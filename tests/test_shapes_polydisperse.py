"""Unequal particles: the square well of a pair spans lambda (s_i + s_j) / 2.

Two cubes of edges 1.0 and 1.4 (sizes 1.0 and 1.4) in a periodic box: the probability of being in
the well is p = x w / (f + x w), w = exp(-beta eps), with x and f the configuration volumes
(relative position and both orientations) inside and outside the well without overlap, from
plain uniform sampling with the engine's overlap test (no Markov chain).
"""

import math

import numpy as np
import pytest

import cubemc
from cubemc import lattices, shapes
from cubemc.geometry import overlaps, random_quaternions
from cubemc.shapes import cuboid

EDGES = np.array([[1.0, 1.0, 1.0], [1.4, 1.4, 1.4]])
BETA_EPS, LAMBDA, BOX = -3.0, 1.5, 5.0


def block_error(series, blocks=50):
    series = np.asarray(series, float)
    means = series[: len(series) // blocks * blocks].reshape(blocks, -1).mean(1)
    return means.std(ddof=1) / np.sqrt(blocks)


def exact_well_probability(beta_eps, well, box, n=400_000, seed=1):
    """(p, standard error) from uniform sampling inside the ball r < well and in the rest."""
    rng = np.random.default_rng(seed)
    ball = 4 / 3 * math.pi * well**3 / box**3

    def free_fraction(d):
        over = overlaps(d, random_quaternions(rng, len(d)), random_quaternions(rng, len(d)), cuboid, EDGES)
        return (~over).reshape(20, -1).mean(1)

    u = rng.normal(size=(n, 3))
    inside = u / np.linalg.norm(u, axis=1, keepdims=True) * well * rng.uniform(0, 1, (n, 1)) ** (1 / 3)
    outside = rng.uniform(-box / 2, box / 2, (2 * n, 3))
    outside = outside[np.linalg.norm(outside, axis=1) >= well][: n // 20 * 20]
    x = ball * free_fraction(inside)
    f = (1 - ball) * free_fraction(outside)
    w = math.exp(-beta_eps)
    p = x * w / (f + x * w)
    return p.mean(), p.std(ddof=1) / np.sqrt(len(p))


def two_cubes(schedule, seed=4):
    state = cubemc.State(
        [[-1.3, 0, 0], [1.3, 0, 0]], [[1, 0, 0, 0]] * 2, [BOX] * 3, shape="cuboid", shape_params=EDGES
    )
    # translations of 0.6: the neighbour search reaches the larger circumsphere (2.42) >= the
    # pair's well (1.8) + 0.6 even with Simulation's size-1 pair parameters (see below)
    return cubemc.Simulation(
        state,
        BETA_EPS,
        LAMBDA,
        seed=seed,
        device="cpu",
        schedule=schedule,
        translate_size=0.6,
        rotate_size=0.5,
    )


@pytest.mark.parametrize("schedule", ["serial", "checkerboard"])
def test_two_unequal_cubes_well_occupancy_is_exact(schedule):
    """Fast tier.  Mean-size well 1.8: p = 0.54; the largest size's well (2.1) gives 0.83 and an
    exp(-beta dU / 2) acceptance 0.22 (both mutations made by hand, both fail here)."""
    p_exact, err_exact = exact_well_probability(BETA_EPS, LAMBDA * 0.5 * (1.0 + 1.4), BOX)
    sim = two_cubes(schedule)
    sim.run(1000)
    trace = sim.run_trace(60_000 if schedule == "serial" else 40_000)
    p, err = trace.mean(), block_error(trace)
    sigma = math.hypot(err, err_exact)
    assert sigma < 0.03
    assert abs(p - p_exact) < 4 * sigma, (p, err, p_exact, err_exact)


def test_pair_energy_uses_the_mean_size():
    """Bond counts of fixed unequal pairs against lambda (s_i + s_j) / 2, directly."""
    well = LAMBDA * 1.2
    for r, bonded in ((well - 1e-9, 1), (well + 1e-9, 0)):
        state = cubemc.State(
            [[0, 0, 0], [r, 0, 0]], [[1, 0, 0, 0]] * 2, [BOX] * 3, shape="cuboid", shape_params=EDGES
        )
        assert state.count_pairs(LAMBDA) == (bonded, 0)


def test_simulation_pair_parameters_reach_the_largest_pair():
    state = cubemc.State(
        [[-1.3, 0, 0], [1.3, 0, 0]], [[1, 0, 0, 0]] * 2, [BOX] * 3, shape="cuboid", shape_params=EDGES
    )
    sim = cubemc.Simulation(state, BETA_EPS, LAMBDA, seed=1, device="cpu")
    _, pair_params = sim.kernel_parameters()
    assert pair_params[1] >= LAMBDA * 1.4


class SizedSimulation(cubemc.Simulation):
    """Simulation with the one-line change of the issue-12 report: the pair parameters' reach
    covers the system's largest particle."""

    def kernel_parameters(self):
        moves, _ = super().kernel_parameters()
        params = self.systems.shape_params(0)
        return moves, self.pair.parameters(self.well_range, shapes.max_size(self.shape, params))


@pytest.mark.parametrize("edges", [(1.0, 1.0, 1.0), (1.0, 1.0, 1.2)])
def test_running_energy_equals_recount_for_polydisperse_crystals(edges):
    """A well wider than the largest circumsphere: only a reach of lambda * s_max keeps the
    running bond count equal to the recount (a size-1 reach fails this)."""
    sizes = lattices.draw_sizes(125, polydispersity=0.12, seed=2)
    params = lattices.shape_params("cuboid", sizes, edges=edges)
    state = lattices.simple_cubic(5, "cuboid", params, packing_fraction=0.45, vacancies=2, seed=3)
    well = 1.9
    assert well * sizes.max() > cuboid.circumsphere_diameter(params)
    sim = SizedSimulation(state, -1.0, well, seed=8, device="cpu", translate_size=0.15, rotate_size=0.2)
    for _ in range(6):
        sim.run(40)
        bonds, overlapping = sim.state.count_pairs(well)
        assert overlapping == 0
        assert bonds == sim.bonds
    assert sim.bonds > 100  # the well is populated


def test_sizes_from_a_truncated_gaussian():
    a = lattices.draw_sizes(20_000, polydispersity=0.12, seed=7)
    np.testing.assert_array_equal(a, lattices.draw_sizes(20_000, polydispersity=0.12, seed=7))
    assert np.all(np.abs(a - 1) <= 2 * 0.12)
    assert abs(a.mean() - 1) < 4 * 0.12 / np.sqrt(len(a))
    # a Gaussian truncated at 2 widths keeps sqrt(1 - 4 phi(2) / erf(sqrt 2)) = 0.880 of its width
    assert abs(a.std() / 0.12 - 0.880) < 0.02
    np.testing.assert_array_equal(lattices.draw_sizes(3, sizes=[1, 2, 3]), [1.0, 2.0, 3.0])


def test_lattices_never_overlap_and_have_the_packing_fraction():
    sizes = lattices.draw_sizes(216, polydispersity=0.12, seed=1)
    for shape, edges in (("cuboid", (1, 1, 1.2)), ("cuboid", (1, 1, 1))):
        params = lattices.shape_params(shape, sizes, edges=edges)
        state = lattices.simple_cubic(6, shape, params, packing_fraction=0.5)
        assert state.count_pairs()[1] == 0
        assert state.packing_fraction == pytest.approx(0.5, rel=1e-12)
        ext = params.max(axis=0)
        tight = lattices.simple_cubic(6, shape, params, lattice_constant=ext * (1 + 1e-9))
        assert tight.count_pairs()[1] == 0
    dense = lattices.compressed(state, 0.6, seed=2)
    assert dense.packing_fraction == pytest.approx(0.6, rel=1e-9)
    assert dense.count_pairs()[1] == 0


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: lattices.draw_sizes(10, polydispersity=1.0), "polydispersity must lie in"),
        (lambda: lattices.draw_sizes(10, polydispersity=0.6), "non-positive sizes"),
        (lambda: lattices.draw_sizes(3, sizes=[1, 0, 2]), "positive finite"),
        (lambda: lattices.shape_params("cuboid", [1.0, -1.0]), "positive finite"),
        (lambda: lattices.shape_params("rounded_cuboid", [1.0], rounding=-0.1), "not be negative"),
        (lambda: lattices.shape_params("cube", [1.0, 1.1]), "use 'cuboid'"),
        (
            lambda: lattices.simple_cubic(4, "cuboid", [1.0, 1.0, 1.3], lattice_constant=1.2),
            "too tight for the largest",
        ),
        (
            lambda: lattices.simple_cubic(
                4,
                "cuboid",
                lattices.shape_params("cuboid", lattices.draw_sizes(64, 0.12, seed=1)),
                packing_fraction=0.7,
            ),
            "too high",
        ),
    ],
)
def test_bad_input_is_one_line(call, message):
    with pytest.raises(cubemc.InputError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
