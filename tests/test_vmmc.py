"""VMMC cluster moves (cubemc/vmmc.py) against exact answers (fixed seeds, 4-sigma bounds).

Exact references, independent of any Markov chain:
* two spheres of diameter 1 with a well of range lam in a periodic box of volume W: the in-well
  configuration volume is x = 4 pi (lam^3 - 1) / 3 and the free one f = W - 4 pi lam^3 / 3, so
  p(bonded) = x e^{-beta eps} / (f + x e^{-beta eps}) (tests/test_shape_seam.py);
* two or three particles (spheres or cubes): the configuration-space fraction Z_k with k bonds
  from importance sampling of the relative positions (uniform in the box mixed with uniform in
  the well balls, orientations uniform for cubes, overlaps of cubes from the engine's exact
  test as in tests/test_statistics.py), then P(k) = Z_k e^{-k beta eps} / sum.
"""

import math

import gsd.hoomd
import numpy as np
import pytest
import sphere_shape

import cubemc
from cubemc import shapes
from cubemc.errors import InputError
from cubemc.geometry import overlaps, random_quaternions
from cubemc.vmmc import VMMC

shapes.register(sphere_shape)
SPHERE = "test_sphere"


pytestmark = pytest.mark.usefixtures("one_numba_thread")


def block_error(series, blocks=50):
    """Standard error of the mean of a correlated series from `blocks` batch means."""
    series = np.asarray(series, float)
    means = series[: len(series) // blocks * blocks].reshape(blocks, -1).mean(1)
    return means.std(ddof=1) / np.sqrt(blocks)


# ---------------------------------------------------------------------- exact references
def _min_image(d, box):
    return d - box * np.floor(d / box + 0.5)


def _in_ball(rng, n, radius):
    u = rng.normal(size=(n, 3))
    return u / np.linalg.norm(u, axis=1, keepdims=True) * radius * rng.uniform(0, 1, (n, 1)) ** (1 / 3)


def _overlapping(shape, rng, d):
    if shape == SPHERE:
        return np.einsum("ij,ij->i", d, d) < 1.0
    n = len(d)
    return overlaps(d, random_quaternions(rng, n), random_quaternions(rng, n))


def _bond_fractions(n_particles, well, box, shape, n, rng):
    """Z_k / W^(n-1) for k = 0..pairs: particle 0 at the origin; particle 1 uniform in the box
    or in the well ball of 0 (1/2 each); particle 2 uniform, in the ball of 0 or of 1 (1/3 each).
    Each sample is weighted by 1 / (proposal density * W^(n-1))."""
    ball, volume = 4 / 3 * math.pi * well**3, box**3

    def ball_density(x, centre):
        return (np.linalg.norm(_min_image(x - centre, box), axis=1) < well) / ball

    def pick(options):
        choice = rng.integers(0, len(options), n)
        return _min_image(np.choose(choice[:, None], options), box)

    pos = [np.zeros((n, 3)), pick([rng.uniform(-box / 2, box / 2, (n, 3)), _in_ball(rng, n, well)])]
    density = 0.5 / volume + 0.5 * ball_density(pos[1], 0.0)
    if n_particles == 3:
        pos.append(
            pick(
                [
                    rng.uniform(-box / 2, box / 2, (n, 3)),
                    _in_ball(rng, n, well),
                    pos[1] + _in_ball(rng, n, well),
                ]
            )
        )
        density = density * (1 / 3 / volume + (ball_density(pos[2], 0.0) + ball_density(pos[2], pos[1])) / 3)
    weight = 1.0 / (density * volume ** (n_particles - 1))
    bonds, free = np.zeros(n, np.int64), np.ones(n, bool)
    for a in range(n_particles):
        for b in range(a + 1, n_particles):
            d = _min_image(pos[b] - pos[a], box)
            free &= ~_overlapping(shape, rng, d)
            bonds += np.linalg.norm(d, axis=1) < well
    pairs = n_particles * (n_particles - 1) // 2
    return np.array([np.mean(weight * free * (bonds == k)) for k in range(pairs + 1)])


def exact_bond_distribution(n_particles, beta_eps, well, box, shape, samples=2_000_000, seed=1):
    """(P(k bonds), standard errors) from 20 independent batches of importance samples."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(20):
        z = _bond_fractions(n_particles, well, box, shape, samples // 20, rng)
        p = z * np.exp(-beta_eps * np.arange(len(z)))
        batches.append(p / p.sum())
    batches = np.array(batches)
    return batches.mean(0), batches.std(0, ddof=1) / np.sqrt(len(batches))


def two_sphere_probability(beta_eps, well, box):
    x = 4 * math.pi / 3 * (well**3 - 1)
    f = box**3 - 4 * math.pi / 3 * well**3
    w = math.exp(-beta_eps)
    return x * w / (f + x * w)


def test_importance_sampler_reproduces_the_two_sphere_formula():
    for beta_eps, box in ((-4.0, 6.0), (-6.0, 12.0)):
        p, err = exact_bond_distribution(2, beta_eps, 1.2, box, SPHERE, samples=400_000)
        assert abs(p[1] - two_sphere_probability(beta_eps, 1.2, box)) < 4 * err[1]
        assert err[1] < 0.005


# ---------------------------------------------------------------------- sampling helpers
def small_system(n, beta_eps, well, box, shape, schedule="serial", seed=3):
    start = np.outer(np.arange(n), np.full(3, box / 3))  # apart along the diagonal: no overlap
    state = cubemc.State(start, [[1.0, 0, 0, 0]] * n, [box] * 3, shape=shape)
    return cubemc.Simulation(
        state, beta_eps, well, seed=seed, device="cpu", translate_size=0.5, rotate_size=0.3, schedule=schedule
    )


def sample_bonds(sim, mode, moves, translate_size, **cutoff):
    """Bond count after every VMMC move: VMMC alone (100 moves per action), or mixed with single
    moves (an action of 100 VMMC moves after every 50 sweeps, about as many single trials);
    `cutoff`: the VMMC size-cutoff arguments (random_cutoff, max_cluster)."""
    per_action = 100
    vmmc = VMMC(
        period=50,
        moves_per_particle=per_action / sim.N,
        translate_size=translate_size,
        rotate_size=0.5,
        pivot_radius=1.0,
        **cutoff,
    )
    actions = moves // per_action
    if mode == "alone":
        vmmc.run_alone(sim, actions // 20)  # equilibration
        trace = vmmc.run_alone(sim, actions)
    else:
        sim.operations.updaters.append(vmmc)
        sim.run(50 * actions // 20)
        vmmc.record = True
        sim.run(50 * actions)
        trace = vmmc.trace
    assert len(trace) == moves
    bonds, overlapping = sim.state.count_pairs(sim.well_range)
    assert overlapping == 0 and bonds == sim.bonds == trace[-1]
    return trace, vmmc


def assert_distribution(trace, p_exact, err_exact, resolution):
    for k in range(len(p_exact)):
        p, err = np.mean(trace == k), block_error(trace == k)
        sigma = math.hypot(err, err_exact[k])
        # <=: a bin that neither finds (three bonds of cubes at lam 1.14) has 0 = 0 +- 0
        assert abs(p - p_exact[k]) <= 4 * sigma, (k, p, err, p_exact[k], err_exact[k])
        assert sigma < resolution, (k, sigma)


# ---------------------------------------------------------------------- fast tier: spheres
#: (beta eps, box, VMMC translation size) with the well lam = 1.2: P(k bonds) well spread
SPHERE_CASES = [(-4.0, 6.0, 1.5), (-6.0, 12.0, 3.0)]


@pytest.mark.parametrize("mode", ["alone", "mixed"])
@pytest.mark.parametrize("beta_eps,box,size", SPHERE_CASES)
def test_two_spheres_bonded_fraction_is_exact(beta_eps, box, size, mode):
    sim = small_system(2, beta_eps, 1.2, box, SPHERE)
    trace, vmmc = sample_bonds(sim, mode, 800_000, size)
    p_exact = two_sphere_probability(beta_eps, 1.2, box)
    p, err = trace.mean(), block_error(trace)
    assert abs(p - p_exact) < 4 * err, (p, err, p_exact)
    assert err < 0.025
    assert vmmc.counts["translate_accepted"] and vmmc.counts["rotate_accepted"]


@pytest.mark.parametrize("mode", ["alone", "mixed"])
@pytest.mark.parametrize("beta_eps,box,size", SPHERE_CASES)
def test_three_spheres_bond_distribution_is_exact(beta_eps, box, size, mode):
    p_exact, err_exact = exact_bond_distribution(3, beta_eps, 1.2, box, SPHERE, samples=600_000)
    sim = small_system(3, beta_eps, 1.2, box, SPHERE)
    trace, vmmc = sample_bonds(sim, mode, 800_000, size)
    assert_distribution(trace, p_exact, err_exact, 0.03)
    assert vmmc.counts["largest_cluster"] == 3  # whole triangles moved


#: the workflow's cutoff law (cluster_moves.START): fixed, not drawn; and that law capped below
#: the system, so that the cap rejects moves (whole triangles never move)
FIXED_CUTOFFS = {"fixed": dict(random_cutoff=False), "capped at 2": dict(random_cutoff=False, max_cluster=2)}


@pytest.mark.parametrize("cutoff", FIXED_CUTOFFS)
def test_fixed_and_capped_cutoffs_keep_the_three_sphere_distribution(cutoff):
    beta_eps, box, size = SPHERE_CASES[0]
    p_exact, err_exact = exact_bond_distribution(3, beta_eps, 1.2, box, SPHERE, samples=600_000)
    sim = small_system(3, beta_eps, 1.2, box, SPHERE)
    trace, vmmc = sample_bonds(sim, "mixed", 800_000, size, **FIXED_CUTOFFS[cutoff])
    assert_distribution(trace, p_exact, err_exact, 0.03)
    cap = FIXED_CUTOFFS[cutoff].get("max_cluster", 3)
    assert vmmc.counts["largest_cluster"] == cap
    assert (vmmc.counts["rejected_cutoff"] > 0) == (cap < 3)


def test_a_cap_above_every_accepted_cluster_leaves_the_chain_unchanged():
    """Moves draw from streams of their own, so a cap only turns moves of larger clusters into
    rejections: the chain is the uncapped one, bit for bit, while no larger cluster is accepted
    (docs/vmmc.md: the workflow's cap), and differs once one would be."""

    def run(max_cluster):
        state = cubemc.State.simple_cubic(n=5, packing_fraction=0.6, vacancies=0, seed=2)
        sim = cubemc.Simulation(state, -3.0, 1.3, seed=5, device="cpu")
        vmmc = VMMC(moves_per_particle=1.0, translate_size=0.2, random_cutoff=False, max_cluster=max_cluster)
        vmmc.run_alone(sim, 20)
        return sim.positions.copy(), vmmc.counts

    free, counts = run(None)
    largest = counts["largest_cluster"]
    assert 1 < largest < 125 and counts["rejected_cutoff"] == 0
    capped, capped_counts = run(largest)
    assert np.array_equal(capped, free) and capped_counts["rejected_cutoff"] > 0
    below, _ = run(largest - 1)
    assert not np.array_equal(below, free)


# ---------------------------------------------------------------------- slow tier: cubes
#: (well, beta eps, box, VMMC translation size); lam = 1.14 is the model's well (few bonds)
CUBE_CASES = [(1.5, -4.0, 6.0, 1.5), (1.5, -6.0, 8.0, 2.0), (1.14, -6.0, 3.6, 1.0)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["alone", "mixed"])
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("well,beta_eps,box,size", CUBE_CASES)
def test_cube_bond_distribution_is_exact(well, beta_eps, box, size, n, mode):
    p_exact, err_exact = exact_bond_distribution(n, beta_eps, well, box, "cube", samples=4_000_000)
    sim = small_system(n, beta_eps, well, box, "cube", schedule="checkerboard")
    sim.tune(500)
    trace, vmmc = sample_bonds(sim, mode, 2_000_000, size)
    assert_distribution(trace, p_exact, err_exact, 0.02)
    assert vmmc.counts["largest_cluster"] >= 2


# ---------------------------------------------------------------------- dense systems, dynamics
def bonds_per_particle(sim):
    """Bonds of each particle (centres closer than the well range; the state has no overlaps)."""
    pos, box = sim.positions, sim.box
    d = pos[None] - pos[:, None]
    d -= box * np.floor(d / box + 0.5)
    r2 = np.einsum("ijk,ijk->ij", d, d)
    np.fill_diagonal(r2, np.inf)
    counts = (r2 < sim.well_range**2).sum(1)
    assert counts.sum() == 2 * sim.bonds
    return counts


def dense_averages(with_vmmc, samples, seed):
    """Per sample (every 5 sweeps) of 60 cubes at packing fraction 0.55, beta eps -2: bonds per
    cube and the fractions of cubes with 0..5 bonds; single moves only, or with a VMMC action
    after every sweep."""
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.55, vacancies=4, seed=3)
    sim = cubemc.Simulation(state, -2.0, 1.14, seed=seed, device="cpu", translate_size=0.1, rotate_size=0.1)
    if with_vmmc:
        sim.operations.updaters.append(
            VMMC(period=1, moves_per_particle=0.5, translate_size=0.15, rotate_size=0.15, pivot_radius=0.8)
        )
    sim.run(1000)
    rows = []
    for _ in range(samples):
        sim.run(5)
        per_cube = bonds_per_particle(sim)
        rows.append([per_cube.mean(), *np.bincount(per_cube, minlength=6)[:6] / sim.N])
    return np.array(rows)


def assert_same_averages(a, b, resolution):
    for q in range(a.shape[1]):
        sigma = math.hypot(block_error(a[:, q], 20), block_error(b[:, q], 20))
        assert abs(a[:, q].mean() - b[:, q].mean()) < 4 * sigma, (q, a[:, q].mean(), b[:, q].mean(), sigma)
    assert math.hypot(block_error(a[:, 0], 20), block_error(b[:, 0], 20)) < resolution


@pytest.mark.parametrize(
    "samples,resolution", [(1500, 0.03), pytest.param(12000, 0.02, marks=pytest.mark.slow)]
)
def test_dense_cubes_same_averages_with_and_without_vmmc(samples, resolution):
    without = dense_averages(False, samples, seed=11)
    with_vmmc = dense_averages(True, samples, seed=12)
    assert_same_averages(without, with_vmmc, resolution * without[:, 0].mean())


def dimer_msd(with_vmmc, sweeps=2000, lag=200):
    """Time-averaged squared displacement of a bonded cube dimer's centre after `lag` sweeps."""
    state = cubemc.State([[-0.53, 0, 0], [0.53, 0, 0]], [[1.0, 0, 0, 0]] * 2, [6.0] * 3)
    sim = cubemc.Simulation(state, -8.0, 1.14, seed=5, device="cpu", translate_size=0.1, rotate_size=0.1)
    if with_vmmc:
        sim.operations.updaters.append(
            VMMC(period=1, moves_per_particle=1, translate_size=0.3, rotate_size=0.2, pivot_radius=0.5)
        )
    unwrapped, last, centres, bonded = sim.positions, sim.positions, [], 0
    for _ in range(sweeps // 2):
        sim.run(2)  # a particle moves less than L/2 in 2 sweeps, so unwrapping is unambiguous
        now = sim.positions
        unwrapped = unwrapped + _min_image(now - last, sim.box)
        last = now
        centres.append(unwrapped.mean(0))
        bonded += sim.bonds
    centres = np.array(centres)
    steps = lag // 2
    return np.mean(np.sum((centres[steps:] - centres[:-steps]) ** 2, 1)), bonded / len(centres)


def test_bonded_dimer_diffuses_under_vmmc_not_under_single_moves():
    msd_vmmc, bonded_vmmc = dimer_msd(True)
    msd_single, bonded_single = dimer_msd(False)
    assert bonded_vmmc > 0.99 and bonded_single > 0.99  # beta eps = -8: the bond never breaks
    assert msd_vmmc > 1.0  # the dimer wanders a cube length and more in 200 sweeps
    assert msd_vmmc > 20 * msd_single, (msd_vmmc, msd_single)


# ---------------------------------------------------------------------- bookkeeping, restarts
def aggregating_fluid(seed=7):
    """64 cubes at beta eps -6 in 8 bonded 2x2x2 blocks (face gaps 0.05) spread over a box of 8."""
    block = np.indices((2, 2, 2)).reshape(3, -1).T * 1.05
    corners = np.indices((2, 2, 2)).reshape(3, -1).T * 4.0
    positions = (corners[:, None, :] + block[None]).reshape(-1, 3)
    state = cubemc.State(positions, np.tile([1.0, 0, 0, 0], (64, 1)), [8.0] * 3)
    return cubemc.Simulation(state, -6.0, 1.14, seed=seed, device="cpu", translate_size=0.1, rotate_size=0.1)


def test_running_bonds_equal_recount_without_overlaps():
    lattice = cubemc.State.simple_cubic(n=4, packing_fraction=0.55, vacancies=4, seed=3)
    for sim in (aggregating_fluid(), cubemc.Simulation(lattice, -2.0, 1.14, seed=4, device="cpu")):
        vmmc = VMMC(period=1, moves_per_particle=1.0, translate_size=0.3, rotate_size=0.3)
        sim.operations.updaters.append(vmmc)
        for _ in range(6):
            sim.run(25)
            bonds, overlapping = sim.state.count_pairs(sim.well_range)
            assert overlapping == 0 and bonds == sim.bonds
        c = vmmc.counts
        assert c["translate_accepted"] > 0 and c["rotate_accepted"] > 0
        assert c["translate_trials"] + c["rotate_trials"] == 6 * 25 * sim.N
        assert c["largest_cluster"] >= 2


def test_restart_from_checkpoint_is_bit_exact(tmp_path):
    def vmmc():
        return VMMC(period=2, moves_per_particle=0.5, translate_size=0.3, rotate_size=0.3)

    straight = aggregating_fluid()
    v_straight = vmmc()
    straight.operations.updaters.append(v_straight)
    straight.run(60)

    first = aggregating_fluid()
    v_first = vmmc()
    first.operations.updaters.append(v_first)
    first.run(30, checkpoint=tmp_path / "c.npz")  # the standard checkpoint writer
    again = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    (v_again,) = again.operations.updaters  # re-attached from the checkpoint
    assert isinstance(v_again, VMMC) and v_again.counts == v_first.counts
    again.run(30)

    assert again.sweep == straight.sweep == 60 and again.bonds == straight.bonds
    assert np.array_equal(again.positions, straight.positions)
    assert np.array_equal(again.orientations, straight.orientations)
    assert np.array_equal(again.counts, straight.counts)
    assert v_again.counts == v_straight.counts and v_straight.counts["translate_accepted"] > 0
    assert straight.bonds > 60 and v_straight.counts["largest_cluster"] >= 8  # blocks moved


def test_gsd_frames_log_vmmc_statistics(tmp_path):
    sim = aggregating_fluid()
    vmmc = VMMC(period=1, moves_per_particle=0.5)
    sim.operations.updaters.append(vmmc)
    sim.run(20, trajectory=tmp_path / "t.gsd", period=10)  # the standard GSD writer
    with gsd.hoomd.open(str(tmp_path / "t.gsd")) as traj:
        assert [f.configuration.step for f in traj] == [0, 10, 20]
        log = traj[-1].log
    assert log["cubemc/vmmc_moves"][0] == 20 * 32
    assert log["cubemc/vmmc_translate_acceptance"][0] == vmmc.acceptance["translate"]
    assert log["cubemc/bonds"][0] == sim.bonds


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(moves_per_particle=0),
        dict(translate_size=-1),
        dict(translate_fraction=1.5),
        dict(pivot_radius=-0.1),
        dict(max_cluster=0),
        dict(random_cutoff="yes"),
        dict(period=0),
        dict(gpu_lanes=3),
        dict(gpu_lanes="32"),
        dict(gpu_lanes=True),
        dict(gpu_lanes=4.0),
    ],
)
def test_bad_parameters_raise_one_line_input_errors(kwargs):
    with pytest.raises(InputError) as err:
        VMMC(**kwargs)
    assert "\n" not in str(err.value)


