"""Anneal one supraparticle in its own vapour and follow its shape (docs/validation.md, "Does a
supraparticle relax towards a cuboid?").

A crystallite of `--cubes` cubes on simple-cubic sites (a cube of sites, or the sites nearest the
centre: a ball) is placed alone in a periodic box at a low total packing fraction (or inside a
hard-cube fluid of packing fraction `--vapour`, so that it does not have to feed its own vapour)
and run at beta*eps with single-cube moves.  Printed per frame: the largest crystalline cluster, its extents
in lattice sites, its cuboidality in sites (N2's measure) and hull fill, its vacancies in the bulk
and on the surface ([vacant, all] sites, F1), its mean misorientation, and the bonds per cube.  The
crystallite exchanges cubes with its vapour, so its shape can relax towards the equilibrium
(Wulff) shape of the model at that attraction.

    python examples/anneal_supraparticle.py --shape ball --cubes 343 --sweeps 1000000

`--picture PNG` draws the last frame (cubes as cubes, the crystallite coloured, the vapour pale).
"""

import argparse
import json

import numpy as np
from cubemc.analysis.nucleation import CrystalClusters
from cubemc.analysis.sp_snapshot import plot_crystallites
from cubemc.analysis.supraparticle import Supraparticle

import cubemc
from cubemc import dense_crystal, lattices, shapes

SPACING = 1.05  # face-to-face neighbours inside the well (1.14)
#: packing fraction of a polydisperse seed crystal (cubemc.dense_crystal gets 12 % cubes to 0.80)
DENSE = 0.78


def sites(shape: str, n: int) -> np.ndarray:
    """`n` SC sites: a k^3 cube (n = k^3) or the n sites nearest the centre of a large grid."""
    if shape == "cube":
        k = round(n ** (1 / 3))
        if k**3 != n:
            raise SystemExit(f"anneal_supraparticle: --cubes {n} is not a cube number for --shape cube")
        g = np.arange(k)
        return np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T.astype(float)
    g = np.arange(-(round(n ** (1 / 3)) + 2), round(n ** (1 / 3)) + 3)
    grid = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T.astype(float)
    return grid[np.argsort(np.linalg.norm(grid, axis=1), kind="stable")[:n]]


def particles(args, n, seed):
    """Shape name and (n, P) parameters of `n` particles of edge 1 times a Gaussian size of width
    --polydispersity (drawn from `seed`), rounded by --rounding times their size."""
    shape = "rounded_cuboid" if args.rounding else "cuboid"
    sizes = lattices.draw_sizes(n, args.polydispersity, seed=seed)
    return shape, lattices.shape_params(shape, sizes, rounding=args.rounding)


def crystallite(args):
    """(positions centred at the origin, orientations, shape, shape parameters) of the seed.
    With --polydispersity or --rounding the seed's crystal is built at DENSE (compressed past the
    lattice that fits the largest particle: cubemc.dense_crystal) and cut out of its periodic
    box; the ball is carved from a larger such crystal."""
    if not (args.polydispersity or args.rounding):
        pos = sites(args.shape, args.cubes) * SPACING
        return pos - pos.mean(axis=0), np.tile([1.0, 0, 0, 0], (len(pos), 1)), "cube", np.zeros((len(pos), 1))
    k = round(args.cubes ** (1 / 3)) + (0 if args.shape == "cube" else 2)
    if args.shape == "cube" and (k**3 != args.cubes or k < 4):  # the dense route's box holds 4+ sites
        raise SystemExit("anneal_supraparticle: shaped cubes need --cubes k^3 with k >= 4 for --shape cube")
    shape, params = particles(args, k**3, args.seed)
    crystal = dense_crystal.simple_cubic(k, shape, params, DENSE, seed=args.seed)
    pos = dense_crystal.block(crystal, k)
    keep = np.argsort(np.linalg.norm(pos, axis=1), kind="stable")[: args.cubes]
    return pos[keep], crystal.orientations[keep], shape, crystal.shape_params[keep]


