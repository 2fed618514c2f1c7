"""VMMC cluster moves on the GPU (cubemc/gpu_vmmc.py): the CPU's moves, kept on the device.

Without a GPU the CUDA kernel runs in numba's simulator (a subprocess: numba reads
NUMBA_ENABLE_CUDASIM at import) and must make exactly the CPU's moves: the same bond count after
every move, the same counters and positions, for the updater on one simulation (VMMC alone and
mixed with GPU sweeps), for a batch of two systems with their own seeds, sweeps and settings
(one thread each) and for a SimulationBatch whose members carry VMMC updaters.  It also compiles
to PTX for real hardware (tests/test_cuda_compile.py).  On a real GPU the exact two-cube bond
distribution is sampled with the GPU's cluster moves.
"""

import numpy as np
import pytest
from support import needs_gpu, run_on_cuda_simulator

import cubemc
from cubemc.vmmc import VMMC

SCRIPT = """
import json, sys
import numpy as np
import cubemc
from cubemc import pairs, shapes, targets
from cubemc.systems import Systems
from cubemc.vmmc import VMMC


def blocks(seed, device):
    # 32 cubes in 4 bonded 2x2x2 blocks, attraction -6, well 1.3: clusters of several cubes move
    block = np.indices((2, 2, 2)).reshape(3, -1).T * 1.05
    corners = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0], [4, 4, 4]], float)
    positions = (corners[:, None, :] + block[None]).reshape(-1, 3)
    state = cubemc.State(positions, np.tile([1.0, 0, 0, 0], (32, 1)), [8.0] * 3)
    return cubemc.Simulation(state, -6.0, 1.3, seed=seed, device=device, translate_size=0.1, rotate_size=0.1)


def batch_moves(device, lanes):
    # bonded blocks, and a bonded 4 x 4 x 2 slab (periodic in x and y) at weak attraction, where
    # clusters break bonds to cubes outside them, so the link draws decide
    a = blocks(3, "cpu")
    slab = np.indices((4, 4, 2)).reshape(3, -1).T * 1.05
    state = cubemc.State(slab, np.tile([1.0, 0, 0, 0], (32, 1)), [4.2] * 3)
    b = cubemc.Simulation(state, -1.0, 1.3, seed=4, device="cpu", translate_size=0.1, rotate_size=0.1)
    a.run(3)
    systems = Systems(
        a.shape, a.pair, device,
        [(s.positions, s.orientations, s.systems.shape_params(0), s.box) for s in (a, b)],
        [a.cells[0], b.cells[0]], max(a.cells[1], b.cells[1]),
    )
    counts = np.zeros((2, 9), np.int64)
    r = 0.5 * a.min_box_edge  # the interaction range
    settings = np.array([[0.6, 0.4, 0.5, 32, 1.0, -6.0, 1.5, r], [0.3, 0.8, 0.3, 32, 0.0, -1.0, 1.0, r]])
    params = np.array([a.kernel_parameters()[1]] * 2)
    deltas, traces = [], []
    for action in range(2):
        seeds, sweeps = np.array([5, 6], np.uint64), np.array([action, 7 + action])
        delta, ok, trace = systems.vmmc_moves(32, seeds, sweeps, settings, params, counts, True, lanes)
        assert ok.all()
        deltas.append(delta.tolist())
        traces.append(trace.tolist())
    pos = [systems.configuration(k)[0].tolist() for k in range(2)]
    return dict(deltas=deltas, traces=traces, counts=counts.tolist(), pos=pos)


out = {}
if LIMITS is not None:
    # the block layout with scans too large for its shared arrays, which lane 0 makes alone (the
    # simulator copies the module's constants at a kernel's first launch: set before it)
    gpu_vmmc = targets.specialise("gpu_vmmc", shapes.cube, pairs.square_well)
    gpu_vmmc.MAX_CELLS, gpu_vmmc.MAX_ITEMS = LIMITS
    json.dump(dict(gpu=dict(batches={4: batch_moves("gpu", 4)})), sys.stdout)
    sys.exit()
for device in ("cpu", "gpu"):
    sim = blocks(11, device)
    vmmc = VMMC(period=2, moves_per_particle=0.5, translate_size=0.6, rotate_size=0.4, pivot_radius=1.5)
    alone = vmmc.run_alone(sim, 3)
    sim.operations.updaters.append(vmmc)
    vmmc.record = True
    sim.run(4)
    bonds, overlapping = sim.state.count_pairs(sim.well_range)
    # a batch of two systems: each its own seed, sweep and settings, in one launch on the GPU,
    # one thread per system (lanes 1) or a block of lanes per system
    batches = {lanes: batch_moves(device, lanes) for lanes in ((None,) if device == "cpu" else (None, 1, 4))}
    # a SimulationBatch whose members carry VMMC updaters: sweeps and cluster moves on the device,
    # the moves by blocks of 4 lanes
    members = []
    for seed in (5, 6):
        member = blocks(seed, device)
        sizes = dict(translate_size=0.6, rotate_size=0.4, pivot_radius=1.5)
        v = VMMC(period=2, moves_per_particle=0.5, gpu_lanes=4, **sizes)
        v.record = True
        member.operations.updaters.append(v)
        members.append(member)
    batch_trace = cubemc.SimulationBatch(members).run(4)
    out[device] = dict(
        simulation_batch=dict(
            trace=batch_trace.tolist(),
            moves=[m.operations.updaters[0].trace.tolist() for m in members],
            pos=[m.positions.tolist() for m in members],
        ),
        alone=alone.tolist(),
        mixed=vmmc.trace.tolist(),
        counts=vmmc.counts,
        bonds=[int(sim.bonds), int(bonds), int(overlapping)],
        pos=sim.positions.tolist(),
        quat=sim.orientations.tolist(),
        batches=batches,
    )
json.dump(out, sys.stdout)
"""


