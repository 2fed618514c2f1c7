"""Operations that act on a simulation between sweeps, in the spirit of HOOMD-blue's operations.

`sim.operations` holds three lists, acted on in this order whenever a run pauses at a sweep where
an operation is due: updaters (change the configuration or the box: box moves and cluster moves
go here: cubemc.npt.BoxMove), tuners (change move sizes; only while tuning) and writers (GSD
frames, checkpoints, measurements such as cubemc.pressure.PressureCompute).
An operation is due at sweeps s with (s - phase) % period == 0; `at_end` also makes it act when a
run finishes.  `Simulation.run(sweeps)` advances to each pause point and triggers what is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import trajectory as gsdio
from . import validate


class Operation:
    """Acts on a simulation every `period` sweeps (counted from `phase`)."""

    at_end = False

    def __init__(self, period: int, phase: int = 0):
        self.period = validate.positive_int("period", period)
        self.phase = int(phase)

    def due(self, sweep: int) -> bool:
        return (sweep - self.phase) % self.period == 0

    def next_stop(self, sweep: int) -> int:
        """The first sweep after `sweep` at which this operation is due."""
        return sweep + self.period - (sweep - self.phase) % self.period

    def attach(self, sim) -> None:
        """Called when a run starts (before any sweep)."""

    def act(self, sim) -> None:
        raise NotImplementedError

    def checkpoint_data(self) -> dict:
        """Arrays a restart needs to continue this operation exactly (contract
        CHECKPOINT_OPTIONAL_KEYS); empty for operations that keep no state of their own."""
        return {}

    def log_values(self) -> dict:
        """Per-frame quantities of this operation, written by `Simulation.write_frame` as
        log/cubemc/<name> next to contract.LOG_KEYS (e.g. cluster-move counts); none by default."""
        return {}


class GSDWriter(Operation):
    """Appends a frame to a GSD file every `period` sweeps (and at the start if missing)."""

    def __init__(self, path, period: int = 100):
        super().__init__(100 if period is None else period)
        self.path = str(path)
        self._keys = gsdio.LogKeys()  # the file's log keys, read once, not at every frame

    def attach(self, sim):
        # frames newer than the simulation (left by a run killed after its checkpoint) go first
        if gsdio.needs_first_frame(self.path, sim, self.period):
            self.act(sim)

    def act(self, sim):
        sim.write_frame(self.path, self._keys)


class CheckpointWriter(Operation):
    """Writes an atomic float64 checkpoint every `period` sweeps and when a run ends."""

    at_end = True

    def __init__(self, path, period: int):
        super().__init__(period)
        self.path = str(path)

    def act(self, sim):
        sim.save_checkpoint(self.path)


class MoveSizeTuner(Operation):
    """Scales both move sizes toward `target` acceptance after every `period` sweeps.

    Each size is multiplied by (acc + 0.05) / (target + 0.05), clipped to [0.5, 2]; translations
    stay below `max_translate` (half a cell), rotations at most 1.  Only used while tuning: a
    chain whose move sizes still change is not a Markov chain of the target distribution.
    """

    at_end = True

    def __init__(self, target: float, period: int, phase: int, max_translate: float):
        super().__init__(period, phase)
        self.target = validate.fraction("target_acceptance", target)
        self.max_translate = max_translate
        self._before = None

    def attach(self, sim):
        self._before = sim.counts.copy()

    def act(self, sim):
        c = sim.counts - self._before
        if c[1]:
            sim.translate_size = min(
                self.max_translate, sim.translate_size * tune_factor(c[0] / c[1], self.target)
            )
        if c[3]:
            sim.rotate_size = min(1.0, sim.rotate_size * tune_factor(c[2] / c[3], self.target))
        self._before = sim.counts.copy()


def tune_factor(acc, target):
    return min(2.0, max(0.5, (acc + 0.05) / (target + 0.05)))


@dataclass
class Operations:
    """The operations attached to one simulation."""

    updaters: list = field(default_factory=list)
    tuners: list = field(default_factory=list)
    writers: list = field(default_factory=list)

    def __iter__(self):
        yield from self.updaters
        yield from self.tuners
        yield from self.writers
