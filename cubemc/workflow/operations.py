"""Operation bodies, conditions and labels, independent of signac-flow's decorators.

``cubemc/workflow/flowproject.py`` wires these into a FlowProject; keeping the logic here
means a port to another workflow manager (e.g. row) only rewrites the wiring.
"""

from __future__ import annotations

import json
import os
import sys

from . import analysis_bridge, figures, provenance, stages
from .config import WorkflowConfig, load_config
from .errors import JobBusyError, WorkflowError
from .locking import is_locked, job_lock, project_lock
from .progress import log

ANALYSIS_JSON = "analysis.json"
REPORT_DIR = "report"
REPORT_MANIFEST = "manifest.json"
REPORT_JOBS = "jobs.json"
OVERVIEW_PNG = "overview_bonds.png"
ORTHOSLICE_PNG = "orthoslice.png"  # crystal runs: slices of the last frame (analysis package)

_CONFIG_CACHE: dict = {}


def config_for(project_path: str) -> WorkflowConfig:
    """Configuration for a project, cached on the config file's mtime and the environment."""
    from .config import CONFIG_FILENAME, ENV_NAMES

    path = os.path.join(project_path, CONFIG_FILENAME)
    mtime = os.path.getmtime(path) if os.path.exists(path) else None
    env = tuple(os.environ.get(name, "") for name in (*ENV_NAMES.values(), "CUBEMC_DEADLINE"))
    key = (project_path, mtime, env)
    if key not in _CONFIG_CACHE:
        _CONFIG_CACHE.clear()
        _CONFIG_CACHE[key] = load_config(project_path)
    return _CONFIG_CACHE[key]


def job_config(job) -> WorkflowConfig:
    return config_for(job.project.path)


def cpu_device(config: WorkflowConfig) -> str:
    """Device passed to the engine by the CPU-named operations."""
    return "auto" if config.device == "auto" else "cpu"


# --- conditions ------------------------------------------------------------------------------

is_created = stages.is_created
is_equilibrated = stages.is_equilibrated
is_sampled = stages.is_sampled


def is_analysed(job) -> bool:
    return all(job.isfile(name) for name in (ANALYSIS_JSON, figures.ENERGY_PNG, figures.SNAPSHOT_PNG))


def cpu_mode(*jobs) -> bool:
    return not job_config(jobs[0]).gpu_enabled


def gpu_mode(*jobs) -> bool:
    return job_config(jobs[0]).gpu_enabled


def report_dir(project) -> str:
    return os.path.join(project.path, REPORT_DIR)


def report_is_current(*jobs) -> bool:
    """The report lists exactly these jobs and is newer than each job's analysis."""
    if not jobs:
        return True
    manifest = os.path.join(report_dir(jobs[0].project), REPORT_MANIFEST)
    try:
        with open(manifest, encoding="utf-8") as handle:
            listed = set(json.load(handle)["jobs"])
        made = os.path.getmtime(manifest)
    except (OSError, ValueError, KeyError):
        return False
    if listed != {job.id for job in jobs}:
        return False
    return all(os.path.getmtime(job.fn(ANALYSIS_JSON)) <= made for job in jobs if job.isfile(ANALYSIS_JSON))


# --- labels ----------------------------------------------------------------------------------


def _percent(job, stage_names) -> int:
    progress = job.doc.get("progress") or {}
    if progress.get("stage") not in stage_names or not progress.get("total"):
        return 0
    return int(100 * min(1.0, progress.get("done", 0) / progress["total"]))


def stage_label(job) -> str:
    """One text label per job: its stage and, while running, the percentage done."""
    if is_analysed(job):
        return "analysed"
    if is_sampled(job):
        return "sampled"
    if is_equilibrated(job):
        return f"sampling {_percent(job, ('sample',))}%"
    if is_created(job):
        if not job.isfile(stages.TUNED):
            return "tuning"
        return f"equilibrating {_percent(job, ('equilibrate',))}%"
    return "new"


def running_label(job) -> bool:
    """True while some process holds the job lock."""
    return is_locked(job)


# --- operation bodies ------------------------------------------------------------------------

#: exit status of an operation refused because another process works on the same job
BUSY_EXIT_STATUS = 75  # EX_TEMPFAIL: try again later


def _user_errors():
    """Exceptions that mean bad input or an unusable device: reported in one line."""
    errors = [WorkflowError]
    try:
        from cubemc.errors import DeviceError, EngineSelectionError, InputError

        errors += [InputError, DeviceError, EngineSelectionError]
    except ImportError:  # pragma: no cover - engine not importable
        pass
    return tuple(errors)


