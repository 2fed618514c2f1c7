"""Simulation.run(trajectory=...) trims and appends only to its own run's trajectory: a file of
another run is refused in one line and left byte for byte; the run's own file resumes exactly,
gaps included.  Real GSD files written by the engine."""

import hashlib

import gsd.hoomd
import numpy as np
import pytest

import cubemc
from cubemc import files, lattices
from cubemc.npt import BoxMove

N_SIDE = 4  # 63 cubes: one vacancy


def lattice(vacancy_seed=1):
    return cubemc.State.simple_cubic(N_SIDE, packing_fraction=0.6, vacancies=1, seed=vacancy_seed)


def new_sim(state=None, seed=3, beta_epsilon=-1.0):
    return cubemc.Simulation(
        lattice() if state is None else state, beta_epsilon, 1.14, seed=seed, device="cpu"
    )


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frames_of(path):
    """(step, positions, orientations, box, log) of every frame."""
    with gsd.hoomd.open(path, "r") as traj:
        return [
            (
                int(f.configuration.step),
                f.particles.position.copy(),
                f.particles.orientation.copy(),
                np.array(f.configuration.box),
                dict(f.log),
            )
            for f in traj
        ]


def assert_same_frames(path_a, path_b):
    a, b = frames_of(path_a), frames_of(path_b)
    assert [f[0] for f in a] == [f[0] for f in b]
    for fa, fb in zip(a, b, strict=True):
        for x, y in zip(fa[1:4], fb[1:4], strict=True):
            assert np.array_equal(x, y)
        np.testing.assert_equal(fa[4], fb[4])  # NaN acceptance before any move


def rounded_lattice():
    """The cubes of lattice() as rounded cubes at the same positions (the same N, box, seed)."""
    cubes = lattice()
    params = lattices.shape_params("rounded_cuboid", np.ones(cubes.N), rounding=0.1)
    return cubemc.State(
        cubes.positions, cubes.orientations, cubes.box, shape="rounded_cuboid", shape_params=params
    )


def foreign_file(path, case):
    """A trajectory of another run, and a fresh simulation (or a restart) to point at it."""
    if case == "later frames only":  # same seed and state, but written from sweep 20 on
        writer = new_sim()
        writer.run(20)
        writer.run(20, trajectory=path, period=10)
        return new_sim()
    if case == "restart at another run's file":
        new_sim(lattice(vacancy_seed=2)).run(60, trajectory=path, period=10)
        own = new_sim()
        own.run(40, checkpoint=path.with_suffix(".npz"))
        return cubemc.Simulation.from_checkpoint(path.with_suffix(".npz"), device="cpu")
    others = {
        "seed": dict(seed=4),
        "beta_epsilon": dict(beta_epsilon=-0.5),
        "configuration": dict(state=lattice(vacancy_seed=2)),  # same N, box, seed, model
        "shape": dict(state=rounded_lattice()),  # same positions, N, box, seed, model
    }[case]
    new_sim(**others).run(40, trajectory=path, period=10)
    return new_sim()


FOREIGN = {
    "seed": "seed 4, not 3",
    "beta_epsilon": "beta_epsilon -0.5, not -1",
    "configuration": "differs from this simulation's configuration",
    "shape": "other particle shapes",
    "later frames only": "holds only frames after sweep 0",
    "restart at another run's file": "frame at sweep 40 differs",
}


@pytest.mark.parametrize("case", FOREIGN)
def test_a_trajectory_of_another_run_is_refused_and_left_byte_for_byte(tmp_path, case):
    path = tmp_path / "t.gsd"
    sim = foreign_file(path, case)
    before = sha256(path)
    with pytest.raises(cubemc.InputError) as err:
        sim.run(20, trajectory=path, period=10)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and FOREIGN[case] in message
    assert sha256(path) == before


def test_a_truncated_trajectory_is_refused_in_one_line_and_left_as_it_was(tmp_path):
    path = tmp_path / "t.gsd"
    sim = new_sim()
    sim.run(40, trajectory=path, period=10, checkpoint=tmp_path / "c.npz", checkpoint_period=20)
    with open(path, "r+b") as handle:  # the end of the last frame is lost (a full disk, a kill)
        handle.truncate(path.stat().st_size - 100)
    before = sha256(path)
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    with pytest.raises(cubemc.InputError, match="is damaged") as err:
        resumed.run(20, trajectory=path, period=10)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert sha256(path) == before


