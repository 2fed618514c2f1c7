"""Command line: one simulation from an initial state to a GSD trajectory.

    python -m cubemc --lattice 10 --packing-fraction 0.8 --vacancies 1 --beta-epsilon -1 \
        --tune-sweeps 2000 --sweeps 10000 --trajectory traj.gsd --checkpoint restart.npz
    python -m cubemc --restart restart.npz --sweeps 10000 --trajectory traj.gsd

Every argument and every file is checked before any work starts (cubemc/files.py): a restart
never trims or appends to a trajectory of another run, and no checkpoint replaces a file that
is not a checkpoint of the same run.  Errors are one line on stderr (cubemc/cli_errors.py).
"""

import logging
import os
import sys
from dataclasses import dataclass

from . import __version__, files, validate
from .cli_errors import OneLineArgumentParser, one_line_warnings, run_reporting_errors
from .contract import run_arguments
from .errors import InputError

PROG = "cubemc"
#: options that define a new run; a restart takes them from its checkpoint
NEW_RUN_DEFAULTS = {
    "packing_fraction": 0.8,
    "vacancies": 0,
    "beta_epsilon": -1.0,
    "well_range": 1.14,
    "seed": 0,
    "tune_sweeps": 1000,
}
TRAJECTORY_HINT = "choose another --trajectory, or move the file aside"
CHECKPOINT_HINT = "choose another --checkpoint, or move the file aside"
FOLDER_HINT = "create it, make it writable, or write elsewhere"
MEMORY_HINT = f"use fewer cubes, or set {files.MEMORY_LIMIT_ENV} (e.g. 64G) if this machine may use more"


def parser():
    p = OneLineArgumentParser(
        prog="python -m cubemc",
        error_prog=PROG,
        description=(
            "Metropolis Monte Carlo of hard cubes (edge 1) with a square well of depth beta_epsilon "
            "(kT units; negative attracts) and range well_range between centres."
        ),
    )
    start = p.add_argument_group("initial state (one of)")
    start.add_argument("--lattice", type=int, metavar="n", help="n x n x n simple-cubic crystal")
    start.add_argument("--fluid", type=int, metavar="N", help="compressed hard-cube fluid of N cubes")
    start.add_argument("--input", metavar="GSD", help="last frame of a GSD file")
    start.add_argument(
        "--restart",
        metavar="NPZ",
        help="continue from a checkpoint (its N, box, "
        "seed and model parameters; the options below marked 'new runs' are refused)",
    )
    new = p.add_argument_group("new runs only")
    new.add_argument("--packing-fraction", type=float, help="(default 0.8; --lattice, --fluid)")
    new.add_argument("--vacancies", type=int, help="sites removed from the lattice (default 0)")
    new.add_argument("--beta-epsilon", type=float, help="(default -1)")
    new.add_argument("--well-range", type=float, help="(default 1.14)")
    new.add_argument("--seed", type=int, help="(default 0)")
    new.add_argument("--tune-sweeps", type=int, help="move-size tuning before the run (default 1000)")
    p.add_argument("--device", default="auto", choices=["cpu", "gpu", "auto"])
    p.add_argument("--sweeps", type=int, default=10000)
    p.add_argument("--period", type=int, default=100, help="sweeps between trajectory frames")
    p.add_argument("--trajectory", default="trajectory.gsd")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--checkpoint-period", type=int, default=None)
    p.add_argument("--version", action="version", version=f"cubemc {__version__}")
    return p


@dataclass
class Plan:
    """What the checks found out: the size of the system and, for a restart, its run."""

    n_particles: int
    packing_fraction: float
    well_range: float
    run: files.RunIdentity | None = None


# --- checks (nothing is computed or written before they all pass) ----------------------------


def check_arguments(args) -> Plan:
    """Check every argument and file; raises InputError/DeviceError before any work starts."""
    chosen = [a for a in ("lattice", "fluid", "input", "restart") if getattr(args, a) is not None]
    if len(chosen) != 1:
        raise InputError("give exactly one of --lattice, --fluid, --input or --restart")
    given = [key for key in NEW_RUN_DEFAULTS if getattr(args, key) is not None]
    if args.restart is not None and given:
        flags = ", ".join("--" + key.replace("_", "-") for key in given)
        them = "them" if len(given) > 1 else "it"
        raise InputError(
            f"--restart continues the run stored in {args.restart} with its own "
            f"parameters; {flags} would be ignored, leave {them} out"
        )
    if args.vacancies is not None and args.lattice is None:
        raise InputError("--vacancies applies to --lattice only")
    if args.packing_fraction is not None and args.input is not None:
        raise InputError("--packing-fraction does not apply to --input (the frame's box sets it)")
    for key, default in NEW_RUN_DEFAULTS.items():
        if args.restart is None and getattr(args, key) is None:
            setattr(args, key, default)
    if args.checkpoint_period is not None and args.checkpoint is None:
        raise InputError("--checkpoint-period needs --checkpoint")
    if not args.trajectory:
        raise InputError("--trajectory must name a file")
    run_arguments(args.sweeps, args.trajectory, args.period, args.checkpoint, args.checkpoint_period)
    _check_distinct_paths(args)
    plan = _restart_plan(args) if args.restart is not None else _new_run_plan(args)
    files.check_memory(plan.n_particles, plan.packing_fraction, well_range=plan.well_range, hint=MEMORY_HINT)
    _check_device(args.device)
    _check_outputs(args, plan)
    return plan


