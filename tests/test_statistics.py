"""Monte Carlo averages against exact or independent answers (fixed seeds, 4-sigma bounds)."""

import numpy as np
import pytest
from support import DEVICES

import cubemc
from cubemc.geometry import overlaps, quaternion_matrices, random_quaternions


def block_error(series, blocks=100):
    """Standard error of the mean of a correlated series from `blocks` batch means."""
    series = np.asarray(series, float)
    means = series[: len(series) // blocks * blocks].reshape(blocks, -1).mean(1)
    return means.std(ddof=1) / np.sqrt(blocks)


def exact_well_probability(beta_eps, well_range, box, n=4_000_000, seed=1):
    """p(in well) for two cubes in a periodic box, from independent uniform sampling.

    p = x e^{-beta eps} / (f + x e^{-beta eps}); x (f) = configuration-space fraction inside
    (outside) the well without overlap.  Relative positions are sampled inside the ball r < lambda
    and in the rest of the box separately (the ball's volume fraction is exact), with uniform
    random orientations for both cubes.  Returns (p, standard error).
    """
    rng = np.random.default_rng(seed)
    ball = 4 / 3 * np.pi * well_range**3 / box**3

    def free_fraction(d):
        over = overlaps(d, random_quaternions(rng, len(d)), random_quaternions(rng, len(d)))
        return (~over).reshape(20, -1).mean(1)  # 20 batch estimates for the error

    u = rng.normal(size=(n, 3))
    radius = well_range * rng.uniform(0, 1, (n, 1)) ** (1 / 3)
    inside = u / np.linalg.norm(u, axis=1, keepdims=True) * radius
    outside = rng.uniform(-box / 2, box / 2, (2 * n, 3))
    outside = outside[np.linalg.norm(outside, axis=1) >= well_range][: n // 20 * 20]
    x = ball * free_fraction(inside)
    f = (1 - ball) * free_fraction(outside)
    w = np.exp(-beta_eps)
    p = x * w / (f + x * w)
    return p.mean(), p.std(ddof=1) / np.sqrt(len(p))


def replica_well_probability(beta_eps, well_range, box, device, replicas=512, sweeps=5000, burn_in=1000):
    """p(in well) of two cubes from `replicas` independent chains run as one batch, and its
    standard error from the spread of the replicas' means (independent chains need no blocking).

    A batch keeps the GPU case short: a GPU sweep costs milliseconds whatever the size (6 ms at
    N = 999 on an H200), so one chain of 3 x 10^5 sweeps did not fit the GPU check's time,
    while 512 chains advance in about the time of one."""
    state = cubemc.State([[-0.8, 0, 0], [0.8, 0, 0]], [[1, 0, 0, 0]] * 2, [box] * 3)
    tuned = cubemc.Simulation(state, beta_eps, well_range, seed=5, device="cpu")
    tuned.tune(2000)  # on the CPU (fast), then shared: any fixed move size is exact
    sizes = dict(translate_size=tuned.translate_size, rotate_size=tuned.rotate_size)
    sims = [
        cubemc.Simulation(state, beta_eps, well_range, seed=100 + r, device=device, **sizes)
        for r in range(replicas)
    ]
    batch = cubemc.SimulationBatch(sims)
    batch.run(burn_in)  # all replicas start from one configuration: let them forget it
    means = np.asarray(batch.run(sweeps)).mean(axis=1)
    return means.mean(), means.std(ddof=1) / np.sqrt(replicas)


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("beta_eps,well_range", [(-4, 1.14), (-6, 1.14), (-4, 1.5), (-6, 1.5)])
def test_two_cubes_well_occupancy_matches_exact(beta_eps, well_range, device):
    box = 3.5
    p_mc, err_mc = replica_well_probability(beta_eps, well_range, box, device)
    p_ex, err_ex = exact_well_probability(beta_eps, well_range, box)
    sigma = np.hypot(err_mc, err_ex)
    assert abs(p_mc - p_ex) < 4 * sigma, (p_mc, err_mc, p_ex, err_ex)
    assert sigma < 0.1 * min(p_ex, 1 - p_ex) + 0.005  # resolution: a real bias would show


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["checkerboard", "serial"])
def test_single_cube_orientation_and_position_uniform(schedule):
    """A free cube must visit SO(3) uniformly: cos(body axis, z) uniform on [-1, 1], and the box."""
    from scipy import stats

    state = cubemc.State([[0.1, 0.2, 0.3]], [[1, 0, 0, 0]], [4.0] * 3)
    sim = cubemc.Simulation(
        state, 0.0, 1.14, seed=9, device="cpu", schedule=schedule, translate_size=0.5, rotate_size=0.3
    )
    quats, positions = [], []
    for _ in range(4000):  # samples 25 sweeps apart
        sim.run(25)
        quats.append(sim.orientations[0])
        positions.append(sim.positions[0])
    axes = quaternion_matrices(np.array(quats))  # columns are body axes
    for k in range(3):
        cos_z = axes[:, 2, k]
        assert stats.kstest(cos_z, "uniform", args=(-1, 2)).pvalue > 1e-4
    # the rotation angle of a uniform random rotation has density (1 - cos t)/pi on [0, pi]
    angle = 2 * np.arccos(np.clip(np.abs(np.array(quats)[:, 0]), 0, 1))
    assert stats.kstest(angle, lambda t: (t - np.sin(t)) / np.pi).pvalue > 1e-4
    frac = (np.array(positions) + 2.0) / 4.0
    for k in range(3):
        assert stats.kstest(frac[:, k], "uniform").pvalue > 1e-4
    acc = sim.acceptance
    assert acc["rotate"] == 1.0  # nothing to overlap with and no energy
    if schedule == "serial":
        assert acc["translate"] == 1.0
    else:  # only moves leaving the cell (width 2, radius 0.5 ball) are rejected
        assert 0.6 < acc["translate"] < 0.9


def _dense_averages(schedule, sweeps):
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.55, vacancies=4, seed=3)
    sim = cubemc.Simulation(
        state, -1.0, 1.14, seed=21, device="cpu", schedule=schedule, translate_size=0.1, rotate_size=0.1
    )
    sim.tune(1000)
    sim.run(2000)
    trace = sim.run_trace(sweeps) / state.N
    return trace.mean(), block_error(trace)


