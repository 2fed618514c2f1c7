"""``python -m cubemc``: no data loss and one line on stderr for every ordinary mistake.

Each refusal is checked for its exit status, exactly one line on stderr without a traceback,
and the files on disk unchanged (byte for byte).
"""

import os
import signal
import subprocess
import sys
import time

import gsd.hoomd
import pytest
from conftest import REPO, clean_env
from reliability_support import (
    assert_one_error_line,
    read_only,
    sigint_default,
    snapshot,
    tmpfs,
)

PREFIX = "cubemc: error: "


def cubemc(*args, cwd, check=False):
    proc = subprocess.run(
        [sys.executable, "-m", "cubemc", *map(str, args)],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def new_run(folder, name, lattice, seed, sweeps=100, extra=()):
    """A run with frames every 10 sweeps and a checkpoint at the end: name.gsd, name.npz."""
    cubemc(
        "--lattice",
        lattice,
        "--seed",
        seed,
        "--tune-sweeps",
        10,
        "--sweeps",
        sweeps,
        "--period",
        10,
        "--trajectory",
        f"{name}.gsd",
        "--checkpoint",
        f"{name}.npz",
        *extra,
        cwd=folder,
        check=True,
    )


def steps(path):
    with gsd.hoomd.open(path, "r") as traj:
        return [int(frame.configuration.step) for frame in traj]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run a (64 cubes, seed 1, checkpoint at sweep 110) and run b (125 cubes, seed 2)."""
    folder = tmp_path_factory.mktemp("runs")
    new_run(folder, "a", 4, 1)
    new_run(folder, "b", 5, 2)
    return folder


@pytest.fixture
def runs(two_runs, tmp_path):
    for path in two_runs.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


def refused(folder, *args, fragments=(), status=2):
    """Run the command, assert the one-line refusal and that no file changed."""
    before = snapshot(folder)
    proc = cubemc(*args, cwd=folder)
    line = assert_one_error_line(proc, *fragments, status=status, prefix=PREFIX)
    assert snapshot(folder) == before
    return line


def refused_in_process(folder, monkeypatch, capsys, *args, fragments=()):
    """`refused`, calling the command's main() in this process (no interpreter start-up)."""
    from cubemc.__main__ import main

    before = snapshot(folder)
    monkeypatch.chdir(folder)
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as exit_:  # argparse
        status = exit_.code
    captured = capsys.readouterr()
    proc = subprocess.CompletedProcess(args, status, captured.out, captured.err)
    line = assert_one_error_line(proc, *fragments, status=2, prefix=PREFIX)
    assert snapshot(folder) == before
    return line


# --- 1. a restart never trims or appends to another run's trajectory ----------------------------


def test_restart_refuses_the_trajectory_of_another_run(runs):
    line = refused(
        runs,
        "--restart",
        "a.npz",
        "--trajectory",
        "b.gsd",
        "--sweeps",
        20,
        fragments=(
            "b.gsd belongs to another run",
            "N 125, not 64",
            "seed 2, not 1",
            "choose another --trajectory",
        ),
    )
    # the default name is refused just the same
    os.rename(runs / "b.gsd", runs / "trajectory.gsd")
    refused(runs, "--restart", "a.npz", "--sweeps", 20, fragments=("trajectory.gsd belongs to another run",))
    assert "Traceback" not in line


def test_restart_refuses_a_trajectory_whose_frames_it_would_delete(runs):
    # a.gsd reaches sweep 110; an older checkpoint of the same run (sweep 60) must not trim it
    cubemc(
        "--lattice",
        4,
        "--seed",
        1,
        "--tune-sweeps",
        10,
        "--sweeps",
        50,
        "--period",
        10,
        "--trajectory",
        "old.gsd",
        "--checkpoint",
        "old.npz",
        cwd=runs,
        check=True,
    )
    refused(
        runs,
        "--restart",
        "old.npz",
        "--trajectory",
        "a.gsd",
        "--sweeps",
        20,
        "--period",
        10,
        fragments=(
            "a.gsd has frames up to sweep 110, newer than the sweep 80",
            "continuing would delete them",
        ),
    )
    # continuing far enough rewrites those frames bit for bit: allowed
    cubemc(
        "--restart",
        "old.npz",
        "--trajectory",
        "a.gsd",
        "--sweeps",
        100,
        "--period",
        10,
        "--checkpoint",
        "old.npz",
        cwd=runs,
        check=True,
    )
    assert steps(runs / "a.gsd") == list(range(10, 161, 10))


def test_restart_refuses_a_trajectory_with_a_gap(runs):
    # a second segment of run a went to another file; a.gsd stops at sweep 110
    cubemc(
        "--restart",
        "a.npz",
        "--trajectory",
        "other.gsd",
        "--sweeps",
        50,
        "--checkpoint",
        "later.npz",
        cwd=runs,
        check=True,
    )
    refused(
        runs,
        "--restart",
        "later.npz",
        "--trajectory",
        "a.gsd",
        "--sweeps",
        20,
        "--period",
        10,
        fragments=("a.gsd ends at sweep 110, but the checkpoint is at sweep 160",),
    )


def test_restart_continues_its_own_trajectory_after_a_kill(runs):
    """The legitimate case: frames written after the last checkpoint by a killed run are
    replaced by the same frames."""
    cubemc(
        "--restart", "a.npz", "--trajectory", "a.gsd", "--sweeps", 40, "--period", 10, cwd=runs, check=True
    )  # no checkpoint: as if killed after sweep 150
    assert steps(runs / "a.gsd")[-1] == 150
    cubemc(
        "--restart", "a.npz", "--trajectory", "a.gsd", "--sweeps", 40, "--period", 10, cwd=runs, check=True
    )
    assert steps(runs / "a.gsd") == list(range(10, 151, 10))


# --- 2. --checkpoint never replaces a file that is not a checkpoint of the same run -------------


@pytest.mark.parametrize(
    "target, fragments",
    [
        ("b.npz", ("b.npz is a checkpoint of another run", "N 125, not 64", "refusing to overwrite")),
        ("notes.txt", ("notes.txt exists and is not a cubemc checkpoint", "refusing to overwrite")),
        ("b.gsd", ("b.gsd exists and is not a cubemc checkpoint (it is a GSD trajectory)",)),
    ],
)
def test_checkpoint_never_replaces_a_foreign_file(runs, target, fragments):
    (runs / "notes.txt").write_text("my notes\n")
    refused(
        runs,
        "--restart",
        "a.npz",
        "--trajectory",
        "a.gsd",
        "--sweeps",
        20,
        "--checkpoint",
        target,
        fragments=(*fragments, "choose another --checkpoint"),
    )


def test_new_run_never_replaces_an_existing_checkpoint(runs):
    refused(
        runs,
        "--lattice",
        4,
        "--seed",
        1,
        "--trajectory",
        "new.gsd",
        "--checkpoint",
        "a.npz",
        fragments=(
            "a.npz exists; refusing to overwrite it with a new run",
            "continue that run with --restart a.npz",
        ),
    )


def test_restart_writes_its_checkpoint_over_its_own(runs):
    for _ in range(2):
        cubemc(
            "--restart",
            "a.npz",
            "--trajectory",
            "a.gsd",
            "--sweeps",
            20,
            "--period",
            10,
            "--checkpoint",
            "a.npz",
            cwd=runs,
            check=True,
        )
    assert steps(runs / "a.gsd")[-1] == 150


# --- 4. inputs that are not what they should be ------------------------------------------------


@pytest.mark.parametrize(
    "make, fragments",
    [
        (
            lambda d: (d / "x.npz").write_text("hello"),
            ("x.npz is not a cubemc checkpoint", "--restart needs a checkpoint"),
        ),
        (lambda d: (d / "x.npz").write_bytes((d / "a.npz").read_bytes()[:3000]), ("x.npz is damaged",)),
        (
            lambda d: (d / "x.npz").write_bytes((d / "a.gsd").read_bytes()),
            ("x.npz is not a cubemc checkpoint (it is a GSD trajectory)", "use --input x.npz"),
        ),
        (lambda d: None, ("x.npz does not exist",)),
    ],
)
def test_restart_from_something_that_is_not_a_checkpoint(runs, make, fragments, monkeypatch, capsys):
    make(runs)
    refused_in_process(
        runs, monkeypatch, capsys, "--restart", "x.npz", "--trajectory", "new.gsd", fragments=fragments
    )


def test_input_that_is_not_a_trajectory(runs):
    (runs / "cut.gsd").write_bytes((runs / "b.gsd").read_bytes()[:200])
    refused(runs, "--input", "cut.gsd", "--trajectory", "new.gsd", fragments=("cut.gsd is damaged",))
    refused(
        runs,
        "--input",
        "a.npz",
        "--trajectory",
        "new.gsd",
        fragments=("a.npz is not a GSD file (it is a .npz archive)",),
    )


# --- 5. every argument is checked before any work starts ----------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--restart", "a.npz", "--seed", 3], ("--seed would be ignored, leave it out",)),
        (
            ["--restart", "a.npz", "--beta-epsilon", -2, "--well-range", 1.2],
            ("--beta-epsilon, --well-range would be ignored",),
        ),
        (["--restart", "a.npz", "--lattice", 4], ("give exactly one of",)),
        (["--restart", "a.npz", "--tune-sweeps", 100], ("--tune-sweeps would be ignored",)),
        (["--lattice", 4, "--tune-sweeps", 10**9, "--sweeps", -1], ("sweeps must be a non-negative",)),
        (["--lattice", 4, "--tune-sweeps", 10**9, "--period", 0], ("period must be a positive",)),
        (["--lattice", 4, "--checkpoint-period", 10], ("--checkpoint-period needs --checkpoint",)),
        (
            ["--lattice", 4, "--packing-fraction", 1.5],
            ("--packing-fraction must lie strictly between 0 and 1",),
        ),
        (["--lattice", 4, "--beta-epsilon", "nan"], ("--beta-epsilon must be a finite number",)),
        (["--lattice", 4, "--seed", -1], ("seed must be a non-negative integer",)),
        (["--fluid", 100, "--vacancies", 1], ("--vacancies applies to --lattice only",)),
        (["--input", "a.gsd", "--packing-fraction", 0.5], ("--packing-fraction does not apply",)),
        (["--lattice", 4, "--trajectory", "x.gsd", "--checkpoint", "x.gsd"], ("name the same file",)),
        (["--lattice", 4, "--trajectory", ""], ("--trajectory must name a file",)),
        (["--lattice", "four"], ("argument --lattice: invalid int value",)),
        (["--lattice", 100000], ("cubes need about", "of memory, more than", "CUBEMC_MEMORY_LIMIT")),
    ],
)
def test_arguments_are_checked_before_any_work(runs, args, fragments, monkeypatch, capsys):
    refused_in_process(runs, monkeypatch, capsys, *args, fragments=fragments)


