"""Provenance recorded in ``job.doc`` (never in the state point)."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from importlib import metadata

_PACKAGES = ("numpy", "numba", "numba-cuda", "gsd", "freud-analysis", "signac", "signac-flow", "hoomd")


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment_info() -> dict:
    """Host, platform and scheduler facts for the running process."""
    info = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
    }
    for key in ("SLURM_JOB_ID", "SLURM_JOB_PARTITION", "CUDA_VISIBLE_DEVICES", "NUMBA_NUM_THREADS"):
        if os.environ.get(key):
            info[key.lower()] = os.environ[key]
    return info


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class SegmentLog:
    """Record one run segment (a contiguous piece of work on a stage) in ``job.doc``.

    ``job.doc['stages'][stage]['segments']`` gets one entry per invocation. The entry is
    written when the segment starts and updated at every checkpoint, so after a kill -9 it
    still shows how far that process got; the next segment marks it ``interrupted``.
    """

    def __init__(self, job, stage: str, **fields):
        self.job = job
        self.stage = stage
        self.t0 = time.time()
        self.entry = {
            "status": "running",
            "started": now(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **fields,
        }
        if os.environ.get("SLURM_JOB_ID"):
            self.entry["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
        stage_doc = self._stage_doc()
        for old in stage_doc["segments"]:
            if old.get("status") == "running":  # we hold the job lock: its owner is gone
                old["status"] = "interrupted"
        stage_doc["segments"].append(self.entry)
        self._write(stage_doc)

    def _stage_doc(self) -> dict:
        stages = self.job.doc().get("stages") or {}  # job.doc() is a plain-dict copy
        stage_doc = stages.get(self.stage) or {}
        stage_doc.setdefault("segments", [])
        return stage_doc

    def _write(self, stage_doc: dict) -> None:
        segments = stage_doc["segments"]
        stage_doc["n_segments"] = len(segments)
        stage_doc["wall_seconds"] = round(sum(seg.get("wall_seconds", 0.0) for seg in segments), 3)
        stage_doc["device"] = self.entry.get("device")
        stage_doc["engine"] = self.entry.get("engine")
        stages = self.job.doc().get("stages") or {}
        stages[self.stage] = stage_doc
        self.job.doc["stages"] = stages

    def update(self, status: str | None = None, **fields) -> None:
        wall = time.time() - self.t0
        self.entry.update(fields)
        self.entry["wall_seconds"] = round(wall, 3)
        self.entry["updated"] = now()
        sweeps = self.entry.get("sweeps")
        if sweeps:
            self.entry["sweeps_per_second"] = round(sweeps / wall, 3) if wall > 0 else None
        if status:
            self.entry["status"] = status
        stage_doc = self._stage_doc()
        stage_doc["segments"][-1] = self.entry
        self._write(stage_doc)
