"""VMMC cluster moves per second on the GPU (cubemc/gpu_vmmc.py: one thread per system, or a block
of lanes per system) against one CPU core, for batches of B systems; one JSON document per line,
so a run cut short keeps every point measured so far.

    python benchmarks/bench_gpu_vmmc.py                # a GPU machine (gpu_check.py --vmmc runs it)
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/bench_gpu_vmmc.py --smoke   # no GPU: the same path

Systems as in the nucleation scan's wide well (N = 1000, phi 0.3, lambda 1.3, beta*eps -5, the
workflow's VMMC settings, 0.1 N moves per action): `fluid`, a hard-cube fluid relaxed with VMMC
on the CPU, and `blocks`, eight bonded 5x5x5 blocks (most moves recruit the 64-cube cutoff, as in
grown crystals).  B copies of a state with seeds 1 .. B run in one launch; the CPU figure is one
system on one core (the CPU driver is serial).  `same_as_cpu` says whether the GPU's first action
made the CPU's moves (the same bond count after every move; floating-point contraction on a real
GPU may part them after many moves, which changes nothing in distribution).  Compile time is
excluded from the rates and reported.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vmmc import blocks_state  # noqa: E402

import cubemc  # noqa: E402
from cubemc.systems import Systems  # noqa: E402
from cubemc.vmmc import VMMC  # noqa: E402
from cubemc.workflow.cluster_moves import START  # noqa: E402

BETA_EPS, WELL, PHI = -5.0, 1.3, 0.3


def start_states(smoke):
    """(name, relaxed simulation on the CPU) per start state."""
    if smoke:
        sim = cubemc.Simulation(cubemc.State.simple_cubic(n=3, packing_fraction=PHI), BETA_EPS, WELL, seed=1)
        return [("lattice", sim)]
    out = []
    for name, state in (
        ("fluid", cubemc.State.fluid(1000, PHI, seed=1)),
        ("blocks", blocks_state(2, PHI, edge=5)),
    ):
        sim = cubemc.Simulation(
            state, BETA_EPS, WELL, seed=1, device="cpu", translate_size=0.1, rotate_size=0.1
        )
        sim.operations.updaters.append(VMMC(period=1, moves_per_particle=0.1, **START))
        sim.run(100)
        out.append((name, sim))
    return out


def settings_of(sim):
    """The settings row of the workflow's VMMC updater (cluster_moves.START) on `sim`."""
    return VMMC(**START).settings(sim)


def systems_of(sim, device, n_sys):
    conf = (sim.positions, sim.orientations, sim.systems.shape_params(0), sim.box)
    grid, cap = sim.cells
    return Systems(sim.shape, sim.pair, device, [conf] * n_sys, [grid] * n_sys, cap)


def measure(sim, device, n_sys, n_moves, seconds, lanes=None):  # noqa: PLR0913
    """(compile-and-first-call seconds, moves per second over all systems, first trace)."""
    systems = systems_of(sim, device, n_sys)
    seeds = np.arange(1, n_sys + 1, dtype=np.uint64)
    settings = np.array([settings_of(sim)] * n_sys)
    params = np.array([sim.kernel_parameters()[1]] * n_sys)
    counts = np.zeros((n_sys, 9), np.int64)

    def action(sweep, record=False):
        delta, ok, trace = systems.vmmc_moves(
            n_moves, seeds, np.full(n_sys, sweep), settings, params, counts, record, lanes
        )
        if not ok.all():
            raise RuntimeError("cell overflow")
        return trace

    start = time.perf_counter()
    first = action(0, record=True)
    compile_s = time.perf_counter() - start
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < seconds:
        calls += 1
        action(calls)
    elapsed = time.perf_counter() - start
    return compile_s, n_sys * n_moves * calls / elapsed, first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="27 cubes, B = 1, 2: the same path in seconds")
    parser.add_argument(
        "--systems",
        type=int,
        nargs="+",
        default=None,
        help="batch sizes B (default 1 128 32 8: the most telling first)",
    )
    parser.add_argument(
        "--lanes", type=int, nargs="+", default=None, help="threads per system on the GPU (default 1 32)"
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per point")
    args = parser.parse_args()
    batches = args.systems or ([1, 2] if args.smoke else [1, 128, 32, 8])
    lanes_list = args.lanes or ([1, 4] if args.smoke else [1, 32])
    seconds = 0.2 if args.smoke else args.seconds
    for name, sim in start_states(args.smoke):
        n_moves = max(1, round(0.1 * sim.N))
        base = dict(state=name, N=sim.N, bonds_per_cube=sim.bonds / sim.N, moves_per_action=n_moves)
        compile_s, cpu_rate, cpu_trace = measure(sim, "cpu", 1, n_moves, seconds)
        print(
            json.dumps(dict(base, device="cpu", systems=1, moves_per_s=cpu_rate, compile_s=compile_s)),
            flush=True,
        )
        for n_sys in batches:
            for lanes in lanes_list:
                measure_gpu(sim, base, lanes, n_sys, n_moves, seconds, cpu_rate, cpu_trace)


def measure_gpu(sim, base, lanes, n_sys, n_moves, seconds, cpu_rate, cpu_trace):  # noqa: PLR0913
    compile_s, rate, trace = measure(sim, "gpu", n_sys, n_moves, seconds, lanes)
    point = dict(base, device="gpu", lanes=lanes, systems=n_sys, moves_per_s=rate, compile_s=compile_s)
    point.update(per_system_vs_cpu_core=rate / n_sys / cpu_rate, gpu_vmmc_vs_cpu_core=rate / cpu_rate)
    point["same_as_cpu"] = bool(np.array_equal(trace[0], cpu_trace[0]))
    print(json.dumps(point), flush=True)


if __name__ == "__main__":
    main()
