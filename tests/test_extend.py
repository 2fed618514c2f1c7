"""``init.py --extend`` lengthens finished runs (cubemc/workflow/extend.py).

The independent answer is the engine itself run without interruption: the extended job must end
exactly where one uninterrupted run of the longer length from the same burnt-in state ends.
"""

import os

import numpy as np
import signac
from workflow_support import PERIOD, small_fluid_point, trajectory_frames

import cubemc
from cubemc.workflow import operations, stages
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
    uninterrupted = cubemc.Simulation.from_checkpoint(job.fn(stages.EQUILIBRATED), device="cpu")
    start = uninterrupted.sweep
    uninterrupted.run(LONG, trajectory=str(tmp_path / "uninterrupted.gsd"), period=PERIOD)
    end = cubemc.Simulation.from_checkpoint(job.fn(stages.FINAL), device="cpu")
    assert end.sweep == start + LONG
    assert np.array_equal(end.positions, uninterrupted.positions)
    assert np.array_equal(end.orientations, uninterrupted.orientations)
    assert int(end.energy) == int(uninterrupted.energy)
    extended = trajectory_frames(job.fn(stages.TRAJECTORY))
    first = -(-start // PERIOD) * PERIOD  # frames every PERIOD sweeps from the production start
    assert [step for step, *_ in extended] == list(range(first, start + LONG + 1, PERIOD))
    assert extended == trajectory_frames(tmp_path / "uninterrupted.gsd")

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
