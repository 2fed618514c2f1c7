"""``python project.py run --parallel``: the same results as a serial run, one line per error,
Ctrl-C stops every worker (cubemc/workflow/parallel.py)."""

import os
import signal
import time

import numpy as np
import pytest
import signac
from conftest import TINY_GRID, cli
from reliability_support import interrupt_project_run, snapshot

from cubemc import files
from cubemc.workflow.locking import job_lock

pytestmark = pytest.mark.slow

INTERRUPTED = (
    "project.py: interrupted; run the same command again: every stage continues from its last checkpoint"
)


def _errors(stderr):
    """stderr without the progress log lines of the operations."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("[cubemc ")]


def test_a_parallel_run_gives_the_results_of_a_serial_run(finished_project, tmp_path):
    serial, _ = finished_project
    path = tmp_path / "project"
    cli("init.py", "--project-dir", path, *TINY_GRID, "--beta-epsilon", "0", "-1", cwd=tmp_path)
    run = cli("project.py", "run", "--parallel", "2", cwd=path, timeout=600)
    assert _errors(run.stderr) == [], run.stderr[-3000:]
    jobs = list(signac.get_project(path))
    assert len(jobs) == 2 and (path / "report" / "report.md").is_file()
    for job in jobs:
        assert job.isfile("analysis.json")
        with (
            np.load(job.fn("final.npz")) as mine,
            np.load(serial / "workspace" / job.id / "final.npz") as theirs,
        ):
            for key in ("positions", "orientations", "box", "counts", "sweep"):
                np.testing.assert_array_equal(mine[key], theirs[key], err_msg=key)


@pytest.mark.parametrize(
    ("workers", "betas"), [((), ("0", "-1")), (("-p", "2"), ("0", "-1", "-2"))], ids=["serial", "parallel"]
)
def test_each_job_is_analysed_before_the_last_job_starts(tmp_path, workers, betas):
    # signac-flow's passes created every job, then burnt every one in, ... and analysed none
    # before the last had sampled, so the interim report of a long study stayed empty
    path = tmp_path / "project"
    cli("init.py", "--project-dir", path, *TINY_GRID, "--beta-epsilon", *betas, cwd=tmp_path)
    run = cli("project.py", "run", *workers, cwd=path, timeout=600)
    assert _errors(run.stderr) == [], run.stderr[-3000:]
    jobs = list(signac.get_project(path))
    created = [os.stat(job.fn("initial.npz")).st_mtime_ns for job in jobs]
    analysed = [os.stat(job.fn("analysis.json")).st_mtime_ns for job in jobs]
    # with more jobs than workers, a worker takes the last job only once it has analysed its own
    assert min(analysed) < max(created)
    assert (path / "report" / "report.md").is_file()


def test_an_error_in_one_job_is_one_line_and_stops_the_run(tmp_path):
    # signac-flow's own parallel runner waited forever here: the worker exited and the pool
    # never heard back (the timeout below turns that into a failure)
    path = tmp_path / "project"
    cli("init.py", "--project-dir", path, *TINY_GRID, "--beta-epsilon", "0", "-1", cwd=tmp_path)
    broken = sorted(signac.get_project(path), key=lambda job: job.id)[0]
    document = broken.fn("signac_job_document.json")
    with open(document, "w") as handle:
        handle.write('{"damaged')
    before = snapshot(broken.path)
    run = cli("project.py", "run", "-p", "2", cwd=path, timeout=300, check=False)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    (line,) = _errors(run.stderr)
    assert line.startswith(f"cubemc: create_initial_state ({broken.id[:8]}): error: ") and document in line
    assert snapshot(broken.path) == before


@pytest.mark.parametrize("workers", [(), ("-p", "2")], ids=["serial", "parallel"])
def test_a_busy_job_is_skipped_and_the_other_jobs_run(tmp_path, workers):
    path = tmp_path / "project"
    cli("init.py", "--project-dir", path, *TINY_GRID, "--beta-epsilon", "0", "-1", cwd=tmp_path)
    busy, free = sorted(signac.get_project(path), key=lambda job: job.id)
    with job_lock(busy, "a test holding the job"):  # as another project.py working on it would
        before = snapshot(busy.path)
        run = cli("project.py", "run", *workers, cwd=path, timeout=600, check=False)
        assert snapshot(busy.path) == before
    assert run.returncode == 75 and "Traceback" not in run.stderr, run.stderr[-3000:]
    refused, summary = _errors(run.stderr)
    assert refused.startswith("cubemc: refused: ") and f"job {busy.id} is already being worked on" in refused
    assert (
        summary.startswith("cubemc: 1 of 5 operations skipped: ") and "run the same command again" in summary
    )
    assert free.isfile("analysis.json") and not busy.isfile("initial.npz")
    again = cli("project.py", "run", *workers, cwd=path, timeout=600)
    assert _errors(again.stderr) == [], again.stderr[-3000:]
    assert busy.isfile("analysis.json") and (path / "report" / "report.md").is_file()


@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c", "sigterm-to-the-parent"],
)
def test_an_interrupt_stops_every_worker_with_one_line(tmp_path, sig, to_group):
    # a SIGTERM to the parent alone used to end it and leave both workers sampling
    path = tmp_path / "project"
    grid = (
        *TINY_GRID,
        "--beta-epsilon",
        "0",
        "-1",
        "--production-sweeps",
        "400000",
        "--sample-period",
        "2000",
    )
    cli("init.py", "--project-dir", path, *grid, cwd=tmp_path)
    jobs = list(signac.get_project(path))
    proc, err = interrupt_project_run(
        path,
        ("run", "-p", "2"),
        lambda: all(job.isfile("sample.restart.npz") for job in jobs),
        deadline=300,
        group=True,  # a group of its own (a terminal's Ctrl-C reaches all of it)
        sig=sig,
        to_group=to_group,
    )
    assert proc.returncode == 130 and "Traceback" not in err, err[-3000:]
    assert _errors(err) == [INTERRUPTED]
    time.sleep(1)
    with pytest.raises(ProcessLookupError):  # no worker outlives the interrupted run
        os.killpg(proc.pid, 0)
    for job in jobs:  # each stage left a readable checkpoint to continue from
        assert not job.isfile("final.npz")
        files.read_checkpoint_identity(job.fn("sample.restart.npz"))
