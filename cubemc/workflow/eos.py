"""State points at a fixed pressure (NPT) and the equation-of-state study.

A state point fixes either ``packing_fraction`` (NVT; the pressure is measured in every frame)
or ``pressure`` (beta P sigma^3; NPT with box moves; the packing fraction is measured).  The key
``pressure`` is present only in pressure state points, so the job ids of the others are unchanged.

A pressure job starts from the engine's routes (cubemc.npt): a dilute fluid compressed to the
pressure (``fluid``), or a simple-cubic crystal at phi = 0.85 relaxed to it with isotropic and
per-axis box moves (``crystal_vacancy``).  The box move is attached before ``initial.npz`` is
written, so every checkpoint carries it (contract.CHECKPOINT_OPTIONAL_KEYS): the move sizes are
tuned in the tuning stage only and stay fixed afterwards, and every stage resumes bit for bit.

studies.py imports this module; the EOS studies are built here from its Study class
(:func:`eos_studies`), which this module cannot import back.
"""

from __future__ import annotations

import dataclasses

from .errors import WorkflowError

PRESSURE = "pressure"
#: crystal route: packing fraction of the lattice before it relaxes to the pressure, and the
#: fraction of per-axis box moves (the lattice may expand unevenly); the fluid route starts dilute
CRYSTAL_START_PACKING_FRACTION = 0.85
CRYSTAL_AXIS_FRACTION = 0.5
FLUID_START_PACKING_FRACTION = 0.05
#: fewest sweeps of the route's NPT preparation (it runs max(this, tune_sweeps) sweeps)
MIN_PREPARATION_SWEEPS = 100
#: first box-move sizes (ln V and ln L steps); the tuning stage adapts them
START_VOLUME_SIZE = 0.05
START_AXIS_SIZE = 0.02

_DESCRIPTION = (
    "equation of state: hard and square-well cubes (beta*eps 0, -1, -2, well_range 1.14), fluid "
    "branch at fixed phi (pressure measured), SC crystal branch at fixed pressure (NPT)"
)


def is_npt(sp) -> bool:
    return PRESSURE in sp


def control_label(sp) -> str:
    """What the state point fixes: ``phi=0.4`` or ``betaP=12.0``."""
    if is_npt(sp):
        return f"betaP={sp.get(PRESSURE)}"
    return f"phi={sp.get('packing_fraction')}"


def check_pressure(sp, reach: float) -> list[str]:
    """Errors of a pressure state point whose values are valid numbers (studies.check_statepoint).

    The box of an NPT run shrinks toward N^(1/3) (close packing) at high pressure; box moves below
    twice the interaction range are refused, which would silently restrict the ensemble, so N must
    keep the box wide enough at any density.
    """
    edge = sp["N"] ** (1.0 / 3.0)
    if edge <= 2.0 * reach:
        return [
            f"N={sp['N']} is too small for a run at constant pressure: near close packing the box "
            f"edge N^(1/3) = {edge:.3f} would not exceed twice the interaction range "
            f"2*{reach:.3f} (use more cubes)"
        ]
    return []


def memory_packing_fraction(sp) -> float:
    """Packing fraction for memory estimates: the state point's, or the lowest a pressure job
    is expected to pass through (the fluid route's dilute start)."""
    return sp["packing_fraction"] if not is_npt(sp) else FLUID_START_PACKING_FRACTION


def check_engine(sp, engine: str) -> None:
    """Pressure jobs need box moves, which only the native engine has (`engine`: its name)."""
    if is_npt(sp) and (engine or "native").lower() != "native":
        raise WorkflowError(
            f"pressure state points run at constant pressure with the native engine's box moves; "
            f"the {engine!r} engine has none (unset CUBEMC_ENGINE for these jobs)"
        )