def vapour(args, box_volume):
    """Hard fluid at packing fraction `args.vapour` in about `box_volume`: unit cubes, or with
    --polydispersity or --rounding particles as the seed's (sizes from `args.seed` + 1)."""
    if not (args.polydispersity or args.rounding):
        n = round(args.vapour * box_volume)
        return cubemc.State.fluid(n_particles=n, packing_fraction=args.vapour, seed=args.seed)
    shape = "rounded_cuboid" if args.rounding else "cuboid"
    unit = lattices.shape_params(shape, [1.0], rounding=args.rounding)
    # E[s^3] of the untruncated Gaussian: sets only how many particles fill the box
    mean_volume = shapes.get(shape).volumes(unit, 1)[0] * (1.0 + 3.0 * args.polydispersity**2)
    n = round(args.vapour * box_volume / mean_volume)
    shape, params = particles(args, n, args.seed + 1)
    return lattices.fluid(n, args.vapour, shape, params, seed=args.seed)


def crystallite_in_vapour(args):
    """The crystallite alone in a box at total packing fraction `args.packing_fraction`, or, with
    `args.vapour` > 0, inside a hard fluid of that packing fraction filling a box of about edge
    `args.box` (fluid particles within the crystallite's reach removed)."""
    pos, q, shape, params = crystallite(args)
    mod = shapes.get(shape)
    if not args.vapour:
        edge = (float(mod.volumes(params, len(pos)).sum()) / args.packing_fraction) ** (1 / 3)
        return cubemc.State(pos, q, np.full(3, edge), shape=shape, shape_params=params)
    fluid = vapour(args, args.box**3)
    big = shapes.max_size(mod, params)
    reach = np.abs(pos).max() + (0.5 * SPACING + 0.9) * big  # a fluid particle this far out misses the block
    gap = np.linalg.norm(fluid.positions[:, None, :] - pos[None], axis=2).min(axis=1)
    away = (np.abs(fluid.positions).max(axis=1) > reach) | (gap > 1.8 * big)
    return cubemc.State(
        np.concatenate([pos, fluid.positions[away]]),
        np.concatenate([q, fluid.orientations[away]]),
        fluid.box,
        shape=shape,
        shape_params=np.concatenate([params, fluid.shape_params[away]]),
    )


def measure(sim) -> dict:
    cc = CrystalClusters().compute(sim.box, sim.positions, sim.orientations)
    row = {"sweep": sim.sweep, "bonds_per_cube": round(sim.bonds / sim.N, 3), "largest": 0}
    if cc.num_clusters:
        pos, q, _ = cc.cluster_configuration(0)
        sp = Supraparticle(mapping="bonds").compute(pos, q)
        row.update(largest=cc.largest_cluster_size, extents=sp.extents, cuboidality=round(sp.cuboidality, 3))
        # F1's counts and the alignment, as the experiments measure them
        row.update(
            hull_fill=round(sp.hull_fill, 3),
            bulk_vacancies=[sp.bulk_vacancies, sp.bulk_sites],
            surface_vacancies=[sp.surface_vacancies, sp.surface_sites],
            misorientation_deg=round(sp.misorientation_mean_deg, 2),
        )
    return row


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("cube", "ball"), default="ball")
    parser.add_argument("--cubes", type=int, default=343)
    parser.add_argument("--beta-epsilon", type=float, default=-5.0)
    parser.add_argument("--packing-fraction", type=float, default=0.1, help="of the whole box")
    parser.add_argument("--vapour", type=float, default=0.0, help="packing fraction of a fluid around it")
    parser.add_argument("--box", type=float, default=20.0, help="box edge with --vapour")
    parser.add_argument("--sweeps", type=int, default=200000)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--polydispersity", type=float, default=0.0, help="relative width of the cube sizes")
    parser.add_argument("--rounding", type=float, default=0.0, help="rounding radius in cube edges")
    parser.add_argument("--picture", help="PNG of the last frame, coloured by crystallinity")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    state = crystallite_in_vapour(args)
    sim = cubemc.Simulation(
        state, beta_epsilon=args.beta_epsilon, well_range=1.14, seed=args.seed, device="cpu"
    )
    sim.tune(1000)
    rows = [measure(sim)]
    print(json.dumps(rows[-1]), flush=True)
    for _ in range(args.frames):
        sim.run(args.sweeps // args.frames)
        rows.append(measure(sim))
        print(json.dumps(rows[-1]), flush=True)
    if args.picture:
        title = f"{args.shape} start, beta*eps {args.beta_epsilon}, sweep {sim.sweep}"
        edges = sim.shape.extents(sim.shape_params) if sim.shape.NAME != "cube" else None
        plot_crystallites(args.picture, sim.positions, sim.orientations, sim.box, title=title, edges=edges)
    return rows


if __name__ == "__main__":
    main()
