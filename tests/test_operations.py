"""Operations attached to a simulation act at their periods; both engines follow one protocol."""

import gsd.hoomd
import numpy as np

import cubemc
from cubemc.contract import SimulationProtocol
from cubemc.operations import CheckpointWriter, GSDWriter, Operation


def small_sim(seed=3):
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.8, vacancies=1, seed=1)
    return cubemc.Simulation(state, -1.0, 1.14, seed=seed, device="cpu")


class Recorder(Operation):
    """An updater that only records when it was called and what it saw."""

    def __init__(self, period, phase=0):
        super().__init__(period, phase)
        self.calls = []

    def act(self, sim):
        self.calls.append((sim.sweep, sim.bonds))


def test_native_simulation_follows_the_engine_protocol():
    assert isinstance(small_sim(), SimulationProtocol)


def test_updaters_act_at_their_periods_and_do_not_change_the_chain():
    sim, ref = small_sim(), small_sim()
    every7, every10 = Recorder(7), Recorder(10, phase=3)
    sim.operations.updaters += [every7, every10]
    sim.run(30)
    ref.run(30)
    assert [s for s, _ in every7.calls] == [7, 14, 21, 28]
    assert [s for s, _ in every10.calls] == [3, 13, 23]
    # pausing for operations does not change the Markov chain (the RNG is keyed by sweep)
    assert np.array_equal(sim.positions, ref.positions) and sim.bonds == ref.bonds


def test_attached_writers_equal_the_run_keywords(tmp_path):
    a, b = small_sim(), small_sim()
    a.operations.writers += [GSDWriter(tmp_path / "a.gsd", 10), CheckpointWriter(tmp_path / "a.npz", 15)]
    a.run(30)
    b.run(30, trajectory=tmp_path / "b.gsd", period=10, checkpoint=tmp_path / "b.npz", checkpoint_period=15)
    with gsd.hoomd.open(tmp_path / "a.gsd") as ta, gsd.hoomd.open(tmp_path / "b.gsd") as tb:
        assert [f.configuration.step for f in ta] == [0, 10, 20, 30]
        for fa, fb in zip(ta, tb):
            assert np.array_equal(fa.particles.position, fb.particles.position)
    for name in ("a", "b"):
        with np.load(tmp_path / f"{name}.npz") as data:
            assert int(data["sweep"]) == 30
    # the keywords' writers belong to that run only; attached ones stay
    b.run(10)
    assert len(b.operations.writers) == 0 and len(a.operations.writers) == 2


def test_tuning_adapts_sizes_and_leaves_no_tuner_behind():
    sim = small_sim()
    before = dict(sim.move_sizes)
    sim.tune(50, period=10)
    assert sim.move_sizes != before and sim.tuned
    assert sim.operations.tuners == [] and np.all(sim.counts == 0)
