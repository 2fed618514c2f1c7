"""A trajectory whose frames log different keys loses nothing and stays readable.

gsd.hoomd gives a frame without a log chunk the chunk of frame 0 and fails (KeyError) where
frame 0 has none, so frames logging a key the first frame lacks (an operation's quantities,
the seed or pressure of newer versions) made every earlier frame unreadable.  Real GSD files
written by the engine; the files of earlier versions are written as those versions did (their
frames appended with gsd.hoomd as they were made).
"""

import math

import gsd.fl
import gsd.hoomd
import numpy as np
import pytest
from cubemc.analysis.trajectory import analyze_trajectory, read_frames

import cubemc
from cubemc import files
from cubemc import trajectory as gsdio
from cubemc.operations import Operation

PROBE = "cubemc/probe_sweep"
MOVES = "cubemc/vmmc_moves"


class SweepProbe(Operation):
    """An updater that changes nothing and logs the sweep of each frame (a value known exactly)."""

    def __init__(self):
        super().__init__(period=5)
        self.sim = None

    def attach(self, sim):
        self.sim = sim

    def act(self, sim):
        pass

    def log_values(self):
        return {"probe_sweep": float(self.sim.sweep)}


def new_sim():
    state = cubemc.State.simple_cubic(4, packing_fraction=0.6, vacancies=1, seed=1)
    return cubemc.Simulation(state, -1.0, 1.14, seed=3, device="cpu")


