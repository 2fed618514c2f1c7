"""``python init.py``: create the signac project and the jobs of a study or a custom grid."""

from __future__ import annotations

import os
import sys

from cubemc import files
from cubemc.cli_errors import OneLineArgumentParser, run_reporting_errors

from . import extend
from .eos import memory_packing_fraction
from .errors import StatePointError, WorkflowError
from .studies import NUCLEATION, QUICK_STUDIES, STUDIES, VACANCY, describe, get_study, validate_grid

GRID_OPTIONS = ("beta_epsilon", "packing_fraction", "pressure", "well_range", "n_lattice", "n_particles")
SHAPE_OPTIONS = ("shape", "edge_ratios", "rounding_radius", "size_polydispersity")
SCALAR_OPTIONS = (
    "replicas",
    "vacancies",
    "tune_sweeps",
    "equilibration_sweeps",
    "production_sweeps",
    "sample_period",
    "vmmc_moves_per_particle",
)


def build_parser() -> OneLineArgumentParser:
    studies = ", ".join(f"{name} ({study.description})" for name, study in STUDIES.items())
    parser = OneLineArgumentParser(
        prog="init.py",
        description=(
            "Create (or extend) the signac project with the jobs of named studies or of a "
            f"custom grid. Studies: {studies}. Grid options override a study's values; "
            "without a study they define a custom grid on top of the vacancy study "
            "(or the nucleation study with --initial-state fluid). Re-running is harmless."
        ),
    )
    parser.add_argument("studies", nargs="*", metavar="STUDY", help="study name(s): " + ", ".join(STUDIES))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="scaled-down variant for a laptop demo (small lattice, short runs)",
    )
    parser.add_argument("--project-dir", default=".", help="project directory (default: current)")
    parser.add_argument(
        "--initial-state", choices=("crystal_vacancy", "fluid"), help="for a custom grid without a study"
    )
    parser.add_argument("--beta-epsilon", type=float, nargs="+", metavar="X")
    parser.add_argument("--packing-fraction", type=float, nargs="+", metavar="PHI")
    parser.add_argument(
        "--pressure",
        type=float,
        nargs="+",
        metavar="BETA_P",
        help="reduced pressure beta*P*sigma^3 instead of --packing-fraction (constant-pressure runs)",
    )
    parser.add_argument("--well-range", type=float, nargs="+", metavar="R")
    parser.add_argument(
        "--n-lattice", type=int, nargs="+", metavar="n", help="lattice sites per edge (crystal_vacancy)"
    )
    parser.add_argument("--n-particles", "-N", type=int, nargs="+", metavar="N", help="cubes (fluid)")
    parser.add_argument("--shape", choices=("cube", "cuboid", "rounded_cuboid"), help="particle shape")
    parser.add_argument("--edge-ratios", type=float, nargs=2, metavar=("B/A", "C/A"))
    parser.add_argument("--rounding-radius", type=float, nargs="+", metavar="R", help="units of the edge a")
    parser.add_argument("--size-polydispersity", type=float, metavar="DELTA", help="relative width")
    parser.add_argument("--vacancies", type=int)
    parser.add_argument("--replicas", type=int)
    parser.add_argument("--tune-sweeps", type=int)
    parser.add_argument("--equilibration-sweeps", type=int)
    parser.add_argument("--production-sweeps", type=int)
    parser.add_argument("--sample-period", type=int)
    parser.add_argument(
        "--vmmc-moves-per-particle",
        type=float,
        metavar="X",
        help="VMMC cluster moves per cube after every sweep (fluid studies; 0: none)",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help=f"memory one job may use, e.g. 64G (default: ${files.MEMORY_LIMIT_ENV}, "
        "else this machine's memory); larger state points are rejected",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="lengthen the production runs of the project's jobs (those matching the grid options "
        "given) to --production-sweeps; `python project.py run` continues them where they stopped",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate and list, write nothing")
    parser.add_argument("--quiet", "-q", action="store_true")
    return parser


def statepoints_from_args(args) -> list[tuple[str, dict]]:
    """Return ``(study name, state point)`` pairs; raises StatePointError for unknown studies."""
    overrides = {key: getattr(args, key) for key in (*GRID_OPTIONS, *SCALAR_OPTIONS)}
    overrides["shapes"] = shape_axis(args)
    custom = any(value is not None for value in overrides.values())
    if args.pressure and args.packing_fraction:
        raise StatePointError("--packing-fraction and --pressure both given: a state point fixes one of them")
    if args.replicas is not None and args.replicas < 1:
        raise StatePointError(f"--replicas {args.replicas}: need at least 1")
    names = list(args.studies)
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise StatePointError(f"unknown study {unknown[0]!r}; known studies: {', '.join(sorted(STUDIES))}")
    if not names and not custom:
        raise StatePointError(
            "name a study (" + ", ".join(STUDIES) + ") or give grid options such as --beta-epsilon"
        )
    initial = args.initial_state or (get_study(names[0]).initial_state if names else "crystal_vacancy")
    if initial == "fluid" and (args.n_lattice or args.vacancies is not None):
        raise StatePointError(
            "--n-lattice/--vacancies apply to crystal_vacancy starts; use --n-particles for fluids"
        )
    if initial == "crystal_vacancy" and args.n_particles:
        raise StatePointError("--n-particles applies to fluid starts; use --n-lattice for crystals")
    result = []
    if names:
        for name in names:
            study = get_study(name, quick=args.quick)
            if args.initial_state and args.initial_state != study.initial_state:
                raise StatePointError(f"--initial-state {args.initial_state} contradicts study {name!r}")
            study = study.with_overrides(**overrides)
            result += [(study.name, sp) for sp in study.statepoints()]
    else:
        # a custom fluid grid takes the dense nucleation branch's settings (one grid, not two)
        base = NUCLEATION.branches[0] if args.initial_state == "fluid" else VACANCY
        if args.quick:
            base = QUICK_STUDIES[base.name]
        study = base.with_overrides(name="custom", **overrides)
        result += [("custom", sp) for sp in study.statepoints()]
    return result


def shape_axis(args):
    """The shapes grid axis of --shape, --edge-ratios, --rounding-radius, --size-polydispersity
    (None without them: the study's own shapes)."""
    if all(getattr(args, key) is None for key in SHAPE_OPTIONS):
        return None
    common = {
        "shape": args.shape,
        "edge_ratios": args.edge_ratios,
        "size_polydispersity": args.size_polydispersity,
    }
    return tuple({**common, "rounding_radius": r} for r in (args.rounding_radius or [None]))


#: disk space init.py needs: the project files and about one kilobyte per job (state point,
#: job document), with room to spare
PROJECT_BYTES, JOB_BYTES = 64 * 1024, 8 * 1024
DOCUMENT_HINT = (
    "restore it from a backup, or move it aside (the records in it are lost; init.py then writes a new one)"
)


def check_memory(statepoints, limit=None) -> None:
    """Reject state points whose simulation needs more memory than one job may use
    (`limit`, else $CUBEMC_MEMORY_LIMIT, else this machine's memory)."""
    allowed, source = files.memory_limit(limit)  # a bad size is an InputError of its own
    if allowed is None:
        return
    too_big = [
        (files.estimate_memory_bytes(sp["N"], memory_packing_fraction(sp), well_range=sp["well_range"]), sp)
        for sp in statepoints
    ]
    too_big = [(need, sp) for need, sp in too_big if need > allowed]
    if too_big:
        need, sp = max(too_big, key=lambda item: item[0])
        raise StatePointError(
            f"invalid state point(s), nothing written: {len(too_big)} state point(s) need more "
            f"memory than {files.format_bytes(allowed)} ({source}), up to "
            f"{files.format_bytes(need)} for N={sp['N']} [{describe(sp)}]; use a smaller system, "
            f"or --memory-limit / {files.MEMORY_LIMIT_ENV} if the jobs run on a larger machine"
        )


def check_target(project_dir: str, pairs) -> None:
    """Everything that could stop init.py halfway, checked before it writes: a writable folder
    with space for the jobs, and readable project and job files where the project exists."""
    folder = os.path.abspath(project_dir)
    what = "project directory"
    if not os.path.exists(folder):  # init.py creates the project directory, not its parents
        folder, what = os.path.dirname(folder), "parent of --project-dir"
    hint = "create it, make it writable, or choose another --project-dir"
    files.check_writable_directory(folder, what=what, hint=hint)
    files.check_free_space(
        folder,
        PROJECT_BYTES + JOB_BYTES * len(pairs),
        hint="free some space, or choose another --project-dir",
    )
    if not os.path.isfile(os.path.join(project_dir, ".signac", "config")):
        return
    project = _open_project(project_dir)
    for name in ("signac_project_document.json",):
        path = os.path.join(project.path, name)
        if os.path.exists(path):
            files.read_json_document(path, what="project document", hint=DOCUMENT_HINT)
    for _, sp in pairs:
        job = project.open_job(sp)
        doc = job.fn("signac_job_document.json")
        if os.path.exists(doc):
            files.read_json_document(doc, what="job document", hint=DOCUMENT_HINT)


def _open_project(project_dir: str):
    import signac
    from signac.errors import ConfigError

    try:
        return signac.get_project(path=project_dir)
    except ConfigError as error:
        config = os.path.join(project_dir, ".signac", "config")
        raise WorkflowError(
            f"{config} is damaged ({' '.join(str(error).split())}); restore it "
            "(a new project's file holds the single line: schema_version = 2)"
        ) from None


def create_jobs(project_dir: str, pairs, quiet=False, out=None):
    """Validate everything, then create the project and jobs. Returns (new, existing) counts."""
    out = out or sys.stdout
    statepoints = [sp for _, sp in pairs]
    warnings = validate_grid(statepoints)  # raises before anything is written
    for message in warnings:
        print(f"init.py: warning: {message}", file=sys.stderr)
    check_target(project_dir, pairs)

    import signac

    os.makedirs(project_dir, exist_ok=True)  # check_target found its parent
    project = signac.init_project(path=project_dir)
    new = existing = 0
    extended = extend.extended_ids(project)
    for study_name, sp in pairs:
        job = project.open_job(sp)
        if job.id in extended:
            existing += 1
            print(f"{job.id}  extended: now job {extended[job.id]} (same run, longer)", file=out)
            continue
        if job in project:
            existing += 1
            _repair_statepoint(job)
        else:
            job.init()
            new += 1
        studies = list(job.doc.get("studies", []))
        if study_name not in studies:
            job.doc["studies"] = studies + [study_name]
        if not quiet:
            print(f"{job.id}  {describe(sp)}", file=out)
    project.doc.setdefault("cubemc_workflow", {"created_by": "init.py"})
    print(f"init.py: {new} new job(s), {existing} already present, project {project.path}", file=out)
    return new, existing


def extend_from_args(args, out=None) -> int:
    """``init.py --extend``: the grid options select jobs, --production-sweeps is the new length."""
    out = out or sys.stdout
    if args.production_sweeps is None:
        raise StatePointError("--extend needs --production-sweeps, the new production length")
    other = [key for key in (*SCALAR_OPTIONS, *SHAPE_OPTIONS, "initial_state") if key != "production_sweeps"]
    fixed = [f"--{key.replace('_', '-')}" for key in other if getattr(args, key) is not None]
    if args.studies or args.quick or fixed:
        given = " ".join(args.studies) or ("--quick" if args.quick else fixed[0])
        raise StatePointError(
            f"--extend selects existing jobs by grid options and changes only --production-sweeps; "
            f"{given} does not apply"
        )
    if not os.path.isfile(os.path.join(args.project_dir, ".signac", "config")):
        raise WorkflowError(f"{os.path.abspath(args.project_dir)} holds no signac project to extend")
    project = _open_project(args.project_dir)
    filters = {key: getattr(args, key) for key in extend.FILTER_KEYS}
    if args.dry_run:
        jobs = extend.select_jobs(project, filters)
        longer = extend.check_extension(jobs, args.production_sweeps)
        print(f"init.py: {len(longer)} job(s) would be extended; nothing written (--dry-run)", file=out)
        return 0
    extend.extend_jobs(project, filters, args.production_sweeps, out)
    return 0


def _repair_statepoint(job) -> None:
    """Write the state point file of an existing job again if it is damaged: init.py knows it
    (the job id is its hash), so re-running init.py is the way to recover one."""
    path = job.fn("signac_statepoint.json")
    try:
        files.read_json_document(path)
    except files.FileCheckError:
        job.init(force=True)
        print(f"init.py: wrote the damaged state point file {path} again", file=sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def work():
        if args.extend:
            return extend_from_args(args)
        pairs = statepoints_from_args(args)
        statepoints = [sp for _, sp in pairs]
        if args.dry_run:
            warnings = validate_grid(statepoints)
            check_memory(statepoints, args.memory_limit)
            for message in warnings:
                print(f"init.py: warning: {message}", file=sys.stderr)
            for name, sp in pairs:
                print(f"{name}: {describe(sp)}")
            print(f"init.py: {len(pairs)} state point(s) valid; nothing written (--dry-run)")
            return 0
        validate_grid(statepoints)
        check_memory(statepoints, args.memory_limit)
        create_jobs(args.project_dir, pairs, quiet=args.quiet)
        return 0

    return run_reporting_errors(
        "init.py",
        work,
        user_errors=(WorkflowError,),
        os_hint="fix that and run init.py again (it adds what is missing)",
        interrupted_hint="run init.py again: it adds the jobs that are missing",
    )
