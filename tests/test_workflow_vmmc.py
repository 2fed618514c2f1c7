"""The optional state-point key for VMMC cluster moves (cubemc/workflow/cluster_moves.py)."""

import gsd.hoomd
import numpy as np
import pytest
import signac
from signac.job import calc_id

import cubemc
from cubemc.vmmc import VMMC
from cubemc.workflow import batched, stages
from cubemc.workflow.cluster_moves import KEY, MAX_CLUSTER, check_cluster_move_engine
from cubemc.workflow.config import load_config
from cubemc.workflow.errors import StatePointError, WorkflowError
from cubemc.workflow.init_cli import create_jobs
from cubemc.workflow.studies import make_statepoint, validate_grid


def fluid_point(replica=0, **changes):
    """64 cubes of a dilute fluid quenched to beta*eps = -6 (aggregating), short runs."""
    sp = make_statepoint(
        initial_state="fluid",
        beta_epsilon=-6.0,
        packing_fraction=0.15,
        well_range=1.14,
        N=64,
        replica=replica,
        tune_sweeps=40,
        equilibration_sweeps=40,
        production_sweeps=200,
        sample_period=20,
    )
    sp.update(changes)
    return sp


def test_the_key_is_optional_and_absent_keeps_job_ids():
    plain = fluid_point()
    assert KEY not in plain and validate_grid([plain]) == []
    assert calc_id(plain) == calc_id(fluid_point())  # nothing added by building or validating
    with_vmmc = fluid_point(**{KEY: 0.2})
    assert validate_grid([with_vmmc]) == [] and calc_id(with_vmmc) != calc_id(plain)


@pytest.mark.parametrize("value", [-0.1, 11, float("nan"), "0.2", True, None])
def test_bad_values_are_one_line_and_nothing_is_written(tmp_path, value):
    sp = fluid_point(**{KEY: value})
    with pytest.raises(StatePointError) as error:
        validate_grid([sp])
    text = str(error.value)
    assert f"{KEY}={value!r} must be a number from 0 to 10" in text and "\n" not in text
    with pytest.raises(StatePointError):
        create_jobs(str(tmp_path / "project"), [("custom", sp)], quiet=True)
    assert not (tmp_path / "project").exists()


def test_cluster_moves_need_the_native_engine():
    check_cluster_move_engine(fluid_point(**{KEY: 0.2}), "native")
    check_cluster_move_engine(fluid_point(), "hoomd")
    check_cluster_move_engine(fluid_point(**{KEY: 0}), "hoomd")
    with pytest.raises(WorkflowError, match="only the native engine"):
        check_cluster_move_engine(fluid_point(**{KEY: 0.2}), "hoomd")


def run_job(path, interrupt=False, replicas=1, together=False):
    """Create, tune, burn in and sample fluid jobs with cluster moves in a real signac project;
    with `interrupt`, production is cut as a killed process leaves it (a checkpoint after 60
    sweeps, two frames past it) and the sample stage resumes; with `together`, the jobs are
    sampled as one batch (batched.sample_group, as GPU bundles are)."""
    points = [("custom", fluid_point(replica=r, **{KEY: 0.2})) for r in range(replicas)]
    create_jobs(str(path), points, quiet=True)
    jobs = sorted(signac.get_project(str(path)), key=lambda job: job.sp["replica"])
    config = load_config(str(path))
    for job in jobs:
        for stage in ("create", "equilibrate"):
            assert stages.run_stage(job, stage, config, "cpu")
    if together:  # the jobs' cluster moves run together with their sweeps
        assert batched.sample_group(jobs, config, "cpu") is True
    if interrupt:
        sim = cubemc.Simulation.from_checkpoint(jobs[0].fn(stages.EQUILIBRATED), device="cpu")
        assert any(isinstance(op, VMMC) for op in sim.operations.updaters)
        sim.run(60, trajectory=jobs[0].fn(stages.TRAJECTORY), period=20)
        sim.save_checkpoint(jobs[0].fn(stages.SAMPLE_RESTART))
        sim.run(40, trajectory=jobs[0].fn(stages.TRAJECTORY), period=20)
    for job in jobs:
        assert stages.run_stage(job, "sample", config, "cpu")
    return jobs


