"""Box moves (NPT) against exact answers: the isobaric ideal gas, restarts, overlaps, bad input,
and NPT against NVT (fixed seeds, 4-sigma bounds)."""

import math

import numpy as np
import point_shape
import pytest
from scipy import integrate, special, stats

import cubemc
from cubemc.compress import compress_fluid
from cubemc.npt import (
    MAX_STAGE_FACTOR,
    MAX_STAGE_PACKING_FRACTION,
    BoxMove,
    crystal_at_pressure,
    fluid_at_pressure,
    stage_factor,
)
from cubemc.operations import Operation
from cubemc.pressure import PressureCompute, block_average

cubemc.shapes.register(point_shape)


pytestmark = pytest.mark.usefixtures("one_numba_thread")


class BoxRecorder(Operation):
    """A writer that records the box edges after every `period` sweeps."""

    def __init__(self, period=1):
        super().__init__(period)
        self.boxes = []

    def act(self, sim):
        self.boxes.append(sim.box)


def ideal_gas(n, edge=3.0, seed=1):
    pos = np.random.default_rng(seed).uniform(-edge / 2, edge / 2, (n, 3))
    state = cubemc.State(pos, np.tile([1.0, 0, 0, 0], (n, 1)), [edge] * 3, shape="test_point")
    return cubemc.Simulation(state, 0.0, 1.14, seed=seed, device="cpu", translate_size=0.5)


def sample_boxes(sim, move, sweeps):
    sim.operations.updaters.append(move)
    recorder = BoxRecorder()
    sim.operations.writers.append(recorder)
    sim.run(sweeps)
    return np.array(recorder.boxes)


@pytest.mark.parametrize("trials,sweeps", [(1, 6000), (4, 2000)])
def test_ideal_gas_volume_is_gamma_distributed(trials, sweeps):
    """Isotropic ln V moves: V ~ V^N exp(-beta P V) on V >= 8 (edges >= 2), a truncated
    Gamma(N + 1, beta P).  N ln(V'/V) instead of (N + 1) ln(V'/V) shifts <V> by 1 / beta P.
    Several moves per sweep (trials) are each a Metropolis step: the same distribution."""
    n, beta_p, v_min = 3, 0.05, 8.0
    sim = ideal_gas(n)
    boxes = sample_boxes(sim, BoxMove(beta_p, volume_size=1.0, trials=trials), sweeps)
    assert np.all(boxes.min(axis=1) >= 2.0) and np.allclose(boxes[:, 0], boxes[:, 2])
    volume = np.prod(boxes, axis=1)[100:]
    a, tail = n + 1, special.gammaincc(n + 1, beta_p * v_min)
    exact_mean = special.gammaincc(a + 1, beta_p * v_min) / tail * a / beta_p
    mean, err = block_average(volume, 40)
    assert abs(mean - exact_mean) < 4 * err, (mean, err, exact_mean)
    assert err < 0.04 * exact_mean
    cdf = lambda v: 1 - special.gammaincc(a, beta_p * np.maximum(v, v_min)) / tail  # noqa: E731
    assert stats.kstest(volume[::20], cdf).pvalue > 1e-4


def test_ideal_gas_edges_with_axis_moves():
    """Axis and isotropic moves together: the density of (ln Lx, ln Ly, ln Lz) is
    V^(N+1) exp(-beta P V) on edges >= 2, so V has the density V^N exp(-beta P V) ln(V/8)^2 / 2
    and the three edges are alike."""
    n, beta_p = 3, 0.05
    sim = ideal_gas(n, seed=2)
    boxes = sample_boxes(sim, BoxMove(beta_p, volume_size=1.0, axis_size=0.5, axis_fraction=0.5), 6000)[100:]
    assert boxes.min() >= 2.0
    volume = np.prod(boxes, axis=1)
    density = lambda v: v**n * math.exp(-beta_p * v) * math.log(v / 8.0) ** 2  # noqa: E731
    norm = integrate.quad(density, 8.0, np.inf)[0]
    exact_mean = integrate.quad(lambda v: v * density(v), 8.0, np.inf)[0] / norm
    mean, err = block_average(volume, 40)
    assert abs(mean - exact_mean) < 4 * err, (mean, err, exact_mean)
    cdf = np.vectorize(lambda v: integrate.quad(density, 8.0, max(v, 8.0))[0] / norm)
    assert stats.kstest(volume[::20], cdf).pvalue > 1e-4
    logs = np.log(boxes)
    for axis in (1, 2):
        diff, diff_err = block_average(logs[:, axis] - logs[:, 0], 40)
        assert abs(diff) < 4 * diff_err


