"""The checks a stage makes before it (re)starts, and the one repair it may make on its own.

A stage resumes from its newest checkpoint and appends to its trajectory (stages.py).  Before
it does, :func:`check_resume` refuses a trajectory that is foreign, damaged, missing or shorter
than the checkpoint says, and :func:`check_job_directory` a directory it cannot write to.

:func:`drop_frames_without_checkpoint` handles the one case that is neither: a stage killed
after its first frame but before its first checkpoint leaves frames that all lie after the
sweep of the file it restarts from.  Nothing in them can be compared with that configuration
(``cubemc.trajectory.check_run_owns`` refuses such a file), yet they are this run's, and the
restarted stage writes the same frames again bit for bit.
"""

from __future__ import annotations

import os

from cubemc import files

from .progress import log


def check_resume(
    job, run: files.RunIdentity, *, trajectory: str, restart: str, start_file: str, first: int, target: int
) -> None:
    """Refuse to continue a stage whose trajectory is foreign, damaged, missing or shorter than
    the checkpoint `run` says (frames every ``sample_period`` sweeps from `first`)."""
    hint = (
        f"restore {trajectory}, or delete {restart} and {trajectory}: `python project.py run` "
        f"then redoes the stage from {start_file}, bit for bit the same run"
    )
    # frames of projects started before cubemc logged the seed carry none; the job directory
    # (one run per job) and N, box and model parameters still identify them
    files.check_trajectory_continues(
        job.fn(trajectory),
        run,
        period=job.cached_statepoint["sample_period"],
        first=first,
        last=target,
        seed_logged=False,
        hint=hint,
    )


def drop_frames_without_checkpoint(job, run: files.RunIdentity, *, trajectory: str, start_file: str) -> None:
    """Remove the trajectory of a stage killed before its first checkpoint, which restarts from
    `start_file` (identity `run`): every frame after ``run.sweep`` and of this very run.

    Call it after :func:`check_resume` (frames in order, this run's N, box and model, none past
    the stage's end) and under the job lock.  The frames must also log this run's seed: the seed
    is what makes them this job's and not a copy of a run of the same model.  Frames that cannot
    be matched so are left for check_run_owns to refuse, with its own message.
    """
    path = job.fn(trajectory)
    if not os.path.lexists(path):
        return
    hint = f"move {trajectory} aside: `python project.py run` then redoes the stage from {start_file}"
    frames = files.read_trajectory_frames(path, hint=hint)
    if not frames or frames[0].step <= run.sweep:
        return
    files.check_frame_identities(path, frames, run, seed_logged=True, hint=hint)
    os.remove(path)
    log(
        f"{job.id[:8]} removed {trajectory}: its {len(frames)} frame(s) (sweeps {frames[0].step} to "
        f"{frames[-1].step}) were written before the stage's first checkpoint, and the stage writes "
        f"them again from {start_file} (sweep {run.sweep}), bit for bit"
    )


def check_job_directory(job, frames: int = 0, checkpoints: int = 0) -> None:
    """Refuse to start on a job directory that is read-only or on a disk without the space for
    `frames` trajectory frames and `checkpoints` checkpoint files."""
    hint = "free some space, or move the project to a writable disk"
    files.check_writable_directory(job.path, what="job directory", hint=hint)
    needed = files.estimate_output_bytes(job.cached_statepoint["N"], frames=frames, checkpoints=checkpoints)
    files.check_free_space(job.path, needed, hint=hint)