def test_tune_scales_vmmc_sizes_within_their_caps_and_resets_the_counters():
    sim = aggregating_fluid()
    vmmc = VMMC(period=1, moves_per_particle=0.5, translate_size=0.05, rotate_size=0.9)
    sim.operations.updaters.append(vmmc)
    sim.tune(60, target_acceptance=0.3, period=10)
    # tiny translations are nearly always accepted: they grow; sizes stay under their caps
    assert 0.05 < vmmc.translate_size <= 0.5 * sim.min_box_edge
    assert vmmc.rotate_size <= 1.0 and sim.operations.tuners == []
    assert vmmc.counts["translate_trials"] == 0  # statistics cover frozen sizes only
    sizes = (vmmc.translate_size, vmmc.rotate_size)
    sim.run(10)
    assert (vmmc.translate_size, vmmc.rotate_size) == sizes


def test_apply_configuration_checks_shapes_and_sets_the_bond_count():
    sim = aggregating_fluid()
    pos, quat = sim.positions, sim.orientations
    with pytest.raises(InputError) as err:
        sim.apply_configuration(pos[:3], quat, sim.bonds)
    assert "\n" not in str(err.value)
    pos[0] += [0.01, 0.0, 0.0]  # cube 0 stays bonded to its three block neighbours
    sim.apply_configuration(pos, quat, sim.bonds)
    assert np.array_equal(sim.positions, pos) and sim.state.count_pairs(sim.well_range) == (sim.bonds, 0)


