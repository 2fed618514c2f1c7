"""The GPU recount of box moves (cubemc/gpu_count.py) against the CPU's, on the CUDA simulator."""

import textwrap

import pytest
from support import run_on_cuda_simulator

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, cubemc
    from cubemc import lattices
    from cubemc.npt import BoxMove
    sizes = lattices.draw_sizes(64, polydispersity=0.1, seed=2)
    families = {
        "cube": None,
        "cuboid": lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.3)),
        "rounded_cuboid": lattices.shape_params("rounded_cuboid", sizes, rounding=0.15),
    }
    rng = np.random.default_rng(4)
    out = {}
    for shape, params in families.items():
        if params is None:
            state = cubemc.State.simple_cubic(4, 0.1, seed=1)
        else:
            state = lattices.simple_cubic(4, shape, params, packing_fraction=0.1)
        sims = {d: cubemc.Simulation(state, -1.0, 1.5, seed=3, device=d) for d in ("cpu", "gpu")}
        counts = {"cpu": [], "gpu": []}
        # at phi 0.1 the lattice constant is 2.15 largest extents, more than any circumsphere
        # (<= sqrt 3 extents): randomly turned particles overlap only once squeezed
        for scale in (1.0, 0.69, 0.62):  # no overlaps, a few, many
            q = cubemc.geometry.random_quaternions(rng, state.N)
            squeezed = cubemc.State(state.positions * scale, q, state.box * scale, check=False,
                                    shape=state.shape, shape_params=state.shape_params)
            for d, sim in sims.items():
                counts[d].append(list(sim.count_pairs(squeezed)))
        out[shape] = counts
    # box moves of a GPU simulation recount on the GPU and accept as on the CPU (no sweeps: the
    # simulator is slow, and the sweeps' equality is tests/test_gpu_variants.py's)
    runs = {}
    for d in ("cpu", "gpu"):
        sim = cubemc.Simulation(cubemc.State.simple_cubic(3, 0.3, seed=1), -1.0, 1.5, seed=3,
                                device=d)
        move = BoxMove(2.0, volume_size=0.3, axis_size=0.2, axis_fraction=0.5, trials=4)
        move.attach(sim)
        move.act(sim)
        runs[d] = dict(box=sim.box.tolist(), bonds=sim.bonds, counts=move.counts.tolist(),
                       pos=sim.positions.tolist())
    out["npt"] = runs
    json.dump(out, sys.stdout)
""")


@pytest.mark.slow  # the simulator interprets every device function
def test_gpu_box_move_counts_equal_the_cpu_counts_on_the_cuda_simulator():
    out = run_on_cuda_simulator(SCRIPT)
    for shape in ("cube", "cuboid", "rounded_cuboid"):
        cpu, gpu = out[shape]["cpu"], out[shape]["gpu"]
        assert cpu == gpu, (shape, cpu, gpu)
        assert cpu[0][1] == 0 and cpu[1][1] > 0 and cpu[2][1] > cpu[1][1], (shape, cpu)  # overlaps seen
        assert max(units for units, _ in cpu) > 0, (shape, cpu)  # and bonds
    npt = out["npt"]
    assert npt["cpu"] == npt["gpu"], npt
    counts = npt["cpu"]["counts"]
    assert counts[1] + counts[3] == 4 and 0 < counts[0] + counts[2] < 4, counts  # accepted and rejected
