"""A new shape is one module plus a registration: hard spheres through the kernels.

Spheres give exact answers: B2 = 4 V = 2 pi / 3 for diameter 1, and for two spheres with a
square well of range lam in a periodic box of volume W the in-well configuration volume is
x = 4 pi (lam^3 - 1) / 3 and the free one f = W - 4 pi lam^3 / 3, so
p(in well) = x e^{-beta eps} / (f + x e^{-beta eps}) with no sampling at all.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sphere_shape

import cubemc
from cubemc import shapes
from cubemc.geometry import overlaps, random_quaternions

shapes.register(sphere_shape)
TESTS = Path(__file__).parent


def block_error(series, blocks=50):
    series = np.asarray(series, float)
    means = series[: len(series) // blocks * blocks].reshape(blocks, -1).mean(1)
    return means.std(ddof=1) / np.sqrt(blocks)


def test_sphere_second_virial_coefficient_from_the_engine_overlap_test():
    rng = np.random.default_rng(3)
    n, side = 2_000_000, 2.4
    d = rng.uniform(-side / 2, side / 2, (n, 3))
    over = overlaps(d, random_quaternions(rng, n), random_quaternions(rng, n), sphere_shape)
    p = over.reshape(40, -1).mean(1)
    b2 = side**3 * p / 2  # B2 = (excluded volume) / 2
    assert abs(b2.mean() - 2 * math.pi / 3) < 4 * b2.std(ddof=1) / np.sqrt(len(b2))


def two_spheres(beta_eps, well, box, schedule, seed=4):
    state = cubemc.State([[-1.0, 0, 0], [1.0, 0, 0]], [[1, 0, 0, 0]] * 2, [box] * 3, shape="test_sphere")
    return cubemc.Simulation(
        state, beta_eps, well, seed=seed, device="cpu", schedule=schedule, translate_size=1.0
    )


@pytest.mark.parametrize("schedule", ["serial", "checkerboard"])
def test_two_spheres_well_occupancy_is_exact(schedule):
    """Fast tier: catches a biased acceptance (exp(-beta dU / 2) gives p = 0.80, not 0.967)."""
    beta_eps, well, box = -4.0, 1.5, 3.2
    x = 4 * math.pi / 3 * (well**3 - 1)
    f = box**3 - 4 * math.pi / 3 * well**3
    w = math.exp(-beta_eps)
    p_exact = x * w / (f + x * w)
    sim = two_spheres(beta_eps, well, box, schedule)
    sim.run(1000)
    trace = sim.run_trace(100_000)
    p, err = trace.mean(), block_error(trace)
    assert err < 0.02
    assert abs(p - p_exact) < 4 * err, (p, err, p_exact)


def test_sphere_runs_identically_on_the_cuda_simulator():
    script = textwrap.dedent("""
        import json, sys
        import numpy as np, cubemc, sphere_shape
        cubemc.shapes.register(sphere_shape)
        rng = np.random.default_rng(2)
        g = (np.arange(4) + 0.5) * 1.6 - 3.2
        pos = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)[:60]
        st = cubemc.State(pos, np.tile([1.0, 0, 0, 0], (60, 1)), [6.4] * 3, shape="test_sphere")
        out = {}
        for device in ("cpu", "gpu"):
            sim = cubemc.Simulation(st, -1.0, 1.3, seed=5, device=device, translate_size=0.3)
            trace = sim.run_trace(3)
            out[device] = dict(pos=sim.positions.tolist(), trace=trace.tolist())
        json.dump(out, sys.stdout)
    """)
    env = dict(
        os.environ,
        NUMBA_ENABLE_CUDASIM="1",
        PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["cpu"]["trace"] == out["gpu"]["trace"]
    np.testing.assert_allclose(out["cpu"]["pos"], out["gpu"]["pos"], rtol=0, atol=1e-12)
    assert max(out["cpu"]["trace"]) > 0  # the well was visited: energy path exercised