def test_reach_cells_hold_every_point_within_reach_of_either_position():
    """The link scan visits only the cells from vmmc_cells.reach_cells: every point within reach
    of a member's position or of its forward position must lie in one of them (periodic box,
    cells as axis_cell assigns them), and for small moves they are fewer than the span's."""
    from cubemc.kernel_basics import host_functions
    from cubemc.vmmc_cells import axis_cell, reach_cells

    wrap = host_functions()["wrap"]
    rng = np.random.default_rng(7)
    fewer = 0
    for _ in range(3000):
        n = int(rng.integers(3, 12))
        length = n * rng.uniform(1.0, 2.5)
        reach = rng.uniform(0.5, 1.0) * length / n  # cells at least one reach wide
        x = wrap(rng.uniform(-1, 1) * length, length)
        x_fwd = wrap(x + rng.uniform(-2, 2), length)
        first, count = reach_cells(x, x_fwd, reach, length, n)
        for _ in range(20):
            centre = x if rng.random() < 0.5 else x_fwd
            point = wrap(centre + reach * (1 - 1e-12) * rng.uniform(-1, 1), length)
            assert min(abs(wrap(point - x, length)), abs(wrap(point - x_fwd, length))) < reach
            assert (axis_cell(point, length, n) - first) % n < count, (x, x_fwd, reach, length, n)
        fewer += count < n
    assert fewer > 1000  # the filter does filter


def test_scan_index_helpers_match_the_modulo_and_division_forms():
    """The member scan's cheap forms: wrap_index is k % n on [0, 2n), and the engine's
    comparison min_image (its distance filter) is its floor form, wrap, on differences of
    wrapped coordinates except within rounding of L / 2 (beyond any interaction range)."""
    from cubemc.kernel_basics import host_functions
    from cubemc.vmmc_cells import wrap_index

    near_image, wrap = host_functions()["min_image"], host_functions()["wrap"]

    for n in range(1, 9):
        for k in range(2 * n):
            assert wrap_index(k, n) == k % n
    rng = np.random.default_rng(11)
    agree = 0
    for _ in range(20000):
        length = rng.uniform(2.0, 30.0)
        a, b = (wrap(rng.uniform(-1, 1) * length, length) for _ in range(2))
        d = a - b
        if abs(abs(d) - 0.5 * length) > 1e-9 * length:
            assert near_image(d, length) == wrap(d, length), (d, length)
            agree += 1
    for d in (0.5, -0.5, 0.49999999, -0.50000001):  # at L / 2 both are images of |d| = L / 2
        assert abs(abs(near_image(d * 10.0, 10.0)) - 5.0) < 1e-6
    assert agree > 19000
