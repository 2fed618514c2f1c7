"""How much faster VMMC cluster moves bring attractive cubes to the aggregated state.

For each beta*eps and packing fraction the same start is run twice for the same wall time:
single-particle moves only, and with a VMMC updater acting after every sweep.  The start is
either a hard-cube fluid (--start fluid: the first stage, dimers and small clusters forming, is
driven by single-cube diffusion) or the same cubes already in bonded 2x2x2 blocks (--start
blocks, default: the late stage, where clusters must move to merge).  Printed per run: bonds per
cube and largest cluster reached, the wall time to reach a bond level (a fraction of the best
value reached by either run) and a cluster size, and the integrated autocorrelation time of the
energy over the last half of the run, also as independent samples per wall second.

    python benchmarks/bench_vmmc.py                      # about 4 minutes
    python benchmarks/bench_vmmc.py --seconds 300 --blocks 5 --beta-eps -4 -6 --phi 0.1 0.2

Wall times depend on the machine and its load: quote them with the machine.
"""

import argparse
import time

import numpy as np

import cubemc
from cubemc.vmmc import VMMC


def largest_cluster(sim):
    """Size of the largest group of cubes connected by bonds (centres within the well)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pos, box = sim.positions, sim.box
    d = pos[None] - pos[:, None]
    d -= box * np.floor(d / box + 0.5)
    i, j = np.nonzero(np.einsum("ijk,ijk->ij", d, d) < sim.well_range**2)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(sim.N, sim.N))
    return int(np.bincount(connected_components(graph, directed=False)[1]).max())


def autocorrelation_time(series):
    """Integrated autocorrelation time (in samples), summed up to the first negative value."""
    x = np.asarray(series, float) - np.mean(series)
    if not x.any():
        return float("nan")
    acf = np.correlate(x, x, "full")[len(x) - 1 :] / (np.arange(len(x), 0, -1) * x.var())
    stop = np.argmax(acf < 0) or len(acf)
    return 0.5 + acf[1:stop].sum()


def blocks_state(blocks, phi):
    """blocks^3 bonded 2x2x2 blocks of cubes (face gaps 0.05) on a grid, packing fraction phi."""
    spacing = (8 / phi) ** (1 / 3)
    cube = np.indices((2, 2, 2)).reshape(3, -1).T * 1.05
    corners = np.indices((blocks,) * 3).reshape(3, -1).T * spacing
    pos = (corners[:, None, :] + cube[None]).reshape(-1, 3)
    return cubemc.State(pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), [blocks * spacing] * 3)


def run(state, beta_eps, seconds, vmmc, chunk):
    sim = cubemc.Simulation(
        state, beta_eps, 1.14, seed=3, device="cpu", translate_size=0.15, rotate_size=0.15
    )
    if vmmc:
        sim.operations.updaters.append(
            VMMC(
                period=1,
                moves_per_particle=0.2,
                translate_size=0.5,
                rotate_size=0.3,
                pivot_radius=1.0,
                random_cutoff=False,
            )
        )
    sim.run(1)  # compile before timing
    start, times, bonds, largest = time.perf_counter(), [], [], []
    while time.perf_counter() - start < seconds:
        sim.run(chunk)
        times.append(time.perf_counter() - start)
        bonds.append(sim.bonds / sim.N)
        largest.append(largest_cluster(sim))
    return sim, np.array(times), np.array(bonds), np.array(largest)


def first_time(times, values, level):
    return f"{times[np.argmax(values >= level)]:7.1f} s" if values.max() >= level else "   never"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", choices=("blocks", "fluid"), default="blocks")
    parser.add_argument("--blocks", type=int, default=4, help="blocks per edge (8 cubes each)")
    parser.add_argument("--phi", type=float, nargs="+", default=[0.15])
    parser.add_argument("--beta-eps", type=float, nargs="+", default=[-6.0, -4.0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time per run")
    parser.add_argument("--chunk", type=int, default=10, help="sweeps between samples")
    parser.add_argument("--level", type=float, default=0.8, help="bond level, fraction of best")
    parser.add_argument("--cluster", type=int, default=32, help="cluster size to reach")
    args = parser.parse_args()
    for phi in args.phi:
        n = 8 * args.blocks**3
        state = (
            blocks_state(args.blocks, phi) if args.start == "blocks" else cubemc.State.fluid(n, phi, seed=1)
        )
        for beta_eps in args.beta_eps:
            results = {}
            for label, vmmc in (("single moves", False), ("with VMMC", True)):
                results[label] = run(state, beta_eps, args.seconds, vmmc, args.chunk)
            target = args.level * max(r[2].max() for r in results.values())
            print(
                f"{args.start} start, N = {n}, phi = {phi}, beta*eps = {beta_eps}, lambda = 1.14, "
                f"{args.seconds:.0f} s each; levels: {target:.3f} bonds per cube, "
                f"a cluster of {args.cluster}"
            )
            for label, (sim, times, bonds, largest) in results.items():
                tau = autocorrelation_time(bonds[len(bonds) // 2 :]) * args.chunk
                per_sweep = times[-1] / (sim.sweep - 1)
                print(
                    f"  {label:13s} sweeps {sim.sweep:6d}  bonds/cube {bonds[-1]:.3f}  "
                    f"largest cluster {largest[-1]:4d}  bond level after "
                    f"{first_time(times, bonds, target)}  cluster after "
                    f"{first_time(times, largest, args.cluster)}  tau_E {tau:7.0f} sweeps = "
                    f"{1 / (tau * per_sweep):7.3f} samples/s"
                )


if __name__ == "__main__":
    main()
