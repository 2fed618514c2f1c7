"""signac-flow wiring: the FlowProject class, its operations, conditions, labels, directives.

Operation graph per job::

    create_initial_state -> equilibrate | equilibrate_gpu -> sample | sample_gpu -> analyse
    all jobs analysed -> report   (one aggregate of all jobs; writes <project>/report/)

The ``*_gpu`` variants are eligible only with ``CUBEMC_DEVICE=gpu`` (or ``"device": "gpu"`` in
``cubemc-workflow.json``), the CPU ones only otherwise, so ``run`` and ``submit`` never start
both. With ``gpu_group_size`` k > 1 each GPU submission runs k jobs one after another on one
GPU (``aggregator.groupsof``).
"""

from __future__ import annotations

import functools
import math
import os
import sys

from flow import FlowProject, IgnoreConditions, aggregator

from . import operations as ops
from . import (
    slurm,  # noqa: F401  (registers CubemcSlurmEnvironment with signac-flow)
)
from .config import check_environment, load_config
from .errors import ConfigError, WorkflowError
from .export import export
from .parallel import kernel_warmups, operation_cost, run_job_onwards, run_operations

CPU_CUBE_SWEEPS_PER_SECOND = 1.0e5  # conservative single-thread rate for walltime estimates
GPU_CUBE_SWEEPS_PER_SECOND = 2.0e6
MIN_WALLTIME_HOURS = 0.25


def _find_project_path(start=None):
    path = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(path, ".signac", "config")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _startup_group_size():
    try:
        return load_config(_find_project_path()).gpu_group_size
    except ConfigError:  # reported by main() with the project at hand
        return 1


GPU_GROUP_SIZE = _startup_group_size()


def _max_walltime():
    try:
        return float(os.environ.get("CUBEMC_MAX_WALLTIME_HOURS", "24"))
    except ValueError:
        return 24.0


def sweeps_left(job, sweep_keys) -> int:
    """Sweeps of `sweep_keys` the job still has to run: a production run resumed or lengthened
    (init.py --extend) counts from its last checkpoint (job.doc's progress)."""
    total = sum(job.cached_statepoint[key] for key in sweep_keys)
    progress = job.doc.get("progress") or {}
    if sweep_keys == ("production_sweeps",) and progress.get("stage") == "sample":
        total -= min(total, int(progress.get("done", 0)))
    return total


def _hours(jobs, sweep_keys, rate):
    work = sum(job.cached_statepoint["N"] * sweeps_left(job, sweep_keys) for job in jobs)
    hours = 0.05 * len(jobs) + 2.0 * work / rate / 3600.0
    return round(min(_max_walltime(), max(MIN_WALLTIME_HOURS, hours)), 2)


def walltime_equilibrate(*jobs):
    return _hours(jobs, ("tune_sweeps", "equilibration_sweeps"), CPU_CUBE_SWEEPS_PER_SECOND)


def walltime_sample(*jobs):
    return _hours(jobs, ("production_sweeps",), CPU_CUBE_SWEEPS_PER_SECOND)


def walltime_equilibrate_gpu(*jobs):
    return _hours(jobs, ("tune_sweeps", "equilibration_sweeps"), GPU_CUBE_SWEEPS_PER_SECOND)


def walltime_sample_gpu(*jobs):
    return _hours(jobs, ("production_sweeps",), GPU_CUBE_SWEEPS_PER_SECOND)


def _memory(jobs, minimum_gib, systems=1):
    """Memory directive: the engine's estimate (cubemc.files) for the largest job, at least
    `minimum_gib`; `systems` jobs held in memory at once (a batch)."""
    from cubemc.files import estimate_memory_bytes

    from .eos import memory_packing_fraction

    need = max(
        estimate_memory_bytes(
            sp["N"], memory_packing_fraction(sp), well_range=sp["well_range"], systems=systems
        )
        for sp in (job.cached_statepoint for job in jobs)
    )
    return f"{max(minimum_gib, math.ceil(need / 2**30))}g"


def memory_cpu(*jobs):
    return _memory(jobs, 2)