def refuse_if_busy(func):
    """Report refusals and input errors in one line on stderr instead of a traceback.

    A job locked by another process exits with status 75 (EX_TEMPFAIL: try again later) and
    nothing in the job directory is touched; bad input, a bad configuration or a missing GPU
    exit with status 2. Anything else is a bug and keeps its traceback.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except JobBusyError as error:
            print(f"cubemc: refused: {error}", file=sys.stderr, flush=True)
            raise SystemExit(BUSY_EXIT_STATUS) from None
        except _user_errors() as error:
            where = ", ".join(getattr(job, "id", "?")[:8] for job in args)
            print(f"cubemc: {func.__name__} ({where}): error: {error}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    return wrapper


@refuse_if_busy
def create_initial_state(job) -> None:
    stages.run_stage(job, "create", job_config(job), "cpu", task="create_initial_state")


@refuse_if_busy
def equilibrate(job) -> None:
    config = job_config(job)
    stages.run_stage(job, "equilibrate", config, cpu_device(config), task="equilibrate")


@refuse_if_busy
def sample(job) -> None:
    config = job_config(job)
    stages.run_stage(job, "sample", config, cpu_device(config), task="sample")


@refuse_if_busy
def equilibrate_gpu(*jobs) -> None:
    stages.run_stage_group(jobs, "equilibrate", job_config(jobs[0]), "gpu", task="equilibrate_gpu")


@refuse_if_busy
def sample_gpu(*jobs) -> None:
    stages.run_stage_group(jobs, "sample", job_config(jobs[0]), "gpu", task="sample_gpu")


@refuse_if_busy
def analyse(job) -> None:
    """Per-job analysis: analysis package summary, energy statistics and two figures."""
    with job_lock(job, "analyse"):
        sp = dict(job.cached_statepoint)
        segment = provenance.SegmentLog(job, "analyse")
        n = sp["N"]
        title = f"{job.id[:8]}  beta*eps={sp['beta_epsilon']}  phi={sp['packing_fraction']}  N={n}"

        _, energy, bonds = figures.read_energy_log(job.fn(stages.TRAJECTORY))
        job.doc["energy"] = figures.energy_statistics(energy / n)
        job.doc["bonds_per_cube"] = figures.energy_statistics(bonds / n)
        figures.plot_energy_trace(job.fn(figures.ENERGY_PNG), job.fn(stages.EQUILIBRATION_TRAJECTORY),
                                  job.fn(stages.TRAJECTORY), n, title)

        import numpy as np

        with np.load(job.fn(stages.FINAL), allow_pickle=False) as data:
            positions, orientations, box = data["positions"], data["orientations"], data["box"]
        figures.plot_snapshot(job.fn(figures.SNAPSHOT_PNG), positions, orientations, box,
                              sp["well_range"], title=f"{title}  (final)")

        result = analysis_bridge.analyse_trajectory(job.fn(stages.TRAJECTORY), sp,
                                                    orthoslice=job.fn(ORTHOSLICE_PNG))
        job.doc["summary"] = result["summary"]
        analysis_bridge.dump_json(job.fn(ANALYSIS_JSON), result)  # the product, written last
        segment.update(status="done")
        log(f"{job.id[:8]} analyse: {len(energy)} frames, bonds per cube "
            f"{job.doc['bonds_per_cube']['mean']:.4f}, wrote {ANALYSIS_JSON} and figures")


def job_summary(job, with_series=True) -> dict:
    """What the report gets for one job: state point, analysis summary (and series), extras."""
    row = {
        "id": job.id,
        "statepoint": dict(job.cached_statepoint),
        "summary": job.doc.get("summary", {}),
        "energy": job.doc.get("energy", {}),
        "bonds_per_cube": job.doc.get("bonds_per_cube", {}),
        "seed": job.doc.get("seed"),
        "device": job.doc.get("device"),
        "engine": job.doc.get("engine"),
        "path": job.path,
    }
    if with_series and job.isfile(ANALYSIS_JSON):
        with open(job.fn(ANALYSIS_JSON), encoding="utf-8") as handle:
            analysis = json.load(handle)
        row["summary"] = analysis.get("summary", row["summary"])
        row["series"] = analysis.get("series", {})
    return analysis_bridge.to_json(row)


@refuse_if_busy
def report(*jobs) -> None:
    """Cross-job report in ``<project>/report``: analysis report, overview figure, manifest."""
    project = jobs[0].project
    outdir = report_dir(project)
    os.makedirs(outdir, exist_ok=True)
    with project_lock(project, "report", task="report"):
        ordered = sorted(jobs, key=lambda j: j.id)
        rows = [job_summary(job) for job in ordered]
        analysis_bridge.dump_json(os.path.join(outdir, REPORT_JOBS),
                                  [{k: v for k, v in row.items() if k != "series"} for row in rows])
        figures.plot_overview(os.path.join(outdir, OVERVIEW_PNG), rows)
        analysis_bridge.write_report(rows, outdir)
        analysis_bridge.dump_json(os.path.join(outdir, REPORT_MANIFEST), {
            "jobs": [row["id"] for row in rows],
            "created": provenance.now(),
            "packages": provenance.package_versions(),
        })
    log(f"report: {len(rows)} job(s) summarised in {outdir}")
