"""Operation bodies, conditions and labels, independent of signac-flow's decorators.

``cubemc/workflow/flowproject.py`` wires these into a FlowProject; keeping the logic here
means a port to another workflow manager (e.g. row) only rewrites the wiring.
"""

from __future__ import annotations

import json
import os
import sys

from cubemc import files
from cubemc.cli_errors import EXIT_BUSY, EXIT_ERROR, EXIT_INTERRUPTED, caused_by_interrupt, one_line

from . import analysis_bridge, eos, figures, provenance, stages
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
#: runs from a fluid with attraction: the last frame's cubes coloured by crystallinity (analysis
#: package); optional, so it is not in the `analysed` condition and older jobs are not re-run
CRYSTALLITES_PNG = "crystallites.png"

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


JOB_DOCUMENT = "signac_job_document.json"
DOCUMENT_HINT = (
    "restore it from a backup, or move it aside: the operations start a new one "
    "(delete analysis.json as well so that analyse records the results again)"
)
ANALYSIS_HINT = "delete it: `python project.py run` analyses the job again"
#: (path, size, mtime) -> problem or None, so that status reads each file once
_PROBLEMS: dict = {}


def _problem(path: str, check, required: bool = False) -> str | None:
    """Cached result of ``check(path)``: None when readable (or absent and not required),
    else why not."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return f"{path} is missing" if required else None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _PROBLEMS:
        try:
            check(path)
            _PROBLEMS[key] = None
        except (files.FileCheckError, OSError, ValueError) as err:
            _PROBLEMS[key] = one_line(err)
    return _PROBLEMS[key]


def _analysis_readable(path):
    if "summary" not in files.read_json_document(path, what="analysis"):
        raise ValueError(f"{path} holds no summary")


def damaged_files(job) -> list[str]:
    """Names of the job's document and final files that cannot be read (or, once the job is
    sampled, its trajectory is missing). Files still being written are not opened."""
    checks = [(JOB_DOCUMENT, files.read_json_document, False), (ANALYSIS_JSON, _analysis_readable, False)]
    if job.isfile(stages.FINAL):  # written last: nothing appends to the trajectory any more
        checks += [
            (stages.FINAL, files.check_checkpoint_quickly, True),
            (stages.TRAJECTORY, files.check_gsd_quickly, True),
        ]
    return [name for name, check, required in checks if _problem(job.fn(name), check, required)]


def is_analysed(job) -> bool:
    """The job is sampled, every product of analyse is there and the final files are readable."""
    return (
        stages.is_sampled(job)
        and all(job.isfile(name) for name in (ANALYSIS_JSON, figures.ENERGY_PNG, figures.SNAPSHOT_PNG))
        and not damaged_files(job)
    )


def cpu_mode(*jobs) -> bool:
    return not job_config(jobs[0]).gpu_enabled


def gpu_mode(*jobs) -> bool:
    return job_config(jobs[0]).gpu_enabled


def report_dir(project) -> str:
    return os.path.join(project.path, REPORT_DIR)


def report_manifest(project):
    """(ids of the jobs the report lists, when it was written), or None without a readable
    manifest."""
    manifest = os.path.join(report_dir(project), REPORT_MANIFEST)
    try:
        with open(manifest, encoding="utf-8") as handle:
            listed = set(json.load(handle)["jobs"])
        return listed, os.path.getmtime(manifest)
    except (OSError, ValueError, KeyError, TypeError):  # TypeError: "jobs" is not a list
        return None


def report_is_current(*jobs) -> bool:
    """The report lists exactly these jobs and is newer than each job's analysis."""
    if not jobs:
        return True
    manifest = report_manifest(jobs[0].project)
    if manifest is None or manifest[0] != {job.id for job in jobs}:
        return False
    made = manifest[1]
    return all(os.path.getmtime(job.fn(ANALYSIS_JSON)) <= made for job in jobs if job.isfile(ANALYSIS_JSON))


# --- labels ----------------------------------------------------------------------------------


