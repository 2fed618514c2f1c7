"""Cluster submission: rendered SLURM scripts (GPU directives) and a real single-node SLURM."""

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import signac
from conftest import REPO, clean_env, cli

pytestmark = pytest.mark.slow

ENV_CLASS = "CubemcSlurmEnvironment"


def pretend_env(tmp_path, **extra):
    """signac-flow calls squeue even for --pretend; a stand-in that lists no jobs keeps the
    rendering test independent of whether a SLURM controller runs on this machine."""
    fake = tmp_path / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "squeue").write_text("#!/bin/sh\nexit 0\n")
    (fake / "squeue").chmod(0o755)
    return clean_env(SIGNAC_FLOW_ENVIRONMENT=ENV_CLASS, PATH=f"{fake}:{os.environ['PATH']}", **extra)


def scripts_of(output):
    return ["#!/bin/bash" + part for part in output.split("#!/bin/bash")[1:]]


def test_submit_pretend_renders_gpu_directives(tiny_project, tmp_path):
    project_dir = tiny_project("gpu", "--beta-epsilon", "0", "-0.5", "-1")
    cli("project.py", "run", "-o", "create_initial_state", cwd=project_dir)
    ids = sorted(job.id for job in signac.get_project(project_dir))

    gpu = pretend_env(tmp_path, CUBEMC_DEVICE="gpu")
    out = cli(
        "project.py", "submit", "--pretend", "-o", ".*_gpu", "--partition", "gpu", cwd=project_dir, env=gpu
    ).stdout
    scripts = scripts_of(out)
    assert len(scripts) == 3
    for script in scripts:
        lines = script.splitlines()
        for expected in (
            "#SBATCH --gres=gpu:1",
            "#SBATCH --partition=gpu",
            "#SBATCH --ntasks=1",
            "#SBATCH --mem=4G",
            "export NUMBA_NUM_THREADS=1",
        ):
            assert expected in lines, (expected, script)
        assert re.search(r"^#SBATCH -t \d\d:\d\d:\d\d$", script, re.MULTILINE)
        assert re.search(r"^export CUBEMC_DEADLINE=\$\(\( \$\(date \+%s\) \+ \d+ \)\)$", script, re.MULTILINE)
        assert re.search(r"project\.py run -o equilibrate_gpu -j [0-9a-f]{32}$", script, re.MULTILINE)
        assert f"cd {project_dir}" in lines
    assert re.search(r"-o equilibrate -j", out) is None  # the CPU variant is not offered in GPU mode

    # GPU operations may not go to a CPU-only partition
    refused = cli(
        "project.py",
        "submit",
        "--pretend",
        "-o",
        ".*_gpu",
        "--partition",
        "cpu",
        cwd=project_dir,
        env=gpu,
        check=False,
    )
    assert refused.returncode != 0 and "Cannot request GPU's on nonGPU partition, cpu" in refused.stderr

    # --bundle runs several jobs one after another on one GPU
    bundled = scripts_of(
        cli(
            "project.py",
            "submit",
            "--pretend",
            "-o",
            ".*_gpu",
            "--partition",
            "gpu",
            "--bundle",
            "3",
            cwd=project_dir,
            env=gpu,
        ).stdout
    )
    assert len(bundled) == 1
    assert bundled[0].count("#SBATCH --gres=gpu:1") == 1
    assert len(re.findall(r"run -o equilibrate_gpu -j", bundled[0])) == 3

    # gpu_group_size: one operation works through a group of jobs on one GPU
    grouped = scripts_of(
        cli(
            "project.py",
            "submit",
            "--pretend",
            "-o",
            ".*_gpu",
            "--partition",
            "gpu",
            cwd=project_dir,
            env=pretend_env(tmp_path, CUBEMC_DEVICE="gpu", CUBEMC_GPU_GROUP_SIZE=2),
        ).stdout
    )
    assert len(grouped) == 2
    assert all("#SBATCH --gres=gpu:1" in s for s in grouped)
    commands = [line for s in grouped for line in s.splitlines() if "run -o equilibrate_gpu" in line]
    assert len(commands) == 2 and any("agg-" in c for c in commands)

    # CPU mode: no GPU operation is eligible, CPU scripts carry no --gres
    cpu = pretend_env(tmp_path, CUBEMC_DEVICE="cpu")
    out = cli("project.py", "submit", "--pretend", "--partition", "cpu", cwd=project_dir, env=cpu).stdout
    scripts = scripts_of(out)
    assert len(scripts) == 3 and "gres" not in out and "_gpu" not in out
    assert sorted(re.findall(r"run -o equilibrate -j ([0-9a-f]{32})", out)) == ids
    assert all("#SBATCH --partition=cpu" in s for s in scripts)


# --- a real SLURM on this machine -----------------------------------------------------------


def _daemons_running():
    for pidfile in ("/run/slurmctld.pid", "/run/slurmd.pid"):
        try:
            with open(pidfile) as handle:
                os.kill(int(handle.read().strip()), 0)
        except (OSError, ValueError):
            return False
    return True


