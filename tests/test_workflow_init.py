"""Data space: studies, state points, validation before writing, idempotent init, config, locks."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import signac
from conftest import REPO, TINY_GRID, clean_env, cli

from cubemc.workflow import ConfigError, EngineSelectionError, JobBusyError, StatePointError, studies
from cubemc.workflow.config import load_config
from cubemc.workflow.engine import get_engine
from cubemc.workflow.locking import LOCK_FILENAME, PathLock, is_locked
from cubemc.workflow.studies import (
    COMMON_KEYS,
    CRYSTAL_KEYS,
    get_study,
    make_statepoint,
    validate_grid,
)


def tree(path):
    """Every file below path with its content hash (to prove nothing was written)."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                out[os.path.relpath(full, path)] = hash(handle.read())
    return out


# --- studies --------------------------------------------------------------------------------


def test_vacancy_study_matches_the_paper_setup():
    points = get_study("vacancy").statepoints()
    assert len(points) == 8 * 3
    assert {p["beta_epsilon"] for p in points} == {0.0, -0.25, -0.5, -0.75, -1.0, -1.5, -2.0, -3.0}
    for p in points:
        assert set(p) == set(COMMON_KEYS) | set(CRYSTAL_KEYS)
        assert "lambda" not in p
        assert p["packing_fraction"] == 0.8 and p["well_range"] == 1.14
        assert p["n_lattice"] == 10 and p["vacancies"] == 1 and p["N"] == 999
        assert p["initial_state"] == "crystal_vacancy"
    assert sorted({p["replica"] for p in points}) == [0, 1, 2]
    assert validate_grid(points) == []


def test_quick_and_nucleation_studies_are_valid():
    quick = get_study("vacancy", quick=True).statepoints()
    assert len(quick) == 12 and {p["N"] for p in quick} == {10**3 - 1}
    assert max(p["production_sweeps"] for p in quick) < get_study("vacancy").production_sweeps
    nucleation = get_study("nucleation").statepoints()
    assert {p["initial_state"] for p in nucleation} == {"fluid"}
    assert {p["packing_fraction"] for p in nucleation} == {0.3, 0.4, 0.45, 0.5}
    # the slow branches (docs/validation.md): phi 0.3 at beta*eps -5 for 10^6 sweeps (1000 cubes)
    # and at -4.75 for 3 x 10^6 (2000 cubes: the cuboidal SPs), two replicas each
    slow = [p for p in nucleation if p["packing_fraction"] == 0.3]
    assert sorted((p["beta_epsilon"], p["N"], p["production_sweeps"]) for p in slow) == [
        (-5.0, 1000, 1000000),
        (-5.0, 1000, 1000000),
        (-4.75, 2000, 3000000),
        (-4.75, 2000, 3000000),
    ]
    assert len(nucleation) == 28 and {p["N"] for p in nucleation if p["packing_fraction"] > 0.3} == {1000}
    assert all(p["beta_epsilon"] <= -1.5 for p in nucleation)
    validate_grid(quick + nucleation)


def test_equal_values_give_equal_statepoints():
    base = {
        "initial_state": "crystal_vacancy",
        "packing_fraction": 0.8,
        "well_range": 1.14,
        "n_lattice": 4,
        "tune_sweeps": 1,
        "equilibration_sweeps": 1,
        "production_sweeps": 10,
        "sample_period": 5,
    }
    a = make_statepoint(beta_epsilon=-0.0, **base)
    b = make_statepoint(beta_epsilon=0, **base)
    c = make_statepoint(beta_epsilon=0.1 + 0.2 - 0.3, **base)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) == json.dumps(c, sort_keys=True)
    assert isinstance(a["beta_epsilon"], float) and math.copysign(1, a["beta_epsilon"]) == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"beta_epsilon": float("nan")}, "beta_epsilon=nan is not a finite number"),
        ({"beta_epsilon": float("inf")}, "beta_epsilon=inf is not a finite number"),
        ({"packing_fraction": 1.2}, "packing_fraction=1.2 is outside (0, 1)"),
        ({"packing_fraction": 0.0}, "packing_fraction=0.0 is outside (0, 1)"),
        ({"n_lattice": 2}, "does not fit"),
        ({"vacancies": 64}, "leaves fewer than 2"),
        ({"production_sweeps": 0}, "production_sweeps=0 must be a positive integer"),
        ({"sample_period": 1000}, "longer than production_sweeps"),
        ({"lambda": 1.2}, "use well_range, not lambda"),
    ],
)
def test_bad_statepoints_are_rejected(change, message):
    sp = make_statepoint(
        initial_state="crystal_vacancy",
        beta_epsilon=-1,
        packing_fraction=0.8,
        well_range=1.14,
        n_lattice=4,
        tune_sweeps=10,
        equilibration_sweeps=10,
        production_sweeps=100,
        sample_period=10,
    )
    sp.update(change)
    if "n_lattice" in change or "vacancies" in change:
        sp["N"] = sp["n_lattice"] ** 3 - sp["vacancies"]
    with pytest.raises(StatePointError, match="nothing written") as info:
        validate_grid([sp])
    assert message in str(info.value)


def test_repulsive_shoulder_allowed_and_short_well_warns():
    sp = make_statepoint(
        initial_state="fluid",
        beta_epsilon=0.5,
        packing_fraction=0.3,
        well_range=0.95,
        N=200,
        tune_sweeps=0,
        equilibration_sweeps=0,
        production_sweeps=10,
        sample_period=5,
    )
    warnings = validate_grid([sp])
    assert len(warnings) == 1 and "well_range=0.95" in warnings[0]


# --- init.py --------------------------------------------------------------------------------


