"""Count the vacancies planted in an SC block as the engine runs it, by sites and without a lattice.

An n^3 block (lattice constant inside the well) with vacancies at known bulk and face sites sits
alone in a box at packing fraction 0.1 (vapour forms from it).  Every `--every` sweeps the
largest crystallite is counted three ways: its sites mapped along bonds (Supraparticle, what F1
pools), without a lattice (LocalSites, cubes outside the crystallite filling holes), and without
a lattice over every cube of the box (no crystallinity criterion).  In the narrow well all three
keep the planted count; in the wide well the rows slide and the site mapping fails
(docs/validation.md).

    python examples/planted_vacancies.py --well-range 1.3 --beta-epsilon -5 --seed 4
"""

import argparse

import numpy as np
from cubemc.analysis.local_sites import LocalSites
from cubemc.analysis.nucleation import CrystalClusters
from cubemc.analysis.supraparticle import Supraparticle

import cubemc

#: planted vacancies of a 7^3 block: two in the bulk, three in faces
PLANTED = [(3, 3, 3), (2, 4, 3), (0, 3, 3), (6, 2, 4), (3, 0, 2)]


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--well-range", type=float, default=1.14)
    p.add_argument("--beta-epsilon", type=float, default=-5.0)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--sweeps", type=int, default=2000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--edge", type=int, default=7, help="cubes along the block's edge (planted sites need 7)")
    return p.parse_args(argv)


def block(edge, well_range):
    """The block with PLANTED sites left empty, in a box at packing fraction 0.1."""
    spacing = 1.15 if well_range > 1.2 else 1.07  # bonded neighbours sit inside the well
    idx = np.stack(np.meshgrid(*(np.arange(edge),) * 3, indexing="ij"), -1).reshape(-1, 3)
    planted = [s for s in PLANTED if max(s) < edge]
    keep = ~np.any(np.all(idx[:, None, :] == np.asarray(planted)[None], axis=2), axis=1)
    pos = (idx[keep] - (edge - 1) / 2) * spacing
    box = np.full(3, (edge**3 / 0.1) ** (1 / 3))
    return cubemc.State(pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), box)


def _pair(sp, kind):
    return [getattr(sp, f"{kind}_vacancies"), getattr(sp, f"{kind}_sites")]


def count(sim):
    """The three counts of the largest non-spanning crystallite, as a dict."""
    cc = CrystalClusters().compute(sim.box, sim.positions, sim.orientations)
    c = cc.largest_nonspanning(8)
    row = {"bonds_per_cube": sim.bonds / sim.N}
    if c is not None:
        pos, q, _ = cc.cluster_configuration(c)
        walk = Supraparticle(mapping="bonds").compute(pos, q)
        free = LocalSites().compute(pos, q, sim.positions[cc.cluster_idx != c], sim.box)
        row.update(size=len(pos), site_fraction=walk.site_fraction, double_sites=walk.double_sites)
        row.update(bond_walk=[_pair(walk, "bulk"), _pair(walk, "surface")])
        row.update(lattice_free=[_pair(free, "bulk"), _pair(free, "surface")], filled=free.filled_holes)
    every = LocalSites().compute(
        sim.positions - sim.box * np.floor(sim.positions / sim.box + 0.5), sim.orientations
    )
    row["every_cube"] = [_pair(every, "bulk"), _pair(every, "surface")]
    return row


def main(argv=None):
    args = parse(argv)
    state = block(args.edge, args.well_range)
    sim = cubemc.Simulation(
        state, beta_epsilon=args.beta_epsilon, well_range=args.well_range, seed=args.seed, device="cpu"
    )
    rows = []
    for done in range(args.every, args.sweeps + 1, args.every):
        sim.run(args.every)
        rows.append({"sweep": done} | count(sim))
        print(rows[-1], flush=True)
    return rows


if __name__ == "__main__":
    main()
