"""cubemc.files: the identity and safety checks of output files, on real checkpoints and GSD
files written by the engine."""

import errno
import os
import shutil

import gsd.hoomd
import numpy as np
import pytest
from reliability_support import read_only, tmpfs

import cubemc
from cubemc import files
from cubemc.files import FileCheckError, RunIdentity


def _run(folder, n, seed, sweeps=100, beta_epsilon=-1.0):
    """A real run: frames every 10 sweeps, a checkpoint at the end; returns its identity."""
    state = cubemc.State.simple_cubic(n, 0.8)
    sim = cubemc.Simulation(state, beta_epsilon, 1.14, seed=seed, device="cpu")
    sim.run(sweeps, trajectory=folder / "t.gsd", period=10, checkpoint=folder / "c.npz")
    return files.read_checkpoint_identity(folder / "c.npz")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of different N and seed, and a third that differs only in beta_epsilon."""
    out = {}
    for name, n, seed, beta in (("a", 4, 1, -1.0), ("b", 5, 2, -1.0), ("c", 4, 1, -0.5)):
        folder = tmp_path_factory.mktemp(name)
        out[name] = (folder, _run(folder, n, seed, beta_epsilon=beta))
    return out


@pytest.fixture
def run_a(runs, tmp_path):
    """A private copy of run a: (folder, identity)."""
    folder, run = runs["a"]
    for name in ("t.gsd", "c.npz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path, run


def test_checkpoint_identity(runs):
    folder, run = runs["a"]
    assert (run.n, run.seed, run.sweep, run.beta_epsilon, run.well_range) == (64, 1, 100, -1.0, 1.14)
    assert run.box == pytest.approx((4 * 0.8 ** (-1 / 3),) * 3)
    other = runs["b"][1]
    edges = ["x".join([f"{box[0]:.6g}"] * 3) for box in (run.box, other.box)]
    assert other.differences(run) == ["N 64, not 125", f"box {edges[0]}, not {edges[1]}", "seed 1, not 2"]
    assert runs["c"][1].differences(run) == ["beta_epsilon -1, not -0.5"]
    assert "seed 1" in run.describe()


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "is not a cubemc checkpoint (it is an empty file)"),
        (b"hello\n", "is not a cubemc checkpoint (it is of another format)"),
        (None, "is not a cubemc checkpoint (it is a GSD trajectory)"),
        ("truncated", "is damaged"),
        ("lacking", "is not a cubemc checkpoint (it lacks"),
    ],
)
def test_unusable_checkpoints(run_a, content, problem):
    folder, _ = run_a
    path = folder / "x.npz"
    if content is None:
        shutil.copy(folder / "t.gsd", path)
    elif content == "truncated":
        path.write_bytes((folder / "c.npz").read_bytes()[:2000])
    elif content == "lacking":
        np.savez(path, positions=np.zeros((2, 3)))
    else:
        path.write_bytes(content)
    with pytest.raises(FileCheckError, match="restore it") as info:
        files.read_checkpoint_identity(path, hint="restore it")
    assert problem in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(FileCheckError, match="does not exist"):
        files.read_checkpoint_identity(folder / "missing.npz")


def test_quick_checks(run_a):
    folder, _ = run_a
    files.check_checkpoint_quickly(folder / "c.npz")
    assert files.check_gsd_quickly(folder / "t.gsd") == 11
    (folder / "cut.npz").write_bytes((folder / "c.npz").read_bytes()[:-100])
    with pytest.raises(FileCheckError, match="is damaged"):
        files.check_checkpoint_quickly(folder / "cut.npz")
    (folder / "cut.gsd").write_bytes((folder / "t.gsd").read_bytes()[:100])
    with pytest.raises(FileCheckError, match="is damaged"):
        files.check_gsd_quickly(folder / "cut.gsd")
    with pytest.raises(FileCheckError, match="is not a GSD file"):
        files.check_gsd_quickly(folder / "c.npz")


def test_trajectory_of_the_same_run_continues(run_a):
    folder, run = run_a
    files.check_trajectory_continues(folder / "t.gsd", run, period=10)
    files.check_trajectory_continues(folder / "t.gsd", run, period=10, first=0)
    files.check_trajectory_continues(folder / "new.gsd", run, period=10)  # a new file
    # frames newer than the checkpoint (a run killed after it) may go if the run rewrites them
    earlier = RunIdentity(run.n, run.box, run.seed, run.beta_epsilon, run.well_range, sweep=60)
    files.check_trajectory_continues(folder / "t.gsd", earlier, period=10, last=100)
    with pytest.raises(FileCheckError, match="newer than the sweep 90 this run reaches"):
        files.check_trajectory_continues(folder / "t.gsd", earlier, period=10, last=90)
    with pytest.raises(FileCheckError, match="frames up to sweep 100, newer than the sweep 60"):
        files.check_trajectory_continues(folder / "t.gsd", earlier, period=10)


def test_trajectory_of_another_run_is_refused(runs, run_a):
    folder, run = run_a
    for other in ("b", "c"):
        with pytest.raises(FileCheckError, match="belongs to another run") as info:
            files.check_trajectory_continues(
                runs[other][0] / "t.gsd", run, period=10, last=1000, hint="choose another --trajectory"
            )
        assert str(info.value).endswith("; choose another --trajectory")
    foreign = RunIdentity(run.n, run.box, 99, run.beta_epsilon, run.well_range, run.sweep)
    with pytest.raises(FileCheckError, match="seed 1, not 99"):
        files.check_trajectory_continues(folder / "t.gsd", foreign, period=10)
    (folder / "text.gsd").write_text("not a trajectory")
    with pytest.raises(FileCheckError, match="is not a GSD file"):
        files.check_trajectory_continues(folder / "text.gsd", run, period=10)


def _keep_frames(path, keep):
    """Rewrite the GSD file at `path` with the frames whose index is in `keep`."""
    tmp = str(path) + ".tmp"
    with gsd.hoomd.open(path, "r") as src, gsd.hoomd.open(tmp, "w") as dst:
        for k in keep:
            dst.append(src[k])
    os.replace(tmp, path)


def test_short_or_missing_trajectory_is_refused(run_a):
    folder, run = run_a
    path = folder / "t.gsd"
    _keep_frames(path, range(5))  # sweeps 0..40 of 0..100
    with pytest.raises(FileCheckError, match="ends at sweep 40, but the checkpoint is at sweep 100"):
        files.check_trajectory_continues(path, run, period=10)
    with pytest.raises(
        FileCheckError,
        match="lacks 5 of the 10 frames between sweep 0 and the "
        "checkpoint at sweep 100 .first missing: sweep 50",
    ):
        files.check_trajectory_continues(path, run, period=10, first=0)
    with pytest.raises(FileCheckError, match="has frames from sweep 0, before sweep 20"):
        files.check_trajectory_continues(path, run, period=10, first=20)
    os.remove(path)
    with pytest.raises(
        FileCheckError, match="is missing, but the checkpoint at sweep 100 needs its 10 frame"
    ):
        files.check_trajectory_continues(path, run, period=10, first=0)


def test_complete_trajectory(run_a):
    folder, run = run_a
    assert files.check_trajectory_complete(folder / "t.gsd", run, period=10, first=0) == 11
    with pytest.raises(FileCheckError, match="11 frames instead of the 9"):
        files.check_trajectory_complete(folder / "t.gsd", run, period=10, first=20)
    _keep_frames(folder / "t.gsd", [0, 1, 2, 4])
    with pytest.raises(FileCheckError, match=r"4 frames instead of the 11 .*\(first missing: sweep 30\)"):
        files.check_trajectory_complete(folder / "t.gsd", run, period=10, first=0)


def test_frames_without_a_seed_log(run_a):
    """Trajectories written before cubemc logged the seed: refused by default, accepted where
    the caller knows the file belongs to the run (a workflow job directory)."""
    folder, run = run_a
    tmp = folder / "old.gsd"
    with gsd.hoomd.open(folder / "t.gsd", "r") as src, gsd.hoomd.open(tmp, "w") as dst:
        for frame in src:
            del frame.log["cubemc/seed"]
            dst.append(frame)
    with pytest.raises(FileCheckError, match="does not record the seed"):
        files.check_trajectory_continues(tmp, run, period=10)
    files.check_trajectory_continues(tmp, run, period=10, seed_logged=False)


def test_checkpoint_target(runs, run_a):
    folder, run = run_a
    files.check_checkpoint_target(folder / "new.npz", run)
    files.check_checkpoint_target(folder / "c.npz", run, last=200)  # the same run goes on
    with pytest.raises(FileCheckError, match="exists; refusing to overwrite it with a new run"):
        files.check_checkpoint_target(folder / "c.npz", None)
    with pytest.raises(FileCheckError, match="is a checkpoint of another run .N 125, not 64"):
        files.check_checkpoint_target(runs["b"][0] / "c.npz", run)
    with pytest.raises(FileCheckError, match="holds sweep 100 of this run, later than the sweep 50"):
        files.check_checkpoint_target(folder / "c.npz", run, last=50)
    with pytest.raises(FileCheckError, match="exists and is not a cubemc checkpoint .it is a GSD"):
        files.check_checkpoint_target(folder / "t.gsd", run)
    with pytest.raises(FileCheckError, match="is a directory"):
        files.check_checkpoint_target(folder, run)


def test_directories_and_space(tmp_path):
    files.check_writable_directory(tmp_path)
    with pytest.raises(FileCheckError, match=r"\(output\) does not exist; make it"):
        files.check_writable_directory(tmp_path / "nope", what="output", hint="make it")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileCheckError, match="is not a directory"):
        files.check_writable_directory(tmp_path / "file")
    with pytest.raises(FileCheckError, match="of free disk space, less than the 1024.0 PiB needed"):
        files.check_free_space(tmp_path, 2**60)


def test_read_only_and_full_file_systems(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        with pytest.raises(FileCheckError, match="is on a read-only file system"):
            files.check_writable_directory(folder)
    with tmpfs(tmp_path / "small", "size=64k,nr_inodes=8"):
        files.check_free_space(tmp_path / "small", 32 * 1024)
        with pytest.raises(FileCheckError, match="free disk space"):
            files.check_free_space(tmp_path / "small", files.estimate_output_bytes(1000, frames=10))
        for k in range(7):
            (tmp_path / "small" / str(k)).write_bytes(b"")
        with pytest.raises(FileCheckError, match="without free inodes"):
            files.check_free_space(tmp_path / "small", 1)


def test_memory_estimate_and_limits():
    small = files.estimate_memory_bytes(1000, 0.8)
    assert files.BASE_MEMORY_BYTES < small < files.estimate_memory_bytes(10**6, 0.8)
    assert files.estimate_memory_bytes(10**6, 0.8) < files.estimate_memory_bytes(10**6, 0.1)
    assert files.estimate_memory_bytes(1000, 0.8, systems=4) > small
    assert files.check_memory(1000, 0.8, limit="1G") == small
    with pytest.raises(
        cubemc.InputError,
        match=r"N=1000000000 cubes need about .* more than 1.0 GiB "
        r"\(the given memory limit\); smaller",
    ):
        files.check_memory(10**9, 0.8, limit="1G", hint="smaller")
    with pytest.raises(cubemc.InputError, match="CUBEMC_MEMORY_LIMIT"):
        files.check_memory(10**9, 0.8, environ={"CUBEMC_MEMORY_LIMIT": "2G"})
    assert files.memory_limit(environ={})[0] == files.physical_memory_bytes()
    assert [files.parse_size(s) for s in ("16G", "512m", "1.5T", "2GiB", "1000")] == [
        16 * 2**30,
        512 * 2**20,
        int(1.5 * 2**40),
        2 * 2**30,
        1000,
    ]
    for bad in ("lots", "-1G", "0", "nan"):
        with pytest.raises(cubemc.InputError, match="CUBEMC_MEMORY_LIMIT"):
            files.parse_size(bad)


def test_os_errors_in_words():
    full = OSError(errno.ENOSPC, "No space left on device", "/data/t.gsd")
    assert files.describe_os_error(full) == "/data/t.gsd: no space left on the device (the disk is full)"
    assert files.describe_os_error(OSError(errno.EROFS, "x")) == "the file system is read-only"
    assert files.is_disk_full(full)


def test_a_varying_box_is_not_compared(run_a):
    """Constant-pressure runs change their box: identity without it (box=None)."""
    folder, run = run_a
    npt = RunIdentity(run.n, None, run.seed, run.beta_epsilon, run.well_range, run.sweep)
    files.check_trajectory_continues(folder / "t.gsd", npt, period=10)
    assert "box varying" in npt.describe()
    other_seed = RunIdentity(run.n, None, 5, run.beta_epsilon, run.well_range, run.sweep)
    with pytest.raises(FileCheckError, match="seed 1, not 5"):
        files.check_trajectory_continues(folder / "t.gsd", other_seed, period=10)
