"""Compress an attractive suspension at fixed attraction and see where it nucleates
(docs/validation.md, "Compression at fixed attraction").

The experiments grow supraparticles by raising the NC concentration (evaporation) at a fixed
attraction, where the `nucleation` studies quench a fluid of fixed density.  Here a hard-cube
fluid at `--start-packing-fraction` is switched to beta*eps and then held at constant pressure
(cubemc.npt.BoxMove), the pressure raised geometrically from `--start-pressure` to
`--end-pressure` in `--stages` stages.  Each stage tunes the particle and box steps (a tenth of
`--stage-sweeps`), then runs `--stage-sweeps` of an ordinary NPT chain (detailed balance as in
cubemc.npt); only the ramp and the tuning drive the system.
Printed per stage: the pressure, the packing fraction at its end and its mean over the stage, the
bonds per cube and the largest crystalline cluster (analysis.nucleation.CrystalClusters).  The
packing fraction at which the largest cluster takes off is the compression route's onset, to set
against the quench diagram of `nucleation-scan`.

    python examples/compress_suspension.py --beta-epsilon -3   # 500 cubes, 14 CPU minutes
"""

import argparse
import json
import math

from cubemc.analysis.nucleation import CrystalClusters

import cubemc
from cubemc.npt import PREPARATION_BOX_MOVES, BoxMove


def pressures(start: float, end: float, stages: int) -> list[float]:
    """`stages` pressures from `start` to `end`, equal ratios between neighbours."""
    if stages == 1:
        return [end]
    return [start * (end / start) ** (k / (stages - 1)) for k in range(stages)]


def measure(sim, phis) -> dict:
    cc = CrystalClusters().compute(sim.box, sim.positions, sim.orientations)
    return {
        "sweep": sim.sweep,
        "packing_fraction": round(sim.state.packing_fraction, 4),
        "mean_packing_fraction": round(sum(phis) / len(phis), 4),
        "bonds_per_cube": round(sim.bonds / sim.N, 3),
        "largest": cc.largest_cluster_size if cc.num_clusters else 0,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cubes", type=int, default=500)
    parser.add_argument("--beta-epsilon", type=float, default=-3.0)
    parser.add_argument("--start-packing-fraction", type=float, default=0.1)
    parser.add_argument("--start-pressure", type=float, default=0.2, help="beta P sigma^3")
    parser.add_argument("--end-pressure", type=float, default=16.0)
    parser.add_argument("--stages", type=int, default=16)
    parser.add_argument("--stage-sweeps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 0 < args.start_pressure <= args.end_pressure or args.stages < 1 or args.stage_sweeps < 10:
        raise SystemExit(
            "compress_suspension: need 0 < start <= end pressure, stages >= 1, stage sweeps >= 10"
        )
    state = cubemc.State.fluid(args.cubes, args.start_packing_fraction, seed=args.seed)
    sim = cubemc.Simulation(
        state, beta_epsilon=args.beta_epsilon, well_range=1.14, seed=args.seed, device="cpu"
    )
    # several box moves per sweep, as npt.relax_to_pressure: one lets the volume lag the ramp
    box_move = BoxMove(args.start_pressure, volume_size=0.1, trials=PREPARATION_BOX_MOVES)
    sim.operations.updaters.append(box_move)
    rows = []
    for pressure in pressures(args.start_pressure, args.end_pressure, args.stages):
        box_move.pressure = pressure
        sim.tune(max(10, args.stage_sweeps // 10))  # box and particle steps for this density
        phis = []
        for _ in range(10):
            sim.run(math.ceil(args.stage_sweeps / 10))
            phis.append(sim.state.packing_fraction)
        rows.append({"pressure": round(pressure, 4), **measure(sim, phis)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