def run_in_frames(sim, sweeps, path, checkpoint=None):
    """Run in steps of 5 sweeps (a frame each); {sweep: log values} of the frames written."""
    known = {} if sim.sweep in gsdio_steps(path) else {sim.sweep: sim.log_values()}
    for _ in range(sweeps // 5):
        sim.run(5, trajectory=path, period=5, checkpoint=checkpoint, checkpoint_period=5)
        known[sim.sweep] = sim.log_values()
    return known


def logged(known, key):
    return [known[sweep][key] for sweep in sorted(known)]


def gsdio_steps(path):
    return gsdio.frame_steps(str(path)) if path.exists() else []


def hoomd_frames(path):
    """(step, positions, log) of every frame, read with plain gsd.hoomd as users do."""
    with gsd.hoomd.open(str(path), "r") as traj:
        return [(int(f.configuration.step), f.particles.position.copy(), dict(f.log)) for f in traj]


def old_append(path, sim, extra=None):
    """A frame appended as cubemc did before the fix: gsd.hoomd, whatever keys it logs."""
    frame = gsdio.make_frame(sim.positions, sim.orientations, sim.box, sim.sweep, sim.log_values())
    for key, value in (extra or {}).items():
        frame.log["cubemc/" + key] = np.array([value], np.float64)
    with gsd.hoomd.open(str(path), "a") as traj:
        traj.append(frame)


def test_a_run_logging_new_keys_keeps_the_earlier_frames_readable(tmp_path):
    path, checkpoint = tmp_path / "t.gsd", tmp_path / "c.npz"
    known = run_in_frames(new_sim(), 20, path, checkpoint)
    resumed = cubemc.Simulation.from_checkpoint(checkpoint, device="cpu")
    resumed.operations.updaters.append(SweepProbe())
    known.update(run_in_frames(resumed, 10, path, checkpoint))

    frames = hoomd_frames(path)  # KeyError before the fix
    assert [f[0] for f in frames] == [0, 5, 10, 15, 20, 25, 30]
    probe = [float(f[2][PROBE][0]) for f in frames]
    assert all(math.isnan(x) for x in probe[:5]) and probe[5:] == [25.0, 30.0]
    assert [float(f[2]["cubemc/energy"][0]) for f in frames] == logged(known, "energy")

    analysed = analyze_trajectory(path, clusters=False, scattering_frames=0)
    assert analysed["series"]["energy"] == logged(known, "energy")
    logs = [frame.log for frame in read_frames(path)]
    assert [x["probe_sweep"] for x in logs][5:] == [25.0, 30.0]
    assert all(math.isnan(x["probe_sweep"]) for x in logs[:5])


def test_frames_without_a_key_of_the_first_frame_log_it_as_nan(tmp_path):
    """Not frame 0's value, which gsd.hoomd would give a frame without the chunk."""
    path, checkpoint = tmp_path / "t.gsd", tmp_path / "c.npz"
    sim = new_sim()
    sim.operations.updaters.append(SweepProbe())
    run_in_frames(sim, 10, path, checkpoint)
    run_in_frames(cubemc.Simulation.from_checkpoint(checkpoint, device="cpu"), 10, path)
    probe = [float(f[2][PROBE][0]) for f in hoomd_frames(path)]
    assert probe[:3] == [0.0, 5.0, 10.0] and all(math.isnan(x) for x in probe[3:])
    with gsd.fl.open(str(path), "r") as handle:  # written in every frame, not left to frame 0
        assert all(handle.chunk_exists(k, "log/" + PROBE) for k in range(handle.nframes))


def test_a_file_of_a_version_without_seed_and_pressure_logs_keeps_its_keys(tmp_path):
    path, checkpoint = tmp_path / "t.gsd", tmp_path / "c.npz"
    sim = new_sim()
    known = {}
    for sweep in (0, 5, 10, 15):  # frames as cubemc wrote them before it logged seed and pressure
        sim.run(sweep - sim.sweep, checkpoint=checkpoint)
        frame = gsdio.make_frame(sim.positions, sim.orientations, sim.box, sim.sweep, sim.log_values())
        del frame.log["cubemc/seed"], frame.log["cubemc/pressure"]
        with gsd.hoomd.open(str(path), "a") as traj:
            traj.append(frame)
        known[sim.sweep] = sim.log_values()
    resumed = cubemc.Simulation.from_checkpoint(checkpoint, device="cpu")
    assert resumed.sweep == 15
    known.update(run_in_frames(resumed, 10, path))

    frames = hoomd_frames(path)  # KeyError before the fix
    assert [f[0] for f in frames] == [0, 5, 10, 15, 20, 25]
    assert [float(f[2]["cubemc/energy"][0]) for f in frames] == logged(known, "energy")
    # the seed has no "unknown" value for the older frames: the file stays one without seeds
    assert all("cubemc/seed" not in f[2] for f in frames)
    assert [f.seed for f in files.read_trajectory_frames(path)] == [None] * 6
    pressures = [float(f[2]["cubemc/pressure"][0]) for f in frames]
    assert all(math.isnan(x) for x in pressures[:4])
    assert pressures[4:] == logged(known, "pressure")[4:]


@pytest.mark.parametrize("checkpoint_sweep", [20, 25])
def test_a_file_broken_by_earlier_versions_is_read_and_its_run_resumed_exactly(tmp_path, checkpoint_sweep):
    """Frames 25 and 30 logged a key frame 0 lacks (appended as versions before the fix did);
    cubemc reads every frame, and a restart from the checkpoint at 20 or 25 trims the file to
    a readable one at once and continues as the uninterrupted run."""
    straight = new_sim()
    straight.run(30, trajectory=tmp_path / "a.gsd", period=5)
    reference = hoomd_frames(tmp_path / "a.gsd")

    path, checkpoint = tmp_path / "b.gsd", tmp_path / "c.npz"
    first = new_sim()
    first.run(20, trajectory=path, period=5, checkpoint=checkpoint)
    for moves in (7.0, 9.0):  # then killed after the checkpoint
        first.run(5, checkpoint=checkpoint if first.sweep < checkpoint_sweep else None)
        old_append(path, first, {"vmmc_moves": moves})
    with pytest.raises(KeyError):  # the damage: plain gsd.hoomd cannot read frames 1 to 4
        hoomd_frames(path)

    assert gsdio.frame_steps(str(path)) == [0, 5, 10, 15, 20, 25, 30]
    for k in (2, 6):
        positions, _, box = gsdio.read_frame(str(path), k)
        np.testing.assert_array_equal(positions, reference[k][1])
        np.testing.assert_array_equal(box, straight.box.astype(np.float32))
    logs = [frame.log for frame in read_frames(path)]
    assert [x["energy"] for x in logs] == [float(f[2]["cubemc/energy"][0]) for f in reference]
    np.testing.assert_equal([x["vmmc_moves"] for x in logs], [np.nan] * 5 + [7.0, 9.0])
    assert cubemc.State.from_gsd(str(path), frame=3).N == 63

    resumed = cubemc.Simulation.from_checkpoint(checkpoint, device="cpu")
    assert resumed.sweep == checkpoint_sweep
    resumed.run(0, trajectory=path, period=5)  # trims only; refused as "damaged" before the fix
    kept = [float(f[2].get(MOVES, [np.nan])[0]) for f in hoomd_frames(path)]  # readable at once
    np.testing.assert_equal(kept, [np.nan] * 5 + [7.0] * (checkpoint_sweep == 25))
    resumed.run(30 - checkpoint_sweep, trajectory=path, period=5)
    frames = hoomd_frames(path)
    assert [f[0] for f in frames] == [f[0] for f in reference]
    for ours, theirs in zip(frames, reference, strict=True):
        np.testing.assert_array_equal(ours[1], theirs[1])
        np.testing.assert_equal({k: v for k, v in ours[2].items() if k != MOVES}, theirs[2])


def test_frames_of_earlier_versions_that_stopped_logging_a_key_read_it_as_nan(tmp_path):
    """Versions before the fix left a key out of frames whose run had no such operation; gsd.hoomd
    gives those frames frame 0's value, cubemc's readers the truth (not logged)."""
    path = tmp_path / "t.gsd"
    sim = new_sim()
    sim.operations.updaters.append(SweepProbe())
    run_in_frames(sim, 10, path)
    sim.operations.updaters.clear()
    for _ in range(2):
        sim.run(5)
        old_append(path, sim)
    assert [float(f[2][PROBE][0]) for f in hoomd_frames(path)] == [0.0, 5.0, 10.0, 0.0, 0.0]
    np.testing.assert_equal(
        [f.log["probe_sweep"] for f in read_frames(path)], [0.0, 5.0, 10.0, np.nan, np.nan]
    )
    series = analyze_trajectory(path, clusters=False, scattering_frames=0)["series"]
    assert series["step"] == [0, 5, 10, 15, 20]


@pytest.mark.slow
def test_cluster_moves_appended_to_a_trajectory_without_them(tmp_path):
    """The case as users meet it: a run continued with VMMC cluster moves (compiles them)."""
    from cubemc.vmmc import VMMC

    path, checkpoint = tmp_path / "t.gsd", tmp_path / "c.npz"
    run_in_frames(new_sim(), 10, path, checkpoint)
    resumed = cubemc.Simulation.from_checkpoint(checkpoint, device="cpu")
    vmmc = VMMC(period=1, moves_per_particle=0.2, translate_size=0.2, rotate_size=0.2)
    resumed.operations.updaters.append(vmmc)
    moves = []
    for _ in range(2):
        resumed.run(5, trajectory=path, period=5)
        moves.append(vmmc.log_values()["vmmc_moves"])
    assert moves[1] > moves[0] > 0
    frames = hoomd_frames(path)
    logged = [float(f[2]["cubemc/vmmc_moves"][0]) for f in frames]
    assert all(math.isnan(x) for x in logged[:3]) and logged[3:] == moves
    assert [frame.log["vmmc_moves"] for frame in read_frames(path)][3:] == moves