@pytest.mark.slow
def test_checkerboard_and_serial_agree_for_small_dense_system():
    mean_cb, err_cb = _dense_averages("checkerboard", 60000)
    mean_se, err_se = _dense_averages("serial", 60000)
    sigma = np.hypot(err_cb, err_se)
    assert abs(mean_cb - mean_se) < 4 * sigma, (mean_cb, err_cb, mean_se, err_se)
    assert sigma < 0.02 * mean_se  # bonds per cube are resolved to better than 2 percent


def test_acceptance_falls_with_move_size_and_tuning_reaches_target():
    state = cubemc.State.simple_cubic(n=5, packing_fraction=0.7, seed=1)
    accs = []
    for size in (0.01, 0.05, 0.2):
        sim = cubemc.Simulation(
            state, -1.0, 1.14, seed=2, device="cpu", translate_size=size, rotate_size=size
        )
        sim.run(40)
        accs.append(sim.acceptance)
    for kind in ("translate", "rotate"):
        values = [a[kind] for a in accs]
        assert values[0] > values[1] > values[2], (kind, values)
    sim = cubemc.Simulation(state, -1.0, 1.14, seed=2, device="cpu")
    sim.tune(400, target_acceptance=0.3)
    sim.run(200)
    assert abs(sim.acceptance["translate"] - 0.3) < 0.06
    assert abs(sim.acceptance["rotate"] - 0.3) < 0.06


@pytest.mark.parametrize("device", DEVICES)
def test_running_energy_equals_recount_and_no_overlaps(device):
    state = cubemc.State.simple_cubic(n=6, packing_fraction=0.8, vacancies=2, seed=4)
    sim = cubemc.Simulation(state, -1.0, 1.14, seed=8, device=device)
    sim.tune(200)
    for _ in range(10):
        sim.run(100)
        bonds, overlaps = sim.state.count_pairs(1.14)
        assert overlaps == 0
        assert bonds == sim.bonds
        assert sim.energy == pytest.approx(-1.0 * bonds)
