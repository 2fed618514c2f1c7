"""How much faster VMMC cluster moves bring attractive cubes to the aggregated state.

For each beta*eps and packing fraction the same start is run with single-particle moves only and
with a VMMC updater acting after every sweep.  The start is either a hard-cube fluid (--start
fluid: the first stage, dimers and small clusters forming, is driven by single-cube diffusion)
or the same cubes already in bonded 2x2x2 blocks (--start blocks, default: the late stage,
where clusters must move to merge).  The wall clock counts the simulation only (the cluster
analysis between chunks is not timed).  The VMMC run goes first; the single-move run is then
given `--ratio` times the VMMC run's time to the cluster target (at least --seconds), so
"never" in the single-move row means a speed-up of at least that ratio.

Printed side by side per state point: sweeps, bonds per cube and largest cluster at the end, the
wall time to reach a cluster of --cluster cubes and a bond level (--level times the best value
reached by either run; fluid start only), the integrated autocorrelation time of the energy over
the last half of each run (sweeps) and the independent energy samples per wall second; then the
speed-ups.

    python benchmarks/bench_vmmc.py                  # about 3 minutes per state point
    python benchmarks/bench_vmmc.py --beta-eps -6 -4 --phi 0.1 0.2 --seeds 3 --start fluid

Wall times depend on the machine and its load: quote them with the machine.
"""

import argparse
import time

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

import cubemc
from cubemc.vmmc import VMMC


def largest_cluster(sim):
    """Size of the largest group of cubes connected by bonds (centres within the well)."""
    box = sim.box
    pairs = cKDTree(np.mod(sim.positions + box / 2, box), boxsize=box).query_pairs(
        sim.well_range, output_type="ndarray"
    )
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(sim.N, sim.N))
    return int(np.bincount(connected_components(graph, directed=False)[1]).max())


def autocorrelation_time(series):
    """Integrated autocorrelation time (in samples), summed up to the first negative value."""
    x = np.asarray(series, float) - np.mean(series)
    if not x.any():
        return float("nan")
    acf = np.correlate(x, x, "full")[len(x) - 1 :] / (np.arange(len(x), 0, -1) * x.var())
    stop = np.argmax(acf < 0) or len(acf)
    return 0.5 + acf[1:stop].sum()


def blocks_state(blocks, phi, edge=2):
    """blocks^3 bonded edge^3 blocks of cubes (face gaps 0.05) on a grid, packing fraction phi."""
    spacing = (edge**3 / phi) ** (1 / 3)
    cube = np.indices((edge,) * 3).reshape(3, -1).T * 1.05
    corners = np.indices((blocks,) * 3).reshape(3, -1).T * spacing
    pos = (corners[:, None, :] + cube[None]).reshape(-1, 3)
    return cubemc.State(pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), [blocks * spacing] * 3)


def run(state, beta_eps, seed, vmmc, args, limit):
    """Run until `limit` wall seconds, or earlier once past --seconds with the cluster reached;
    returns (sim, wall times, bonds per cube, largest cluster) after every --chunk sweeps."""
    sim = cubemc.Simulation(
        state, beta_eps, 1.14, seed=seed, device="cpu", translate_size=0.15, rotate_size=0.15
    )
    if vmmc is not None:
        sim.operations.updaters.append(vmmc)
    sim.run(1)  # compile before timing
    wall, times, bonds, largest = 0.0, [], [], []
    while wall < limit and not (wall >= args.seconds and largest and largest[-1] >= args.cluster):
        start = time.perf_counter()
        sim.run(args.chunk)
        wall += time.perf_counter() - start
        times.append(wall)
        bonds.append(sim.bonds / sim.N)
        largest.append(largest_cluster(sim))
    return sim, np.array(times), np.array(bonds), np.array(largest)


def first_time(times, values, level):
    """Wall time at which `values` first reach `level`, or None."""
    return float(times[np.argmax(values >= level)]) if values.max() >= level else None


def show(t):
    return f"{t:7.1f} s" if t is not None else "   never"


def speedup(t_vmmc, t_single, single_wall):
    if t_vmmc is None:
        return "not measured (VMMC did not reach it)"
    if t_single is None:
        return f">= {single_wall / t_vmmc:.1f}x (single moves never within {single_wall:.0f} s)"
    return f"{t_single / t_vmmc:.1f}x"