def test_errors_are_one_line_in_a_real_process(runs):
    """The same contract through the interpreter (argparse, warnings, logging set-up)."""
    refused(runs, "--restart", "a.npz", "--seed", 3, fragments=("--seed would be ignored",))
    refused(runs, "--lattice", "four", fragments=("argument --lattice: invalid int value",))


def test_missing_output_folder(runs):
    refused(
        runs,
        "--lattice",
        4,
        "--trajectory",
        "nowhere/t.gsd",
        fragments=("nowhere (folder of --trajectory) does not exist",),
    )
    refused(
        runs,
        "--lattice",
        4,
        "--trajectory",
        "t.gsd",
        "--checkpoint",
        "nowhere/c.npz",
        fragments=("nowhere (folder of --checkpoint) does not exist",),
    )


def test_gpu_requested_without_one(runs):
    from cubemc.simulation import resolve_device

    try:
        resolve_device("gpu")
    except Exception:  # noqa: BLE001 - no usable GPU here, which is what this test needs
        refused(runs, "--lattice", 4, "--device", "gpu", fragments=("device='gpu' was requested",))
    else:
        pytest.skip("this machine has a usable GPU")


# --- 4. full and read-only disks, Ctrl-C -----------------------------------------------------------


def test_read_only_folder(runs):
    with read_only(runs):
        refused(
            runs,
            "--restart",
            "a.npz",
            "--trajectory",
            "a.gsd",
            "--sweeps",
            20,
            fragments=("(folder of --trajectory) is on a read-only file system",),
        )


