"""``python init.py --extend --production-sweeps N``: lengthen the production runs of jobs.

A run that is still changing at its end (a supraparticle still growing) needs more sweeps, and
redoing it from sweep 0 wastes the sweeps it has.  The production length is part of the state
point, so extending a job changes its state point (and id, by signac's ``update_statepoint``)
and turns its end checkpoint ``final.npz`` back into the rolling checkpoint the sample stage
resumes from.  ``python project.py run`` then continues the same run bit for bit (same seed,
same trajectory file, appended frames), and the analysis runs again on the whole trajectory.

Nothing of the shorter run is lost: its end checkpoint and its analysis products are kept in
``production-<sweeps>/`` inside the job, and ``job.doc["extensions"]`` records the old id and
length.  The seed stays the one recorded in ``job.doc["seed"]`` (derived from the *first* id),
so an extended run is not the run a fresh job of the longer length would make: it is the same
run as before, only longer.

The steps are ordered so that a kill at any point leaves a job that ``python project.py run``
completes (at the old length, if the state point was not yet changed) and that the same
``init.py --extend`` line extends again.
"""

from __future__ import annotations

import os
import shutil
import time

from . import figures, stages
from .errors import StatePointError, WorkflowError
from .locking import job_lock
from .operations import ANALYSIS_JSON, CRYSTALLITES_PNG, ORTHOSLICE_PNG
from .studies import validate_grid

#: what the analyse stage wrote for the shorter run (moved aside, so it runs again)
ANALYSIS_PRODUCTS = (
    ANALYSIS_JSON,
    figures.ENERGY_PNG,
    figures.SNAPSHOT_PNG,
    ORTHOSLICE_PNG,
    CRYSTALLITES_PNG,
)
#: init.py's grid options and the state point keys they select jobs by
FILTER_KEYS = {
    "beta_epsilon": "beta_epsilon",
    "packing_fraction": "packing_fraction",
    "pressure": "pressure",
    "well_range": "well_range",
    "n_lattice": "n_lattice",
    "n_particles": "N",
}


def archive_dir(sweeps: int) -> str:
    """Folder inside a job that keeps what the run of `sweeps` production sweeps produced."""
    return f"production-{sweeps}"


def select_jobs(project, filters: dict) -> list:
    """The project's jobs whose state point has one of the given values for each filter key
    (``{"beta_epsilon": [-4.75]}``); every job without filters."""

    def matches(sp) -> bool:
        for option, values in filters.items():
            key = FILTER_KEYS[option]
            if values is not None and not any(_same(sp.get(key), value) for value in values):
                return False
        return True

    return sorted((job for job in project if matches(job.cached_statepoint)), key=lambda job: job.id)


def _same(a, b) -> bool:
    return a is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def extended_ids(project) -> dict[str, str]:
    """{old id: id now} for every job of `project` that was extended (init.py must not make the
    shorter job again: it would be the same run, seed included, counted twice)."""
    return {entry["from_id"]: job.id for job in project for entry in job.doc.get("extensions", [])}


def check_extension(jobs, production_sweeps: int) -> list[dict]:
    """Validate the longer state points of `jobs` (all of them, before anything changes)."""
    if not jobs:
        raise StatePointError("no job of the project matches the options given; nothing extended")
    shorter = [job for job in jobs if job.cached_statepoint["production_sweeps"] < production_sweeps]
    longer = [dict(job.cached_statepoint, production_sweeps=production_sweeps) for job in shorter]
    if longer:
        validate_grid(longer)
    return longer


def extend_job(job, production_sweeps: int) -> str | None:
    """Lengthen `job`'s production run to `production_sweeps`; return the old id, or None when
    the job already has that many.  Raises JobBusyError while a process works on the job."""
    old_sweeps = int(job.cached_statepoint["production_sweeps"])
    if production_sweeps <= old_sweeps:
        return None
    old_id = job.id
    with job_lock(job, "extend"):
        target = job.project.open_job(dict(job.cached_statepoint, production_sweeps=production_sweeps))
        if target in job.project:
            raise WorkflowError(
                f"job {old_id[:8]} cannot be extended to {production_sweeps} sweeps: job "
                f"{target.id[:8]} already has that state point; delete one of them first"
            )
        if job.isfile(stages.FINAL):
            _keep_shorter_run(job, old_sweeps)
            os.replace(job.fn(stages.FINAL), job.fn(stages.SAMPLE_RESTART))  # sample resumes from it
        history = [e for e in job.doc.get("extensions", []) if e.get("from_id") != old_id]
        entry = {"from_id": old_id, "from_production_sweeps": old_sweeps}
        entry |= {"to_production_sweeps": production_sweeps, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        job.doc["extensions"] = history + [entry]
        job.doc.pop("final", None)
        progress = job.doc.get("progress")
        if progress and progress.get("stage") == "sample":  # status and dashboard show the new length
            job.doc["progress"] = dict(progress, total=production_sweeps)
        job.update_statepoint({"production_sweeps": production_sweeps}, overwrite=True)  # the commit
    return old_id


def _keep_shorter_run(job, sweeps: int) -> None:
    """Copy the end checkpoint and move the analysis products into ``production-<sweeps>/``."""
    folder = job.fn(archive_dir(sweeps))
    os.makedirs(folder, exist_ok=True)
    copy = os.path.join(folder, stages.FINAL)
    shutil.copyfile(job.fn(stages.FINAL), copy + ".tmp")
    os.replace(copy + ".tmp", copy)
    for name in ANALYSIS_PRODUCTS:
        if job.isfile(name):
            os.replace(job.fn(name), os.path.join(folder, name))


def extend_jobs(project, filters: dict, production_sweeps: int, out) -> int:
    """Extend every selected job; print one line per job and a summary.  Returns the count."""
    jobs = select_jobs(project, filters)
    check_extension(jobs, production_sweeps)
    extended = 0
    for job in jobs:
        old_id = extend_job(job, production_sweeps)
        if old_id is None:
            print(
                f"{job.id}  already {job.cached_statepoint['production_sweeps']} production sweeps", file=out
            )
            continue
        extended += 1
        print(f"{job.id}  extended to {production_sweeps} production sweeps (was {old_id})", file=out)
    then = "; `python project.py run` continues them from their last checkpoints" if extended else ""
    print(f"init.py: {extended} job(s) extended to {production_sweeps} production sweeps{then}", file=out)
    return extended
