"""Shared fixtures: the workflow, SLURM and dashboard tests run the real command lines; small
engine systems run on one numba thread (`one_numba_thread`); under pytest-xdist each worker
gets its share of the cores (tests/test_bitexact.py checks that chains do not depend on it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _threads_per_worker():
    """numba threads for each of pytest-xdist's N workers on C cores: C // N, as `project.py run
    --parallel` gives its workers.  Two 2-thread workers on 2 cores made the B2 test take 15 min
    instead of 15 s: every parallel sweep waits at its barrier for a descheduled thread."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers)


# set before numba is imported (cubemc imports it below: numba reads it once, and a later
# compile that finds it changed after the threads started fails); subprocesses inherit it
if os.environ.get("PYTEST_XDIST_WORKER") and "NUMBA_NUM_THREADS" not in os.environ:
    os.environ["NUMBA_NUM_THREADS"] = str(_threads_per_worker())


import cubemc  # noqa: E402, F401  (before any test imports numba.cuda: see cubemc/__init__.py)

REPO = Path(__file__).resolve().parents[1]


#: a 4x4x4 lattice minus one cube, short runs: the whole workflow takes seconds per job
TINY_GRID = [
    "--n-lattice",
    "4",
    "--packing-fraction",
    "0.8",
    "--well-range",
    "1.14",
    "--replicas",
    "1",
    "--tune-sweeps",
    "40",
    "--equilibration-sweeps",
    "100",
    "--production-sweeps",
    "400",
    "--sample-period",
    "20",
]


def clean_env(**extra):
    """Environment for a workflow subprocess: no inherited CUBEMC_*/flow settings, repo importable.

    signac-flow picks its SLURM environment whenever squeue exists, and then fails while no
    controller answers; tests that are not about a scheduler use the standard environment.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CUBEMC_", "SIGNAC_FLOW_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(REPO)
    env["SIGNAC_FLOW_ENVIRONMENT"] = "StandardEnvironment"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli(script, *args, cwd, env=None, timeout=600, check=True):
    """Run ``python <repo>/<script> args`` in ``cwd``; returns the CompletedProcess."""
    proc = subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{script} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


@pytest.fixture
def one_numba_thread():
    """Small systems: one thread, so no sweep waits for a sleeping second thread on a shared
    machine (a 3-cube VMMC case took over 10 min with two threads on the 2-core VM, 52 s with
    one); the chains do not depend on the number of threads."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)


@pytest.fixture
def tiny_project(tmp_path):
    """Factory: ``tiny_project(name, '--beta-epsilon', '0', '-1')`` -> project dir with jobs."""

    def make(name="project", *grid):
        path = tmp_path / name
        cli(
            "init.py",
            "--project-dir",
            path,
            *TINY_GRID,
            *(grid or ("--beta-epsilon", "0", "-1")),
            cwd=tmp_path,
        )
        return path

    return make


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory):
    """A tiny two-job project after ``python project.py run`` (every operation done)."""
    path = tmp_path_factory.mktemp("finished") / "project"
    cli("init.py", "--project-dir", path, *TINY_GRID, "--beta-epsilon", "0", "-1", cwd=path.parent)
    run = cli("project.py", "run", cwd=path, timeout=900)
    return path, run
