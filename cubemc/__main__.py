"""Command line: one simulation from an initial state to a GSD trajectory.

    python -m cubemc --lattice 10 --packing-fraction 0.8 --vacancies 1 --beta-epsilon -1 \
        --tune-sweeps 2000 --sweeps 10000 --trajectory traj.gsd --checkpoint restart.npz
"""

import argparse
import logging
import os
import sys

from . import __version__
from .errors import DeviceError, InputError
from .simulation import Simulation
from .state import State


def parser():
    p = argparse.ArgumentParser(prog="python -m cubemc", description=(
        "Metropolis Monte Carlo of hard cubes (edge 1) with a square well of depth beta_epsilon "
        "(kT units; negative attracts) and range well_range between centres."))
    start = p.add_argument_group("initial state (one of)")
    start.add_argument("--lattice", type=int, metavar="n", help="n x n x n simple-cubic crystal")
    start.add_argument("--fluid", type=int, metavar="N", help="compressed hard-cube fluid of N cubes")
    start.add_argument("--input", metavar="GSD", help="last frame of a GSD file")
    start.add_argument("--restart", metavar="NPZ", help="continue from a checkpoint")
    p.add_argument("--packing-fraction", type=float, default=0.8)
    p.add_argument("--vacancies", type=int, default=0, help="sites removed from the lattice")
    p.add_argument("--beta-epsilon", type=float, default=-1.0)
    p.add_argument("--well-range", type=float, default=1.14)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"])
    p.add_argument("--tune-sweeps", type=int, default=1000)
    p.add_argument("--sweeps", type=int, default=10000)
    p.add_argument("--period", type=int, default=100, help="sweeps between trajectory frames")
    p.add_argument("--trajectory", default="trajectory.gsd")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--checkpoint-period", type=int, default=None)
    p.add_argument("--version", action="version", version=f"cubemc {__version__}")
    return p


def build(args):
    if args.restart:
        return Simulation.from_checkpoint(args.restart, device=args.device)
    chosen = [a for a in ("lattice", "fluid", "input") if getattr(args, a) is not None]
    if len(chosen) != 1:
        raise InputError("give exactly one of --lattice, --fluid, --input or --restart")
    if args.lattice is not None:
        state = State.simple_cubic(args.lattice, args.packing_fraction, vacancies=args.vacancies,
                                   seed=args.seed)
    elif args.fluid is not None:
        state = State.fluid(args.fluid, args.packing_fraction, seed=args.seed)
    else:
        state = State.from_gsd(args.input)
    sim = Simulation(state, args.beta_epsilon, args.well_range, seed=args.seed, device=args.device)
    sim.tune(args.tune_sweeps)
    return sim


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gsd").setLevel(logging.WARNING)  # gsd logs every file open at INFO
    try:
        if args.trajectory and os.path.exists(args.trajectory) and not args.restart:
            raise InputError(f"{args.trajectory} exists; choose another --trajectory or --restart")
        sim = build(args)
        sim.run(args.sweeps, trajectory=args.trajectory, period=args.period,
                checkpoint=args.checkpoint, checkpoint_period=args.checkpoint_period, progress=True)
    except (InputError, DeviceError) as err:
        print(f"cubemc: error: {err}", file=sys.stderr)
        return 2
    acc = sim.acceptance
    print(f"sweep {sim.sweep}: N = {sim.N}, beta*U/N = {sim.energy / sim.N:.4f}, "
          f"bonds/N = {sim.bonds / sim.N:.4f}, acceptance translate {acc['translate']:.3f} "
          f"rotate {acc['rotate']:.3f}, device {sim.device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