def memory_gpu(*jobs):
    return _memory(jobs, 4, systems=len(jobs))


def cpus_per_job(*jobs):
    """Cores for one CPU simulation (numba threads); ``CUBEMC_CPUS_PER_JOB``, default 1."""
    try:
        return max(1, int(os.environ.get("CUBEMC_CPUS_PER_JOB", "1")))
    except ValueError:
        return 1


class CubemcProject(FlowProject):
    """The cubemc workflow; see ``README.md``."""

    #: (operations run, operations refused as busy) in the current ``run``
    _tally = None
    #: settings of the nested runs that take each job on to its end (parallel.run_job_onwards)
    _onwards = None

    def run(
        self, jobs=None, names=None, pretend=False, np=None, timeout=None, num=None, num_passes=1, **kwargs
    ):  # noqa: PLR0913 (signac-flow's signature)
        """signac-flow's ``run``, each job taken on to its end before the next pass
        (parallel.run_job_onwards; not with ``num``, an ``order`` of its own or conditions
        ignored).  A job that another process works on is skipped, not fatal: the other
        operations run, and the command ends with status 75 and one line saying how many were
        skipped (each refusal was reported when it happened)."""
        self._tally = [0, 0]
        conditions = kwargs.get("ignore_conditions", IgnoreConditions.NONE)
        if not pretend and num is None and kwargs.get("order") in (None, "none", "by-job") and not conditions:
            self._onwards = {"names": names, "timeout": timeout, "num_passes": num_passes}
        try:
            super().run(jobs, names, pretend, np, timeout, num, num_passes, **kwargs)
            ran, busy = self._tally
        finally:
            self._tally = self._onwards = None
        if busy:
            if ran > busy:
                print(
                    f"cubemc: {busy} of {ran} operations skipped: their jobs are being worked on by "
                    "another process (see above); run the same command again once it has finished",
                    file=sys.stderr,
                    flush=True,
                )
            raise SystemExit(ops.BUSY_EXIT_STATUS)

    def _run_operations(self, operations, pretend=False, np=None, timeout=None, progress=False):
        operations = list(operations)
        if pretend or self._tally is None:
            return super()._run_operations(operations, pretend, np, timeout, progress)
        self._tally[0] += len(operations)
        if np is None or np == 1:  # one at a time, to catch a busy refusal; one progress bar
            if progress:
                from tqdm.auto import tqdm

                operations = tqdm(operations)
            for operation in operations:
                try:
                    super()._run_operations([operation], pretend, np, timeout, False)
                    run_job_onwards(self, operation, self._onwards)  # counts in self._tally
                except SystemExit as stop:
                    if stop.code != ops.BUSY_EXIT_STATUS:
                        raise
                    self._tally[1] += 1
            return None
        # ``run --parallel``: cubemc's runner (workflow/parallel.py) instead of signac-flow's,
        # which hangs when an operation exits with a one-line error
        processes = (os.cpu_count() or 1) if np < 0 else np
        warmups = kernel_warmups(operations) if processes > 1 else []
        cost = functools.partial(operation_cost, onwards=self._onwards is not None)
        ran, busy = run_operations(self, operations, processes, cost, timeout, warmups, self._onwards)
        self._tally[0] += ran
        self._tally[1] += busy
        return None


Project = CubemcProject


def _all(condition):
    def check(*jobs):
        return all(condition(job) for job in jobs)

    check.__name__ = f"all_{condition.__name__}"
    return check


# --- labels --------------------------------------------------------------------------------


@CubemcProject.label
def stage(job):
    return ops.stage_label(job)


@CubemcProject.label("running")
def running(job):
    return ops.running_label(job)


# --- per-job CPU operations ------------------------------------------------------------------


@CubemcProject.post(ops.is_created)
@CubemcProject.operation(directives={"np": 1, "walltime": 0.5, "memory": memory_cpu})
def create_initial_state(job):
    """Build the initial crystal or fluid and checkpoint it (initial.npz, initial.gsd)."""
    ops.create_initial_state(job)