def state_at_pressure(sp, seed):
    """The initial cubemc.State of a pressure job (compression or crystal route, cubemc.npt)."""
    from cubemc import State, npt

    sweeps = max(MIN_PREPARATION_SWEEPS, int(sp["tune_sweeps"]))
    model = {"beta_epsilon": sp["beta_epsilon"], "well_range": sp["well_range"], "seed": seed}
    if sp["initial_state"] == "fluid":
        return npt.fluid_at_pressure(
            sp["N"],
            sp[PRESSURE],
            sweeps=sweeps,
            start_packing_fraction=FLUID_START_PACKING_FRACTION,
            **model,
        )
    # npt.crystal_at_pressure, with the state point's vacancies
    crystal = State.simple_cubic(
        sp["n_lattice"], CRYSTAL_START_PACKING_FRACTION, vacancies=sp["vacancies"], seed=seed
    )
    return npt.relax_to_pressure(crystal, sp[PRESSURE], sweeps, axis_fraction=CRYSTAL_AXIS_FRACTION, **model)


def attach_box_move(sim, sp) -> None:
    """Give a new simulation of a pressure job its box move (checkpointed from now on)."""
    if not is_npt(sp):
        return
    from cubemc.npt import BoxMove

    axis = CRYSTAL_AXIS_FRACTION if sp["initial_state"] == "crystal_vacancy" else 0.0
    sim.operations.updaters.append(
        BoxMove(
            sp[PRESSURE],
            volume_size=START_VOLUME_SIZE,
            axis_size=START_AXIS_SIZE,
            axis_fraction=axis,
        )
    )


def run_identity(sp, identity):
    """A checkpoint's run identity; the box of a pressure job changes, so it is not compared."""
    return dataclasses.replace(identity, box=None) if is_npt(sp) else identity


# --- the studies -----------------------------------------------------------------------------

#: hard cubes freeze near phi 0.45-0.52 (docs/model.md); the crystal branch's pressures take the
#: SC crystal from phi 0.85 and above (beta P = 30 held 64 hard cubes at 0.848 +- 0.001) down to
#: and below melting (beta P = 8: 0.64 and still expanding after 3500 sweeps)
EOS_PACKING_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
EOS_PRESSURES = (50.0, 30.0, 20.0, 15.0, 12.0, 10.0, 8.0, 6.5, 5.0)
EOS_BETA_EPSILONS = (0.0, -1.0, -2.0)


def eos_studies(study_class):
    """(EOS, EOS_QUICK): a Study of two branches each (fluid at fixed phi, crystal at fixed
    pressure) over hard and square-well cubes; `study_class` is studies.Study."""
    common = {
        "beta_epsilon": EOS_BETA_EPSILONS,
        "well_range": (1.14,),
        "replicas": 1,
        "vacancies": 0,
        "tune_sweeps": 2000,
        "equilibration_sweeps": 20000,
        "production_sweeps": 100000,
        "sample_period": 200,
    }
    fluid = study_class(
        name="eos-fluid",
        description="fluid branch",
        initial_state="fluid",
        packing_fraction=EOS_PACKING_FRACTIONS,
        n_particles=(1000,),
        **common,
    )
    # the crystal relaxes to its pressure by box moves alone (a slow random walk in ln V), so it
    # burns in longer than the fluid, which the compression route brings close to its density
    crystal = dataclasses.replace(
        fluid,
        name="eos-crystal",
        description="crystal branch",
        initial_state="crystal_vacancy",
        pressure=EOS_PRESSURES,
        n_lattice=(10,),
        equilibration_sweeps=50000,
    )
    full = dataclasses.replace(
        fluid, name="eos", description=_DESCRIPTION, initial_state="mixed", branches=(fluid, crystal)
    )
    # a few minutes on two cores: 64 cubes, short runs; the crystal branch at two pressures where
    # it stays crystalline, for hard cubes and the strongest attraction
    sizes = {"tune_sweeps": 200, "equilibration_sweeps": 500, "production_sweeps": 2000, "sample_period": 50}
    quick_fluid = dataclasses.replace(fluid, packing_fraction=(0.05, 0.2, 0.4), n_particles=(64,), **sizes)
    quick_crystal = dataclasses.replace(
        crystal,
        beta_epsilon=(0.0, -2.0),
        pressure=(30.0, 15.0),
        n_lattice=(4,),
        **{**sizes, "tune_sweeps": 500, "equilibration_sweeps": 2000},
    )
    quick = dataclasses.replace(
        full,
        name="eos-quick",
        description="laptop demo of the eos study (64 cubes, short runs)",
        branches=(quick_fluid, quick_crystal),
        **sizes,
    )
    return full, quick
