"""A stage killed after its first frame but before its first checkpoint (cubemc/workflow/resume.py).

Such a stage leaves frames that all lie after the sweep of the file it restarts from, so nothing
in them can be compared with a configuration.  Found in the full nucleation-scan: the frame
period (3000 sweeps) does not divide the start sweep (500), and the first checkpoint comes only
after 15000 sweeps.  These jobs have the same shape: start sweeps 30 and 70, frames every 20.
"""

import os
import shutil

import gsd.hoomd
import numpy as np
import pytest
import signac
from workflow_support import PERIOD, small_fluid_point, trajectory_frames

import cubemc
from cubemc.files import FileCheckError
from cubemc.workflow import batched, stages
from cubemc.workflow.config import load_config
from cubemc.workflow.init_cli import create_jobs


def make_job(path, replica=0):
    (job,), config = make_jobs(path, (replica,))
    return job, config


def make_jobs(path, replicas):
    points = [("custom", small_fluid_point(replica)) for replica in replicas]
    create_jobs(str(path), points, quiet=True)
    jobs = sorted(signac.get_project(str(path)), key=lambda job: job.sp["replica"])
    return jobs, load_config(str(path))


def kill_before_checkpoint(job, start_file, trajectory, sweeps):
    """What the killed stage leaves: its frames from `start_file` on and no restart checkpoint."""
    sim = cubemc.Simulation.from_checkpoint(job.fn(start_file), device="cpu")
    sim.run(sweeps, trajectory=job.fn(trajectory), period=PERIOD)
    with gsd.hoomd.open(job.fn(trajectory)) as traj:
        steps = [int(frame.configuration.step) for frame in traj]
    assert steps and steps[0] > int(np.load(job.fn(start_file))["sweep"])  # none to compare
    return steps


def test_both_stages_restart_from_their_start_file_and_write_the_same_files(tmp_path, capsys):
    reference, config = make_job(tmp_path / "reference")
    for stage in stages.STAGES:
        assert stages.run_stage(reference, stage, config, "cpu")
    job, config = make_job(tmp_path / "killed")
    assert job.id == reference.id
    assert stages.run_stage(job, "create", config, "cpu")
    # tune and burn in, then undo the burn-in (tuned.npz stays) and kill it after frames 40
    # and 60 instead (the stage ends at 70)
    assert stages.run_stage(job, "equilibrate", config, "cpu")
    for name in (stages.EQUILIBRATED, stages.EQUILIBRATION_TRAJECTORY):
        os.remove(job.fn(name))
    assert kill_before_checkpoint(job, stages.TUNED, stages.EQUILIBRATION_TRAJECTORY, 35) == [40, 60]
    assert stages.run_stage(job, "equilibrate", config, "cpu")
    assert kill_before_checkpoint(job, stages.EQUILIBRATED, stages.TRAJECTORY, 45) == [80, 100]
    assert stages.run_stage(job, "sample", config, "cpu")

    logged = capsys.readouterr().err
    assert logged.count("were written before the stage's first checkpoint") == 2
    with np.load(reference.fn(stages.FINAL)) as a, np.load(job.fn(stages.FINAL)) as b:
        assert set(a.files) == set(b.files)
        assert all(np.array_equal(a[key], b[key]) for key in a.files)
    for name in (stages.EQUILIBRATION_TRAJECTORY, stages.TRAJECTORY):
        assert trajectory_frames(reference.fn(name)) == trajectory_frames(job.fn(name)), name


def test_a_batch_of_jobs_restarts_the_killed_one_from_its_start_file(tmp_path, capsys):
    references, config = make_jobs(tmp_path / "reference", (0, 1))
    jobs, config = make_jobs(tmp_path / "batch", (0, 1))
    for group in (references, jobs):
        for job in group:
            for stage in ("create", "equilibrate"):
                assert stages.run_stage(job, stage, config, "cpu")
    for job in references:
        assert stages.run_stage(job, "sample", config, "cpu")
    kill_before_checkpoint(jobs[1], stages.EQUILIBRATED, stages.TRAJECTORY, 45)
    assert batched.sample_group(jobs, config, "cpu") is True  # one batch, not one job after another
    assert "were written before the stage's first checkpoint" in capsys.readouterr().err
    for reference, job in zip(references, jobs):
        assert trajectory_frames(reference.fn(stages.TRAJECTORY)) == trajectory_frames(
            job.fn(stages.TRAJECTORY)
        )
        with np.load(reference.fn(stages.FINAL)) as a, np.load(job.fn(stages.FINAL)) as b:
            assert all(np.array_equal(a[key], b[key]) for key in a.files)


def strip_seed(path):
    """Rewrite `path` without the seed log, as cubemc wrote frames before it logged the seed."""
    with gsd.hoomd.open(path) as traj:
        kept = list(traj)
    os.remove(path)
    with gsd.hoomd.open(path, "w") as out:
        for frame in kept:
            frame.log = {k: v for k, v in frame.log.items() if not k.endswith("/seed")}
            out.append(frame)


@pytest.mark.parametrize(
    ("frames_of", "refusal"),
    [("another seed", "belongs to another run .*seed"), ("no seed", "does not record the seed")],
)
def test_frames_that_cannot_be_matched_to_the_run_are_refused_and_kept(tmp_path, frames_of, refusal):
    victim, config = make_job(tmp_path / "victim", replica=0)
    donor, donor_config = make_job(tmp_path / "donor", replica=1 if frames_of == "another seed" else 0)
    for job, cfg in ((victim, config), (donor, donor_config)):
        for stage in ("create", "equilibrate"):
            assert stages.run_stage(job, stage, cfg, "cpu")
    kill_before_checkpoint(donor, stages.EQUILIBRATED, stages.TRAJECTORY, 45)
    if frames_of == "no seed":
        strip_seed(donor.fn(stages.TRAJECTORY))
    shutil.copy(donor.fn(stages.TRAJECTORY), victim.fn(stages.TRAJECTORY))
    before = open(victim.fn(stages.TRAJECTORY), "rb").read()
    with pytest.raises(FileCheckError, match=refusal) as error:
        stages.run_stage(victim, "sample", config, "cpu")
    assert "\n" not in str(error.value)
    assert open(victim.fn(stages.TRAJECTORY), "rb").read() == before
    assert not victim.isfile(stages.FINAL)
