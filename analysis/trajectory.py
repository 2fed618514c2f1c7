"""Analyse one cubemc GSD trajectory with a list of analyzers: per-frame series plus summary.

    python -m cubemc.analysis.trajectory traj.gsd -o summary.json [--orthoslice slices.png]
        [--crystallites crystallites.png]

Frames before `discard` (a fraction of the analysed frames) count as equilibration: they
appear in the series but not in the summary averages.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields, replace

import numpy as np

from cubemc import trajectory as gsdio

from .analyzers import Frame, LogAnalyzer, OrientationAnalyzer, OrthosliceWriter, VacancyAnalyzer
from .clusters import ClusterAnalyzer
from .crystal_type import CrystalTypeAnalyzer
from .eos import EquationOfStateAnalyzer
from .jsonio import to_jsonable, write_json
from .scattering import ScatteringAnalyzer
from .sp_snapshot import CrystalliteWriter

__all__ = [
    "TrajectoryOptions",
    "analyze_trajectory",
    "default_analyzers",
    "read_frames",
    "to_jsonable",
    "write_json",
]

LOG_PREFIX = "log/cubemc/"


@dataclass(frozen=True)
class TrajectoryOptions:
    """What `analyze_trajectory` reads and computes.

    lattice: True for a crystal run (vacancy analysis against the SC lattice, orientation
        measured from the box axes), False for a fluid run, "auto" to decide from the first
        frame (N close to n^3 and cubes on their sites).
    clusters: SC cluster analysis; "auto" runs it for fluid starts only (in a crystal run the
        whole box is one cluster).
    scattering_frames: S(q) averaged over this many frames spread over the production part.
    orthoslice: file name for orthoslices of the last frame (crystal runs only).
    reference: GSD file of the hard fluid a run from a fluid was quenched from (its last frame);
        the last frame's class then calls a bonded network an aggregate only beyond the
        reference's own well contacts (analysis.nucleation.classify_state).
    crystallites: file name for a 3D picture of the last frame, cubes coloured by crystallinity
        (sp_snapshot.CrystalliteWriter; runs with the cluster analysis only).
    """

    start: int = 0
    stop: int | None = None
    stride: int = 1
    lattice: bool | str = "auto"
    n_cells: object = None
    displacement_fraction: float = 0.25
    discard: float = 0.2
    clusters: bool | str = "auto"
    scattering_frames: int = 3
    k_max: float = 14.0
    sq_bins: int = 200
    a_nm: float | None = None
    orthoslice: str | None = None
    crystallites: str | None = None
    reference: str | None = None
    seed: int = 0
    cluster_kwargs: dict | None = None


def read_frames(path, start=0, stop=None, stride=1):
    """Yield the selected frames of a trajectory as `Frame` objects (float64 arrays); the logs
    log/cubemc/* as floats, NaN in frames that did not log them (files whose first frame lacks
    a key later frames log included: gsd.hoomd cannot read those, cubemc.gsd_logs can)."""
    sizes = particle_sizes(path)
    with gsdio.open_frames(path) as traj:
        n_total = len(traj)
        logs = gsdio.frame_logs(path, LOG_PREFIX)
        for i in range(n_total)[start:stop:stride]:
            f = traj[i]
            yield Frame(
                step=int(f.configuration.step),
                box=np.asarray(f.configuration.box[:3], dtype=float),
                positions=np.asarray(f.particles.position, dtype=float),
                orientations=np.asarray(f.particles.orientation, dtype=float),
                log={key: float(values[i]) for key, values in logs.items()},
                sizes=sizes,
            )


def particle_sizes(path):
    """Per-particle sizes (mean outer edges: the engine's scale of the well) from the last frame's
    particles/type_shapes; None for unit cubes or shapes the engine does not write (particles
    keep their sizes through a run)."""
    from cubemc import shapes
    from cubemc.errors import InputError

    try:
        _, _, _, name, params = gsdio.read_frame(path, -1, with_shape=True)
    except InputError:  # not boxes or rounded boxes: the well of unit particles
        return None
    sizes = np.asarray(shapes.sizes(shapes.get(name), params, params.shape[0]), dtype=float)
    return None if np.all(sizes == 1.0) else sizes


def _is_crystal(frame, n_cells, max_missing=0.05):
    """Crystal start with a few vacancies: N close to the site count and cubes near sites."""
    from .vacancy import LatticeVacancies

    missing = int(np.prod(n_cells)) - frame.N
    if missing < 0 or missing > max(1, max_missing * np.prod(n_cells)):
        return False
    return LatticeVacancies(frame.box, n_cells).compute(frame.positions).displaced.mean() < 0.3


def _last_frame(path):
    """(box, positions) of the last frame of a GSD file (its particles are the run's, in order)."""
    *_, last = read_frames(path)
    return last.box, last.positions


def default_analyzers(first: Frame, n_frames: int, options: TrajectoryOptions):
    """The analyzers `analyze_trajectory` runs; returns (analyzers, is_crystal)."""
    from .vacancy import infer_cells

    n_cells = options.n_cells if options.n_cells is not None else infer_cells(first.N, first.box)
    crystal = _is_crystal(first, n_cells) if options.lattice == "auto" else bool(options.lattice)
    discard = options.discard
    analyzers = [LogAnalyzer(discard), EquationOfStateAnalyzer(discard)]
    lattice_constant = None
    if crystal:
        vacancy = VacancyAnalyzer(
            first.box, n_cells, displacement_fraction=options.displacement_fraction, discard=discard
        )
        lattice_constant = float(np.mean(vacancy.lattice.a))
        analyzers.append(vacancy)
        if options.orthoslice:
            analyzers.append(OrthosliceWriter(options.orthoslice, vacancy.lattice))
    analyzers.append(OrientationAnalyzer(None if crystal else "director", options.seed, discard))
    if options.clusters is True or (options.clusters == "auto" and not crystal):
        reference = _last_frame(options.reference) if options.reference else None
        analyzers.append(ClusterAnalyzer(discard, reference=reference, **(options.cluster_kwargs or {})))
        analyzers.append(CrystalTypeAnalyzer(discard))  # SC / FCC / HCP from positions (any shape)
        if options.crystallites:
            analyzers.append(CrystalliteWriter(options.crystallites, **(options.cluster_kwargs or {})))
    if options.scattering_frames and n_frames:
        first_prod = int(np.floor(discard * n_frames))
        at = np.unique(np.linspace(first_prod, n_frames - 1, options.scattering_frames).round().astype(int))
        analyzers.append(
            ScatteringAnalyzer(at, options.k_max, options.sq_bins, options.a_nm, lattice_constant)
        )
    return analyzers, crystal


def analyze_trajectory(path, analyzers=None, **options):
    """Per-frame series and summary of one trajectory.

    `options` are the fields of `TrajectoryOptions`; `analyzers` (a list, or a function
    (first frame, number of frames, options) -> list) replaces the default set. Returns
    {"series": {...}, "summary": {...}} of plain Python types (NaN -> None), ready for JSON.
    """
    known = {f.name for f in fields(TrajectoryOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    opts = replace(TrajectoryOptions(), **options)
    path = str(path)
    with gsdio.open_frames(path) as traj:
        frame_ids = list(range(len(traj)))[opts.start : opts.stop : opts.stride]
    crystal = None
    series = {"frame": frame_ids, "step": []}
    last = None
    for t, frame in enumerate(read_frames(path, opts.start, opts.stop, opts.stride)):
        if t == 0:
            if analyzers is None:
                analyzers, crystal = default_analyzers(frame, len(frame_ids), opts)
            elif callable(analyzers):
                analyzers = analyzers(frame, len(frame_ids), opts)
        series["step"].append(frame.step)
        for analyzer in analyzers:
            analyzer.compute(frame)
        last = frame
    summary = {"n_frames": len(frame_ids), "discard": opts.discard}
    if crystal is None:
        crystal = any(isinstance(a, VacancyAnalyzer) for a in analyzers or ())
    summary["lattice"] = bool(crystal)
    if last is not None:
        summary.update(N=last.N, box=last.box.tolist(), first_step=series["step"][0], last_step=last.step)
    summary["vacancy"] = None
    for analyzer in analyzers or ():
        series.update(analyzer.series)
        result = analyzer.summary  # computed once: some summaries draw figures
        if analyzer.section is None:
            summary.update(result)
        elif result:
            summary[analyzer.section] = result
    return to_jsonable({"series": series, "summary": summary})


def main(argv=None):
    from cubemc.cli_errors import OneLineArgumentParser, run_reporting_errors

    p = OneLineArgumentParser(
        prog="python -m cubemc.analysis.trajectory", description=__doc__.splitlines()[0]
    )
    p.add_argument("trajectory")
    p.add_argument("-o", "--output", default="analysis.json")
    p.add_argument("--lattice", choices=["auto", "yes", "no"], default="auto")
    p.add_argument("--discard", type=float, default=0.2)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--orthoslice", default=None, help="PNG file for orthoslices of the last frame")
    p.add_argument("--reference", default=None, help="GSD file of the hard fluid the run was quenched from")
    p.add_argument(
        "--crystallites", default=None, help="PNG file: the last frame's cubes coloured by crystallinity"
    )
    args = p.parse_args(argv)
    lattice = {"auto": "auto", "yes": True, "no": False}[args.lattice]

    def work():
        res = analyze_trajectory(
            args.trajectory,
            stride=args.stride,
            lattice=lattice,
            discard=args.discard,
            orthoslice=args.orthoslice,
            crystallites=args.crystallites,
            reference=args.reference,
        )
        write_json(res, args.output)
        print(args.output)

    # unreadable or not a GSD file, a bad option, a missing or full output folder, Ctrl-C
    return run_reporting_errors(p.prog, work, user_errors=(RuntimeError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
