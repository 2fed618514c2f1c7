"""The simulation stages of one job, restartable at any moment.

Files in a job directory (each stage's product is written atomically, last):

=============================  =============================================================
``initial.npz``                checkpoint of the initial state (product of *create*)
``initial.gsd``                the initial state as one GSD frame (for viewers)
``tuned.npz``                  checkpoint after move-size tuning
``equilibration.gsd``          burn-in trajectory (kept for the energy trace, not analysed)
``equilibration.restart.npz``  rolling checkpoint while burning in
``equilibrated.npz``           checkpoint at the end of the burn-in (product of *equilibrate*)
``trajectory.gsd``             production trajectory, one frame every ``sample_period`` sweeps
``sample.restart.npz``         rolling checkpoint while sampling
``final.npz``                  checkpoint at the end of production (product of *sample*)
=============================  =============================================================

A stage always (re)starts from the newest checkpoint on disk; the engine continues bit for bit
from a checkpoint and drops trajectory frames newer than it, so an interrupted and resumed
stage produces the same files as an uninterrupted one.  Before it resumes, a stage checks
(resume.py) that the checkpoint is readable and that the trajectory belongs to the same run and
holds every frame up to the checkpoint; otherwise it stops with one line saying which file to
restore or delete (:data:`RECOVERY`).  A stage killed before its first checkpoint restarts from
its start file and writes its frames again (resume.drop_frames_without_checkpoint).
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

from cubemc import files
from cubemc import trajectory as gsdio
from cubemc.devices import small_gpu_hint

from . import eos, provenance
from .cluster_moves import attach_cluster_moves, check_cluster_move_engine
from .config import WorkflowConfig
from .engine import get_engine, initial_state
from .locking import is_locked, job_lock
from .progress import StageProgress, log
from .resume import check_job_directory, check_resume, drop_frames_without_checkpoint

INITIAL = "initial.npz"
INITIAL_GSD = "initial.gsd"
TUNED = "tuned.npz"
EQUILIBRATION_TRAJECTORY = "equilibration.gsd"
EQUILIBRATION_RESTART = "equilibration.restart.npz"
EQUILIBRATED = "equilibrated.npz"
TRAJECTORY = "trajectory.gsd"
SAMPLE_RESTART = "sample.restart.npz"
FINAL = "final.npz"

STAGES = ("create", "equilibrate", "sample")

#: how to recover when a checkpoint is damaged: the stages redo the lost work bit for bit
RECOVERY = {
    INITIAL: f"delete it and {INITIAL_GSD}: `python project.py run` creates the same state again",
    TUNED: f"delete it and {EQUILIBRATION_TRAJECTORY}: `python project.py run` tunes again",
    EQUILIBRATION_RESTART: f"delete it: `python project.py run` redoes the burn-in from {TUNED}, "
    "bit for bit the same run",
    EQUILIBRATED: f"delete it: `python project.py run` redoes the burn-in from {TUNED}, bit for "
    "bit the same run",
    SAMPLE_RESTART: f"delete it: `python project.py run` redoes the production run from "
    f"{EQUILIBRATED}, bit for bit the same run",
    FINAL: f"delete it: `python project.py run` redoes the production run from {EQUILIBRATED}, "
    "bit for bit the same run",
}


def job_seed(job) -> int:
    """Seed derived from the job id (a hash of the state point), so replicas differ."""
    return int(job.id[:8], 16)


def checkpoint_sweep(path: str) -> int:
    """Sweep count stored in a checkpoint file."""
    with np.load(path, allow_pickle=False) as data:
        return int(data["sweep"])


def checkpoint_identity(job, name: str) -> files.RunIdentity:
    """The run stored in the job's checkpoint `name`, after checking it is readable."""
    identity = files.read_checkpoint_identity(job.fn(name), hint=RECOVERY.get(name, ""))
    return eos.run_identity(job.cached_statepoint, identity)  # NPT: the box is not compared


def checkpoint_interval(sweeps: int, period: int, checkpoints: int) -> int:
    """Sweeps between checkpoints: about ``sweeps / checkpoints``, a multiple of ``period``."""
    if sweeps <= 0:
        return max(1, period)
    raw = max(1, math.ceil(sweeps / max(1, checkpoints)))
    return max(period, math.ceil(raw / period) * period)


def is_created(job) -> bool:
    return job.isfile(INITIAL)


def is_equilibrated(job) -> bool:
    return job.isfile(EQUILIBRATED)


