"""Sampling a group of jobs together with cubemc.SimulationBatch (several jobs on one GPU).

One kernel launch per checkerboard set then covers every job of the group, which fills a GPU
that a single ~1000-cube job leaves mostly idle.  Each job draws exactly the random numbers of its
own separate run, so the files written here are identical to those of `stages.sample`.  Jobs with
VMMC cluster moves batch too: the batch runs every job's moves in one call (on a GPU one launch,
cubemc/gpu_vmmc.py) when all make as many at the same sweeps (`SimulationBatch.cluster_updaters`).
"""

from __future__ import annotations

import contextlib
import time

from cubemc import InputError, SimulationBatch
from cubemc import trajectory as gsdio
from cubemc.devices import small_gpu_hint

from . import eos, provenance, stages
from .engine import get_engine
from .locking import job_lock
from .resume import drop_frames_without_checkpoint


def _plan(jobs, config):
    """(job, restart source) per job if the group can be sampled as one batch, else None.

    A batch needs the native engine and jobs that are all ready to sample and at the same point of
    the same schedule (start sweep, length, frame period, current sweep).
    """
    if config.engine != "native" or len(jobs) < 2:
        return None
    plans, schedules = [], set()
    for job in jobs:
        if stages.is_sampled(job) or not stages.is_equilibrated(job) or eos.is_npt(job.cached_statepoint):
            return None  # box moves change one system's box: such jobs run on their own
        sp = job.cached_statepoint
        source = stages.SAMPLE_RESTART if job.isfile(stages.SAMPLE_RESTART) else stages.EQUILIBRATED
        start = stages.checkpoint_sweep(job.fn(stages.EQUILIBRATED))
        schedules.add(
            (start, sp["production_sweeps"], sp["sample_period"], stages.checkpoint_sweep(job.fn(source)))
        )
        plans.append((job, source))
    return plans if len(schedules) == 1 else None


def sample_group(jobs, config, device, task="sample_gpu"):
    """Sample `jobs` as one batch; returns True when done, False if stopped at the walltime,
    or None when the group cannot be batched (the caller then runs the jobs one by one)."""
    plans = _plan(jobs, config)
    if plans is None:
        return None
    with contextlib.ExitStack() as locks:
        for job, _ in plans:
            locks.enter_context(job_lock(job, task))
        for job, source in plans:  # checked by stages.check_sample_ready before the locks
            if source == stages.EQUILIBRATED:
                run = stages.checkpoint_identity(job, source)
                drop_frames_without_checkpoint(job, run, trajectory=stages.TRAJECTORY, start_file=source)
        engine = get_engine("native")
        sims = [engine.load_checkpoint(job.fn(source), device=device) for job, source in plans]
        if len({(sim.N, sim.shape.NAME) for sim in sims}) != 1:
            return None  # a batch runs one shape and size
        try:  # cluster moves (VMMC) run together when all jobs have the same; others on their own
            batch = SimulationBatch(sims)
            batch.cluster_updaters()
        except InputError as err:
            stages.log(f"sample: not batched ({err}); the jobs run one by one")
            return None
        if hint := small_gpu_hint(sum(sim.N for sim in sims), device, config.engine):  # one launch
            stages.log(hint)
        sp = plans[0][0].cached_statepoint
        start = stages.checkpoint_sweep(plans[0][0].fn(stages.EQUILIBRATED))
        target, period = start + sp["production_sweeps"], sp["sample_period"]
        segments = []
        for (job, source), sim in zip(plans, sims):
            stages._record_common(job, engine, sim)
            if source == stages.EQUILIBRATED:
                job.doc["production_start_sweep"] = start
            segments.append(
                provenance.SegmentLog(job, "sample", batch=len(sims), **stages._segment_fields(engine, sim))
            )
            sim.run(0, trajectory=job.fn(stages.TRAJECTORY), period=period)  # trim, first frame
        done = _advance(plans, sims, batch, start, target, period, config)
        for (job, _), sim, segment in zip(plans, sims, segments):
            acceptance = {k: float(v) for k, v in sim.acceptance.items()}
            if done:
                job.doc["final"] = {
                    "energy": float(sim.energy),
                    "bonds": int(sim.bonds),
                    "sweep": int(sim.sweep),
                    "acceptance": acceptance,
                }
                sim.save_checkpoint(job.fn(stages.FINAL))
                stages._remove(job.fn(stages.SAMPLE_RESTART))
            segment.update(
                status="done" if done else "stopped",
                acceptance=acceptance,
                **stages._segment_progress(sim, segment),
            )
        return done


def _advance(plans, sims, batch, start, target, period, config):
    """The batched counterpart of stages.run_until: same frames, checkpoints and deadline rule."""
    sp = plans[0][0].cached_statepoint
    interval = stages.checkpoint_interval(sp["production_sweeps"], period, config.checkpoints_per_stage)
    chunk_seconds = 0.0
    keys = gsdio.LogKeys()  # the trajectories' log keys, read once each, not at every frame
    while sims[0].sweep < target:
        if config.deadline is not None and time.time() + 1.5 * chunk_seconds > config.deadline:
            stages.log(f"sample (batch of {len(sims)}): stopping before the walltime")
            return False
        t0 = time.perf_counter()
        sweep = sims[0].sweep
        end = min(sweep + interval - (sweep - start) % interval, target)
        while sweep < end:
            batch.run(min(period - sweep % period, end - sweep))
            sweep = sims[0].sweep
            if sweep % period == 0:
                for (job, _), sim in zip(plans, sims):
                    sim.write_frame(job.fn(stages.TRAJECTORY), keys)
        for (job, _), sim in zip(plans, sims):
            sim.save_checkpoint(job.fn(stages.SAMPLE_RESTART))
            stages._set_progress(job, "sample", sim.sweep - start, target - start, sim.sweep)
        chunk_seconds = time.perf_counter() - t0
    return True
