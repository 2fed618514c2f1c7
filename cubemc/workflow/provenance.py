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


def record_segment(job, stage: str, segment: dict) -> None:
    """Append one run segment (a contiguous piece of work on a stage) to ``job.doc``.

    ``job.doc['stages'][stage]`` keeps the totals and the last segments; resumed runs add a
    segment each, so the document shows where a stage was interrupted and continued.
    """
    stages = job.doc.get("stages", {})
    stages = dict(stages) if stages else {}
    entry = dict(stages.get(stage, {}))
    segments = list(entry.get("segments", []))
    segments.append(segment)
    entry["segments"] = segments[-20:]
    entry["n_segments"] = int(entry.get("n_segments", 0)) + 1
    entry["wall_seconds"] = round(float(entry.get("wall_seconds", 0.0)) + segment.get("wall_seconds", 0.0), 3)
    entry["device"] = segment.get("device")
    entry["engine"] = segment.get("engine")
    stages[stage] = entry
    job.doc["stages"] = stages