def is_sampled(job) -> bool:
    return job.isfile(FINAL)


# --- helpers ---------------------------------------------------------------------------------


def _segment_fields(engine, sim) -> dict:
    return {
        "from_sweep": int(sim.sweep),
        "device": getattr(sim, "device", None),
        "engine": engine.name,
        "engine_version": engine.version,
    }


def _segment_progress(sim, segment) -> dict:
    return {"to_sweep": int(sim.sweep), "sweeps": int(sim.sweep) - segment.entry["from_sweep"]}


def _set_progress(job, stage, done, total, sweep):
    job.doc["progress"] = {
        "stage": stage,
        "done": int(done),
        "total": int(total),
        "sweep": int(sweep),
        "updated": provenance.now(),
    }


def _record_common(job, engine, sim):
    job.doc["engine"] = {"name": engine.name, "version": engine.version}
    job.doc["device"] = getattr(sim, "device", None)
    job.doc["provenance"] = {
        "packages": provenance.package_versions(),
        "environment": provenance.environment_info(),
        "updated": provenance.now(),
    }


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# --- run loop --------------------------------------------------------------------------------


def run_until(
    job,
    sim,
    *,
    stage,
    stage_start,
    target,
    trajectory,
    period,
    restart,
    interval,
    config: WorkflowConfig,
    segment=None,
    progress: StageProgress | None = None,
) -> bool:
    """Run ``sim`` to sweep ``target`` in chunks of ``interval`` sweeps, checkpointing after each.

    Chunk boundaries sit at ``stage_start + k * interval`` so a resumed stage takes the same
    path as an uninterrupted one. Stops early (returning False) when the next chunk would end
    after ``config.deadline`` (the SLURM walltime), leaving the checkpoint for the next run.
    """
    total = target - stage_start
    own_progress = progress is None
    if own_progress:
        progress = StageProgress(
            f"{job.id[:8]} {stage}",
            int(sim.sweep),
            target,
            total=total,
            done_before=int(sim.sweep) - stage_start,
        )
    chunk_seconds = 0.0
    try:
        while sim.sweep < target:
            if config.deadline is not None and time.time() + 1.5 * chunk_seconds > config.deadline:
                progress.log(
                    f"{stage}: stopping at sweep {sim.sweep - stage_start}/{total} before the "
                    "walltime; the next run continues from the checkpoint"
                )
                return False
            offset = (sim.sweep - stage_start) % interval
            n = min(interval - offset, target - sim.sweep)
            t0 = time.perf_counter()
            sim.run(sweeps=n, trajectory=job.fn(trajectory), period=period, progress=False)
            sim.save_checkpoint(job.fn(restart))
            chunk_seconds = time.perf_counter() - t0
            if segment is not None:
                segment.update(**_segment_progress(sim, segment))
            _set_progress(job, stage, sim.sweep - stage_start, total, sim.sweep)
            progress.update(int(sim.sweep), extra=f"E/N={sim.energy / max(1, _n(sim)):.4f}")
        return True
    finally:
        if own_progress:
            progress.close()


def _resume_source(job, trajectory, restart, start_file, first, target) -> str:
    """The checkpoint a stage (re)starts from (`restart` if there is one, else `start_file`),
    after the resume checks; on a restart from `start_file` the frames of a run killed before
    its first checkpoint are removed (resume.py), as the stage writes them again."""
    source = restart if job.isfile(restart) else start_file
    run = checkpoint_identity(job, source)
    names = {"trajectory": trajectory, "start_file": start_file}
    check_resume(job, run, restart=restart, first=first, target=target, **names)
    if source == start_file:
        drop_frames_without_checkpoint(job, run, **names)
    return source


def _n(sim):
    n = getattr(sim, "N", None)
    return int(n) if n is not None else len(sim.positions)


# --- stages ----------------------------------------------------------------------------------


