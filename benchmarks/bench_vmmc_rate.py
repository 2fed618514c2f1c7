"""Sweeps per second of the nucleation study's VMMC updater on one simulation (CPU).

The nucleation study (init.py nucleation) attaches a VMMC updater with the workflow's settings
(cubemc/workflow/cluster_moves.py: 0.1 N cluster moves after every sweep, translations up to one
edge, rotations up to 0.3 rad, a fixed cutoff of 64 cubes).  This prints, per start state, the
sweeps per second of sweeps with that updater, of sweeps alone and of the updater alone, so that
a change to the VMMC kernels can be timed before and after on the same machine.

Start states, N = 1000 at --phi, beta*eps --beta-eps, lambda --well-range (1.14), relaxed --relax sweeps with
the updater before timing: a hard-cube fluid (`fluid`), and the cubes as eight bonded 5x5x5
blocks (`blocks`, face gaps 0.05): crystallites larger than the cutoff, where most cluster moves
recruit 64 cubes and stop, as in the scan's grown crystals.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_vmmc_rate.py
    NUMBA_NUM_THREADS=1 python benchmarks/bench_vmmc_rate.py --phi 0.4 --sweeps 500
    NUMBA_NUM_THREADS=1 python benchmarks/bench_vmmc_rate.py --well-range 1.3 --beta-eps -5

Rates depend on the machine and its load: quote them with the machine and thread count.
"""

import argparse
import time

from bench_vmmc import blocks_state  # the script's folder is on sys.path

import cubemc
from cubemc.vmmc import VMMC
from cubemc.workflow.cluster_moves import START


def rate(sim, sweeps, vmmc_alone=False):
    start = time.perf_counter()
    if vmmc_alone:
        sim.operations.updaters[0].run_alone(sim, sweeps)
    else:
        sim.run(sweeps)
    return sweeps / (time.perf_counter() - start)


def measure(state, args):
    vmmc = VMMC(period=1, moves_per_particle=0.1, **START)
    sim = cubemc.Simulation(
        state, args.beta_eps, args.well_range, seed=1, device="cpu", translate_size=0.1, rotate_size=0.1
    )
    sim.operations.updaters.append(vmmc)
    sim.run(args.relax)  # also compiles
    with_vmmc = rate(sim, args.sweeps)
    alone = rate(sim, args.sweeps, vmmc_alone=True)
    sim.operations.updaters.clear()
    sweeps_only = rate(sim, args.sweeps)
    sizes = vmmc.counts["accepted_cluster_sizes"] / max(
        1, vmmc.counts["translate_accepted"] + vmmc.counts["rotate_accepted"]
    )
    return with_vmmc, sweeps_only, alone, sim.bonds / sim.N, sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", nargs="+", choices=("fluid", "blocks"), default=["fluid", "blocks"])
    parser.add_argument("--phi", type=float, default=0.3)
    parser.add_argument("--beta-eps", type=float, default=-6.0)
    parser.add_argument("--well-range", type=float, default=1.14, help="lambda (the scan's wide well: 1.3)")
    parser.add_argument("--relax", type=int, default=200, help="sweeps before timing")
    parser.add_argument("--sweeps", type=int, default=300, help="sweeps timed per figure")
    args = parser.parse_args()
    print(
        f"N = 1000, phi = {args.phi}, beta*eps = {args.beta_eps}, lambda = {args.well_range}; "
        "VMMC as in the workflow"
    )
    for start in args.start:
        state = (
            blocks_state(2, args.phi, edge=5)
            if start == "blocks"
            else cubemc.State.fluid(1000, args.phi, seed=1)
        )
        with_vmmc, sweeps_only, alone, bonds, size = measure(state, args)
        print(
            f"  {start:6s}  with VMMC {with_vmmc:7.1f} sweeps/s   sweeps alone {sweeps_only:7.1f}   "
            f"VMMC alone {alone:7.1f}   (bonds/cube {bonds:.2f}, accepted clusters {size:.1f} cubes)"
        )


if __name__ == "__main__":
    main()
