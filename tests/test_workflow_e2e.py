"""End to end: real signac projects, ``python project.py run``, kill -9 and resume, concurrency."""

import json
import os
import signal
import subprocess
import sys
import time

import gsd.hoomd
import numpy as np
import pytest
import signac
from conftest import REPO, clean_env, cli

pytestmark = pytest.mark.slow

STAGE_FILES = [
    "initial.npz",
    "initial.gsd",
    "tuned.npz",
    "equilibration.gsd",
    "equilibrated.npz",
    "trajectory.gsd",
    "final.npz",
    "analysis.json",
    "energy.png",
    "snapshot.png",
]


def read_doc(job_dir):
    """The job document as another process sees it (retrying a half-written file)."""
    path = os.path.join(job_dir, "signac_job_document.json")
    for _ in range(50):
        try:
            with open(path) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            time.sleep(0.02)
    return {}


def frames(path):
    with gsd.hoomd.open(path, "r") as traj:
        return [
            (
                int(f.configuration.step),
                f.particles.position.copy(),
                f.particles.orientation.copy(),
                {k: np.array(v) for k, v in f.log.items()},
            )
            for f in traj
        ]


def status_labels(project_dir, env=None):
    """{job id: labels text} from ``python project.py status -d``."""
    out = cli("project.py", "status", "-d", cwd=project_dir, env=env).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and len(parts[0]) == 32:
            rows[parts[0]] = line
    return rows, out