def test_full_disk_before_the_run(tmp_path):
    with tmpfs(tmp_path / "disk", "size=64k"):
        refused(
            tmp_path / "disk",
            "--lattice",
            10,
            "--sweeps",
            10000,
            "--period",
            10,
            fragments=("free disk space, less than the", "needed", "free some space"),
        )


def test_full_disk_during_the_run(tmp_path):
    """No inode is left for the second checkpoint's temporary file: the run stops with one
    line and the trajectory and first checkpoint stay readable."""
    disk = tmp_path / "disk"
    with tmpfs(disk, "size=1m,nr_inodes=3"):
        proc = cubemc(
            "--lattice",
            4,
            "--tune-sweeps",
            10,
            "--sweeps",
            200,
            "--period",
            10,
            "--checkpoint",
            "c.npz",
            "--checkpoint-period",
            50,
            "--trajectory",
            "t.gsd",
            cwd=disk,
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert lines[-1].startswith(PREFIX) and "no space left on the device" in lines[-1]
        assert "continue with --restart c.npz --trajectory t.gsd" in lines[-1]
        assert all(line.startswith("sweep ") for line in lines[:-1])  # progress lines only
        from cubemc import files

        run = files.read_checkpoint_identity(disk / "c.npz")
        assert run.sweep == 50
        files.check_trajectory_continues(disk / "t.gsd", run, period=10, last=run.sweep + 200)


def test_ctrl_c_says_how_to_continue(tmp_path):
    args = [
        "--lattice",
        5,
        "--tune-sweeps",
        10,
        "--sweeps",
        10**7,
        "--period",
        100,
        "--checkpoint",
        "c.npz",
        "--checkpoint-period",
        100,
        "--trajectory",
        "t.gsd",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cubemc", *map(str, args)],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    try:
        deadline = time.time() + 120
        while not (tmp_path / "c.npz").exists():
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        "cubemc: interrupted; continue with --restart c.npz --trajectory t.gsd "
        "(frames after the checkpoint are replaced)"
    )
    from cubemc import files

    run = files.read_checkpoint_identity(tmp_path / "c.npz")
    files.check_trajectory_continues(tmp_path / "t.gsd", run, period=100, last=10**7)


def test_clean_runs_print_no_error(runs):
    """The checks do not get in the way: a new run and its continuation succeed."""
    proc = cubemc(
        "--lattice",
        4,
        "--seed",
        5,
        "--tune-sweeps",
        10,
        "--sweeps",
        20,
        "--period",
        10,
        "--trajectory",
        "n.gsd",
        "--checkpoint",
        "n.npz",
        cwd=runs,
        check=True,
    )
    assert "error" not in proc.stderr
    cubemc(
        "--restart",
        "n.npz",
        "--sweeps",
        20,
        "--period",
        10,
        "--trajectory",
        "n.gsd",
        "--checkpoint",
        "n.npz",
        cwd=runs,
        check=True,
    )
    assert steps(runs / "n.gsd") == list(range(10, 51, 10))


def test_repository_is_importable():
    assert (REPO / "cubemc" / "files.py").exists()