def _check_distinct_paths(args):
    named = [
        (flag, getattr(args, flag))
        for flag in ("trajectory", "checkpoint", "restart", "input")
        if getattr(args, flag)
    ]
    seen = {}
    for flag, path in named:
        real = os.path.realpath(path)
        if real in seen and not {seen[real], flag} == {"checkpoint", "restart"}:
            raise InputError(f"--{seen[real]} and --{flag} name the same file {path}")
        seen.setdefault(real, flag)


def _restart_plan(args) -> Plan:
    hint = "--restart needs a checkpoint written with --checkpoint"
    if files.file_kind(args.restart) == "gsd":
        hint = f"to start from the last frame of this trajectory use --input {args.restart}"
    run = files.read_checkpoint_identity(args.restart, hint=hint)
    volume = run.box[0] * run.box[1] * run.box[2]
    return Plan(run.n, run.n / volume, run.well_range, run)


def _new_run_plan(args) -> Plan:
    validate.finite("--beta-epsilon", args.beta_epsilon)
    well_range = validate.positive("--well-range", args.well_range)
    validate.seed(args.seed)
    validate.nonnegative_int("--tune-sweeps", args.tune_sweeps)
    if args.input is not None:
        frames = files.read_trajectory_frames(args.input, hint="--input needs a GSD trajectory")
        if not frames:
            raise InputError(f"{args.input} contains no frames")
        box = frames[-1].box
        return Plan(frames[-1].n, frames[-1].n / (box[0] * box[1] * box[2]), well_range)
    phi = validate.fraction("--packing-fraction", args.packing_fraction)
    if args.lattice is not None:
        n = validate.positive_int("--lattice", args.lattice)
        vacancies = validate.nonnegative_int("--vacancies", args.vacancies)
        if vacancies >= n**3:
            raise InputError(f"--vacancies {vacancies} leaves no cube of the {n**3} sites")
        return Plan(n**3 - vacancies, phi, well_range)
    return Plan(validate.positive_int("--fluid", args.fluid), phi, well_range)


def _check_device(device):
    try:
        from .simulation import resolve_device
    except ImportError:  # the engine moved it: Simulation() checks the device itself
        return
    resolve_device(device)


def _check_outputs(args, plan: Plan):
    run = plan.run
    needed = {}
    end = (run.sweep if run else 0) + args.sweeps
    if run is not None:
        files.check_trajectory_continues(
            args.trajectory, run, period=args.period, last=end, hint=TRAJECTORY_HINT
        )
    elif os.path.lexists(args.trajectory):
        raise InputError(
            f"{args.trajectory} exists; choose another --trajectory, or continue "
            "its run with --restart CHECKPOINT"
        )
    folder = os.path.dirname(os.path.abspath(args.trajectory))
    files.check_writable_directory(folder, what="folder of --trajectory", hint=FOLDER_HINT)
    needed[folder] = files.estimate_output_bytes(plan.n_particles, frames=args.sweeps // args.period + 1)
    if args.checkpoint is not None:
        hint = (
            CHECKPOINT_HINT
            if run
            else (f"continue that run with --restart {args.checkpoint}, or choose another --checkpoint")
        )
        files.check_checkpoint_target(args.checkpoint, run, last=end, hint=hint)
        folder = os.path.dirname(os.path.abspath(args.checkpoint))
        files.check_writable_directory(folder, what="folder of --checkpoint", hint=FOLDER_HINT)
        needed[folder] = needed.get(folder, 0) + files.estimate_output_bytes(plan.n_particles, checkpoints=2)
    for folder, size in needed.items():
        files.check_free_space(folder, size, hint="free some space or write elsewhere")


# --- the run ---------------------------------------------------------------------------------


def build(args):
    from .simulation import Simulation
    from .state import State

    if args.restart is not None:
        return Simulation.from_checkpoint(args.restart, device=args.device)
    if args.lattice is not None:
        state = State.simple_cubic(
            args.lattice, args.packing_fraction, vacancies=args.vacancies, seed=args.seed
        )
    elif args.fluid is not None:
        state = State.fluid(args.fluid, args.packing_fraction, seed=args.seed)
    else:
        state = State.from_gsd(args.input)
    sim = Simulation(state, args.beta_epsilon, args.well_range, seed=args.seed, device=args.device)
    sim.tune(args.tune_sweeps)
    return sim


def continue_hint(args) -> str:
    """How to go on after an interruption or a full disk."""
    if args.checkpoint is None:
        return "nothing to continue from (no --checkpoint was given)"
    if not os.path.exists(args.checkpoint):
        return f"no checkpoint was written yet ({args.checkpoint})"
    return (
        f"continue with --restart {args.checkpoint} --trajectory {args.trajectory} "
        "(frames after the checkpoint are replaced)"
    )


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("gsd").setLevel(logging.WARNING)  # gsd logs every file open at INFO
    one_line_warnings(PROG)
    started = []

    def work():
        check_arguments(args)
        started.append(True)
        sim = build(args)
        sim.run(
            args.sweeps,
            trajectory=args.trajectory,
            period=args.period,
            checkpoint=args.checkpoint,
            checkpoint_period=args.checkpoint_period,
            progress=True,
        )
        acc = sim.acceptance
        print(
            f"sweep {sim.sweep}: N = {sim.N}, beta*U/N = {sim.energy / sim.N:.4f}, "
            f"bonds/N = {sim.bonds / sim.N:.4f}, acceptance translate {acc['translate']:.3f} "
            f"rotate {acc['rotate']:.3f}, device {sim.device}"
        )

    def hint():
        return continue_hint(args) if started else ""

    return run_reporting_errors(PROG, work, os_hint=hint, interrupted_hint=hint)


if __name__ == "__main__":
    sys.exit(main())
