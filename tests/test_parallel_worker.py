"""A `project.py run --parallel` worker (cubemc/workflow/parallel.py `_start_worker`) compiles
kernels that are not in the cache yet: a fresh machine, or kernels whose sources changed.

numba is imported by the parent before the fork.  The worker gives itself its share of the cores
through NUMBA_NUM_THREADS; numba re-reads its environment at every compile and refuses a changed
thread count once its threads run, which failed every operation of a cold-cache parallel run
(`make demo` on a fresh machine).  Here a real forked worker compiles a new function.
"""

import os
import subprocess
import sys

SCRIPT = """
import multiprocessing
import numba
from cubemc.workflow import parallel

def work(_):
    parallel._start_worker(1)
    add_one = numba.njit(lambda x: x + 1)  # compiled after the worker's threads started
    return add_one(1), numba.get_num_threads()

if __name__ == "__main__":
    numba.njit(lambda x: x)(0)  # the parent has used numba before it forks
    with multiprocessing.get_context("fork").Pool(1) as pool:
        print(pool.map(work, [0])[0])
"""


def test_a_worker_compiles_after_taking_its_share_of_the_cores():
    env = {key: value for key, value in os.environ.items() if key != "NUMBA_NUM_THREADS"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(2, 1)"