def create_initial_state(job, config: WorkflowConfig) -> None:
    """Build the initial configuration and write ``initial.npz`` (and ``initial.gsd``)."""
    if is_created(job):
        return
    sp = job.cached_statepoint
    files.check_memory(
        sp["N"],
        eos.memory_packing_fraction(sp),
        well_range=sp["well_range"],
        hint=f"set {files.MEMORY_LIMIT_ENV} if the jobs may use more",
    )
    engine = get_engine(config.engine)
    segment = provenance.SegmentLog(
        job, "create", from_sweep=0, engine=engine.name, engine_version=engine.version
    )
    seed = job_seed(job)
    state = initial_state(dict(sp), seed)
    sim = engine.new_simulation(
        state, beta_epsilon=sp["beta_epsilon"], well_range=sp["well_range"], seed=seed, device="cpu"
    )
    eos.attach_box_move(sim, sp)  # NPT: in every checkpoint from initial.npz on
    attach_cluster_moves(sim, sp)  # VMMC: in every checkpoint from initial.npz on
    gsdio.write_snapshot(job.fn(INITIAL_GSD), sim)
    job.doc["seed"] = seed
    job.doc["initial"] = {
        "energy": float(sim.energy),
        "bonds": int(sim.bonds),
        "N": _n(sim),
        "box": [float(x) for x in sim.box],
    }
    _record_common(job, engine, sim)
    sim.save_checkpoint(job.fn(INITIAL))  # the product, written last
    segment.update(status="done", device=getattr(sim, "device", None), **_segment_progress(sim, segment))
    log(
        f"{job.id[:8]} create_initial_state: {sp['initial_state']}, N={_n(sim)}, "
        f"box {float(sim.box[0]):.4f}, {int(sim.bonds)} bonds, written {INITIAL}"
    )


def equilibrate(job, config: WorkflowConfig, device: str) -> bool:
    """Tune move sizes, then burn in; writes ``equilibrated.npz``. Returns True when done."""
    if is_equilibrated(job):
        return True
    sp = job.cached_statepoint
    engine = get_engine(config.engine)

    if not job.isfile(TUNED):
        checkpoint_identity(job, INITIAL)
        sim = engine.load_checkpoint(job.fn(INITIAL), device=device)
        _record_common(job, engine, sim)
        sweep0 = int(sim.sweep)
        segment = provenance.SegmentLog(job, "tune", **_segment_fields(engine, sim))
        _set_progress(job, "tune", 0, sp["tune_sweeps"], sweep0)
        if sp["tune_sweeps"] > 0:
            progress = StageProgress(f"{job.id[:8]} tune", sweep0, sweep0 + sp["tune_sweeps"])
            sim.tune(sweeps=sp["tune_sweeps"])
            sizes = ", ".join(f"{k} {float(v):.4g}" for k, v in sim.move_sizes.items())
            progress.update(int(sim.sweep), extra=f"move sizes: {sizes}")
            progress.close()
        job.doc["move_sizes"] = {k: float(v) for k, v in sim.move_sizes.items()}
        sim.save_checkpoint(job.fn(TUNED))
        segment.update(status="done", **_segment_progress(sim, segment))

    stage_start = checkpoint_identity(job, TUNED).sweep
    target = stage_start + sp["equilibration_sweeps"]
    source = _resume_source(job, EQUILIBRATION_TRAJECTORY, EQUILIBRATION_RESTART, TUNED, stage_start, target)
    sim = engine.load_checkpoint(job.fn(source), device=device)
    _record_common(job, engine, sim)
    segment = provenance.SegmentLog(job, "equilibrate", **_segment_fields(engine, sim))
    interval = checkpoint_interval(
        sp["equilibration_sweeps"], sp["sample_period"], config.checkpoints_per_stage
    )
    done = run_until(
        job,
        sim,
        stage="equilibrate",
        stage_start=stage_start,
        target=target,
        trajectory=EQUILIBRATION_TRAJECTORY,
        period=sp["sample_period"],
        restart=EQUILIBRATION_RESTART,
        interval=interval,
        config=config,
        segment=segment,
    )
    if done:
        sim.save_checkpoint(job.fn(EQUILIBRATED))
        _remove(job.fn(EQUILIBRATION_RESTART))
    segment.update(status="done" if done else "stopped", **_segment_progress(sim, segment))
    return done


