"""A simulation's checkpoint: what it holds, and how a simulation comes back from it bit for bit.

Positions, orientations and box are stored in float64 with the running integer energy, the sweep,
the counters, the seed and the frozen move sizes, so the continued chain is the one that would
have run without the stop.  Keys are those of `contract.CHECKPOINT_KEYS`; the optional keys of
attached operations (box moves, pressure series, cluster moves) are added only when such an
operation is attached, so plain NVT checkpoints keep their format.
"""

from __future__ import annotations

from . import pressure as sdf
from . import trajectory as gsdio
from .contract import CHECKPOINT_KEYS, CHECKPOINT_VERSION, SCHEDULES
from .errors import InputError
from .state import State


def save(sim, path) -> None:
    """Write everything `sim` needs to continue, atomically (tmp file + rename)."""
    pos, quat, _ = sim.arrays()
    gsdio.write_checkpoint(
        str(path),
        dict(
            version=CHECKPOINT_VERSION,
            positions=pos,
            orientations=quat,
            box=sim.box,
            sweep=sim.sweep,
            bonds=sim.bonds,
            counts=sim.counts,
            beta_epsilon=sim.beta_epsilon,
            well_range=sim.well_range,
            seed=sim.seed,
            translate_size=sim.translate_size,
            rotate_size=sim.rotate_size,
            schedule=sim.schedule,
            tuned=sim.tuned,
            **_shape_data(sim),
            **_operations_data(sim),
        ),
    )


def load(cls, path, device="auto"):
    """The simulation of class `cls` saved in `path`; InputError if the file contradicts itself."""
    data = gsdio.read_checkpoint(str(path), CHECKPOINT_KEYS)
    state = State(
        data["positions"],
        data["orientations"],
        data["box"],
        shape=str(data["shape"]) if "shape" in data else "cube",
        shape_params=data.get("shape_params"),
    )
    sim = cls(
        state,
        float(data["beta_epsilon"]),
        float(data["well_range"]),
        seed=int(data["seed"]),
        device=device,
        translate_size=float(data["translate_size"]),
        rotate_size=float(data["rotate_size"]),
        schedule=_native_schedule(data),
        _warn_well=False,
    )
    # positions are stored exactly, so the recount must equal the running total
    if sim.bonds != int(data["bonds"]):
        raise InputError(
            f"checkpoint {path} is inconsistent: {sim.bonds} bonds recounted, {int(data['bonds'])} stored"
        )
    sim.sweep = int(data["sweep"])
    sim.tuned = bool(data["tuned"])
    sim.counts[:] = data["counts"]
    _restore_operations(sim, data)
    return sim


def _shape_data(sim) -> dict:
    """Shape name and per-particle parameters; none for unit cubes (their format is kept)."""
    if sim.shape.NAME == "cube":
        return {}
    return {"shape": sim.shape.NAME, "shape_params": sim.shape_params}


def _operations_data(sim) -> dict:
    """Keys of the attached operations that a restart needs (contract.CHECKPOINT_OPTIONAL_KEYS)."""
    data = {}
    for op in sim.operations:
        data.update(op.checkpoint_data())
    return data


def _restore_operations(sim, data):
    """Re-attach the operations whose keys a checkpoint holds (box moves, pressure series, cluster
    moves), in that order."""
    from .npt import BoxMove
    from .vmmc import VMMC

    if "box_move_settings" in data:
        sim.operations.updaters.append(BoxMove.from_checkpoint_data(data))
    if "pressure_settings" in data:
        sim.operations.writers.append(sdf.PressureCompute.from_checkpoint_data(data))
    if "vmmc_settings" in data:
        sim.operations.updaters.append(VMMC.from_checkpoint_data(data))


def _native_schedule(data):
    """Schedule to continue with: a checkpoint written by another engine (e.g. "hoomd") goes on
    with the checkerboard schedule, which samples the same distribution."""
    schedule = str(data["schedule"])
    return schedule if schedule in SCHEDULES else "checkerboard"
