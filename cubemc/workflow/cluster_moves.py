"""Cluster moves (virtual-move Monte Carlo, cubemc.vmmc) as a state-point option.

The optional key ``vmmc_moves_per_particle`` (a number in [0, 10]) asks for VMMC cluster moves:
after every checkerboard sweep, round(value * N) cluster moves (at least one).  Absent or 0: no
cluster moves, so the ids of jobs without the key never change.  It is meant for the fluid
studies (nucleation, aggregation), where strong attraction freezes clusters under single moves.

The updater is attached when the initial state is created, so it is in every checkpoint from
``initial.npz`` on (settings and counters, ``vmmc_*`` keys); `Simulation.from_checkpoint`
re-attaches it, so tuning, burn-in and production all run with it and a resumed stage continues
bit for bit.  Its move sizes are tuned with the single-move sizes in the tuning stage (toward the
same acceptance); its counters are logged in every trajectory frame (``log/cubemc/vmmc_*``).
Only the native engine has cluster moves, and jobs with them are never sampled in a GPU batch.
"""

from __future__ import annotations

import math

from .errors import WorkflowError

KEY = "vmmc_moves_per_particle"
#: more than this many cluster moves per cube and sweep would be a typo, not a plan
LARGEST = 10.0
#: starting move sizes (tuned in the tuning stage): translations in a ball of radius 1 (a cube
#: edge), rotations up to 0.3 rad about a pivot within 1 of the seed cube; a fixed size cutoff
#: (random_cutoff=False), which moves clusters fastest toward the aggregated state, at
#: MAX_CLUSTER cubes (docs/vmmc.md, "In the workflow")
MAX_CLUSTER = 64
START = dict(
    translate_size=1.0, rotate_size=0.3, pivot_radius=1.0, random_cutoff=False, max_cluster=MAX_CLUSTER
)


def cluster_move_keys(sp) -> set:
    """The cluster-move key when the state point has it (studies.check_statepoint)."""
    return {KEY} if KEY in sp else set()


def cluster_move_statepoint(moves_per_particle) -> dict:
    """The key for a study's state points: absent for 0 (so those job ids stay as they were)."""
    return {KEY: float(moves_per_particle)} if moves_per_particle else {}


def uses_cluster_moves(sp) -> bool:
    value = sp.get(KEY, 0)
    return _is_number(value) and value > 0


def cluster_move_errors(sp) -> list[str]:
    """One error line for a bad value of the key; none when it is absent or valid."""
    if KEY not in sp:
        return []
    value = sp[KEY]
    if not _is_number(value) or not math.isfinite(value) or not 0 <= value <= LARGEST:
        return [
            f"{KEY}={value!r} must be a number from 0 to {LARGEST:g}: VMMC cluster moves per cube "
            "after every sweep (0 or absent: none)"
        ]
    return []


def check_cluster_move_engine(sp, engine_name: str) -> None:
    """Cluster moves exist in the native engine only."""
    if uses_cluster_moves(sp) and engine_name != "native":
        raise WorkflowError(
            f"{KEY} asks for VMMC cluster moves, which only the native engine has; the "
            f"{engine_name!r} engine has none (unset CUBEMC_ENGINE for these jobs)"
        )


def attach_cluster_moves(sim, sp) -> None:
    """Give a new simulation of a job with the key its VMMC updater (checkpointed from now on)."""
    if not uses_cluster_moves(sp):
        return
    from cubemc.vmmc import VMMC

    sim.operations.updaters.append(VMMC(period=1, moves_per_particle=float(sp[KEY]), **START))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
