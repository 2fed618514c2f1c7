"""``python project.py export FILE.zip``: every analysed job's summary, series and pictures in one
file, so the report can be drawn again where the project is not (a laptop, after the cluster's
scratch is purged) with ``python -m cubemc.analysis.report OUTDIR FILE.zip``."""

from __future__ import annotations

import os

from . import analysis_bridge, provenance
from .errors import WorkflowError
from .operations import is_analysed, job_summary
from .progress import log

NO_PICTURES = "--no-pictures"
USAGE = (
    f"usage: python project.py export FILE.zip [{NO_PICTURES}]\n\n"
    "Write every analysed job's state point, analysis summary and series (and the pictures the\n"
    "report links to, unless --no-pictures) to FILE.zip; an existing export is replaced.\n"
    "`python -m cubemc.analysis.report OUTDIR FILE.zip` then draws the project's report anywhere."
)


def export(project, args=()) -> None:
    """Write the export named in `args` (project.py's arguments after ``export``)."""
    args = list(args)
    if args in (["-h"], ["--help"]):
        print(USAGE)
        return
    pictures = NO_PICTURES not in args
    names = [a for a in args if a != NO_PICTURES]
    if len(names) != 1 or names[0].startswith("-") or not names[0].endswith(".zip"):
        raise WorkflowError(
            f"project.py export takes one file name ending in .zip and optionally {NO_PICTURES} "
            f"(got {' '.join(args) or 'nothing'!r})"
        )
    jobs = sorted(project, key=lambda job: job.id)
    done = [is_analysed(job) for job in jobs]  # read once: it opens each job's files
    analysed = [job for job, ok in zip(jobs, done) if ok]
    pending = [job.id for job, ok in zip(jobs, done) if not ok]  # ids, so that exports merge
    if not analysed:
        raise WorkflowError(
            f"no job of the {len(project)} is analysed yet, so there is nothing to export; "
            "`python project.py status -d` shows where they are"
        )
    path = os.path.abspath(names[0])
    meta = {"created": provenance.now(), "packages": provenance.package_versions()}
    try:
        stored = analysis_bridge.write_archive(
            [job_summary(job) for job in analysed],
            path,
            pending=pending,
            pictures=pictures,
            meta=meta,
        )
    except ValueError as error:  # the analysis' one-line refusal (another kind of file in the way)
        raise WorkflowError(str(error)) from None
    waiting = f", {len(pending)} not analysed yet" if pending else ""
    log(
        f"export: {len(analysed)} job(s){waiting} and {stored} picture(s) in {path}; "
        f"draw their report with: python -m cubemc.analysis.report OUTDIR {path}"
    )
