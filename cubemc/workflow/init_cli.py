"""``python init.py``: create the signac project and the jobs of a study or a custom grid."""

from __future__ import annotations

import argparse
import os
import sys

from .errors import StatePointError
from .studies import NUCLEATION, QUICK_STUDIES, STUDIES, VACANCY, describe, get_study, validate_grid

GRID_OPTIONS = ("beta_epsilon", "packing_fraction", "well_range", "n_lattice", "n_particles")
SCALAR_OPTIONS = ("replicas", "vacancies", "tune_sweeps", "equilibration_sweeps",
                  "production_sweeps", "sample_period")


def build_parser() -> argparse.ArgumentParser:
    studies = ", ".join(
        f"{name} ({study.description})" for name, study in STUDIES.items()
    )
    parser = argparse.ArgumentParser(
        prog="init.py",
        description=(
            "Create (or extend) the signac project with the jobs of named studies or of a "
            f"custom grid. Studies: {studies}. Grid options override a study's values; "
            "without a study they define a custom grid on top of the vacancy study "
            "(or the nucleation study with --initial-state fluid). Re-running is harmless."
        ),
    )
    parser.add_argument("studies", nargs="*", metavar="STUDY", help="study name(s): " + ", ".join(STUDIES))
    parser.add_argument("--quick", action="store_true",
                        help="scaled-down variant for a laptop demo (small lattice, short runs)")
    parser.add_argument("--project-dir", default=".", help="project directory (default: current)")
    parser.add_argument("--initial-state", choices=("crystal_vacancy", "fluid"),
                        help="for a custom grid without a study")
    parser.add_argument("--beta-epsilon", type=float, nargs="+", metavar="X")
    parser.add_argument("--packing-fraction", type=float, nargs="+", metavar="PHI")
    parser.add_argument("--well-range", type=float, nargs="+", metavar="R")
    parser.add_argument("--n-lattice", type=int, nargs="+", metavar="n",
                        help="lattice sites per edge (crystal_vacancy)")
    parser.add_argument("--n-particles", "-N", type=int, nargs="+", metavar="N", help="cubes (fluid)")
    parser.add_argument("--vacancies", type=int)
    parser.add_argument("--replicas", type=int)
    parser.add_argument("--tune-sweeps", type=int)
    parser.add_argument("--equilibration-sweeps", type=int)
    parser.add_argument("--production-sweeps", type=int)
    parser.add_argument("--sample-period", type=int)
    parser.add_argument("--dry-run", action="store_true", help="validate and list, write nothing")
    parser.add_argument("--quiet", "-q", action="store_true")
    return parser


def statepoints_from_args(args) -> list[tuple[str, dict]]:
    """Return ``(study name, state point)`` pairs; raises StatePointError for unknown studies."""
    overrides = {key: getattr(args, key) for key in (*GRID_OPTIONS, *SCALAR_OPTIONS)}
    custom = any(value is not None for value in overrides.values())
    if args.replicas is not None and args.replicas < 1:
        raise StatePointError(f"--replicas {args.replicas}: need at least 1")
    names = list(args.studies)
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise StatePointError(f"unknown study {unknown[0]!r}; known studies: {', '.join(sorted(STUDIES))}")
    if not names and not custom:
        raise StatePointError("name a study (" + ", ".join(STUDIES) + ") or give grid options such as --beta-epsilon")
    initial = args.initial_state or (get_study(names[0]).initial_state if names else "crystal_vacancy")
    if initial == "fluid" and (args.n_lattice or args.vacancies is not None):
        raise StatePointError("--n-lattice/--vacancies apply to crystal_vacancy starts; use --n-particles for fluids")
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
        base = NUCLEATION if args.initial_state == "fluid" else VACANCY
        if args.quick:
            base = QUICK_STUDIES[base.name]
        study = base.with_overrides(name="custom", **overrides)
        result += [("custom", sp) for sp in study.statepoints()]
    return result


def create_jobs(project_dir: str, pairs, quiet=False, out=sys.stdout):
    """Validate everything, then create the project and jobs. Returns (new, existing) counts."""
    statepoints = [sp for _, sp in pairs]
    warnings = validate_grid(statepoints)  # raises before anything is written
    for message in warnings:
        print(f"init.py: warning: {message}", file=sys.stderr)

    import signac

    os.makedirs(project_dir, exist_ok=True)
    project = signac.init_project(path=project_dir)
    new = existing = 0
    for study_name, sp in pairs:
        job = project.open_job(sp)
        if job in project:
            existing += 1
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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        pairs = statepoints_from_args(args)
        if args.dry_run:
            warnings = validate_grid([sp for _, sp in pairs])
            for message in warnings:
                print(f"init.py: warning: {message}", file=sys.stderr)
            for name, sp in pairs:
                print(f"{name}: {describe(sp)}")
            print(f"init.py: {len(pairs)} state point(s) valid; nothing written (--dry-run)")
            return 0
        create_jobs(args.project_dir, pairs, quiet=args.quiet)
    except StatePointError as error:
        print(f"init.py: error: {error}", file=sys.stderr)
        return 2
    return 0
