"""Every CUDA kernel layout of cubemc/gpu.py ("cell", "tile", "fused") makes the CPU's trajectory.

Under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, set in a subprocess because numba-cuda reads
it at import) each variant must reproduce the CPU run exactly: energy trace, acceptance counters,
positions and orientations.  One batch of three 63-cube systems covers a dense 2x2x2 cell grid
(overlaps and bonds on most trials), a medium one, and a dilute 4x4x4 grid (27 neighbour cells,
several active cells per block, and for 32 lanes more active cells than groups in a block, so the
fused kernel's grid-stride loop turns more than once); 2 sweeps, as the simulator is slow.

On a real GPU (marked gpu) every variant must give the trajectory of "cell" on that GPU, batched
or not, and keep the running energy equal to a recount with no overlaps.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from support import needs_gpu

# a GPU machine may lack gsd, which `import cubemc` needs while cubemc/trajectory.py imports it at
# module level (benchmarks/gpu_check.py carries a wheel or a stub): skip with the reason, not fail
pytest.importorskip("gsd", reason="gsd is not installed, and `import cubemc` needs it")
import cubemc  # noqa: E402
from cubemc import pairs, shapes, targets  # noqa: E402

#: (beta_epsilon, seed, packing fraction, translation size) of the batched systems
SYSTEMS = [(-1.0, 1, 0.8, 0.1), (-0.5, 2, 0.6, 0.2), (-1.0, 3, 0.18, 0.6)]
SIMULATED = ["cell", "tile:4", "tile", "fused:1", "fused"]
ON_GPU = ["tile:4", "tile:8", "tile", "fused:1", "fused:8", "fused", "fused:8/128", "tile:8/64"]


def test_variant_names_are_parsed_and_bad_ones_refused():
    gpu = targets.gpu(shapes.cube, pairs.square_well)
    assert gpu.parse_variant("cell") == ("cell", 1, None)
    assert gpu.parse_variant("tile") == ("tile", 32, None)
    assert gpu.parse_variant("tile:8") == ("tile", 8, None)
    assert gpu.parse_variant("fused:1/128") == ("fused", 1, 128)
    for bad in ("warp", "tile:1", "tile:3", "cell:2", "fused:x", "tile:8/8", "fused/999"):
        with pytest.raises(cubemc.InputError) as err:
            gpu.parse_variant(bad)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("variant", SIMULATED)
def test_variant_on_cuda_simulator_equals_cpu(variant):
    script = textwrap.dedent("""
        import json, sys, cubemc
        systems, variant = json.loads(sys.argv[1]), sys.argv[2]
        out = {}
        for device in ("cpu", "gpu"):
            sims = []
            for beta_eps, seed, phi, size in systems:
                st = cubemc.State.simple_cubic(n=4, packing_fraction=phi, vacancies=1, seed=seed)
                sims.append(cubemc.Simulation(st, beta_eps, 1.14, seed=seed, device=device,
                                              translate_size=size, rotate_size=0.2,
                                              gpu_variant=variant))
            trace = cubemc.SimulationBatch(sims).run(2)
            out[device] = dict(trace=trace.tolist(), counts=[s.counts.tolist() for s in sims],
                               pos=[s.positions.tolist() for s in sims],
                               quat=[s.orientations.tolist() for s in sims],
                               grids=[s.cells[0].tolist() for s in sims])
        json.dump(out, sys.stdout)
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(SYSTEMS), variant],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cpu, gpu = json.loads(proc.stdout).values()
    assert cpu["grids"] == [[2, 2, 2], [2, 2, 2], [4, 4, 4]]  # the geometry this test relies on
    assert gpu["trace"] == cpu["trace"]
    assert gpu["counts"] == cpu["counts"]
    np.testing.assert_allclose(gpu["pos"], cpu["pos"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gpu["quat"], cpu["quat"], rtol=0, atol=1e-12)
    # the runs did something: bonds changed and moves were accepted in every system
    assert all(c[0] + c[2] > 0 for c in cpu["counts"])
    assert cpu["trace"][0][0] != cpu["trace"][0][1] or cpu["trace"][1][0] != cpu["trace"][1][1]


def _gpu_sims(variant, n=20, count=1):
    sims = []
    for b in range(count):
        st = cubemc.State.simple_cubic(n=n, packing_fraction=0.8, vacancies=1, seed=1 + b)
        sims.append(
            cubemc.Simulation(
                st,
                -1.0,
                1.14,
                seed=7 + b,
                device="gpu",
                translate_size=0.08,
                rotate_size=0.1,
                gpu_variant=variant,
            )
        )
    return sims


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("variant", ON_GPU)
def test_variant_on_gpu_equals_cell_and_keeps_its_books(variant):
    """7999 cubes (216 active cells per set: several blocks, grid-wide barriers) and a batch."""
    (ref,), (sim,) = _gpu_sims("cell"), _gpu_sims(variant)
    assert sim.run_trace(3).tolist() == ref.run_trace(3).tolist()
    np.testing.assert_allclose(sim.positions, ref.positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sim.orientations, ref.orientations, rtol=0, atol=1e-12)
    sim.run(30)
    assert sim.state.count_pairs(1.14) == (sim.bonds, 0)
    separate = _gpu_sims(variant, n=10, count=4)
    for s in separate:
        s.run(4)
    batched = _gpu_sims(variant, n=10, count=4)
    cubemc.SimulationBatch(batched).run(4)
    for a, b in zip(separate, batched, strict=True):
        assert (a.bonds, a.counts.tolist()) == (b.bonds, b.counts.tolist())
        assert np.array_equal(a.positions, b.positions)


@pytest.mark.slow  # ~1 min on the 2-core machine
@pytest.mark.parametrize("variant", ["tile:4", "fused:2"])
def test_variant_on_cuda_simulator_handles_polydisperse_shapes(variant):
    """Cuboids and rounded cuboids of 12 % polydisperse sizes: the tile code's per-pair energy and
    overlap calls are the single-source ones, sizes included."""
    script = textwrap.dedent("""
        import json, sys, cubemc
        from cubemc import lattices
        sizes = lattices.draw_sizes(27, polydispersity=0.12, seed=1)
        out = {}
        for shape, params in {
                "cuboid": lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.2)),
                "rounded_cuboid": lattices.shape_params("rounded_cuboid", sizes, rounding=0.1),
        }.items():
            state = lattices.simple_cubic(3, shape, params, packing_fraction=0.35)
            for device in ("cpu", "gpu"):
                sim = cubemc.Simulation(state, -1.5, 1.6, seed=5, device=device, translate_size=0.3,
                                        rotate_size=0.3, gpu_variant=sys.argv[1])
                out[shape + "/" + device] = dict(trace=sim.run_trace(2).tolist(),
                                                 pos=sim.positions.tolist())
        json.dump(out, sys.stdout)
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-c", script, variant], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    for shape in ("cuboid", "rounded_cuboid"):
        cpu, gpu = out[shape + "/cpu"], out[shape + "/gpu"]
        assert gpu["trace"] == cpu["trace"] and max(cpu["trace"]) > 0
        np.testing.assert_allclose(gpu["pos"], cpu["pos"], rtol=0, atol=1e-12)
