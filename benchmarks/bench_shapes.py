"""Trial moves per second for the shape families (a trial move = one proposed translation or
rotation), at the same packing fraction, beta*eps and well:

    python benchmarks/bench_shapes.py                     # n = 10 (N = 999), CPU (+ GPU if any)
    python benchmarks/bench_shapes.py --n 8 --devices cpu --seconds 2 --json out.json

Systems: the unit cube, a 1 : 1 : 1.2 cuboid, a rounded cube of outer edge 1 with r = 0.1 and
12 % polydisperse cubes, each an aligned lattice with one vacancy compressed to phi = 0.7 (the
polydisperse crystal cannot be built at 0.7 with its largest particle on every site), then
beta*eps = -1, well 1.14, move sizes tuned to 30 % acceptance.  Compilation, building and tuning
are not timed.
"""

import argparse
import json
import os
import platform
import time

import numba

import cubemc
from cubemc import lattices
from cubemc.devices import describe_gpu, gpu_usable

PHI = 0.7


def systems(n, seed=1):
    sites = n**3
    ones = lattices.draw_sizes(sites)
    poly = lattices.draw_sizes(sites, polydispersity=0.12, seed=seed)
    return {
        "cube": ("cube", None),
        "cuboid 1:1:1.2": ("cuboid", lattices.shape_params("cuboid", ones, edges=(1, 1, 1.2))),
        "rounded r=0.1": ("rounded_cuboid", lattices.shape_params("rounded_cuboid", ones, rounding=0.1)),
        "cubes 12% poly": ("cuboid", lattices.shape_params("cuboid", poly)),
    }


def build(n, shape, params, seed=1):
    if shape == "cube":
        return cubemc.State.simple_cubic(n, PHI, vacancies=1, seed=seed)
    state = lattices.simple_cubic(n, shape, params, packing_fraction=0.45, vacancies=1, seed=seed)
    return lattices.compressed(state, PHI, seed=seed)


def measure(state, device, seconds):
    sim = cubemc.Simulation(state, beta_epsilon=-1.0, well_range=1.14, seed=2, device=device)
    sim.tune(40, period=5)  # also compiles
    sim.run(1)
    sweeps = 1
    while True:  # grow the number of sweeps until they take `seconds`
        start = time.perf_counter()
        sim.run(sweeps)
        _ = sim.positions  # waits for a GPU to finish
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            break
        sweeps = max(2 * sweeps, int(sweeps * seconds / max(elapsed, 1e-3)))
    return sweeps * sim.N / elapsed, sim.acceptance, sim.N


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=10, help="lattice edge (N = n^3 - 1)")
    p.add_argument("--devices", nargs="+", default=None, help="cpu and/or gpu (default: all usable)")
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timed duration per point")
    p.add_argument("--json", help="also write the figures to this JSON file")
    args = p.parse_args()
    devices = args.devices or (["cpu"] + (["gpu"] if gpu_usable()[0] else []))
    machine = dict(
        host=platform.node(),
        cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(),
        numba_threads=numba.get_num_threads(),
        load=os.getloadavg()[0],
        numba=numba.__version__,
    )
    if "gpu" in devices:
        machine["gpu"] = describe_gpu()
    print(f"# {machine}")
    print(
        f"{'system':>16} {'device':>6} {'N':>6} {'phi':>6} {'trial moves/s':>14} {'vs cube':>8} "
        f"{'acc(t/r)':>10}"
    )
    rows = []
    for device in devices:
        cube_rate = None
        for label, (shape, params) in systems(args.n).items():
            state = build(args.n, shape, params)
            rate, acc, n = measure(state, device, args.seconds)
            cube_rate = cube_rate or rate
            print(
                f"{label:>16} {device:>6} {n:>6} {state.packing_fraction:>6.3f} {rate:>14.3e} "
                f"{cube_rate / rate:>7.2f}x {acc['translate']:.2f}/{acc['rotate']:.2f}",
                flush=True,
            )
            rows.append(
                dict(system=label, device=device, N=n, packing_fraction=float(state.packing_fraction),
                     trial_moves_per_second=rate, cost_vs_cube=cube_rate / rate, acceptance=acc)
            )  # fmt: skip
    machine["load_after"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=machine, results=rows), fh, indent=1)


if __name__ == "__main__":
    main()
