"""Named studies and the state points they generate, with validation.

A state point holds only what changes the physics or the sampled data:

======================  ==============================================================
``beta_epsilon``        well depth over kT (< 0 attractive, 0 hard cubes, > 0 shoulder)
``packing_fraction``    N * sigma^3 / V (NVT), or instead
``pressure``            beta P sigma^3 (NPT with box moves; present only when used, eos.py)
``well_range``          square-well range between cube centres (sigma = 1)
``initial_state``       ``"crystal_vacancy"`` (SC lattice minus vacancies) or ``"fluid"``
``N``                   number of cubes
``n_lattice``           lattice sites per edge (``crystal_vacancy`` only)
``vacancies``           removed lattice sites (``crystal_vacancy`` only)
``replica``             independent repeat (enters the seed through the job id)
``tune_sweeps``         move-size tuning sweeps
``equilibration_sweeps`` burn-in sweeps after tuning (kept, but not analysed)
``production_sweeps``   sampled sweeps
``sample_period``       sweeps between trajectory frames
``shape`` and others    particle shape (optional, absent for unit cubes; shape_keys.py)
======================  ==============================================================

Engine, device, seed and provenance live in the job document, never here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

from . import eos, shape_keys
from .cluster_moves import cluster_move_errors, cluster_move_keys, cluster_move_statepoint
from .errors import StatePointError
from .nucleation_studies import nucleation_studies
from .shape_studies import shape_studies

INITIAL_STATES = ("crystal_vacancy", "fluid")

#: Keys every state point has; crystal state points also have ``n_lattice`` and ``vacancies``.
COMMON_KEYS = (
    "beta_epsilon",
    "packing_fraction",
    "well_range",
    "initial_state",
    "N",
    "replica",
    "tune_sweeps",
    "equilibration_sweeps",
    "production_sweeps",
    "sample_period",
)
CRYSTAL_KEYS = ("n_lattice", "vacancies")
SWEEP_KEYS = ("tune_sweeps", "equilibration_sweeps", "production_sweeps", "sample_period")

#: Two cubes further apart than this can neither overlap nor (for well_range <= sqrt 3) bond.
CUBE_CIRCUMSPHERE_DIAMETER = math.sqrt(3.0)


@dataclass(frozen=True)
class Study:
    """A named grid of state points.

    Every field that is a tuple is a grid axis; the state points are the Cartesian product.
    ``n_lattice`` is used for ``crystal_vacancy``, ``n_particles`` for ``fluid``.  A non-empty
    ``pressure`` replaces the ``packing_fraction`` axis (NPT); a study with ``branches`` is the
    union of their grids.
    """

    name: str
    description: str
    initial_state: str
    beta_epsilon: tuple[float, ...]
    packing_fraction: tuple[float, ...]
    well_range: tuple[float, ...]
    replicas: int
    tune_sweeps: int
    equilibration_sweeps: int
    production_sweeps: int
    sample_period: int
    n_lattice: tuple[int, ...] = ()
    vacancies: int = 1
    n_particles: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)
    pressure: tuple[float, ...] = ()
    branches: tuple = ()
    shapes: tuple = ()  # dicts of shape keys (shape_keys.py); () or {}: unit cubes
    scattering_frames: int = 3  # S(q) frames per run (one finds the Bragg peaks; each is slow)
    vmmc_moves_per_particle: float = 0.0  # VMMC cluster moves per cube and sweep (cluster_moves.py)

    def with_overrides(self, **overrides) -> Study:
        """Return a copy with the given fields replaced (``None`` values are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        for key in ("beta_epsilon", "packing_fraction", "well_range", "n_lattice", "n_particles", "pressure"):
            if key in clean:
                clean[key] = tuple(clean[key])
        if self.branches:
            shared = {k: v for k, v in clean.items() if k != "name"}
            clean["branches"] = tuple(b.with_overrides(**shared) for b in self.branches)
        return replace(self, **clean)

    def statepoints(self) -> list[dict]:
        """Return the (unvalidated) state points of this study, in a stable order."""
        if self.branches:
            return [sp for branch in self.branches for sp in branch.statepoints()]
        control = "pressure" if self.pressure else "packing_fraction"
        if self.initial_state == "crystal_vacancy":
            sizes = self.n_lattice
        else:
            sizes = self.n_particles
        points = []
        for shape, beta_epsilon, value, well_range, size, replica in itertools.product(
            self.shapes or ({},),
            self.beta_epsilon,
            getattr(self, control),
            self.well_range,
            sizes,
            range(self.replicas),
        ):
            points.append(
                shape_keys.make_shape_keys(**shape)
                | cluster_move_statepoint(self.vmmc_moves_per_particle)
                | make_statepoint(
                    initial_state=self.initial_state,
                    beta_epsilon=beta_epsilon,
                    **{control: value},
                    well_range=well_range,
                    n_lattice=size if self.initial_state == "crystal_vacancy" else None,
                    vacancies=self.vacancies,
                    N=size if self.initial_state == "fluid" else None,
                    replica=replica,
                    tune_sweeps=self.tune_sweeps,
                    equilibration_sweeps=self.equilibration_sweeps,
                    production_sweeps=self.production_sweeps,
                    sample_period=self.sample_period,
                )
            )
        return points


# --- the named studies -------------------------------------------------------------------

VACANCY = Study(
    name="vacancy",
    description="SC crystal at phi=0.80 with one vacancy; localisation of the vacancy vs beta*eps",
    initial_state="crystal_vacancy",
    # -2 and -3: the strong-attraction limit the vacancy verdicts are measured against
    beta_epsilon=(0.0, -0.25, -0.5, -0.75, -1.0, -1.5, -2.0, -3.0),
    packing_fraction=(0.80,),
    well_range=(1.14,),
    n_lattice=(10,),
    vacancies=1,
    replicas=3,
    tune_sweeps=2000,
    equilibration_sweeps=20000,
    production_sweeps=200000,
    sample_period=1000,
)

# The demo (make demo): V1-V3 with error bars on a 10^3 lattice (in an 8^3 box the vacancy's line
# has more free length per cube, a finite-size effect), three replicas per beta*eps: single runs
# scatter more than their block errors (the vacancy at -0.5 and -1 switches between a localised and
# a 2-3-site state for thousands of sweeps), and only independent runs show it. Sweeps per beta*eps
# from 65 independent runs of this protocol (docs/analysis.md, "The demo"): at about 600 CPU s this
# split decides V1 in ~90 % of demos, V2 in ~80 % and V3 in ~70 % (the old 36000/12000 split: 100,
# 73 and 51 %); V3 in 95 % of demos needs about 8 x 20000 sweeps at -1 alone.
_QUICK_RUNS = {"replicas": 3, "tune_sweeps": 500, "equilibration_sweeps": 2500, "sample_period": 200}
_QUICK_SWEEPS = {0.0: 18000, -0.5: 14000, -1.0: 20000, -3.0: 6000}  # production sweeps per beta*eps
VACANCY_QUICK = replace(
    VACANCY,
    name="vacancy-quick",
    description="laptop demo of the vacancy study (10x10x10 lattice, three runs per beta*eps)",
    beta_epsilon=tuple(_QUICK_SWEEPS),
    scattering_frames=1,
    n_lattice=(10,),
    **_QUICK_RUNS,
    production_sweeps=max(_QUICK_SWEEPS.values()),
    branches=tuple(
        replace(VACANCY, beta_epsilon=(beta,), n_lattice=(10,), production_sweeps=sweeps, **_QUICK_RUNS)
        for beta, sweeps in _QUICK_SWEEPS.items()
    ),
)

# Nucleation (issue 17): growth where SC crystallites nucleate, and the scan for the state diagram.
NUCLEATION, NUCLEATION_QUICK, NUCLEATION_SCAN, NUCLEATION_SCAN_QUICK = nucleation_studies(Study)
EOS, EOS_QUICK = eos.eos_studies(Study)  # defined in eos.py

(VACANCY_SHAPES, VACANCY_SHAPES_QUICK), (CRYSTAL_SHAPES, CRYSTAL_SHAPES_QUICK) = shape_studies(VACANCY)

STUDIES = {s.name: s for s in (VACANCY, NUCLEATION, NUCLEATION_SCAN, EOS, VACANCY_SHAPES, CRYSTAL_SHAPES)}
QUICK_STUDIES = {"vacancy": VACANCY_QUICK, "nucleation": NUCLEATION_QUICK, "eos": EOS_QUICK}
QUICK_STUDIES["nucleation-scan"] = NUCLEATION_SCAN_QUICK
QUICK_STUDIES |= {"vacancy-shapes": VACANCY_SHAPES_QUICK, "crystal-shapes": CRYSTAL_SHAPES_QUICK}


def get_study(name: str, quick: bool = False) -> Study:
    """Return the named study (its scaled-down variant if ``quick``)."""
    table = QUICK_STUDIES if quick else STUDIES
    if name not in table:
        known = ", ".join(sorted(STUDIES))
        raise StatePointError(f"unknown study {name!r}; known studies: {known}")
    return table[name]


# --- state points ---------------------------------------------------------------------------


def _clean_float(value):
    """Return a canonical float (so 0, -0.0 and 0.0 give the same job id); pass junk through."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return value
    if not math.isfinite(x):
        return x
    # Round away binary noise such as 0.1 + 0.2 - 0.3 (10 decimals is far below any physical
    # resolution of these parameters) and turn -0.0 into 0.0.
    return round(x, 10) + 0.0


def _clean_int(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def make_statepoint(
    *,
    initial_state,
    beta_epsilon,
    packing_fraction=None,
    well_range,
    replica=0,
    tune_sweeps,
    equilibration_sweeps,
    production_sweeps,
    sample_period,
    n_lattice=None,
    vacancies=1,
    N=None,
    pressure=None,
) -> dict:
    """Build a state point dict with canonical types (validate it with :func:`validate`);
    ``pressure`` instead of ``packing_fraction`` for NPT (the key exists only when given)."""
    sp = {
        "initial_state": initial_state,
        "beta_epsilon": _clean_float(beta_epsilon),
        "well_range": _clean_float(well_range),
        "replica": _clean_int(replica),
        "tune_sweeps": _clean_int(tune_sweeps),
        "equilibration_sweeps": _clean_int(equilibration_sweeps),
        "production_sweeps": _clean_int(production_sweeps),
        "sample_period": _clean_int(sample_period),
    }
    if packing_fraction is not None or pressure is None:
        sp["packing_fraction"] = _clean_float(packing_fraction)
    if pressure is not None:
        sp[eos.PRESSURE] = _clean_float(pressure)
    if initial_state == "crystal_vacancy":
        n_lattice = _clean_int(n_lattice)
        vacancies = _clean_int(vacancies)
        sp["n_lattice"] = n_lattice
        sp["vacancies"] = vacancies
        if isinstance(n_lattice, int) and isinstance(vacancies, int):
            derived = n_lattice**3 - vacancies
            sp["N"] = derived if N is None else _clean_int(N)
        else:
            sp["N"] = N
    else:
        sp["N"] = _clean_int(N)
    return sp


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_statepoint(sp: dict) -> tuple[list[str], list[str]]:
    """Return ``(errors, warnings)`` for one state point; empty lists mean it is fine."""
    errors: list[str] = []
    warnings: list[str] = []

    initial_state = sp.get("initial_state")
    if initial_state not in INITIAL_STATES:
        errors.append(f"initial_state={initial_state!r} is not one of {', '.join(INITIAL_STATES)}")
        return errors, warnings
    expected = set(COMMON_KEYS) | (set(CRYSTAL_KEYS) if initial_state == "crystal_vacancy" else set())
    control = eos.PRESSURE if eos.is_npt(sp) else "packing_fraction"
    if control == eos.PRESSURE:  # NPT: the pressure replaces the packing fraction
        if "packing_fraction" in sp:
            errors.append("packing_fraction and pressure both given: a state point fixes one of them")
            return errors, warnings
        expected = (expected - {"packing_fraction"}) | {eos.PRESSURE}
    expected |= cluster_move_keys(sp)  # optional VMMC cluster moves (cluster_moves.py)
    expected |= shape_keys.shape_keys(sp)  # optional particle shape (shape_keys.py)
    missing = sorted(expected - set(sp))
    unknown = sorted(set(sp) - expected)
    if missing:
        errors.append(f"missing key(s) {', '.join(missing)}")
    if unknown:
        hint = " (use well_range, not lambda)" if "lambda" in unknown else ""
        errors.append(f"unknown key(s) {', '.join(unknown)}{hint}")
    if missing:
        return errors, warnings

    for key in ("beta_epsilon", control, "well_range"):
        value = sp[key]
        if not _is_number(value) or not math.isfinite(value):
            errors.append(f"{key}={value!r} is not a finite number")
    if not errors:
        if control == eos.PRESSURE and sp[control] <= 0.0:
            errors.append(f"pressure={sp[control]!r} must be positive (beta P sigma^3)")
        elif control == "packing_fraction" and not 0.0 < sp[control] < 1.0:
            errors.append(f"packing_fraction={sp[control]!r} is outside (0, 1)")
        if sp["well_range"] <= 0.0:
            errors.append(f"well_range={sp['well_range']!r} must be positive")
        elif sp["well_range"] <= 1.0 and sp["beta_epsilon"] != 0.0:
            warnings.append(
                f"well_range={sp['well_range']!r} <= 1: non-overlapping cubes are never closer "
                "than 1, so no pair can be inside the well (the model is hard cubes)"
            )

    for key in ("replica", "tune_sweeps", "equilibration_sweeps"):
        if not _is_int(sp[key]) or sp[key] < 0:
            errors.append(f"{key}={sp[key]!r} must be a non-negative integer")
    for key in ("production_sweeps", "sample_period"):
        if not _is_int(sp[key]) or sp[key] < 1:
            errors.append(f"{key}={sp[key]!r} must be a positive integer")
    if (
        _is_int(sp["production_sweeps"])
        and _is_int(sp["sample_period"])
        and sp["sample_period"] > sp["production_sweeps"] >= 1
    ):
        errors.append(
            f"sample_period={sp['sample_period']} is longer than "
            f"production_sweeps={sp['production_sweeps']}: the trajectory would be empty"
        )

    if not _is_int(sp["N"]) or sp["N"] < 2:
        errors.append(f"N={sp['N']!r} must be an integer >= 2")

    if initial_state == "crystal_vacancy":
        n, vac = sp["n_lattice"], sp["vacancies"]
        if not _is_int(n) or n < 1:
            errors.append(f"n_lattice={n!r} must be a positive integer")
        elif not _is_int(vac) or vac < 0:
            errors.append(f"vacancies={vac!r} must be a non-negative integer")
        elif vac >= n**3 - 1:
            errors.append(f"vacancies={vac} leaves fewer than 2 of the {n**3} lattice sites")
        elif _is_int(sp["N"]) and sp["N"] != n**3 - vac:
            errors.append(f"N={sp['N']} does not match n_lattice**3 - vacancies = {n**3 - vac}")

    errors += shape_keys.value_errors(sp)
    if not errors and control == eos.PRESSURE:
        errors += shape_keys.pressure_errors(sp) or eos.check_pressure(
            sp, max(CUBE_CIRCUMSPHERE_DIAMETER, sp["well_range"])
        )
    elif not errors:
        # The periodic box must be wider than twice the interaction range in every direction,
        # otherwise a particle would interact with two images of the same neighbour; a crystal's
        # lattice must leave its largest particle room (shape_keys.py, the engine's rule).
        errors += shape_keys.box_errors(sp)
        if initial_state == "fluid" and sp["packing_fraction"] > 0.55:
            warnings.append(
                f"packing_fraction={sp['packing_fraction']} is high for a fluid start; "
                "compressing a random configuration there may be slow or fail"
            )
    errors += cluster_move_errors(sp)
    return errors, warnings


def describe(sp: dict) -> str:
    """Short human-readable label of a state point (for messages and dashboard titles)."""
    parts = [
        f"{sp.get('initial_state')}",
        f"beta_eps={sp.get('beta_epsilon')}",
        eos.control_label(sp),
        f"well_range={sp.get('well_range')}",
        f"N={sp.get('N')}",
        f"replica={sp.get('replica')}",
    ]
    if shape_keys.has_shape(sp):
        parts.insert(1, shape_keys.label(sp))
    return " ".join(parts)


def validate_grid(statepoints: list[dict]) -> list[str]:
    """Validate every state point; raise one :class:`StatePointError` listing all problems.

    Returns the (deduplicated) warnings. Nothing is written by this function, so callers
    validate the whole grid before creating any job.
    """
    problems: dict[str, list[str]] = {}
    warnings: list[str] = []
    for sp in statepoints:
        errors, warns = check_statepoint(sp)
        for message in errors:
            problems.setdefault(message, []).append(describe(sp))
        for message in warns:
            if message not in warnings:
                warnings.append(message)
    if not statepoints:
        problems["the grid is empty"] = []
    if problems:
        parts = []
        for message, where in list(problems.items())[:6]:
            if len(where) == 1:
                parts.append(f"{message} [{where[0]}]")
            elif where:
                parts.append(f"{message} [{len(where)} state points]")
            else:
                parts.append(message)
        more = f"; ... and {len(problems) - 6} more problem(s)" if len(problems) > 6 else ""
        raise StatePointError(f"invalid state point(s), nothing written: {'; '.join(parts)}{more}")
    return warnings