def test_init_is_idempotent_and_records_studies(tmp_path):
    project_dir = tmp_path / "p"
    first = cli("init.py", "vacancy", "--quick", "--project-dir", project_dir, cwd=tmp_path)
    assert "12 new job(s), 0 already present" in first.stdout
    project = signac.get_project(project_dir)
    ids = sorted(job.id for job in project)
    before = tree(project_dir)
    second = cli("init.py", "vacancy", "--quick", "--project-dir", project_dir, cwd=tmp_path)
    assert "0 new job(s), 12 already present" in second.stdout
    assert tree(project_dir) == before
    project = signac.get_project(project_dir)
    assert sorted(job.id for job in project) == ids
    for job in project:
        assert job.doc["studies"] == ["vacancy-quick"]
        assert "engine" not in job.sp and "device" not in job.sp and "seed" not in job.sp
    # a custom grid from the command line adds to the same project
    custom = cli(
        "init.py", "--project-dir", project_dir, *TINY_GRID, "--beta-epsilon", "-0.5", "-1", cwd=tmp_path
    )
    assert "2 new job(s)" in custom.stdout
    project = signac.get_project(project_dir)
    assert len(project) == 14
    assert {job.sp.beta_epsilon for job in project.find_jobs({"n_lattice": 4})} == {-0.5, -1.0}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--beta-epsilon", "-1", "nan"], "beta_epsilon=nan is not a finite number"),
        (
            ["--beta-epsilon", "-1", "--packing-fraction", "0.8", "1.5"],
            "packing_fraction=1.5 is outside (0, 1)",
        ),
        (["--beta-epsilon", "-1", "--n-lattice", "2"], "does not fit"),
        (["nosuchstudy"], "unknown study 'nosuchstudy'"),
        (["vacancy", "--n-particles", "100"], "--n-particles applies to fluid starts"),
        ([], "name a study"),
    ],
)
def test_init_rejects_bad_grids_without_writing(tmp_path, args, message):
    # an existing project must stay byte-for-byte unchanged ...
    project_dir = tmp_path / "p"
    cli("init.py", "--project-dir", project_dir, *TINY_GRID, "--beta-epsilon", "-1", cwd=tmp_path)
    before = tree(project_dir)
    proc = cli("init.py", "--project-dir", project_dir, *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("error:") == 1
    assert tree(project_dir) == before
    # ... and a new directory must not even be created
    fresh = tmp_path / "fresh"
    proc = cli("init.py", "--project-dir", fresh, *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2 and not fresh.exists()


# --- configuration and engine selection -----------------------------------------------------


def test_config_precedence_and_errors(tmp_path):
    assert load_config(str(tmp_path), environ={}).device == "cpu"
    (tmp_path / "cubemc-workflow.json").write_text('{"device": "gpu", "gpu_group_size": 3}')
    cfg = load_config(str(tmp_path), environ={})
    assert cfg.device == "gpu" and cfg.gpu_group_size == 3
    cfg = load_config(str(tmp_path), environ={"CUBEMC_DEVICE": "auto", "CUBEMC_DEADLINE": "123.5"})
    assert cfg.device == "auto" and cfg.deadline == 123.5
    with pytest.raises(ConfigError, match="must be one of cpu, gpu, auto"):
        load_config(str(tmp_path), environ={"CUBEMC_DEVICE": "tpu"})
    (tmp_path / "cubemc-workflow.json").write_text('{"devices": "gpu"}')
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(str(tmp_path), environ={})


def test_engine_selection():
    assert get_engine("native").name == "native"
    with pytest.raises(EngineSelectionError, match="unknown engine 'lammps'"):
        get_engine("lammps")
    try:
        import hoomd  # noqa: F401
    except ImportError:
        with pytest.raises(EngineSelectionError, match="needs HOOMD-blue, which is not importable"):
            get_engine("hoomd")
    else:
        pytest.skip("hoomd is installed; the missing-hoomd message cannot be checked here")


# --- locking --------------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
sys.path.insert(0, sys.argv[2])
from cubemc.workflow.locking import PathLock
lock = PathLock(sys.argv[1], "job test", "sample")
lock.acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_lock_refuses_second_process_and_survives_kill_9(tmp_path):
    path = str(tmp_path / LOCK_FILENAME)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path, str(REPO)], stdout=subprocess.PIPE, text=True, env=clean_env()
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(JobBusyError) as info:
            PathLock(path, "job test", "sample").acquire()
        text = str(info.value)
        assert f"pid {holder.pid}" in text and "running sample" in text and "refusing" in text

        class FakeJob:  # only what is_locked needs
            def fn(self, name):
                return str(tmp_path / name)

        assert is_locked(FakeJob())
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # the kernel drops the lock with the process: the next worker gets it at once
    deadline = time.time() + 10
    while True:
        try:
            with PathLock(path, "job test", "sample"):
                break
        except JobBusyError:
            assert time.time() < deadline
            time.sleep(0.1)


def test_scattering_frames_follow_the_studies_of_a_job():
    """The demo's analysis takes S(q) from one frame per run; every other study (and a custom
    grid, recorded under a name that is no study) keeps three, and a job in both gets three."""
    from cubemc.workflow import analysis_bridge

    assert analysis_bridge.scattering_frames(["vacancy-quick"]) == 1
    assert analysis_bridge.scattering_frames(["vacancy"]) == 3
    assert analysis_bridge.scattering_frames(["vacancy-quick", "vacancy"]) == 3
    assert analysis_bridge.scattering_frames(["custom"]) == 3
    assert analysis_bridge.scattering_frames([]) == 3
    sp = studies.get_study("vacancy", quick=True).statepoints()[0]
    assert analysis_bridge.trajectory_options(sp, scattering_frames=1)["scattering_frames"] == 1
