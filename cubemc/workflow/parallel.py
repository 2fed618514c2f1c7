"""How ``python project.py run`` runs operations: each job on to its end, and ``--parallel [N]``
in N worker processes.

signac-flow runs in passes: every job's next operation, then the next pass.  A study of 96 jobs
would create all 96, burn in all 96, sample all 96 (a day on a laptop) and analyse none until
the last had sampled, so the interim report (``project.py report``) had nothing to show.
:func:`run_job_onwards` runs, after each operation of a pass, the later operations of the same
job in the same process (a nested signac-flow run on that job, with the same operation names
and conditions), so jobs come out analysed one after another.  It is used by the serial and the
parallel runner alike; operations of several jobs (the report, GPU groups) are left to the
passes.

signac-flow's own parallel runner waits forever when an operation exits (cubemc's operations
report an error in one line and exit with a status, and the pool never hears back from that
worker), and a Ctrl-C prints a traceback from every worker.  This runner, used by
`CubemcProject` for ``--parallel`` (``-p``):

- forks its workers after the pass is known, so they inherit the project and the operations
  (nothing is pickled);
- lets workers ignore Ctrl-C: the parent alone reports the interrupt, and leaving the pool
  terminates the workers, whose stages continue from their last checkpoints (as after a kill);
  a SIGTERM to the parent alone (``kill PID``, ``timeout``) is handled as a Ctrl-C, since by
  default it would end the parent and leave the workers running their operations unsupervised;
- turns an operation's exit into its status in the parent.  The worker has already printed the
  one line; the parent stops the other workers and exits with that status, except for a job
  that another process works on (status 75): that operation is counted and skipped, and the
  rest of the pass runs (`CubemcProject.run` reports the count at the end);
- starts the longest jobs first (their remaining sweeps, `operation_cost`), so a
  pass does not end with one worker busy and the others idle;
- gives each worker cores // N numba threads unless ``NUMBA_NUM_THREADS`` is set, so N workers
  do not run N x cores threads;
- runs the pass's warm-ups first, one per worker, and waits for all of them (kernels compiled in
  disjoint parts, `cubemc.warmup`): a warm-up that fails is ignored, since the operation that
  needs the kernel compiles it again and reports any error itself.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading

from flow import FlowProject

from cubemc.cli_errors import EXIT_BUSY

from . import operations as ops
from . import shape_keys

#: (project, operations, timeout, warmups, onwards) of the pass being run; read by the workers
_PASS = None


#: the sweeps each CPU or GPU operation runs, and with the job's later operations (onwards), per
#: state point key (its cost is N times their sum)
_OPERATION_SWEEPS = {"equilibrate": ("tune_sweeps", "equilibration_sweeps"), "sample": ("production_sweeps",)}
_ONWARDS_SWEEPS = {
    "create_initial_state": ("tune_sweeps", "equilibration_sweeps", "production_sweeps"),
    "equilibrate": ("tune_sweeps", "equilibration_sweeps", "production_sweeps"),
    "sample": ("production_sweeps",),
}


#: the state point key whose sweeps each stage's recorded progress (job.doc["progress"]) counts
_STAGE_SWEEPS = {"equilibrate": "equilibration_sweeps", "sample": "production_sweeps"}


def operation_cost(operation, onwards=False) -> float:
    """Rough work left in a job operation (particles x sweeps not yet done, 1 for operations
    without sweeps), and with `onwards` in the job's later operations too, so that ``run
    --parallel`` starts the longest ones first: a resumed job counts only what it has left."""
    keys = (_ONWARDS_SWEEPS if onwards else _OPERATION_SWEEPS).get(operation.name.removesuffix("_gpu"), ())
    return sum(job.cached_statepoint.get("N", 1) * _sweeps_left(job, keys) for job in operation._jobs)


def _sweeps_left(job, keys) -> int:
    sp = job.cached_statepoint
    left = sum(sp.get(key, 0) for key in keys)
    try:
        progress = job.doc.get("progress") or {}
    except (OSError, ValueError):  # a damaged document: the operation itself names it
        progress = {}
    key = _STAGE_SWEEPS.get(progress.get("stage"))
    if key in keys:
        left -= min(int(progress.get("done", 0)), sp.get(key, 0))
    return max(1, left)


#: the CPU operations that run the native engine's kernels
_SIMULATING = ("create_initial_state", "equilibrate", "sample")


def kernel_warmups(operations) -> list:
    """cubemc.warmup's two halves for each shape that the pass simulates on the CPU with the
    native engine, so that parallel workers compile each kernel once between them."""
    from cubemc import warmup

    particles = {}
    for operation in operations:
        if operation.name not in _SIMULATING:
            continue
        for job in operation._jobs:
            config = ops.job_config(job)
            if config.engine == "native" and config.device == "cpu":
                name, params = shape_keys.particle(job.cached_statepoint)
                particles.setdefault(name, params[0])
    return [half for name, params in particles.items() for half in warmup.halves(name, params)]


def run_job_onwards(project, operation, settings) -> tuple[int, int]:
    """After `operation`, if it finished, run the later operations of its job here: a nested
    signac-flow run on that job with `settings` (the outer run's names, timeout, passes), which
    itself goes no further (`project._onwards` is None meanwhile).  Returns (operations run,
    refused as busy) from the project's tally, which a forked worker cannot update in its
    parent."""
    if settings is None or len(operation._jobs) != 1:
        return 0, 0
    if operation.name not in set(project.completed_operations(operation._jobs[0])):
        return 0, 0  # it stopped before its end (the walltime): the next run continues it
    before = list(project._tally)
    project._onwards = None
    try:
        FlowProject.run(project, jobs=list(operation._jobs), np=None, **settings)
    finally:
        project._onwards = settings
    return project._tally[0] - before[0], project._tally[1] - before[1]


def run_operations(
    project, operations, processes, cost, timeout=None, warmups=(), onwards=None
) -> tuple[int, int]:  # noqa: PLR0913 (the pass and how to run it)
    """Execute `operations` (signac-flow job operations of one pass) in `processes` workers,
    the costliest (`cost(operation)`) first, after the zero-argument callables `warmups`, each
    followed by its job's later operations when `onwards` (run_job_onwards' settings) is given;
    raise SystemExit with the status of the first operation that exits with one other than
    EXIT_BUSY.  Returns (later operations run, operations refused as busy)."""
    global _PASS
    operations = sorted(operations, key=cost, reverse=True)
    processes = max(1, min(processes, len(operations)))
    threads = max(1, (os.cpu_count() or 1) // processes)
    _PASS = (project, operations, timeout, list(warmups), onwards)
    ran = busy = 0
    previous = _on_sigterm(_interrupt)  # inherited by the forks: _start_worker restores it
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes, initializer=_start_worker, initargs=(threads,)) as pool:
            pool.map(_warm_up, range(len(warmups)), chunksize=1)
            for status, later, refused in pool.imap_unordered(_run_one, range(len(operations))):
                ran, busy = ran + later, busy + refused
                if status == EXIT_BUSY:  # another process has that job: the others go on
                    busy += 1
                elif status:
                    raise SystemExit(status)  # leaving the pool terminates the other workers
    finally:
        _PASS = None
        if previous is not None:
            _on_sigterm(previous)
    return ran, busy


def _on_sigterm(handler):
    """Install `handler` for SIGTERM and return the previous one (None off the main thread,
    where signals cannot be handled, and nothing is installed)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.signal(signal.SIGTERM, handler)
    return signal.SIG_DFL if previous is None else previous  # None: one installed outside Python


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # the pool is left, which terminates the workers


