"""How far and how fast the dense-crystal route (cubemc.dense_crystal) compresses polydisperse
simple-cubic crystals with one vacancy, and the order they keep.

    NUMBA_NUM_THREADS=1 python benchmarks/bench_dense_crystal.py --n 6 --polydispersity 0.12 \
        --seeds 1 2 3 --packing-fraction 0.8

For each seed: sizes drawn as the workflow does (cubemc.lattices.draw_sizes), the route run to
--packing-fraction; a jam reports the packing fraction reached.  Prints one line per run (seconds,
sweeps, kept size exchanges, packing fraction, SC order) and the smallest reached.  Compilation
is done before timing (a first tiny run).  One thread: set NUMBA_NUM_THREADS=1 for comparable figures.
"""

import argparse
import time

import numpy as np

from cubemc import dense_crystal, lattices
from cubemc.errors import InputError


def run(n, delta, seed, phi):
    params = lattices.shape_params("cuboid", lattices.draw_sizes(n**3, delta, seed=seed))
    stats = {}
    start = time.perf_counter()
    try:
        state = dense_crystal.simple_cubic(n, "cuboid", params, phi, vacancies=1, seed=seed, stats=stats)
    except InputError as err:
        return time.perf_counter() - start, stats, stats.get("reached"), str(err)
    seconds = time.perf_counter() - start
    full = state.packing_fraction * dense_crystal.full_lattice_volume("cuboid", params)
    full /= float(np.sum(state.shape_params.prod(axis=1)))
    order = dense_crystal.sc_order(state, n)
    return seconds, stats, full, order


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--polydispersity", type=float, default=0.12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--packing-fraction", type=float, default=0.8)
    args = parser.parse_args()
    run(3, args.polydispersity, 0, 0.6)  # compile
    reached = []
    for seed in args.seeds:
        seconds, stats, phi, order = run(args.n, args.polydispersity, seed, args.packing_fraction)
        reached.append(phi if phi is not None else float("nan"))
        sweeps = stats.get("total_sweeps", stats.get("sweeps"))
        print(
            f"n={args.n} N={args.n**3 - 1} poly={args.polydispersity} seed={seed} "
            f"target={args.packing_fraction}: {seconds:.1f} s, {sweeps} "
            f"sweeps in {stats.get('attempts', 1)} attempt(s), "
            f"{stats.get('swaps_kept')} exchanges kept, full-lattice phi {phi:.4f}, {order}",
            flush=True,
        )
    print(f"smallest reached: {min(reached):.4f}")


if __name__ == "__main__":
    main()
