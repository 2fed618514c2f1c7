"""What every engine shares: the simulation protocol, log names, checkpoint format, run schedule.

The native engine (`cubemc.Simulation`) and the HOOMD-blue adapter (`cubemc.hoomd_engine`) both
import this module, so a job can move between engines in either direction: the same GSD log
names, the same checkpoint keys and the same pause points for frames and checkpoints.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from . import validate

#: the devices a simulation can be asked for
DEVICES = ("cpu", "gpu", "auto")
#: GSD log namespace and the per-frame log quantities, in the order written; "pressure" is
#: beta P sigma^3 estimated from that frame's configuration alone (cubemc.pressure)
LOG_PREFIX = "cubemc/"
LOG_KEYS = (
    "sweep",
    "energy",
    "bonds",
    "beta_epsilon",
    "well_range",
    "translate_acceptance",
    "rotate_acceptance",
    "translate_move_size",
    "rotate_move_size",
    "seed",
    "pressure",
)
#: log quantities stored as uint64 rather than float64 (a seed may not fit a double exactly)
LOG_UINT64_KEYS = ("seed",)
#: the native engine's schedules (Simulation(schedule=...)); a checkpoint holds one of them, or
#: another engine's name, which continues as "checkerboard"
SCHEDULES = ("checkerboard", "serial")
#: checkpoint (.npz) format
CHECKPOINT_VERSION = 1
CHECKPOINT_KEYS = (
    "positions",
    "orientations",
    "box",
    "sweep",
    "bonds",
    "counts",
    "beta_epsilon",
    "well_range",
    "seed",
    "translate_size",
    "rotate_size",
    "schedule",
    "tuned",
)
#: keys written only when the operation they belong to is attached (read when present, so older
#: checkpoints stay readable): box moves (cubemc.npt.BoxMove: pressure, period, phase, ln V and ln L
#: step sizes, axis fraction, trials; acceptance counts) and the measured pressure series
#: (cubemc.pressure.PressureCompute: sweeps, values; period, phase, fit range, bins, degree) and
#: cluster moves (cubemc.vmmc.VMMC: settings, counters)
CHECKPOINT_OPTIONAL_KEYS = (
    "box_move_settings",
    "box_move_counts",
    "pressure_sweeps",
    "pressure_values",
    "pressure_settings",
    "shape",
    "shape_params",
    "vmmc_settings",
    "vmmc_counts",
)


@runtime_checkable
class SimulationProtocol(Protocol):
    """The simulation API the workflow and the analysis rely on (docs/engine-api.md)."""

    beta_epsilon: float
    well_range: float
    seed: int
    device: str
    tuned: bool

    @property
    def sweep(self) -> int: ...
    @property
    def bonds(self) -> int: ...
    @property
    def energy(self) -> float: ...
    @property
    def N(self) -> int: ...
    @property
    def acceptance(self) -> dict: ...
    @property
    def move_sizes(self) -> dict: ...

    def tune(self, sweeps: int, target_acceptance: float = 0.3, period: int = 10) -> None: ...
    def run(
        self,
        sweeps: int,
        trajectory=None,
        period=None,
        checkpoint=None,
        checkpoint_period=None,
        progress: bool = False,
    ) -> None: ...
    def save_checkpoint(self, path) -> None: ...
    def log_values(self) -> dict: ...


def run_arguments(sweeps, trajectory, period, checkpoint, checkpoint_period):
    """Validated (sweeps, trajectory path or None, frame period, checkpoint period) of a run();
    the periods are None when there is no trajectory or no checkpoint."""
    sweeps = validate.nonnegative_int("sweeps", sweeps)
    path = None if trajectory is None else str(trajectory)
    period = validate.positive_int("period", 100 if period is None else period) if path is not None else None
    if checkpoint is None:
        checkpoint_period = None
    else:
        checkpoint_period = validate.positive_int(
            "checkpoint_period", max(sweeps, 1) if checkpoint_period is None else checkpoint_period
        )
    return sweeps, path, period, checkpoint_period


def pause_points(sweep, end, *periods):
    """Sweeps at which a run stops for an operation (multiples of each non-empty period) or
    finishes (`end`); the same for every engine."""
    while sweep < end:
        stop = end
        for every in periods:
            if every:
                stop = min(stop, (sweep // every + 1) * every)
        yield stop
        sweep = stop