def _start_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # Pool.terminate stops a worker at once
    if "NUMBA_NUM_THREADS" in os.environ:  # the user's choice
        return
    os.environ["NUMBA_NUM_THREADS"] = str(threads)  # read by numba when first imported here
    if "numba" in sys.modules:  # imported by the parent before the fork: too late for that
        import numba

        # numba compares the variable with what it read at every compile and refuses a change
        # once its threads run (a cold kernel cache then failed every operation here): make it
        # read the new value now, or, if the parent started its threads, leave the variable alone
        try:
            numba.config.reload_config()
        except RuntimeError:
            del os.environ["NUMBA_NUM_THREADS"]
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def _warm_up(index: int) -> None:
    try:
        _PASS[3][index]()
    except Exception:  # the operation that needs the kernel compiles it and reports the error
        pass


def _run_one(index: int) -> tuple[int, int, int]:
    """Run operation `index` of the pass and then its job's later operations: (exit status, 0
    when they all returned; later operations run; of those, refused as busy)."""
    project, operations, timeout, _, onwards = _PASS
    counts = (0, 0)
    try:
        project._execute_operation(operations[index], timeout)
        counts = run_job_onwards(project, operations[index], onwards)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0, *counts
        print(stop.code, flush=True)
        return 1, *counts
    return 0, *counts
