"""The only place where the workflow calls the analysis package (``cubemc.analysis``, the
``analysis/`` folder of the repository, installed with the package).

Two call sites, imported lazily so ``python project.py status`` works without freud:

* :func:`analyse_trajectory` -> ``cubemc.analysis.trajectory.analyze_trajectory(path, lattice=...,
  n_cells=..., discard=..., orthoslice=..., crystallites=...)`` returning ``{"summary": {...},
  "series": {...}}``;
* :func:`write_report` -> ``cubemc.analysis.report.write_report(job_summaries, outdir)``;
* :func:`write_archive` -> ``cubemc.analysis.summaries_archive.write_archive(rows, path, ...)``
  (``project.py export``; the report reads the file back with ``python -m cubemc.analysis.report``).

JSON files are written with the analysis package's one JSON converter (numpy and signac's
synced collections to plain types, non-finite floats to null). If the analysis package
changes these names, adjust them here and nowhere else.
"""

from __future__ import annotations

import importlib

from cubemc.analysis.jsonio import to_jsonable, write_json

from . import shape_keys

TRAJECTORY_MODULE = "cubemc.analysis.trajectory"
TRAJECTORY_FUNCTION = "analyze_trajectory"
REPORT_MODULE = "cubemc.analysis.report"
REPORT_FUNCTION = "write_report"
ARCHIVE_MODULE = "cubemc.analysis.summaries_archive"
ARCHIVE_FUNCTION = "write_archive"

#: plain-JSON conversion used for job documents and report inputs
to_json = to_jsonable


def _function(module_name, function_name):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise RuntimeError(
            f"cannot import {module_name} ({error}); install the package with its workflow "
            "dependencies: pip install 'cubemc[workflow]'"
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise RuntimeError(f"{module_name} has no function {function_name}") from None


def draws_crystallites(statepoint: dict) -> bool:
    """True for the runs whose last frame is drawn as crystallites: from a fluid, with attraction,
    of unit cubes (the picture draws every particle as a unit cube)."""
    cubes = all(statepoint.get(key) in (None, "cube") for key in shape_keys.KEYS)
    return statepoint["initial_state"] == "fluid" and statepoint["beta_epsilon"] < 0 and cubes


def trajectory_options(
    statepoint: dict,
    orthoslice: str | None = None,
    scattering_frames: int | None = None,
    crystallites: str | None = None,
    reference: str | None = None,
) -> dict:
    """Keyword arguments for the trajectory analysis of one job (the pictures' file names are
    passed on only for the runs they are drawn for; `reference`, the initial state's GSD, only
    for runs from a fluid, whose initial state is the hard fluid before the quench)."""
    crystal = statepoint["initial_state"] == "crystal_vacancy"
    options = {
        "lattice": crystal,
        # the production trajectory starts after the burn-in, so no frames are discarded
        "discard": 0.0,
    }
    if scattering_frames is not None:  # else the analysis's own default
        options["scattering_frames"] = int(scattering_frames)
    if crystal:
        options["n_cells"] = int(statepoint["n_lattice"])
        if orthoslice:
            options["orthoslice"] = orthoslice
    if crystallites and draws_crystallites(statepoint):
        options["crystallites"] = crystallites
    if reference and statepoint["initial_state"] == "fluid":
        options["reference"] = reference
    return options


def scattering_frames(study_names) -> int:
    """Frames of S(q) per run for a job in these studies (by name, as job.doc records them): the
    most any of them asks for; a Study's default for names that are not studies (custom grids)."""
    from .studies import QUICK_STUDIES, STUDIES, Study

    table = {s.name: s for s in (*STUDIES.values(), *QUICK_STUDIES.values())}
    default = Study.scattering_frames
    return max((table[n].scattering_frames if n in table else default for n in study_names), default=default)


def analyse_trajectory(path: str, statepoint: dict, **files) -> dict:
    """Analyse one production trajectory; returns ``{"summary": ..., "series": ...}``. `files`:
    the keyword arguments of :func:`trajectory_options` after the state point."""
    func = _function(TRAJECTORY_MODULE, TRAJECTORY_FUNCTION)
    result = func(path, **trajectory_options(statepoint, **files))
    if not isinstance(result, dict) or "summary" not in result:
        raise RuntimeError(f"{TRAJECTORY_MODULE}.{TRAJECTORY_FUNCTION} returned no 'summary'")
    return to_json(result)


def write_report(job_summaries: list[dict], outdir: str, pending: int = 0):
    """Cross-job report (figures and tables) into ``outdir``; `pending` jobs not analysed yet."""
    func = _function(REPORT_MODULE, REPORT_FUNCTION)
    return func(job_summaries, outdir, pending=pending)


def write_archive(rows: list[dict], path: str, **options) -> int:
    """The report's inputs `rows` in one zip file (options: pending, pictures, meta); returns the
    number of pictures stored.  An archive the analysis refuses (a file of another kind in the
    way) is a ValueError with a one-line message."""
    return _function(ARCHIVE_MODULE, ARCHIVE_FUNCTION)(rows, path, **options)


def dump_json(path: str, data) -> None:
    """Write JSON atomically (temporary file + rename)."""
    write_json(data, path)