@pytest.mark.parametrize("checkpoint_sweep", [40, 45])
def test_a_restart_trims_its_own_newer_frames_and_equals_the_uninterrupted_run(tmp_path, checkpoint_sweep):
    """Checkpoint at 40 (a frame at the restart sweep, compared with the configuration) or at 45
    (the last kept frame is older); frames 50 and 60 were written after it and are redone."""
    straight = new_sim()
    straight.run(60, trajectory=tmp_path / "a.gsd", period=10)

    first = new_sim()
    first.run(checkpoint_sweep, trajectory=tmp_path / "b.gsd", period=10, checkpoint=tmp_path / "c.npz")
    first.run(60 - checkpoint_sweep, trajectory=tmp_path / "b.gsd", period=10)  # then killed
    assert [f[0] for f in frames_of(tmp_path / "b.gsd")] == [0, 10, 20, 30, 40, 50, 60]
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    assert resumed.sweep == checkpoint_sweep
    resumed.run(60 - checkpoint_sweep, trajectory=tmp_path / "b.gsd", period=10)
    assert_same_frames(tmp_path / "a.gsd", tmp_path / "b.gsd")


def without_seed_logs(path):
    """Rewrite `path` as cubemc wrote frames before it logged the seed."""
    with gsd.hoomd.open(path, "r") as traj:
        frames = list(traj)
    for frame in frames:
        del frame.log["cubemc/seed"]
    with gsd.hoomd.open(path, "w") as traj:
        traj.extend(frames)


@pytest.mark.parametrize("checkpoint_sweep", [40, 45])
def test_frames_without_a_seed_log_are_matched_by_the_configuration_only(tmp_path, checkpoint_sweep):
    """Older files log no seed: a restart at a sweep with a frame compares the configuration and
    continues; one without such a frame cannot tell the file's run and refuses it."""
    path = tmp_path / "t.gsd"
    sim = new_sim()
    sim.run(checkpoint_sweep, trajectory=path, period=10, checkpoint=tmp_path / "c.npz")
    sim.run(60 - checkpoint_sweep, trajectory=path, period=10)
    without_seed_logs(path)
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    if checkpoint_sweep == 45:
        before = sha256(path)
        with pytest.raises(cubemc.InputError, match="does not record the seed"):
            resumed.run(15, trajectory=path, period=10)
        assert sha256(path) == before
    else:
        resumed.run(20, trajectory=path, period=10)
        # the file keeps its log keys (cubemc.gsd_logs): no seed in the new frames either, so
        # gsd.hoomd still reads every frame
        frames = files.read_trajectory_frames(path)
        assert [(f.step, f.seed) for f in frames][-3:] == [(40, None), (50, None), (60, None)]
        assert [f[0] for f in frames_of(path)] == [0, 10, 20, 30, 40, 50, 60]


def test_a_gap_before_the_current_sweep_is_allowed(tmp_path):
    """Runs may write frames only from some sweep on, and pause writing in between."""
    path = tmp_path / "t.gsd"
    sim = new_sim()
    sim.run(25)  # no frames yet
    sim.run(25, trajectory=path, period=10)  # 30, 40, 50
    sim.run(20)  # none
    sim.run(20, trajectory=path, period=10, checkpoint=tmp_path / "c.npz")  # 70, 80, 90
    assert [f[0] for f in frames_of(path)] == [30, 40, 50, 70, 80, 90]
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    resumed.run(15)
    resumed.run(20, trajectory=path, period=10)  # 105 -> 125: a gap from 90 to 110
    assert [f[0] for f in frames_of(path)] == [30, 40, 50, 70, 80, 90, 110, 120]


def test_a_constant_pressure_run_resumes_its_own_trajectory_whose_box_changes(tmp_path):
    path = tmp_path / "t.gsd"
    sim = new_sim()
    sim.operations.updaters.append(BoxMove(2.0, volume_size=0.05, trials=2))
    sim.run(20, trajectory=path, period=10, checkpoint=tmp_path / "c.npz")
    sim.run(20, trajectory=path, period=10)  # frames 30 and 40, then killed
    boxes = [f[3][:3] for f in frames_of(path)]
    assert not np.array_equal(boxes[0], boxes[2])  # the box at the restart is not the first one
    resumed = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    assert resumed.sweep == 20
    resumed.run(20, trajectory=path, period=10)
    assert [f[0] for f in frames_of(path)] == [0, 10, 20, 30, 40]
    assert np.array_equal(frames_of(path)[-1][1], sim.positions.astype(np.float32))