def test_job_with_cluster_moves_logs_them_and_resumes_bit_for_bit(tmp_path):
    (reference,) = run_job(tmp_path / "reference")
    (resumed,) = run_job(tmp_path / "resumed", interrupt=True)
    assert reference.id == resumed.id
    with np.load(reference.fn("final.npz")) as a, np.load(resumed.fn("final.npz")) as b:
        assert set(a.files) == set(b.files) and {"vmmc_settings", "vmmc_counts"} <= set(a.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
        counts = dict(zip(("translate_trials", "translate_accepted"), a["vmmc_counts"][:2]))
        # counted from the end of tuning: 13 moves after each of 240 sweeps, half translations
        assert 0 < counts["translate_accepted"] < counts["translate_trials"] < 240 * 13
    logs = [gsd.hoomd.read_log(job.fn(stages.TRAJECTORY)) for job in (reference, resumed)]
    with gsd.hoomd.open(reference.fn(stages.TRAJECTORY)) as traj:
        assert len(traj) == 11
    for key in ("vmmc_moves", "vmmc_translate_acceptance", "vmmc_mean_cluster_size", "bonds"):
        series = logs[0]["log/cubemc/" + key]
        assert series.shape == (11,) and np.array_equal(series, logs[1]["log/cubemc/" + key]), key
    assert np.all(np.diff(logs[0]["log/cubemc/vmmc_moves"]) == 20 * 13)
    # move sizes: tuned while tuning, fixed from then on
    sizes = {}
    for name in (stages.INITIAL, stages.TUNED, stages.EQUILIBRATED, stages.FINAL):
        with np.load(reference.fn(name)) as data:
            sizes[name] = data["vmmc_settings"][3:5].copy()
            assert data["vmmc_settings"][2] == 0.2  # moves per particle
            assert tuple(data["vmmc_settings"][7:9]) == (MAX_CLUSTER, 0.0)  # fixed cutoff, capped
    assert not np.array_equal(sizes[stages.INITIAL], sizes[stages.TUNED])
    assert np.array_equal(sizes[stages.TUNED], sizes[stages.FINAL])


def test_jobs_with_cluster_moves_sampled_as_one_batch_write_the_files_of_separate_runs(tmp_path):
    separate = run_job(tmp_path / "separate", replicas=2)
    together = run_job(tmp_path / "together", replicas=2, together=True)
    for a, b in zip(separate, together, strict=True):
        assert a.id == b.id and b.doc["final"] == a.doc["final"]
        with np.load(a.fn("final.npz")) as x, np.load(b.fn("final.npz")) as y:
            assert set(x.files) == set(y.files) and x["vmmc_counts"][0] > 0
            for key in x.files:
                assert np.array_equal(x[key], y[key]), key
        logs = [gsd.hoomd.read_log(job.fn(stages.TRAJECTORY)) for job in (a, b)]
        assert set(logs[0]) == set(logs[1])
        for key, series in logs[0].items():
            assert np.array_equal(series, logs[1][key]), key
        with gsd.hoomd.open(a.fn(stages.TRAJECTORY)) as ta, gsd.hoomd.open(b.fn(stages.TRAJECTORY)) as tb:
            assert len(ta) == len(tb) == 11
            for fa, fb in zip(ta, tb, strict=True):
                assert np.array_equal(fa.particles.position, fb.particles.position)
    # the replicas' chains differ
    with np.load(separate[0].fn("final.npz")) as x, np.load(separate[1].fn("final.npz")) as y:
        assert not np.array_equal(x["vmmc_counts"], y["vmmc_counts"])


def test_jobs_with_other_cluster_move_settings_are_sampled_one_by_one(tmp_path, capsys):
    points = [
        ("custom", fluid_point(replica=0, **{KEY: 0.2})),
        ("custom", fluid_point(replica=1, **{KEY: 0.3})),
    ]
    create_jobs(str(tmp_path), points, quiet=True)
    jobs = list(signac.get_project(str(tmp_path)))
    config = load_config(str(tmp_path))
    for job in jobs:
        for stage in ("create", "equilibrate"):
            assert stages.run_stage(job, stage, config, "cpu")
    capsys.readouterr()
    assert batched.sample_group(jobs, config, "cpu") is None  # 13 and 19 moves per action
    assert "not batched (the VMMC updaters of a batch must make as many moves" in capsys.readouterr().err
    assert stages.run_stage_group(jobs, "sample", config, "cpu")
    for job in jobs:
        with np.load(job.fn("final.npz")) as final:
            assert final["vmmc_counts"][0] > 0