def sample(job, config: WorkflowConfig, device: str) -> bool:
    """Production run with trajectory and checkpoints; writes ``final.npz``. True when done."""
    if is_sampled(job):
        return True
    sp = job.cached_statepoint
    engine = get_engine(config.engine)
    stage_start = checkpoint_identity(job, EQUILIBRATED).sweep
    target = stage_start + sp["production_sweeps"]
    source = _resume_source(job, TRAJECTORY, SAMPLE_RESTART, EQUILIBRATED, stage_start, target)
    sim = engine.load_checkpoint(job.fn(source), device=device)
    _record_common(job, engine, sim)
    if source == EQUILIBRATED:
        job.doc["production_start_sweep"] = stage_start
    segment = provenance.SegmentLog(job, "sample", **_segment_fields(engine, sim))
    interval = checkpoint_interval(sp["production_sweeps"], sp["sample_period"], config.checkpoints_per_stage)
    done = run_until(
        job,
        sim,
        stage="sample",
        stage_start=stage_start,
        target=target,
        trajectory=TRAJECTORY,
        period=sp["sample_period"],
        restart=SAMPLE_RESTART,
        interval=interval,
        config=config,
        segment=segment,
    )
    acceptance = {k: float(v) for k, v in sim.acceptance.items()}
    if done:
        job.doc["final"] = {
            "energy": float(sim.energy),
            "bonds": int(sim.bonds),
            "sweep": int(sim.sweep),
            "acceptance": acceptance,
        }
        sim.save_checkpoint(job.fn(FINAL))
        _remove(job.fn(SAMPLE_RESTART))
    segment.update(
        status="done" if done else "stopped", acceptance=acceptance, **_segment_progress(sim, segment)
    )
    return done


# --- entry points used by the operations -----------------------------------------------------


def _stage_output(job, stage: str) -> tuple[int, int]:
    """(trajectory frames, checkpoint files) a stage writes at most, for the disk-space check."""
    sp = job.cached_statepoint
    if stage == "create":
        return 1, 1
    sweeps = sp["equilibration_sweeps"] if stage == "equilibrate" else sp["production_sweeps"]
    return sweeps // sp["sample_period"] + 1, 4


def check_sample_ready(job) -> None:
    """The checks `sample` makes before it resumes, for jobs sampled together (batched.py)."""
    if is_sampled(job) or not is_equilibrated(job) or is_locked(job):
        return  # nothing to sample yet, or another process owns the job (refused later)
    check_job_directory(job, *_stage_output(job, "sample"))
    stage_start = checkpoint_identity(job, EQUILIBRATED).sweep
    source = SAMPLE_RESTART if job.isfile(SAMPLE_RESTART) else EQUILIBRATED
    check_resume(
        job,
        checkpoint_identity(job, source),
        trajectory=TRAJECTORY,
        restart=SAMPLE_RESTART,
        start_file=EQUILIBRATED,
        first=stage_start,
        target=stage_start + job.cached_statepoint["production_sweeps"],
    )


def run_stage(job, stage: str, config: WorkflowConfig, device: str, task: str | None = None) -> bool:
    """Run one stage of one job under the job lock."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    eos.check_engine(job.cached_statepoint, config.engine)  # NPT: native box moves
    check_cluster_move_engine(job.cached_statepoint, config.engine)  # VMMC: native only
    if not is_locked(job):  # a busy job is refused by the lock with its own message
        check_job_directory(job, *_stage_output(job, stage))
    with job_lock(job, task or stage):
        if stage == "create":
            create_initial_state(job, config)
            return True
        if stage == "equilibrate":
            return equilibrate(job, config, device)
        if stage == "sample":
            return sample(job, config, device)
        raise ValueError(f"unknown stage {stage!r}")


def run_stage_group(jobs, stage: str, config: WorkflowConfig, device: str, task: str | None = None) -> bool:
    """Run a stage for several jobs in this process (GPU bundles): sampling as one batch where
    the jobs allow it (see batched.py), otherwise one after another.

    Jobs that are done are skipped, as are jobs whose previous stage is not done yet. Stops
    before the walltime like :func:`run_until`. Returns True when every job finished the stage.
    """
    if stage == "sample":  # jobs of equal N and schedule advance together in one batch
        from .batched import sample_group

        for job in jobs:
            check_sample_ready(job)
        batched = sample_group(jobs, config, device, task or "sample_gpu")
        if batched is not None:
            return batched
    ready = {"equilibrate": is_created, "sample": is_equilibrated}.get(stage, lambda job: True)
    finished = {"equilibrate": is_equilibrated, "sample": is_sampled}.get(stage, is_created)
    pending = [job for job in jobs if not finished(job)]
    runnable = [job for job in pending if ready(job)]
    sizes = [job.cached_statepoint["N"] for job in runnable]
    if hint := sizes and small_gpu_hint(max(sizes), device, config.engine):  # one job per launch
        log(hint)
    all_done = len(runnable) == len(pending)
    for job in runnable:
        if config.deadline is not None and time.time() > config.deadline:
            return False
        all_done &= run_stage(job, stage, config, device, task)
    return all_done