@pytest.fixture(scope="module")
def local_slurm():
    """Install (if needed) and start the single-node SLURM of scripts/; skip only if impossible.

    Daemons this fixture started are stopped again afterwards.
    """
    have = all(shutil.which(x) for x in ("slurmctld", "slurmd", "sbatch", "squeue", "munged"))
    if not have:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip("SLURM is not installed and cannot be installed here (needs root and apt-get)")
        proc = subprocess.run(
            [str(REPO / "scripts" / "install-slurm.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if proc.returncode == 2:
            pytest.skip(f"cannot install SLURM: {proc.stderr.strip()}")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    was_running = _daemons_running()
    proc = subprocess.run(
        [str(REPO / "scripts" / "start-slurm.sh")], capture_output=True, text=True, timeout=180, check=False
    )
    if proc.returncode == 2:
        pytest.skip(f"cannot start a local SLURM: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    yield
    if not was_running:
        subprocess.run(
            [str(REPO / "scripts" / "stop-slurm.sh")], capture_output=True, timeout=60, check=False
        )


def submitted_names(output):
    """Cluster-job names that ``project.py submit`` reports."""
    return set(re.findall(r"Submitting cluster job '([^']+)'", output))


def _squeue():
    """(SLURM job id, name, state) of every job SLURM lists (completing ones included)."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%j|%T"], capture_output=True, text=True, check=True
    ).stdout
    return [tuple(line.split("|")) for line in out.splitlines()]


def in_queue(names):
    """Those of ``names`` that SLURM still lists (pending, running or completing)."""
    return ["|".join(row) for row in _squeue() if row[1] in names]


def waiting_or_running(names):
    """SLURM job id -> name of those of ``names`` that are pending or running.  A completing
    job (CG) is over for signac-flow, which may then submit its job's next operation."""
    return {row[0]: row[1] for row in _squeue() if row[1] in names and row[2] in ("PENDING", "RUNNING")}


def test_submit_to_a_real_slurm_until_done(local_slurm, tiny_project, tmp_path):
    project_dir = tiny_project("slurm", "--beta-epsilon", "0", "-1")
    project = signac.get_project(project_dir)
    ids = [job.id for job in project]
    env = clean_env(SIGNAC_FLOW_ENVIRONMENT=ENV_CLASS)
    logs = tmp_path / "logs"
    logs.mkdir()
    seen_states = set()
    deadline = time.time() + 900
    ours = set()  # every cluster-job name this test submitted
    try:
        for _ in range(10):  # create, equilibrate, sample, analyse, report: one round each
            if (project_dir / "report" / "manifest.json").exists():
                break
            # submitted held (sbatch --hold), so they are surely still queued at the second submit
            sub = cli(
                "project.py",
                "submit",
                "--job-output",
                f"{logs}/%j.out",
                "--",
                "--hold",
                cwd=project_dir,
                env=env,
            )
            names = submitted_names(sub.stdout + sub.stderr)
            ours |= names
            assert names, sub.stdout + sub.stderr
            held = waiting_or_running(names)
            assert set(held.values()) == names, _squeue()
            # while queued, flow knows the submission and does not submit it twice
            status = cli("project.py", "status", cwd=project_dir, env=env).stdout
            seen_states |= set(re.findall(r"\[(Q|A|S|GQ|GA)\]: \d", status))
            again = cli("project.py", "submit", "--job-output", f"{logs}/%j.out", cwd=project_dir, env=env)
            assert not submitted_names(again.stdout + again.stderr), (again.stdout + again.stderr, _squeue())
            subprocess.run(["scontrol", "release", ",".join(held)], check=True, capture_output=True)
            while in_queue(names):
                assert time.time() < deadline, "SLURM jobs did not finish in time:\n" + "\n".join(
                    in_queue(names)
                )
                time.sleep(1)
        else:
            raise AssertionError("the report was not written after 10 submission rounds")
    finally:  # a failure between the held submit and the release must not leave jobs queued
        stale = waiting_or_running(ours) if ours else {}
        if stale:
            subprocess.run(["scancel", *stale], check=False, capture_output=True)

    assert seen_states, "status never showed a queued/active submission"
    out = cli("project.py", "status", "-d", cwd=project_dir, env=env).stdout
    for jid in ids:
        assert re.search(rf"^{jid}\s.*analysed", out, re.MULTILINE), out
    manifest = json.loads((project_dir / "report" / "manifest.json").read_text())
    assert sorted(manifest["jobs"]) == sorted(ids)
    for job in project:
        assert job.isfile("final.npz") and job.isfile("snapshot.png")
        segment = job.doc["stages"]["sample"]["segments"][-1]
        assert segment.get("slurm_job_id"), segment  # the work really ran inside SLURM
    text = "\n".join(p.read_text() for p in logs.glob("*.out"))
    assert "sample: sweep 400/400 (100.0%)" in text and "report: 2 job(s)" in text
    assert "Traceback" not in text and "project.py: " not in text, text  # no operation failed
