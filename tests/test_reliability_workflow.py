"""init.py, project.py and dashboard.py: no data loss, honest status, one line per mistake.

Each refusal is checked for its exit status, exactly one line on stderr without a traceback,
and the project's files unchanged (byte for byte).  Full and read-only disks are real mounts
(root only; skipped with the reason elsewhere).
"""

import os
import shutil
import socket

import numpy as np
import pytest
import signac
from conftest import TINY_GRID, clean_env, cli
from reliability_support import (
    assert_one_error_line,
    fill,
    interrupt_project_run,
    read_only,
    snapshot,
    tmpfs,
)

from cubemc import files


def refused(script, *args, cwd, watch, fragments=(), env=None, status=2, prefix=None):
    """Run `script`, assert one error line and that nothing below `watch` changed."""
    before = snapshot(watch) if os.path.exists(watch) else None
    proc = cli(script, *args, cwd=cwd, env=env, check=False)
    line = assert_one_error_line(proc, *fragments, status=status, prefix=prefix)
    assert (snapshot(watch) if os.path.exists(watch) else None) == before
    return line


def init_tiny(path, *grid):
    cli("init.py", "--project-dir", path, *TINY_GRID, *(grid or ("--beta-epsilon", "-1")), cwd=path.parent)
    return path


@pytest.fixture(scope="module")
def equilibrated(tmp_path_factory):
    """A one-job project after create_initial_state and equilibrate."""
    path = init_tiny(tmp_path_factory.mktemp("equilibrated") / "project")
    cli("project.py", "run", "-o", "create_initial_state|equilibrate", cwd=path)
    return path


@pytest.fixture
def interrupted(equilibrated, tmp_path):
    """A private copy of `equilibrated` whose production stage was interrupted at sweep 340 (of
    140..540): trajectory.gsd and sample.restart.npz as the stage leaves them."""
    import cubemc

    path = tmp_path / "project"
    shutil.copytree(equilibrated, path)
    (job,) = signac.get_project(path)
    sim = cubemc.Simulation.from_checkpoint(job.fn("equilibrated.npz"), device="cpu")
    sim.run(200, trajectory=job.fn("trajectory.gsd"), period=20)
    sim.save_checkpoint(job.fn("sample.restart.npz"))
    return path, job


# --- 3. a stage never resumes on a missing, short or foreign trajectory -------------------------


def _keep_frames(path, count):
    import gsd.hoomd

    with gsd.hoomd.open(path, "r") as src:
        frames = [src[k] for k in range(count)]
    os.remove(path)
    with gsd.hoomd.open(path, "w") as dst:
        for frame in frames:
            dst.append(frame)


@pytest.mark.parametrize(
    "damage, fragments",
    [
        ("missing", ("trajectory.gsd is missing, but the checkpoint at sweep 340 needs its 10 frame",)),
        ("short", ("trajectory.gsd is shorter than its checkpoint says: it lacks 6 of the 10 frames",)),
        ("foreign", ("trajectory.gsd belongs to another run",)),
    ],
)
def test_sample_refuses_to_resume_on_a_bad_trajectory(interrupted, damage, fragments):
    path, job = interrupted
    if damage == "missing":
        os.remove(job.fn("trajectory.gsd"))
    elif damage == "short":
        _keep_frames(job.fn("trajectory.gsd"), 4)
    else:
        shutil.copy(job.fn("equilibration.gsd"), job.fn("trajectory.gsd"))
        os.remove(job.fn("sample.restart.npz"))  # a fresh stage start must refuse it too
        fragments = ("trajectory.gsd has frames from sweep 40, before sweep 140",)
    refused(
        "project.py",
        "run",
        "-o",
        "sample",
        cwd=path,
        watch=path,
        fragments=(
            *fragments,
            "delete sample.restart.npz and trajectory.gsd",
            "redoes the stage from equilibrated.npz",
        ),
        prefix=f"cubemc: sample ({job.id[:8]}): error: ",
    )