@CubemcProject.pre(ops.is_created)
@CubemcProject.pre(ops.cpu_mode)
@CubemcProject.post(ops.is_equilibrated)
@CubemcProject.operation(
    directives={"np": cpus_per_job, "walltime": walltime_equilibrate, "memory": memory_cpu}
)
def equilibrate(job):
    """Tune move sizes, then burn in (equilibration.gsd, equilibrated.npz)."""
    ops.equilibrate(job)


@CubemcProject.pre(ops.is_equilibrated)
@CubemcProject.pre(ops.cpu_mode)
@CubemcProject.post(ops.is_sampled)
@CubemcProject.operation(directives={"np": cpus_per_job, "walltime": walltime_sample, "memory": memory_cpu})
def sample(job):
    """Production run with checkpoints (trajectory.gsd, final.npz)."""
    ops.sample(job)


# --- GPU operations (one job, or groups of jobs sharing one GPU) -----------------------------

_GPU_KWARGS = {} if GPU_GROUP_SIZE <= 1 else {"aggregator": aggregator.groupsof(GPU_GROUP_SIZE, sort_by="N")}


@CubemcProject.pre(_all(ops.is_created))
@CubemcProject.pre(ops.gpu_mode)
@CubemcProject.post(_all(ops.is_equilibrated))
@CubemcProject.operation(
    directives={"np": 1, "ngpu": 1, "walltime": walltime_equilibrate_gpu, "memory": memory_gpu}, **_GPU_KWARGS
)
def equilibrate_gpu(*jobs):
    """equilibrate on a GPU, for one job or a group of jobs run back to back."""
    ops.equilibrate_gpu(*jobs)


@CubemcProject.pre(_all(ops.is_equilibrated))
@CubemcProject.pre(ops.gpu_mode)
@CubemcProject.post(_all(ops.is_sampled))
@CubemcProject.operation(
    directives={"np": 1, "ngpu": 1, "walltime": walltime_sample_gpu, "memory": memory_gpu}, **_GPU_KWARGS
)
def sample_gpu(*jobs):
    """sample on a GPU, for one job or a group of jobs run back to back."""
    ops.sample_gpu(*jobs)


# --- analysis --------------------------------------------------------------------------------


@CubemcProject.pre(ops.is_sampled)
@CubemcProject.post(ops.is_analysed)
@CubemcProject.operation(directives={"np": 1, "walltime": 0.5, "memory": "4g"})
def analyse(job):
    """Analyse the production trajectory (analysis.json, energy.png, snapshot.png)."""
    ops.analyse(job)


@CubemcProject.pre(_all(ops.is_analysed))
@CubemcProject.post(ops.report_is_current)
@CubemcProject.operation(aggregator=aggregator(), directives={"np": 1, "walltime": 0.5, "memory": "4g"})
def report(*jobs):
    """Cross-job figures and tables in <project>/report/."""
    ops.report(*jobs)


#: the signac-flow subcommands that ask the scheduler for its queue
QUEUE_COMMANDS = ("status", "submit")


def _subcommand(argv) -> str | None:
    return next((arg for arg in argv if arg in ("status", "next", "run", "submit", "exec")), None)


