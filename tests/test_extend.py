"""``init.py --extend`` lengthens finished runs (cubemc/workflow/extend.py).

The independent answer is the engine itself run without interruption: the extended job must end
exactly where one uninterrupted run of the longer length from the same burnt-in state ends.
"""

import os

import numpy as np
import signac
from workflow_support import PERIOD, small_fluid_point, trajectory_frames

import cubemc
from cubemc.workflow import batched, operations, stages
from cubemc.workflow.config import load_config
from cubemc.workflow.flowproject import sweeps_left
from cubemc.workflow.init_cli import create_jobs, main
from cubemc.workflow.locking import job_lock

SHORT, LONG = 200, 400


def point(production_sweeps=SHORT):
    return small_fluid_point(production_sweeps=production_sweeps)


def finished_job(path):
    create_jobs(str(path), [("custom", point())], quiet=True)
    (job,) = signac.get_project(str(path))
    config = load_config(str(path))
    for stage in stages.STAGES:
        assert stages.run_stage(job, stage, config, "cpu")
    operations.analyse(job)
    assert operations.is_analysed(job)
    return job, config


def assert_same_as_one_longer_run(job, scratch):
    """The job's trajectory and end state equal one uninterrupted LONG run from its burnt-in state."""
    uninterrupted = cubemc.Simulation.from_checkpoint(job.fn(stages.EQUILIBRATED), device="cpu")
    start = uninterrupted.sweep
    uninterrupted.run(LONG, trajectory=str(scratch), period=PERIOD)
    end = cubemc.Simulation.from_checkpoint(job.fn(stages.FINAL), device="cpu")
    assert end.sweep == start + LONG
    assert np.array_equal(end.positions, uninterrupted.positions)
    assert np.array_equal(end.orientations, uninterrupted.orientations)
    assert int(end.energy) == int(uninterrupted.energy)
    extended = trajectory_frames(job.fn(stages.TRAJECTORY))
    first = -(-start // PERIOD) * PERIOD  # frames every PERIOD sweeps from the production start
    assert [step for step, *_ in extended] == list(range(first, start + LONG + 1, PERIOD))
    assert extended == trajectory_frames(scratch)


def extend(path, *options):
    return main(["--extend", "--production-sweeps", str(LONG), "--project-dir", str(path), *options])


def one_error_line(capsys, *fragments):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_an_extended_job_ends_where_one_uninterrupted_longer_run_ends(tmp_path, capsys):
    job, config = finished_job(tmp_path)
    old_id, seed = job.id, job.doc["seed"]
    shorter_end = np.load(job.fn(stages.FINAL))["positions"].copy()
    assert extend(tmp_path) == 0
    (job,) = signac.get_project(str(tmp_path))
    assert job.id != old_id and job.sp["production_sweeps"] == LONG
    assert not stages.is_sampled(job) and not operations.is_analysed(job)
    kept = job.fn(f"production-{SHORT}")
    assert np.array_equal(np.load(os.path.join(kept, stages.FINAL))["positions"], shorter_end)
    assert os.path.isfile(os.path.join(kept, operations.ANALYSIS_JSON))
    assert job.doc["extensions"][-1]["from_id"] == old_id and job.doc["seed"] == seed

    assert sweeps_left(job, ("production_sweeps",)) == LONG - SHORT  # the walltime asks for these
    assert (job.doc["progress"]["done"], job.doc["progress"]["total"]) == (SHORT, LONG)
    assert stages.run_stage(job, "sample", config, "cpu")
    operations.analyse(job)
    assert operations.is_analysed(job)
    assert_same_as_one_longer_run(job, tmp_path / "uninterrupted.gsd")

    assert extend(tmp_path) == 0  # the same line again changes nothing
    assert "already 400 production sweeps" in capsys.readouterr().out
    # init.py's original line must not make the shorter job again: same seed, the same run twice
    create_jobs(str(tmp_path), [("custom", point())], quiet=True)
    assert [j.id for j in signac.get_project(str(tmp_path))] == [job.id]
    assert f"now job {job.id}" in capsys.readouterr().out


def test_extend_refuses_with_one_line_and_changes_nothing(tmp_path, capsys):
    job, _ = finished_job(tmp_path)
    capsys.readouterr()
    before = sorted(os.listdir(job.path))
    with job_lock(job, "a test holding the job"):  # as a running project.py would
        assert extend(tmp_path) != 0
    one_error_line(capsys, "already being worked on")
    create_jobs(str(tmp_path), [("custom", point(LONG))], quiet=True)
    assert extend(tmp_path, "--beta-epsilon", "-2") != 0
    one_error_line(capsys, "already has that state point")
    assert sorted(os.listdir(job.path)) == before and job.sp["production_sweeps"] == SHORT
    assert main(["--extend", "--project-dir", str(tmp_path)]) != 0
    one_error_line(capsys, "needs --production-sweeps")
    assert extend(tmp_path, "--replicas", "3") != 0
    one_error_line(capsys, "--replicas does not apply")
    assert extend(tmp_path, "--beta-epsilon", "-7") != 0
    one_error_line(capsys, "no job of the project matches")
    assert extend(tmp_path / "nowhere") != 0
    one_error_line(capsys, "holds no signac project")


def test_extended_jobs_sampled_as_one_batch_end_where_their_longer_runs_end(tmp_path):
    # the GPU bundles (sample_gpu) sample extended jobs through batched.py; the batch runs here on
    # the CPU kernels, which the GPU ones match bit for bit (tests/test_batch.py)
    points = [("custom", small_fluid_point(replica)) for replica in (0, 1)]
    create_jobs(str(tmp_path), points, quiet=True)
    config = load_config(str(tmp_path))
    for job in signac.get_project(str(tmp_path)):
        for stage in stages.STAGES:
            assert stages.run_stage(job, stage, config, "cpu")
    assert extend(tmp_path) == 0
    jobs = sorted(signac.get_project(str(tmp_path)), key=lambda job: job.sp["replica"])
    assert [job.sp["production_sweeps"] for job in jobs] == [LONG, LONG]
    assert batched.sample_group(jobs, config, "cpu") is True  # one batch, not one job after another
    for job in jobs:
        assert stages.is_sampled(job) and not job.isfile(stages.SAMPLE_RESTART)
        last = job.doc["stages"]["sample"]["segments"][-1]  # it continued the shorter run
        assert (last["batch"], last["sweeps"]) == (2, LONG - SHORT), last
        assert_same_as_one_longer_run(job, tmp_path / f"uninterrupted-{job.sp['replica']}.gsd")
