"""The shape families run identically on the CUDA simulator and the CPU (one source)."""

import textwrap

import numpy as np
import pytest
from support import run_on_cuda_simulator

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, cubemc
    from cubemc import lattices
    sizes = lattices.draw_sizes(27, polydispersity=0.12, seed=1)
    families = {
        "cuboid": lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.2)),
        "rounded_cuboid": lattices.shape_params("rounded_cuboid", sizes, rounding=0.1),
    }
    out = {}
    for shape, params in families.items():
        state = lattices.simple_cubic(3, shape, params, packing_fraction=0.35)
        for device in ("cpu", "gpu"):
            sim = cubemc.Simulation(state, -1.5, 1.6, seed=5, device=device, translate_size=0.3,
                                    rotate_size=0.3)
            trace = sim.run_trace(2)
            out[shape + "/" + device] = dict(pos=sim.positions.tolist(),
                                             quat=sim.orientations.tolist(), trace=trace.tolist())
    json.dump(out, sys.stdout)
""")


@pytest.mark.slow  # ~2-5 min on the 2-core machine: the simulator interprets every device function
def test_cuboids_and_rounded_cuboids_run_identically_on_the_cuda_simulator():
    out = run_on_cuda_simulator(SCRIPT)
    for shape in ("cuboid", "rounded_cuboid"):
        cpu, gpu = out[shape + "/cpu"], out[shape + "/gpu"]
        assert cpu["trace"] == gpu["trace"]
        np.testing.assert_allclose(cpu["pos"], gpu["pos"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(cpu["quat"], gpu["quat"], rtol=0, atol=1e-12)
        assert max(cpu["trace"]) > 0  # bonds: the energy path ran