def compare(state, beta_eps, seed, args):
    vmmc = VMMC(
        period=1,
        moves_per_particle=args.moves_per_particle,
        translate_size=args.translate_size,
        rotate_size=args.rotate_size,
        pivot_radius=args.pivot_radius,
        random_cutoff=False,
    )
    results = {"with VMMC": run(state, beta_eps, seed, vmmc, args, args.budget)}
    t_cluster = first_time(results["with VMMC"][1], results["with VMMC"][3], args.cluster)
    limit = max(args.seconds, args.ratio * (t_cluster or args.budget / args.ratio))
    results["single moves"] = run(state, beta_eps, seed, None, args, limit)
    level = args.level * max(r[2].max() for r in results.values())
    rows, tau_rate = {}, {}
    for label, (sim, times, bonds, largest) in results.items():
        tau = autocorrelation_time(bonds[len(bonds) // 2 :]) * args.chunk
        tau_rate[label] = 1 / (tau * times[-1] / (sim.sweep - 1))
        # from blocks the bonds start high: only a fluid start approaches a bond level
        reach = first_time(times, bonds, level) if args.start == "fluid" else None
        rows[label] = (first_time(times, largest, args.cluster), reach, times[-1])
        print(
            f"  {label:13s} seed {seed} sweeps {sim.sweep:6d} in {times[-1]:5.0f} s  bonds/cube "
            f"{bonds[-1]:.3f}  largest {largest[-1]:4d}  cluster of {args.cluster} after "
            f"{show(rows[label][0])}  {level:.3f} bonds/cube after "
            f"{show(rows[label][1]) if args.start == 'fluid' else '     n/a'}  "
            f"tau_E {tau:6.0f} sweeps = {tau_rate[label]:6.3f} samples/s"
        )
    (tc_v, tb_v, _), (tc_s, tb_s, wall_s) = rows["with VMMC"], rows["single moves"]
    print(
        f"  speed-up seed {seed}: cluster of {args.cluster} {speedup(tc_v, tc_s, wall_s)}; "
        + (f"bond level {speedup(tb_v, tb_s, wall_s)}; " if args.start == "fluid" else "")
        + "energy samples per second "
        f"{tau_rate['with VMMC'] / tau_rate['single moves']:.1f}x"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", choices=("blocks", "fluid"), default="blocks")
    parser.add_argument("--blocks", type=int, default=4, help="blocks per edge (8 cubes each)")
    parser.add_argument("--phi", type=float, nargs="+", default=[0.15])
    parser.add_argument("--beta-eps", type=float, nargs="+", default=[-6.0])
    parser.add_argument("--seeds", type=int, default=1, help="independent runs per state point")
    parser.add_argument("--seconds", type=float, default=30.0, help="least wall time per run")
    parser.add_argument("--budget", type=float, default=120.0, help="most wall time of a VMMC run")
    parser.add_argument("--ratio", type=float, default=10.0, help="single-move time, VMMC units")
    parser.add_argument("--chunk", type=int, default=10, help="sweeps between samples")
    parser.add_argument("--level", type=float, default=0.9, help="bond level, fraction of best")
    parser.add_argument("--cluster", type=int, default=32, help="cluster size to reach")
    parser.add_argument("--moves-per-particle", type=float, default=0.2)
    parser.add_argument("--translate-size", type=float, default=1.0)
    parser.add_argument("--rotate-size", type=float, default=0.3)
    parser.add_argument("--pivot-radius", type=float, default=1.0)
    args = parser.parse_args()
    for phi in args.phi:
        n = 8 * args.blocks**3
        state = (
            blocks_state(args.blocks, phi) if args.start == "blocks" else cubemc.State.fluid(n, phi, seed=1)
        )
        for beta_eps in args.beta_eps:
            print(
                f"{args.start} start, N = {n}, phi = {phi}, beta*eps = {beta_eps}, lambda = 1.14; "
                f"VMMC every sweep: {args.moves_per_particle} N moves, translations <= "
                f"{args.translate_size}, rotations <= {args.rotate_size}, fixed size cutoff"
            )
            for seed in range(1, args.seeds + 1):
                compare(state, beta_eps, seed, args)


if __name__ == "__main__":
    main()