def _squeue_problem() -> str | None:
    """Why ``squeue`` cannot list this user's jobs (no controller answers), or None."""
    import getpass
    import subprocess

    try:
        subprocess.run(
            ["squeue", "-h", "-u", getpass.getuser(), "-o", "%i"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.CalledProcessError as error:
        said = (error.stderr or error.stdout or "").strip().splitlines()
        return said[-1] if said else f"exit status {error.returncode}"
    except subprocess.TimeoutExpired:
        return "no answer within 30 s"
    except OSError as error:
        return str(error)
    return None


def choose_environment(command: str | None) -> None:
    """Where SLURM's client tools exist but ``squeue`` fails (no reachable controller),
    signac-flow's SLURM environment would fail with a traceback: ``status`` falls back to the
    standard environment with a warning; ``submit``, or a SLURM environment chosen explicitly
    with SIGNAC_FLOW_ENVIRONMENT, is an error that says how to choose."""
    from flow.environment import get_environment
    from flow.scheduling.slurm import SlurmScheduler

    if command not in QUEUE_COMMANDS:
        return
    environment = get_environment()
    if getattr(environment, "scheduler_type", None) is not SlurmScheduler:
        return
    problem = _squeue_problem()
    if problem is None:
        return
    chosen = os.environ.get("SIGNAC_FLOW_ENVIRONMENT")
    if command == "status" and not chosen:
        print(
            f"project.py: warning: squeue failed ({problem}); showing the status without the "
            "SLURM queue (SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment skips SLURM)",
            file=sys.stderr,
            flush=True,
        )
        os.environ["SIGNAC_FLOW_ENVIRONMENT"] = "StandardEnvironment"
        return
    where = f"SIGNAC_FLOW_ENVIRONMENT={chosen}" if chosen else "SLURM tools were found"
    raise WorkflowError(
        f"{command} needs the SLURM queue, but squeue failed ({problem}; {where}); "
        "check the controller with `scontrol ping`, or run the jobs on this "
        "machine with SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment python project.py run"
    )


def check_project(project) -> None:
    """Refuse to work on a project whose state point files are damaged (naming them)."""
    import logging

    from signac.errors import JobsCorruptedError

    signac_log = logging.getLogger("signac")
    level = signac_log.level
    signac_log.setLevel(logging.CRITICAL)  # it logs each damaged file; one line says it all
    try:
        project.check()
    except JobsCorruptedError as error:
        ids = list(error.job_ids)
        path = os.path.join(project.workspace, ids[0], "signac_statepoint.json")
        more = f" (and {len(ids) - 1} more job(s))" if len(ids) > 1 else ""
        raise WorkflowError(
            f"{path} (state point of job {ids[0]}) is damaged{more}; re-run the "
            "init.py command that created the job (it writes the state point "
            "again), or restore the file"
        ) from None
    finally:
        signac_log.setLevel(level)


def main(project_path=None, entrypoint=None):
    """Command-line entry point used by ``project.py``.

    ``entrypoint`` is the script that submitted jobs call (``python <entrypoint> exec ...``);
    without it signac-flow would point them at this module. The SLURM template is found by
    signac-flow in ``cubemc/workflow/templates/`` (next to the environment class); a
    ``templates/cubemc-slurm.sh`` in the project directory overrides it. Ordinary errors are one
    line on stderr with a non-zero exit status (cubemc/cli_errors.py).
    """
    import subprocess

    from flow.errors import SubmitError
    from signac.errors import ConfigError as SignacConfigError

    from cubemc.cli_errors import OneLineArgumentParser, run_reporting_errors

    def work():
        kwargs = {}
        if entrypoint:
            kwargs["entrypoint"] = {"path": os.path.abspath(entrypoint)}
        check_environment()
        choose_environment(_subcommand(sys.argv[1:]))
        try:
            project = CubemcProject.get_project(project_path, **kwargs)
        except LookupError:
            raise WorkflowError(
                f"no signac project in {os.path.abspath(project_path or os.getcwd())} "
                "or above it; create one with: python init.py vacancy --quick"
            ) from None
        load_config(project.path)
        check_project(project)
        if sys.argv[1:2] == ["report"]:  # cubemc's own subcommand: the jobs analysed so far
            return ops.interim_report(project, sys.argv[2:])
        if sys.argv[1:2] == ["export"]:  # cubemc's own: the report's inputs in one file
            return export(project, sys.argv[2:])
        try:
            project.main(parser=OneLineArgumentParser(prog="project.py"))
        except subprocess.CalledProcessError as error:
            command = " ".join(map(str, error.cmd)) if isinstance(error.cmd, list) else error.cmd
            raise WorkflowError(
                f"{command} failed with exit status {error.returncode}; is the "
                "scheduler reachable? (SIGNAC_FLOW_ENVIRONMENT=StandardEnvironment "
                "runs without it)"
            ) from None

    status = run_reporting_errors(
        "project.py",
        work,
        user_errors=(WorkflowError, SubmitError, SignacConfigError),
        os_hint="fix that and run the same command again",
        interrupted_hint="run the same command again: every stage continues from its last checkpoint",
    )
    if status:
        raise SystemExit(status)