def dense_sim(beta_eps=-1.0, seed=5):
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.6, seed=1)
    return cubemc.Simulation(state, beta_eps, 1.2, seed=seed, device="cpu")


def test_box_moves_never_create_overlaps_and_keep_the_energy_exact():
    sim = dense_sim()
    move = BoxMove(8.0, volume_size=0.05, axis_size=0.05, axis_fraction=0.5, trials=3)
    sim.operations.updaters.append(move)
    for _ in range(6):
        sim.run(25)
        assert sim.count_pairs() == (sim.bonds, 0)
        assert sim.state.count_pairs(1.2) == (sim.bonds, 0)  # an independent recount
        assert sim.box.min() >= sim.min_box_edge
    assert move.counts[0] > 0 and move.counts[2] > 0  # both kinds were accepted
    assert move.counts[1] > move.counts[0]  # and some rejected


def test_box_moves_below_twice_the_interaction_range_are_rejected():
    state = cubemc.State([[-0.9, 0, 0], [0.9, 0, 0]], [[1, 0, 0, 0]] * 2, [3.6] * 3)
    sim = cubemc.Simulation(state, 0.0, 1.14, seed=2, device="cpu")
    move = BoxMove(50.0, volume_size=0.3, axis_size=0.3, axis_fraction=0.5)
    sim.operations.updaters.append(move)
    recorder = BoxRecorder()
    sim.operations.writers.append(recorder)
    sim.run(200)
    assert np.array(recorder.boxes).min() >= sim.min_box_edge == 2 * math.sqrt(3)
    assert move.counts[1] + move.counts[3] == 200 and move.counts[0] + move.counts[2] > 0


def test_npt_restarts_are_bit_exact(tmp_path):
    def build():
        sim = dense_sim(seed=9)
        sim.operations.updaters.append(BoxMove(6.0, volume_size=0.02, axis_fraction=0.5, trials=2))
        sim.operations.writers.append(PressureCompute(period=5))
        sim.tune(30)
        return sim

    whole, half = build(), build()
    whole.run(60)
    half.run(30, checkpoint=tmp_path / "c.npz")
    again = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    again.run(30)
    assert np.array_equal(whole.positions, again.positions)
    assert np.array_equal(whole.orientations, again.orientations)
    assert np.array_equal(whole.box, again.box)
    assert whole.bonds == again.bonds and whole.sweep == again.sweep == 90
    (move_a,), (move_b,) = whole.operations.updaters, again.operations.updaters
    assert np.array_equal(move_a.counts, move_b.counts) and move_a.volume_size == move_b.volume_size
    assert whole.operations.writers[0].values == again.operations.writers[0].values
    assert not np.allclose(whole.box, 4 * 0.6 ** (-1 / 3))  # the box did move


