"""``python project.py run --parallel [N]``: the operations of one pass in N worker processes.

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
- starts the longest operations first, so a pass does not end with one worker busy and the
  others idle;
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

from cubemc.cli_errors import EXIT_BUSY

#: (project, operations, timeout) of the pass being run; read by the forked workers
_PASS = None


def run_operations(project, operations, processes, cost, timeout=None, warmups=()) -> int:  # noqa: PLR0913 (the pass and how to run it)
    """Execute `operations` (signac-flow job operations of one pass) in `processes` workers,
    the costliest (`cost(operation)`) first, after the zero-argument callables `warmups`; raise
    SystemExit with the status of the first operation that exits with one other than
    EXIT_BUSY.  Returns the number of operations refused as busy."""
    global _PASS
    operations = sorted(operations, key=cost, reverse=True)
    processes = max(1, min(processes, len(operations)))
    threads = max(1, (os.cpu_count() or 1) // processes)
    _PASS = (project, operations, timeout, list(warmups))
    busy = 0
    previous = _on_sigterm(_interrupt)  # inherited by the forks: _start_worker restores it
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes, initializer=_start_worker, initargs=(threads,)) as pool:
            pool.map(_warm_up, range(len(warmups)), chunksize=1)
            for status in pool.imap_unordered(_run_one, range(len(operations))):
                if status == EXIT_BUSY:  # another process has that job: the others go on
                    busy += 1
                elif status:
                    raise SystemExit(status)  # leaving the pool terminates the other workers
    finally:
        _PASS = None
        if previous is not None:
            _on_sigterm(previous)
    return busy


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

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def _warm_up(index: int) -> None:
    try:
        _PASS[3][index]()
    except Exception:  # the operation that needs the kernel compiles it and reports the error
        pass


def _run_one(index: int) -> int:
    """Run operation `index` of the pass; its exit status (0 when it returned)."""
    project, operations, timeout, _ = _PASS
    try:
        project._execute_operation(operations[index], timeout)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, flush=True)
        return 1
    return 0