def test_gpu_vmmc_makes_the_cpu_moves_under_the_simulator():
    out = run_on_cuda_simulator("LIMITS = None\n" + SCRIPT)
    small = run_on_cuda_simulator("LIMITS = (3, 6)\n" + SCRIPT)["gpu"]["batches"]["4"]
    cpu, gpu = out["cpu"], out["gpu"]
    for key in ("alone", "mixed", "counts", "bonds"):
        assert gpu[key] == cpu[key], key
    np.testing.assert_allclose(gpu["pos"], cpu["pos"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gpu["quat"], cpu["quat"], rtol=0, atol=1e-12)
    bonds, recount, overlapping = gpu["bonds"]
    assert bonds == recount and overlapping == 0
    # the moves did something: clusters were accepted and the bond count changed
    assert cpu["counts"]["largest_cluster"] >= 2 and len(set(cpu["alone"] + cpu["mixed"])) > 1
    reference = cpu["batches"]["null"]
    assert set(gpu["batches"]) == {"null", "1", "4"}
    for name, batch in [*gpu["batches"].items(), ("4, lane 0 alone", small)]:
        for key in ("deltas", "traces", "counts"):
            assert batch[key] == reference[key], (name, key)
        np.testing.assert_allclose(batch["pos"], reference["pos"], rtol=0, atol=1e-12)
    for key in ("trace", "moves"):
        assert gpu["simulation_batch"][key] == cpu["simulation_batch"][key], key
    np.testing.assert_allclose(
        gpu["simulation_batch"]["pos"], cpu["simulation_batch"]["pos"], rtol=0, atol=1e-12
    )
    # the two systems of the batch made different moves, and each accepted some
    first, second = reference["counts"]
    assert first != second and min(first[1] + first[3], second[1] + second[3]) > 0


@needs_gpu
@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.parametrize("lanes", [1, 32])
def test_gpu_vmmc_samples_the_exact_two_cube_bond_distribution(lanes):
    """Two cubes, well 1.5, -4, box 6: P(bonded) from the importance sampler of test_vmmc, in both
    layouts."""
    from test_vmmc import assert_distribution, exact_bond_distribution

    p_exact, err_exact = exact_bond_distribution(2, -4.0, 1.5, 6.0, "cube", samples=2_000_000)
    start = np.outer(np.arange(2), np.full(3, 2.0))
    state = cubemc.State(start, [[1.0, 0, 0, 0]] * 2, [6.0] * 3)
    sim = cubemc.Simulation(state, -4.0, 1.5, seed=3, device="gpu", translate_size=0.5, rotate_size=0.3)
    vmmc = VMMC(
        moves_per_particle=1000.0, translate_size=1.5, rotate_size=0.5, pivot_radius=1.0, gpu_lanes=lanes
    )
    vmmc.run_alone(sim, 25)
    trace = vmmc.run_alone(sim, 250)  # 500,000 moves
    bonds, overlapping = sim.state.count_pairs(sim.well_range)
    assert overlapping == 0 and bonds == sim.bonds == trace[-1]
    assert_distribution(trace, p_exact, err_exact, 0.03)