def test_bad_pressure_and_settings_are_one_line_errors(tmp_path):
    for bad in (-1.0, 0.0, float("nan"), float("inf"), "2"):
        with pytest.raises(cubemc.InputError, match="pressure"):
            BoxMove(bad)
        with pytest.raises(cubemc.InputError, match="pressure"):
            fluid_at_pressure(8, bad)
    with pytest.raises(cubemc.InputError, match="axis_fraction"):
        BoxMove(1.0, axis_fraction=1.5)
    sim = dense_sim()
    sim.operations.updaters += [BoxMove(1.0), BoxMove(2.0)]
    with pytest.raises(cubemc.InputError, match="one BoxMove"):
        sim.run(1, checkpoint=tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()


def test_compression_and_expansion_routes_meet():
    """A dilute fluid compressed and a crystal expanded (it melts) to the same fluid pressure end
    at the same packing fraction, within the fluctuations of 64 cubes (about 0.02)."""
    fluid = fluid_at_pressure(64, 1.0, sweeps=600, seed=3)
    melted = crystal_at_pressure(4, 1.0, sweeps=2000, seed=3)
    assert 0.18 < fluid.packing_fraction < 0.3 and 0.18 < melted.packing_fraction < 0.3
    assert abs(fluid.packing_fraction - melted.packing_fraction) < 0.06


def test_compression_stages_of_a_condensing_fluid():
    """A strongly attractive fluid measures beta P <= 0 in a dilute box (it condenses): each such
    stage compresses by the largest factor (a measured 0 included), never past the stages'
    ceiling, and the route ends in NPT at the pressure instead of failing."""
    for measured in (-0.5, 0.0, 0.1, 0.5 / MAX_STAGE_FACTOR):
        assert stage_factor(measured, 0.5, 0.1) == MAX_STAGE_FACTOR
    assert stage_factor(0.45, 0.5, 0.1) == pytest.approx(0.5 / 0.45)
    assert stage_factor(-1.0, 0.5, 0.5) == pytest.approx(MAX_STAGE_PACKING_FRACTION / 0.5)
    state = fluid_at_pressure(64, 0.5, beta_epsilon=-8, well_range=1.5, seed=1, sweeps=100)
    assert state.N == 64 and state.count_pairs(1.5)[1] == 0
    assert state.packing_fraction > 0.3  # compressed well past the dilute start (0.05)


def npt_then_nvt(state, beta_p, beta_eps, well_range, sweeps, seed):  # noqa: PLR0913
    """(<N/V> under NPT at beta_p, beta P measured by NVT at that density, the error of their
    comparison)."""
    sim = cubemc.Simulation(state, beta_eps, well_range, seed=seed, device="cpu")
    sim.operations.updaters.append(BoxMove(beta_p))
    sim.tune(2000)
    sim.run(2000)
    recorder = BoxRecorder(period=5)
    sim.operations.writers.append(recorder)
    sim.run(sweeps)
    volume = np.prod(recorder.boxes, axis=1)
    rho, rho_err = block_average(sim.N / volume, 40)
    # d(beta P)/d rho = <V> / (rho var V) (NPT volume fluctuations: var V = <V> kT kappa_T)
    slope = volume.mean() / (rho * volume.var())
    edge = (sim.N / rho) ** (1 / 3)
    final = sim.state
    if edge >= final.box[0]:  # expanding convex particles creates no overlap
        nvt_state = cubemc.State(final.positions * edge / final.box, final.orientations, [edge] * 3)
    else:  # compressing may: shrink with overlap removal
        nvt_state = compress_fluid(final, edge, seed=seed)
    nvt = cubemc.Simulation(nvt_state, beta_eps, well_range, seed=seed + 1, device="cpu")
    nvt.tune(1000)
    compute = PressureCompute(period=5)
    nvt.operations.writers.append(compute)
    nvt.run(sweeps)
    p, p_err = compute.average(40)
    return rho, p, math.hypot(p_err, slope * rho_err), (rho_err, slope, p_err)


@pytest.mark.slow
@pytest.mark.parametrize("beta_eps,well_range,beta_p", [(0.0, 1.14, 1.0), (-0.7, 1.4, 0.5)])
def test_npt_density_gives_the_pressure_back_in_nvt(beta_eps, well_range, beta_p):
    """Hard-cube fluid and square-well fluid, 125 cubes: NVT at the NPT mean density measures the
    imposed pressure (the NPT volume fluctuations give d(beta P)/d rho, which converts the density
    error into a pressure error)."""
    state = fluid_at_pressure(125, beta_p, beta_eps, well_range, seed=4, sweeps=1500)
    rho, p, sigma, parts = npt_then_nvt(state, beta_p, beta_eps, well_range, 20000, seed=6)
    assert abs(p - beta_p) < 4 * sigma, (rho, p, sigma, parts)
    assert sigma < 0.05 * beta_p, (rho, p, sigma, parts)
