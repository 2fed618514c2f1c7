"""Workflow settings that are not state points: device, engine, checkpointing, bundling.

Precedence: environment variable > ``cubemc-workflow.json`` in the project root > default.

==========================  ===========================  ====================================
environment variable        config-file key              meaning
==========================  ===========================  ====================================
``CUBEMC_DEVICE``           ``device``                   ``cpu`` (default) | ``gpu`` | ``auto``
``CUBEMC_ENGINE``           ``engine``                   ``native`` (default) | ``hoomd``
``CUBEMC_GPU_GROUP_SIZE``   ``gpu_group_size``           jobs per GPU submission (default 1)
``CUBEMC_CHECKPOINTS``      ``checkpoints_per_stage``    checkpoints per run stage (default 20)
``CUBEMC_DEADLINE``         --                           Unix time by which a run stage stops
                                                         at a checkpoint (set by the SLURM
                                                         template from the walltime)
==========================  ===========================  ====================================

Further variables are read where they are used (``CUBEMC_CPUS_PER_JOB``,
``CUBEMC_MAX_WALLTIME_HOURS``, ``CUBEMC_SLURM_GPU_PARTITIONS``, ``CUBEMC_MEMORY_LIMIT``);
:func:`check_environment` checks them all when the configuration is loaded, so a typo is one
line from ``project.py`` rather than a silent default.

``device`` selects which operation variants are eligible: with ``gpu`` the ``*_gpu``
operations run (``python project.py submit -o '.*_gpu'``), otherwise the CPU ones; ``auto``
runs the CPU-named operations but lets the engine use a GPU when it finds one.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from cubemc.files import MEMORY_LIMIT_ENV, parse_size

from .errors import ConfigError

CONFIG_FILENAME = "cubemc-workflow.json"
DEVICES = ("cpu", "gpu", "auto")
DEFAULTS = {
    "device": "cpu",
    "engine": "native",
    "gpu_group_size": 1,
    "checkpoints_per_stage": 20,
}
ENV_NAMES = {
    "device": "CUBEMC_DEVICE",
    "engine": "CUBEMC_ENGINE",
    "gpu_group_size": "CUBEMC_GPU_GROUP_SIZE",
    "checkpoints_per_stage": "CUBEMC_CHECKPOINTS",
}


@dataclass(frozen=True)
class WorkflowConfig:
    device: str
    engine: str
    gpu_group_size: int
    checkpoints_per_stage: int
    deadline: float | None

    @property
    def gpu_enabled(self) -> bool:
        return self.device == "gpu"


def _read_file(project_path: str | None) -> dict:
    if not project_path:
        return {}
    path = os.path.join(project_path, CONFIG_FILENAME)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    unknown = set(data) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    return data


def _positive_int(name, value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r} is not an integer") from None
    if number < 1:
        raise ConfigError(f"{name}={value!r} must be >= 1")
    return number


def load_config(project_path: str | None = None, environ=None) -> WorkflowConfig:
    """Return the effective configuration for the project at ``project_path``."""
    environ = os.environ if environ is None else environ
    merged = dict(DEFAULTS)
    merged.update(_read_file(project_path))
    for key, env_name in ENV_NAMES.items():
        value = environ.get(env_name, "").strip()
        if value:
            merged[key] = value

    device = str(merged["device"]).lower()
    if device not in DEVICES:
        raise ConfigError(f"device {merged['device']!r} (CUBEMC_DEVICE) must be one of {', '.join(DEVICES)}")
    engine = str(merged["engine"]).lower()
    deadline = environ.get("CUBEMC_DEADLINE", "").strip()
    try:
        deadline_value = float(deadline) if deadline else None
    except ValueError:
        raise ConfigError(f"CUBEMC_DEADLINE={deadline!r} is not a Unix time") from None
    check_environment(environ)
    return WorkflowConfig(
        device=device,
        engine=engine,
        gpu_group_size=_positive_int("gpu_group_size", merged["gpu_group_size"]),
        checkpoints_per_stage=_positive_int("checkpoints_per_stage", merged["checkpoints_per_stage"]),
        deadline=deadline_value,
    )


def _positive_number(name: str, text: str) -> None:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={text!r} must be a positive number")


def check_environment(environ=None) -> None:
    """Check the CUBEMC_* variables read outside this module (submission, memory, SLURM), so a
    typo is reported in one line before any work starts instead of being ignored."""
    environ = os.environ if environ is None else environ
    value = environ.get("CUBEMC_MAX_WALLTIME_HOURS", "").strip()
    if value:
        _positive_number("CUBEMC_MAX_WALLTIME_HOURS", value)
    value = environ.get("CUBEMC_CPUS_PER_JOB", "").strip()
    if value:
        _positive_int("CUBEMC_CPUS_PER_JOB", value)
    value = environ.get(MEMORY_LIMIT_ENV, "").strip()
    if value:
        try:
            parse_size(value)
        except ValueError as error:  # cubemc.InputError
            raise ConfigError(str(error)) from None
    spec = environ.get("CUBEMC_SLURM_GPU_PARTITIONS")
    if spec is not None:
        from .slurm import parse_gpu_partitions

        try:
            parse_gpu_partitions(spec)
        except ValueError as error:
            raise ConfigError(str(error)) from None
