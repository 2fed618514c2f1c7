"""Batched systems must follow exactly the trajectories of their separate runs."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from support import DEVICES

import cubemc

PARAMS = [(-1.0, 1, 0.8), (0.0, 2, 0.8), (-0.5, 3, 0.6)]  # beta_eps, seed, packing fraction


def make(beta_eps, seed, phi, device):
    state = cubemc.State.simple_cubic(n=5, packing_fraction=phi, vacancies=1, seed=seed)
    return cubemc.Simulation(
        state, beta_eps, 1.14, seed=seed, device=device, translate_size=0.05, rotate_size=0.05
    )


@pytest.mark.parametrize("device", DEVICES)
def test_batch_equals_separate_runs(device):
    separate = [make(*p, device) for p in PARAMS]
    for sim in separate:
        sim.run(12)
    batched = [make(*p, device) for p in PARAMS]
    batch = cubemc.SimulationBatch(batched)
    batch.run(5)
    trace = batch.run(7)
    assert trace.shape == (3, 7)
    for a, b in zip(separate, batched):
        assert np.array_equal(a.positions, b.positions)
        assert np.array_equal(a.orientations, b.orientations)
        assert (a.bonds, a.sweep, a.acceptance) == (b.bonds, b.sweep, b.acceptance)
        assert b.state.count_pairs(1.14) == (b.bonds, 0)


def test_batch_on_cuda_simulator_equals_cpu():
    script = textwrap.dedent(
        """
        import json, sys, cubemc
        out = {}
        for device in ("cpu", "gpu"):
            sims = []
            for beta_eps, seed, phi in %r:
                st = cubemc.State.simple_cubic(n=5, packing_fraction=phi, vacancies=1, seed=seed)
                sims.append(cubemc.Simulation(st, beta_eps, 1.14, seed=seed, device=device,
                                              translate_size=0.05, rotate_size=0.05))
            trace = cubemc.SimulationBatch(sims).run(2)
            out[device] = dict(trace=trace.tolist(), pos=[s.positions.tolist() for s in sims])
        json.dump(out, sys.stdout)
    """.replace("%r", repr(PARAMS))
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["cpu"]["trace"] == out["gpu"]["trace"]
    np.testing.assert_allclose(out["cpu"]["pos"], out["gpu"]["pos"], rtol=0, atol=1e-12)


def test_batch_rejects_mixed_systems():
    a = make(-1.0, 1, 0.8, "cpu")
    st = cubemc.State.simple_cubic(n=6, packing_fraction=0.8)
    with pytest.raises(cubemc.InputError, match="same number"):
        cubemc.SimulationBatch([a, cubemc.Simulation(st, -1.0)])
    with pytest.raises(cubemc.InputError, match="at least one"):
        cubemc.SimulationBatch([])
