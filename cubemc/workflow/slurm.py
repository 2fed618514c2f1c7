"""A generic SLURM environment for signac-flow with CPU and GPU partitions.

Select it with ``SIGNAC_FLOW_ENVIRONMENT=CubemcSlurmEnvironment`` (signac-flow has no
``--env`` flag). Its template, ``templates/cubemc-slurm.sh``, extends flow's ``slurm.sh`` with
``--gres=gpu:N`` for GPU operations, an optional ``--account``, ``NUMBA_NUM_THREADS`` per
operation and ``CUBEMC_DEADLINE`` so long runs checkpoint and stop before the walltime.

Partitions are configured by environment variables read at import time:

* ``CUBEMC_SLURM_GPU_PARTITIONS``: ``name:gpus_per_node`` pairs, comma separated
  (default ``gpu:4``). Any other partition is treated as CPU-only, and signac-flow refuses to
  send GPU operations there (and CPU-only operations to a GPU partition).
* ``CUBEMC_SLURM_PARTITION``: the default for ``--partition`` (default ``cpu``).
* ``CUBEMC_SLURM_ACCOUNT``: the default for ``--account``.
"""

from __future__ import annotations

import os

from flow.environment import DefaultSlurmEnvironment

try:  # private in signac-flow 0.29; without it GPU partitions are not declared
    from flow.environment import _PartitionConfig
except ImportError:  # pragma: no cover
    _PartitionConfig = None


def parse_gpu_partitions(spec: str) -> dict:
    """``"gpu:4,gpu-small:1"`` -> ``{"gpu": 4, "gpu-small": 1}``."""
    result = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        try:
            gpus = int(count) if count else 1
        except ValueError:
            gpus = 0
        if not name.strip() or gpus < 1:
            raise ValueError(f"CUBEMC_SLURM_GPU_PARTITIONS: bad entry {item!r} (want name:gpus, e.g. gpu:4)")
        result[name.strip()] = gpus
    return result


def _gpu_partitions_from_env():
    """(partitions, error message or None): a bad value is reported by project.py in one line
    (config.check_environment) instead of failing while signac-flow imports this module."""
    try:
        return parse_gpu_partitions(os.environ.get("CUBEMC_SLURM_GPU_PARTITIONS", "gpu:4")), None
    except ValueError as error:
        return {}, str(error)


GPU_PARTITIONS, GPU_PARTITIONS_ERROR = _gpu_partitions_from_env()


class CubemcSlurmEnvironment(DefaultSlurmEnvironment):
    """Generic SLURM cluster: a CPU partition (default ``cpu``) and GPU partitions."""

    template = "cubemc-slurm.sh"
    if _PartitionConfig is not None:
        _partition_config = _PartitionConfig(gpus_per_node=dict(GPU_PARTITIONS))

    @classmethod
    def add_args(cls, parser):
        super().add_args(parser)
        parser.add_argument(
            "--partition",
            default=os.environ.get("CUBEMC_SLURM_PARTITION", "cpu"),
            help="SLURM partition (GPU partitions: %s)" % (", ".join(GPU_PARTITIONS) or "none"),
        )
        parser.add_argument(
            "--account",
            default=os.environ.get("CUBEMC_SLURM_ACCOUNT"),
            help="SLURM account to charge",
        )
