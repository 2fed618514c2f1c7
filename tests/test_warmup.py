"""cubemc.warmup compiles exactly what a run uses, in two disjoint halves: after both, a crystal
run with a pressure measurement and the report's B2 add nothing to the kernel cache, and the
pressure half compiles neither the pair count nor the sweep (so two workers running the halves
at once compile each kernel once).  A fresh cache directory; about 50 s of one core."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

RUN = """
import cubemc
state = cubemc.State.simple_cubic(n=6, packing_fraction=0.80, vacancies=1, seed=1)
sim = cubemc.Simulation(state, beta_epsilon=-1.0, well_range=1.14, seed=2, device="cpu")
sim.run(2)
sim.measure_pressure()
from cubemc.analysis.eos import in_well_free_volume  # the report's B2 (many-pair overlap test)
in_well_free_volume(1.14, n=1000)
"""


def cache_files(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names}


def python(code, env):
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=600)


def test_the_two_halves_compile_what_a_run_uses_once(tmp_path):
    env = {**os.environ, "CUBEMC_CACHE_DIR": str(tmp_path), "NUMBA_NUM_THREADS": "1"}
    python("from cubemc import warmup; warmup.halves()[1]()", env)
    pressure_half = cache_files(tmp_path)
    assert any("pair_events" in f for f in pressure_half), sorted(pressure_half)
    assert not any("count_pairs" in f or ".sweeps-" in f for f in pressure_half), sorted(pressure_half)
    python("from cubemc import warmup; warmup.halves()[0]()", env)
    both = cache_files(tmp_path)
    assert any("count_pairs" in f for f in both) and any(".sweeps-" in f for f in both), sorted(both)
    python(RUN, env)
    assert cache_files(tmp_path) == both