def test_damaged_checkpoint_says_how_to_recover(interrupted):
    path, job = interrupted
    data = open(job.fn("sample.restart.npz"), "rb").read()
    with open(job.fn("sample.restart.npz"), "wb") as handle:
        handle.write(data[: len(data) // 2])
    refused(
        "project.py",
        "run",
        "-o",
        "sample",
        cwd=path,
        watch=path,
        fragments=(
            "sample.restart.npz is damaged",
            "delete it: `python project.py run` redoes the production run from equilibrated.npz",
        ),
    )
    os.remove(job.fn("sample.restart.npz"))  # the recovery the message names
    os.remove(job.fn("trajectory.gsd"))
    cli("project.py", "run", "-o", "sample", cwd=path)
    assert job.isfile("final.npz")


def test_resumed_stage_continues_when_everything_fits(interrupted):
    path, job = interrupted
    cli("project.py", "run", "-o", "sample", cwd=path)
    run = files.read_checkpoint_identity(job.fn("final.npz"))
    assert files.check_trajectory_complete(job.fn("trajectory.gsd"), run, period=20, first=140) == 21


# --- 7. status never lies ---------------------------------------------------------------------


def status_rows(path, env=None):
    out = cli("project.py", "status", "-d", cwd=path, env=env).stdout
    return {line.split()[0]: line for line in out.splitlines() if line.split() and len(line.split()[0]) == 32}


@pytest.fixture
def finished(finished_project, tmp_path):
    path = tmp_path / "project"
    shutil.copytree(finished_project[0], path)
    return path, sorted(signac.get_project(path), key=lambda job: job.id)


def test_damaged_final_files_are_not_labelled_analysed(finished):
    path, (first, second) = finished
    with open(first.fn("final.npz"), "r+b") as handle:
        handle.truncate(3000)
    with open(second.fn("analysis.json"), "r+b") as handle:
        handle.truncate(100)
    rows = status_rows(path)
    assert "damaged (final.npz)" in rows[first.id] and "analysed" not in rows[first.id]
    assert "damaged (analysis.json)" in rows[second.id] and "analysed" not in rows[second.id]
    before = snapshot(first.path)
    proc = cli("project.py", "run", "-o", "analyse", "-j", first.id, cwd=path, check=False)
    assert_one_error_line(
        proc,
        "final.npz is damaged",
        "delete it: `python project.py run` redoes the production run",
        prefix=f"cubemc: analyse ({first.id[:8]})",
    )
    assert snapshot(first.path) == before
    # the second job's analysis is simply redone
    cli("project.py", "run", "-o", "analyse", "-j", second.id, cwd=path)
    assert "analysed" in status_rows(path)[second.id]


def test_damaged_job_document(finished):
    path, (job, _) = finished
    with open(job.fn("signac_job_document.json"), "w") as handle:
        handle.write('{"seed": 12')
    assert "damaged (signac_job_document.json)" in status_rows(path)[job.id]
    refused(
        "project.py",
        "run",
        "-j",
        job.id,
        cwd=path,
        watch=path,
        fragments=(
            "signac_job_document.json (job document) is damaged",
            "restore it from a backup, or move it aside",
        ),
    )


def test_damaged_state_point(finished):
    path, (job, _) = finished
    with open(job.fn("signac_statepoint.json"), "w") as handle:
        handle.write("{")
    for name in os.listdir(path / ".signac"):
        if "cache" in name:
            os.remove(path / ".signac" / name)
    refused(
        "project.py",
        "status",
        cwd=path,
        watch=path,
        prefix="project.py: error: ",
        fragments=(
            f"signac_statepoint.json (state point of job {job.id}) is damaged",
            "re-run the init.py command that created the job",
        ),
    )


def test_incomplete_trajectory_is_not_analysed(finished):
    path, (job, _) = finished
    _keep_frames(job.fn("trajectory.gsd"), 8)
    os.remove(job.fn("analysis.json"))
    refused(
        "project.py",
        "run",
        "-o",
        "analyse",
        "-j",
        job.id,
        cwd=path,
        watch=path,
        fragments=("trajectory.gsd is incomplete: 8 frames instead of the 21",),
    )


# --- 4. disks, environment, scheduler, Ctrl-C ---------------------------------------------------


def test_read_only_job_directory(tmp_path):
    path = init_tiny(tmp_path / "project")
    (job,) = signac.get_project(path)
    with read_only(job.path):
        refused(
            "project.py",
            "run",
            "-o",
            "create_initial_state",
            cwd=path,
            watch=path,
            fragments=("(job directory) is on a read-only file system",),
        )


def test_full_disk_stops_before_a_stage(tmp_path):
    with tmpfs(tmp_path / "disk", "size=512k"):
        path = init_tiny(tmp_path / "disk" / "project", "--n-lattice", "6")
        fill(tmp_path / "disk", leave=8 * 1024)
        refused(
            "project.py",
            "run",
            "-o",
            "create_initial_state",
            cwd=path,
            watch=path,
            fragments=("of free disk space, less than the", "free some space"),
        )


@pytest.mark.parametrize(
    "variable, value, fragment",
    [
        ("CUBEMC_CPUS_PER_JOB", "many", "CUBEMC_CPUS_PER_JOB='many' is not an integer"),
        ("CUBEMC_MAX_WALLTIME_HOURS", "-2", "CUBEMC_MAX_WALLTIME_HOURS='-2' must be a positive number"),
        ("CUBEMC_SLURM_GPU_PARTITIONS", "gpu:x", "CUBEMC_SLURM_GPU_PARTITIONS: bad entry 'gpu:x'"),
        ("CUBEMC_MEMORY_LIMIT", "lots", "CUBEMC_MEMORY_LIMIT='lots' is not a size"),
        ("CUBEMC_DEVICE", "tpu", "must be one of cpu, gpu, auto"),
    ],
)
def test_bad_settings_are_one_line(equilibrated, variable, value, fragment):
    refused(
        "project.py",
        "status",
        cwd=equilibrated,
        watch=equilibrated,
        prefix="project.py: error: ",
        env=clean_env(**{variable: value}),
        fragments=(fragment,),
    )


def test_project_commands_one_line(tmp_path, equilibrated):
    refused(
        "project.py",
        "status",
        cwd=tmp_path,
        watch=tmp_path,
        prefix="project.py: error: ",
        fragments=("no signac project in", "python init.py vacancy --quick"),
    )
    refused(
        "project.py",
        "statu",
        cwd=equilibrated,
        watch=equilibrated,
        fragments=("invalid choice: 'statu'",),
        prefix="project.py: error: ",
    )


def fake_slurm(tmp_path):
    """SLURM client tools without a controller: sbatch answers --version, squeue fails."""
    bin_dir = tmp_path / "slurm-bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text("#!/bin/sh\necho 'slurm 23.02.0'\n")
    (bin_dir / "squeue").write_text(
        "#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact "
        "slurm controller (connect failure)' >&2\nexit 1\n"
    )
    for name in ("sbatch", "squeue"):
        (bin_dir / name).chmod(0o755)
    env = clean_env(PATH=f"{bin_dir}:{os.environ['PATH']}")
    del env["SIGNAC_FLOW_ENVIRONMENT"]
    return env


def test_squeue_without_a_controller(equilibrated, tmp_path):
    env = fake_slurm(tmp_path)
    status = cli("project.py", "status", "-d", cwd=equilibrated, env=env)
    warnings = [line for line in status.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "project.py: warning: squeue failed (slurm_load_jobs error: Unable to "
        "contact slurm controller (connect failure)); showing the status without "
        "the SLURM queue (SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment skips SLURM)"
    ]
    assert "Traceback" not in status.stderr and "sampling 0%" in status.stdout
    refused(
        "project.py",
        "submit",
        cwd=equilibrated,
        watch=equilibrated,
        env=env,
        prefix="project.py: error: ",
        fragments=(
            "submit needs the SLURM queue, but squeue failed",
            "SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment python project.py run",
        ),
    )
    explicit = dict(env, SIGNAC_FLOW_ENVIRONMENT="CubemcSlurmEnvironment")
    refused(
        "project.py",
        "status",
        cwd=equilibrated,
        watch=equilibrated,
        env=explicit,
        prefix="project.py: error: ",
        fragments=("SIGNAC_FLOW_ENVIRONMENT=CubemcSlurmEnvironment",),
    )


def test_ctrl_c_in_a_stage(tmp_path):
    path = init_tiny(
        tmp_path / "project",
        "--beta-epsilon",
        "-1",
        "--production-sweeps",
        "400000",
        "--sample-period",
        "2000",
    )
    (job,) = signac.get_project(path)
    cli("project.py", "run", "-o", "create_initial_state|equilibrate", cwd=path)
    proc, err = interrupt_project_run(path, ("run", "-o", "sample"), lambda: job.isfile("sample.restart.npz"))
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"cubemc: sample ({job.id[:8]}): interrupted; `python project.py run` continues from the "
        "last checkpoint"
    )
    files.read_checkpoint_identity(job.fn("sample.restart.npz"))


# --- 6. size limits and init.py -------------------------------------------------------------------


def test_init_rejects_state_points_larger_than_memory(tmp_path):
    # the case of the issue: the vacancy study at 100000**3 sites
    refused(
        "init.py",
        "vacancy",
        "--project-dir",
        tmp_path / "p",
        "--n-lattice",
        "100000",
        cwd=tmp_path,
        watch=tmp_path,
        prefix="init.py: error: ",
        fragments=(
            "nothing written",
            "state point(s) need more memory than",
            "--memory-limit / CUBEMC_MEMORY_LIMIT",
        ),
    )
    assert not (tmp_path / "p").exists()
    refused(
        "init.py",
        "--project-dir",
        tmp_path / "p",
        *TINY_GRID,
        "--beta-epsilon",
        "-1",
        cwd=tmp_path,
        watch=tmp_path,
        env=clean_env(CUBEMC_MEMORY_LIMIT="100M"),
        fragments=("need more memory than 100.0 MiB (CUBEMC_MEMORY_LIMIT)",),
    )
    refused(
        "init.py",
        "--project-dir",
        tmp_path / "p",
        *TINY_GRID,
        "--beta-epsilon",
        "-1",
        "--memory-limit",
        "1 ton",
        cwd=tmp_path,
        watch=tmp_path,
        fragments=("memory limit='1 ton' is not a size",),
    )
    cli(
        "init.py",
        "--project-dir",
        tmp_path / "p",
        *TINY_GRID,
        "--beta-epsilon",
        "-1",
        "--memory-limit",
        "2G",
        cwd=tmp_path,
    )


def test_init_on_unusable_folders(tmp_path, equilibrated):
    refused(
        "init.py",
        "--project-dir",
        tmp_path / "no" / "p",
        *TINY_GRID,
        "--beta-epsilon",
        "-1",
        cwd=tmp_path,
        watch=tmp_path,
        fragments=("(parent of --project-dir) does not exist",),
    )
    copy = tmp_path / "ro"
    shutil.copytree(equilibrated, copy)
    with read_only(copy):
        refused(
            "init.py",
            "--project-dir",
            copy,
            *TINY_GRID,
            "--beta-epsilon",
            "-2",
            cwd=tmp_path,
            watch=copy,
            fragments=("(project directory) is on a read-only",),
        )
    with tmpfs(tmp_path / "disk", "size=64k"):
        fill(tmp_path / "disk", leave=4096)
        refused(
            "init.py",
            "--project-dir",
            tmp_path / "disk" / "p",
            "vacancy",
            cwd=tmp_path,
            watch=tmp_path / "disk",
            fragments=("free disk space, less than",),
        )


def test_init_on_damaged_project_files(tmp_path, equilibrated):
    path = tmp_path / "project"
    shutil.copytree(equilibrated, path)
    (job,) = signac.get_project(path)
    grid = ["--project-dir", path, *TINY_GRID, "--beta-epsilon", "-1"]
    # a damaged state point: re-running the init.py command writes it again
    with open(job.fn("signac_statepoint.json"), "w") as handle:
        handle.write("{")
    proc = cli("init.py", *grid, "-q", cwd=tmp_path)
    assert "wrote the damaged state point file" in proc.stderr
    assert signac.get_project(path).open_job(id=job.id).statepoint()["beta_epsilon"] == -1.0
    with open(job.fn("signac_job_document.json"), "w") as handle:
        handle.write("[")
    refused(
        "init.py",
        *grid,
        cwd=tmp_path,
        watch=path,
        fragments=("signac_job_document.json (job document) is damaged",),
    )
    (path / ".signac" / "config").write_text("garbage\n")
    refused(
        "init.py",
        *grid,
        cwd=tmp_path,
        watch=path,
        fragments=(".signac/config is damaged", "schema_version = 2"),
    )


# --- dashboard.py -------------------------------------------------------------------------------


def test_dashboard_one_line_errors(tmp_path, equilibrated):
    refused(
        "dashboard.py",
        "run",
        cwd=tmp_path,
        watch=tmp_path,
        prefix="dashboard.py: error: ",
        fragments=("no signac project in",),
    )
    refused(
        "dashboard.py", "serve", cwd=equilibrated, watch=equilibrated, fragments=("invalid choice: 'serve'",)
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(
            "dashboard.py",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            cwd=equilibrated,
            watch=equilibrated,
            fragments=(f"cannot listen on 127.0.0.1:{port}", "choose another --port"),
        )


def test_memory_directive_follows_the_estimate(equilibrated):
    from cubemc.workflow import flowproject

    (job,) = signac.get_project(equilibrated)
    assert flowproject.memory_cpu(job) == "2g" and flowproject.memory_gpu(job) == "4g"
    need = files.estimate_memory_bytes(job.sp.N, job.sp.packing_fraction, systems=40000)
    assert flowproject.memory_gpu(*[job] * 40000) == f"{int(np.ceil(need / 2**30))}g"