def _percent(job, stage_names) -> int:
    progress = job.doc.get("progress") or {}
    if progress.get("stage") not in stage_names or not progress.get("total"):
        return 0
    return int(100 * min(1.0, progress.get("done", 0) / progress["total"]))


def stage_label(job) -> str:
    """One text label per job: its stage and, while running, the percentage done; ``damaged``
    with the file names where the job document or final files cannot be read."""
    damaged = damaged_files(job)
    if damaged:
        return f"damaged ({', '.join(damaged)})"
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
BUSY_EXIT_STATUS = EXIT_BUSY  # EX_TEMPFAIL: try again later


def check_job_document(job) -> None:
    """Refuse to work on a job whose document cannot be read (naming the file)."""
    path = job.fn(JOB_DOCUMENT)
    if os.path.exists(path):
        files.read_json_document(path, what="job document", hint=DOCUMENT_HINT)


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
    """Report refusals and ordinary errors in one line on stderr instead of a traceback.

    A job locked by another process exits with status 75 (EX_TEMPFAIL: try again later) and
    nothing in the job directory is touched; bad input, a bad configuration, a missing GPU, a
    damaged or foreign file, a read-only or full disk exit with status 2; Ctrl-C with 130.
    Anything else is a bug and keeps its traceback.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        where = ", ".join(getattr(job, "id", "?")[:8] for job in args)
        prefix = f"cubemc: {func.__name__} ({where})"
        try:
            for job in args:
                check_job_document(job)
            return func(*args, **kwargs)
        except JobBusyError as error:
            print(f"cubemc: refused: {error}", file=sys.stderr, flush=True)
            raise SystemExit(BUSY_EXIT_STATUS) from None
        except _user_errors() as error:
            print(f"{prefix}: error: {one_line(error)}", file=sys.stderr, flush=True)
            raise SystemExit(EXIT_ERROR) from None
        except OSError as error:
            print(
                f"{prefix}: error: {files.describe_os_error(error)}; fix that and run again: "
                "the stage continues from its last checkpoint",
                file=sys.stderr,
                flush=True,
            )
            raise SystemExit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            _report_interrupt(prefix)
        except Exception as error:
            if not caused_by_interrupt(error):
                raise
            _report_interrupt(prefix)

    return wrapper


def _report_interrupt(prefix):
    print(
        f"{prefix}: interrupted; `python project.py run` continues from the last checkpoint",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(EXIT_INTERRUPTED) from None


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
    """Per-job analysis: analysis package summary, energy statistics and figures (energy trace,
    snapshot; orthoslices of crystal runs, crystallites of runs from a fluid with attraction)."""
    with job_lock(job, "analyse"):
        check_final_files(job)  # before anything is recorded
        sp = dict(job.cached_statepoint)
        segment = provenance.SegmentLog(job, "analyse")
        n = sp["N"]
        title = f"{job.id[:8]}  beta*eps={sp['beta_epsilon']}  {eos.control_label(sp)}  N={n}"

        _, energy, bonds = figures.read_energy_log(job.fn(stages.TRAJECTORY))
        job.doc["energy"] = figures.energy_statistics(energy / n)
        job.doc["bonds_per_cube"] = figures.energy_statistics(bonds / n)
        figures.plot_energy_trace(
            job.fn(figures.ENERGY_PNG),
            job.fn(stages.EQUILIBRATION_TRAJECTORY),
            job.fn(stages.TRAJECTORY),
            n,
            title,
        )

        import numpy as np

        with np.load(job.fn(stages.FINAL), allow_pickle=False) as data:
            positions, orientations, box = data["positions"], data["orientations"], data["box"]
        figures.plot_snapshot(
            job.fn(figures.SNAPSHOT_PNG),
            positions,
            orientations,
            box,
            sp["well_range"],
            title=f"{title}  (final)",
        )

        result = analysis_bridge.analyse_trajectory(
            job.fn(stages.TRAJECTORY),
            sp,
            orthoslice=job.fn(ORTHOSLICE_PNG),
            crystallites=job.fn(CRYSTALLITES_PNG),
            # the hard fluid before the quench: contacts that are packing, not aggregation
            reference=job.fn(stages.INITIAL_GSD) if job.isfile(stages.INITIAL_GSD) else None,
            scattering_frames=analysis_bridge.scattering_frames(job.doc.get("studies", [])),
        )
        job.doc["summary"] = result["summary"]
        analysis_bridge.dump_json(job.fn(ANALYSIS_JSON), result)  # the product, written last
        segment.update(status="done")
        log(
            f"{job.id[:8]} analyse: {len(energy)} frames, bonds per cube "
            f"{job.doc['bonds_per_cube']['mean']:.4f}, wrote {ANALYSIS_JSON} and figures"
        )


def check_final_files(job) -> None:
    """Refuse to analyse a damaged final checkpoint or an incomplete production trajectory."""
    final = stages.checkpoint_identity(job, stages.FINAL)
    first = stages.checkpoint_identity(job, stages.EQUILIBRATED).sweep
    files.check_trajectory_complete(
        job.fn(stages.TRAJECTORY),
        final,
        period=job.cached_statepoint["sample_period"],
        first=first,
        seed_logged=False,
        hint=f"delete it and {stages.FINAL}: `python project.py run` redoes the production run "
        f"from {stages.EQUILIBRATED}, bit for bit the same run",
    )


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
        "studies": job.doc.get("studies", []),
        "path": job.path,
    }
    if with_series and job.isfile(ANALYSIS_JSON):
        analysis = files.read_json_document(job.fn(ANALYSIS_JSON), what="analysis", hint=ANALYSIS_HINT)
        row["summary"] = analysis.get("summary", row["summary"])
        row["series"] = analysis.get("series", {})
    return analysis_bridge.to_json(row)


INTERIM_USAGE = (
    "usage: python project.py report\n\n"
    "Write report/ now from the jobs analysed so far (an interim report while the others run);\n"
    "`python project.py run` writes the full report once every job is analysed."
)


def interim_report(project, args=()) -> None:
    """``python project.py report``: the report of the jobs analysed so far, while the others run.

    Its manifest lists those jobs only, so the `report` operation still runs once all are analysed.
    """
    if list(args) in (["-h"], ["--help"]):
        print(INTERIM_USAGE)
        return
    if args:
        raise WorkflowError(
            f"project.py report takes no arguments (got {' '.join(args)!r}): it reports on every "
            "job of the project that is analysed"
        )
    analysed = [job for job in project if is_analysed(job)]
    if not analysed:
        raise WorkflowError(
            f"no job of the {len(project)} is analysed yet, so there is nothing to report; "
            "`python project.py status -d` shows where they are"
        )
    report(*analysed, pending=len(project) - len(analysed))


@refuse_if_busy
def report(*jobs, pending=0) -> None:
    """Cross-job report in ``<project>/report``: analysis report, overview figure, manifest;
    `pending` counts the project's jobs left out because they are not analysed yet."""
    project = jobs[0].project
    outdir = report_dir(project)
    os.makedirs(outdir, exist_ok=True)
    with project_lock(project, "report", task="report"):
        ordered = sorted(jobs, key=lambda j: j.id)
        rows = [job_summary(job) for job in ordered]
        analysis_bridge.dump_json(
            os.path.join(outdir, REPORT_JOBS),
            [{k: v for k, v in row.items() if k != "series"} for row in rows],
        )
        figures.plot_overview(os.path.join(outdir, OVERVIEW_PNG), rows)
        analysis_bridge.write_report(rows, outdir, pending)
        analysis_bridge.dump_json(
            os.path.join(outdir, REPORT_MANIFEST),
            {
                "jobs": [row["id"] for row in rows],
                "created": provenance.now(),
                "packages": provenance.package_versions(),
            },
        )
    interim = f" (interim: {pending} job(s) not analysed yet)" if pending else ""
    log(f"report: {len(rows)} job(s) summarised in {outdir}{interim}")
