"""One worker per job: an exclusive ``fcntl.flock`` on a file inside the job directory.

The lock is released by the kernel when the holder exits, even after ``kill -9``, so a stale
lock file never blocks a resumed run. The file also records who holds it, for the refusal
message. ``flock`` works across processes on one machine and on cluster file systems mounted
with flock support (Lustre ``-o flock``, GPFS, recent NFS); check yours before running the same
project from several nodes at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from .errors import JobBusyError

LOCK_FILENAME = ".cubemc.lock"


class PathLock:
    """Exclusive, non-blocking lock on ``path``; raises :class:`JobBusyError` if taken."""

    def __init__(self, path: str, what: str, task: str = ""):
        self.path = path
        self.what = what
        self.task = task
        self._fd = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise JobBusyError(
                f"{self.what} is already being worked on by {holder}; refusing to start a "
                f"second process on it (lock file {self.path})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "task": self.task,
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            # Leave the file in place (removing it would race with a waiting locker);
            # clearing it marks the job as free for anyone reading it.
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def _read_holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        info = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    text = f"pid {info.get('pid')} on {info.get('host')}"
    if info.get("task"):
        text += f" (running {info['task']} since {info.get('since')}"
        if info.get("slurm_job_id"):
            text += f", SLURM job {info['slurm_job_id']}"
        text += ")"
    return text


def job_lock(job, task: str = "") -> PathLock:
    """Lock for one signac job: ``with job_lock(job, 'sample'): ...``."""
    return PathLock(job.fn(LOCK_FILENAME), f"job {job.id}", task)


def project_lock(project, name: str, task: str = "") -> PathLock:
    """Lock for a project-wide task such as the report."""
    return PathLock(os.path.join(project.path, f".cubemc-{name}.lock"), f"project task {name!r}", task)


def is_locked(job) -> bool:
    """True if some process holds the job's lock right now (used by the status labels)."""
    path = job.fn(LOCK_FILENAME)
    if not os.path.exists(path):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe lock if we got it
    return False