def test_full_workflow_on_a_tiny_sweep(finished_project):
    path, run = finished_project
    project = signac.get_project(path)
    assert len(project) == 2
    # non-interactive runs log one plain line per checkpoint
    assert "sample: sweep 400/400 (100.0%)" in run.stderr
    for job in project:
        sp = job.cached_statepoint
        for name in STAGE_FILES:
            assert job.isfile(name), name
        with np.load(job.fn("final.npz")) as final:
            total = sp["tune_sweeps"] + sp["equilibration_sweeps"] + sp["production_sweeps"]
            assert int(final["sweep"]) == total
            assert final["positions"].shape == (63, 3)
        steps = [step for step, *_ in frames(job.fn("trajectory.gsd"))]
        start = sp["tune_sweeps"] + sp["equilibration_sweeps"]
        assert steps == list(range(start, total + 1, sp["sample_period"]))
        doc = job.doc
        assert doc["engine"]["name"] == "native" and doc["device"] == "cpu"
        assert doc["seed"] == int(job.id[:8], 16)
        assert "numba" in doc["provenance"]["packages"]
        assert {"create", "tune", "equilibrate", "sample", "analyse"} <= set(doc["stages"])
        assert doc["stages"]["sample"]["segments"][-1]["sweeps"] == sp["production_sweeps"]
        assert "summary" in doc and doc["energy"]["frames"] == len(steps)
        assert not {"engine", "device", "seed", "host"} & set(sp)
        if sp["beta_epsilon"] == 0.0:
            assert doc["energy"]["mean"] == 0.0
        else:
            assert doc["energy"]["mean"] < -1.0  # the crystal keeps most of its 3 bonds per cube
    # report across jobs
    manifest = json.loads((path / "report" / "manifest.json").read_text())
    assert sorted(manifest["jobs"]) == sorted(job.id for job in project)
    assert (path / "report" / "overview_bonds.png").stat().st_size > 10000
    assert (path / "report" / "report.md").exists()
    # status: every job analysed, nothing left to do
    rows, out = status_labels(path)
    assert len(rows) == 2 and all("analysed" in line for line in rows.values())
    assert "[U]" not in out.split("Detailed View")[0]
    # a second run is a no-op
    mtimes = {p: p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file() and p.suffix != ".lock"}
    again = cli("project.py", "run", cwd=path)
    assert "sweep" not in again.stderr
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def _wait_for(proc, job_dir, stage, timeout=120):
    """Poll the job document until ``stage`` is in the middle; return its progress."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        progress = read_doc(job_dir).get("progress", {})
        if progress.get("stage") == stage and 0 < progress["done"] < progress["total"] // 2:
            return progress
        assert proc.poll() is None, f"runner ended before {stage} was interrupted: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"{stage} did not start within {timeout} s")


def _start_run(project_dir, env):
    return subprocess.Popen(
        [sys.executable, str(REPO / "project.py"), "run"],
        cwd=project_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_and_resume_gives_the_identical_result(tiny_project):
    # long enough (seconds) that the kills land between checkpoints, far from the stage ends
    grid = [
        "--beta-epsilon",
        "-1",
        "--equilibration-sweeps",
        "20000",
        "--production-sweeps",
        "40000",
        "--sample-period",
        "200",
    ]
    reference = tiny_project("reference", *grid)
    victim = tiny_project("victim", *grid)
    env = clean_env(CUBEMC_CHECKPOINTS=20)
    # the same state point gives the same job id (and seed) in both projects
    (ref_job,) = signac.get_project(reference)
    (job,) = signac.get_project(victim)
    assert ref_job.id == job.id

    cli("project.py", "run", "-o", "create_initial_state|equilibrate|sample", cwd=reference, env=env)

    killed = []
    for stage in ("equilibrate", "sample"):
        proc = _start_run(victim, env)
        try:
            killed.append(_wait_for(proc, job.path, stage))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        if stage == "sample":
            rows, _ = status_labels(victim, env)
            percent = int(rows[job.id].split("sampling")[1].split("%")[0])
            assert 0 < percent < 100
            assert "running" not in rows[job.id]  # the lock died with the process
    assert not job.isfile("final.npz")

    cli("project.py", "run", "-o", "create_initial_state|equilibrate|sample", cwd=victim, env=env)

    with np.load(ref_job.fn("final.npz")) as a, np.load(job.fn("final.npz")) as b:
        assert set(a.files) == set(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
        assert a["positions"].tobytes() == b["positions"].tobytes()
        assert a["orientations"].tobytes() == b["orientations"].tobytes()
    for name in ("equilibration.gsd", "trajectory.gsd"):
        fa, fb = frames(ref_job.fn(name)), frames(job.fn(name))
        assert [f[0] for f in fa] == [f[0] for f in fb], name  # same sweeps, no duplicates
        for (_, pa, qa, la), (_, pb, qb, lb) in zip(fa, fb):
            assert pa.tobytes() == pb.tobytes() and qa.tobytes() == qb.tobytes()
            assert la.keys() == lb.keys() and all(np.array_equal(la[k], lb[k], equal_nan=True) for k in la)
    doc = job.doc()
    for stage in ("equilibrate", "sample"):
        killed_segment, resumed = doc["stages"][stage]["segments"]
        assert (killed_segment["status"], resumed["status"]) == ("interrupted", "done")
        # the resumed process started where the killed one had checkpointed last
        assert killed_segment["to_sweep"] == resumed["from_sweep"] > killed_segment["from_sweep"]
    assert doc["stages"]["sample"]["segments"][1]["from_sweep"] > doc["production_start_sweep"]
    assert not job.isfile("sample.restart.npz") and not job.isfile("equilibration.restart.npz")


def test_second_runner_on_the_same_job_is_refused(tiny_project):
    project_dir = tiny_project(
        "busy", "--beta-epsilon", "-1", "--production-sweeps", "400000", "--sample-period", "2000"
    )
    (job,) = signac.get_project(project_dir)
    env = clean_env(CUBEMC_CHECKPOINTS=200)
    cli("project.py", "run", "-o", "create_initial_state|equilibrate", cwd=project_dir, env=env)
    # the first runner stops by itself at a checkpoint after about 45 s (walltime deadline): long
    # enough for its start-up and the two refused runners on a loaded machine (15 s was not)
    first_env = dict(env, CUBEMC_DEADLINE=str(time.time() + 45))
    first = subprocess.Popen(
        [sys.executable, str(REPO / "project.py"), "run", "-o", "sample"],
        cwd=project_dir,
        env=first_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(first, job.path, "sample")
        rows, _ = status_labels(project_dir, env)
        assert "running" in rows[job.id]
        for args in (["exec", "sample", job.id], ["run", "-o", "sample", "-j", job.id]):
            second = cli("project.py", *args, cwd=project_dir, env=env, check=False)
            assert second.returncode == 75, second.stderr
            message = [line for line in second.stderr.splitlines() if "refused" in line]
            assert len(message) == 1, second.stderr
            assert f"job {job.id} is already being worked on by pid {first.pid}" in message[0]
            assert "running sample" in message[0]
        assert first.poll() is None  # the first runner is unaffected
    except BaseException:
        first.kill()
        raise
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    segments = job.doc["stages"]["sample"]["segments"]
    assert len(segments) == 1  # the refused runners recorded nothing
    assert segments[0]["status"] in ("stopped", "done") and segments[0]["sweeps"] > 0
    rows, _ = status_labels(project_dir, env)
    assert "running" not in rows[job.id]


def test_group_runner_and_walltime_stop(tiny_project):
    """The code path of the bundled GPU operations (run on the CPU here), and the deadline stop."""
    from cubemc.workflow import stages
    from cubemc.workflow.config import load_config

    project_dir = tiny_project("group", "--beta-epsilon", "0", "-1")
    project = signac.get_project(project_dir)
    jobs = sorted(project, key=lambda j: j.id)
    cli("project.py", "run", "-o", "create_initial_state", cwd=project_dir)
    config = load_config(str(project_dir), environ={})
    assert stages.run_stage_group(jobs, "sample", config, "cpu") is False  # not equilibrated yet
    assert stages.run_stage_group(jobs, "equilibrate", config, "cpu") is True
    assert all(stages.is_equilibrated(job) for job in jobs)

    # a deadline that has passed: the stage stops at its checkpoint and says so
    env = clean_env(CUBEMC_DEADLINE=time.time() - 1)
    stopped = cli("project.py", "run", "-o", "sample", cwd=project_dir, env=env)
    assert "stopping at sweep 0/400 before the walltime" in stopped.stderr
    rows, _ = status_labels(project_dir)
    assert all("sampling 0%" in line for line in rows.values())
    assert jobs[0].doc["stages"]["sample"]["segments"][-1]["status"] == "stopped"
    cli("project.py", "run", "-o", "sample", cwd=project_dir)
    assert all(stages.is_sampled(job) for job in jobs)


def _gpu_usable():
    try:
        from cubemc.simulation import resolve_device

        return resolve_device("gpu") == "gpu"
    except Exception:  # noqa: BLE001 - any failure means no usable GPU
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu_usable(), reason="no usable CUDA GPU on this machine")
def test_gpu_operations_run_on_the_gpu(tiny_project):
    project_dir = tiny_project("gpu", "--beta-epsilon", "-1")
    env = clean_env(CUBEMC_DEVICE="gpu")
    cli("project.py", "run", cwd=project_dir, env=env)
    (job,) = signac.get_project(project_dir)
    assert job.isfile("analysis.json")
    assert job.doc["stages"]["sample"]["device"] == "gpu"
    assert job.doc["stages"]["equilibrate"]["device"] == "gpu"


def test_group_sampling_runs_as_one_batch_and_matches_single_runs(tiny_project):
    """GPU groups sample their jobs together (SimulationBatch; on the CPU here): the files are
    identical to those of sampling each job on its own."""
    from cubemc.workflow import stages
    from cubemc.workflow.config import load_config

    paths = [tiny_project(name, "--beta-epsilon", "0", "-1") for name in ("batched", "single")]
    for path in paths:
        cli("project.py", "run", "-o", "create_initial_state|equilibrate", cwd=path)
    jobs = sorted(signac.get_project(paths[0]), key=lambda j: j.id)
    assert stages.run_stage_group(jobs, "sample", load_config(str(paths[0]), environ={}), "cpu")
    assert all(j.doc["stages"]["sample"]["segments"][-1]["batch"] == 2 for j in jobs)
    cli("project.py", "run", "-o", "sample", cwd=paths[1])
    single = {j.id: j for j in signac.get_project(paths[1])}
    for job in jobs:
        other = single[job.id]  # same state point, same id, same seed
        with np.load(job.fn("final.npz")) as a, np.load(other.fn("final.npz")) as b:
            for key in ("positions", "orientations", "bonds", "sweep", "counts"):
                assert np.array_equal(a[key], b[key]), key
        with gsd.hoomd.open(job.fn("trajectory.gsd")) as ta, gsd.hoomd.open(other.fn("trajectory.gsd")) as tb:
            assert len(ta) == len(tb) > 2
            for fa, fb in zip(ta, tb):
                assert fa.configuration.step == fb.configuration.step
                assert np.array_equal(fa.particles.position, fb.particles.position)
