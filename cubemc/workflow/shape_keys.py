"""Particle shapes as optional state-point keys (issue 12: real nanocrystal shapes).

==========================  =====================================================================
``shape``                   ``"cuboid"`` or ``"rounded_cuboid"`` (``"cube"``: the unit cube)
``edge_ratios``             [b/a, c/a]: outer edges along the body y and z axes over the x edge a
``rounding_radius``         radius of the sphere that sweeps the core, in units of a (rounded only)
``size_polydispersity``     relative width of the Gaussian of particle sizes (mean 1), truncated
                            at cubemc.lattices.TRUNCATION widths
==========================  =====================================================================

Every key is absent for unit cubes, so the job ids of cube state points never change.  A particle
of size s has outer edges s * (1, b/a, c/a) and rounding radius s * r (cubemc.lattices.shape_params;
a = 1 is the unit cube's edge sigma).  ``packing_fraction`` is the particles' volume over the box;
a crystal start is cubemc.lattices.simple_cubic (lattice constants proportional to the largest
particle's outer extents), a fluid start cubemc.lattices.fluid (hard-particle compression).

Sizes are drawn from the job seed, so the largest one is only known when the job runs; the checks
here use the largest size the truncated distribution allows, 1 + TRUNCATION * polydispersity,
and the mean volume of that distribution; polydisperse crystals are built on that nominal lattice
(:func:`nominal_lattice`), so a crystal state point that passes always builds.  Denser
polydisperse crystals (past the lattice cap, 0.542 for 12 %) come from the compression route
cubemc.dense_crystal, admitted up to the packing fractions it was measured to reach
(DENSE_CRYSTAL_LIMITS); their packing fraction is that of the drawn particles on every site.
The box rule is the engine's (cubemc.geometry.interaction_range and min_box_edge), not a copy of it.
"""

from __future__ import annotations

import math

import numpy as np

SHAPE = "shape"
EDGE_RATIOS = "edge_ratios"
ROUNDING_RADIUS = "rounding_radius"
SIZE_POLYDISPERSITY = "size_polydispersity"
KEYS = (SHAPE, EDGE_RATIOS, ROUNDING_RADIUS, SIZE_POLYDISPERSITY)
SHAPES = ("cube", "cuboid", "rounded_cuboid")
#: (largest size_polydispersity, largest packing_fraction) of polydisperse cubes past the
#: lattice cap that the compression route (cubemc.dense_crystal, up to 3 attempts) reached with
#: 215 and 999 particles on every seed tried (benchmarks/bench_dense_crystal.py, docs/validation.md)
DENSE_CRYSTAL_LIMITS = ((0.12, 0.80),)


def shape_keys(sp) -> set:
    """The shape keys the state point has (studies.check_statepoint adds them to the expected)."""
    return {k for k in KEYS if k in sp}


def has_shape(sp) -> bool:
    return any(k in sp for k in KEYS)


def is_shaped(sp) -> bool:
    """True when the particles are not unit cubes (built by :func:`initial_state`)."""
    return has_shape(sp) and sp.get(SHAPE) != "cube"


def make_shape_keys(shape=None, edge_ratios=None, rounding_radius=None, size_polydispersity=None) -> dict:
    """The shape keys of a state point in canonical form ({} for the unit cube, so cube ids stay)."""
    keys = {}
    if edge_ratios is not None and tuple(float(x) for x in edge_ratios) != (1.0, 1.0):
        keys[EDGE_RATIOS] = [_clean(x) for x in edge_ratios]
    if rounding_radius is not None and (rounding_radius != 0 or shape == "rounded_cuboid"):
        keys[ROUNDING_RADIUS] = _clean(rounding_radius)
    if size_polydispersity is not None and size_polydispersity != 0:
        keys[SIZE_POLYDISPERSITY] = _clean(size_polydispersity)
    if keys or (shape is not None and shape != "cube"):
        default = "rounded_cuboid" if ROUNDING_RADIUS in keys else "cuboid"
        keys = {SHAPE: shape if shape is not None else default, **keys}
    return keys


def _clean(x):
    try:
        return round(float(x), 10) + 0.0
    except (TypeError, ValueError):
        return x


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def value_errors(sp) -> list[str]:
    """One line per bad shape value (absent keys: the unit cube)."""
    if not has_shape(sp):
        return []
    from cubemc import lattices

    shape = sp.get(SHAPE)
    if shape not in SHAPES:
        return [f"{SHAPE}={shape!r} must be one of {', '.join(SHAPES)} (give it with any shape key)"]
    errors = []
    ratios = sp.get(EDGE_RATIOS, [1.0, 1.0])
    if not isinstance(ratios, (list, tuple)) or len(ratios) != 2 or not all(_number(x) for x in ratios):
        errors.append(f"{EDGE_RATIOS}={ratios!r} must be two numbers [b/a, c/a]")
    elif min(ratios) <= 0:
        errors.append(f"{EDGE_RATIOS}={list(ratios)!r}: edges must be positive")
    radius = sp.get(ROUNDING_RADIUS, 0.0)
    if not _number(radius) or radius < 0:
        errors.append(f"{ROUNDING_RADIUS}={radius!r} must be a non-negative number (units of the edge a)")
    elif radius > 0 and shape != "rounded_cuboid":
        errors.append(
            f"{ROUNDING_RADIUS}={radius!r} needs shape='rounded_cuboid' (a {shape} has sharp edges)"
        )
    elif not errors and 2.0 * radius > min(1.0, *ratios):
        errors.append(f"{ROUNDING_RADIUS}={radius!r} exceeds half the shortest edge {min(1.0, *ratios):g}")
    delta = sp.get(SIZE_POLYDISPERSITY, 0.0)
    if not _number(delta) or not 0.0 <= delta < 1.0:
        errors.append(f"{SIZE_POLYDISPERSITY}={delta!r} must lie in [0, 1) (relative Gaussian width)")
    elif 1.0 - lattices.TRUNCATION * delta <= 0.0:
        errors.append(
            f"{SIZE_POLYDISPERSITY}={delta!r} truncated at {lattices.TRUNCATION:g} widths yields "
            f"non-positive sizes; use less than {1.0 / lattices.TRUNCATION:g}"
        )
    if shape == "cube" and (set(sp) & set(KEYS[1:])) and not errors:
        errors.append(f"{SHAPE}='cube' is the unit cube; use 'cuboid' or 'rounded_cuboid' for other sizes")
    return errors


def particle(sp, size=1.0):
    """(shape name, (1, P) shape parameters) of one particle of the state point of size `size`."""
    from cubemc import lattices

    shape = sp.get(SHAPE, "cube")
    if shape == "cube":
        return "cube", np.zeros((1, 1))
    edges = (1.0, *sp.get(EDGE_RATIOS, (1.0, 1.0)))
    return shape, lattices.shape_params(shape, [size], edges, sp.get(ROUNDING_RADIUS, 0.0))


def largest_size(sp) -> float:
    from cubemc import lattices

    return 1.0 + lattices.TRUNCATION * sp.get(SIZE_POLYDISPERSITY, 0.0)


def mean_cube_of_size(sp) -> float:
    """E[s^3] of the truncated Gaussian with mean 1 (odd central moments vanish)."""
    from cubemc import lattices

    delta, c = sp.get(SIZE_POLYDISPERSITY, 0.0), lattices.TRUNCATION
    if delta == 0.0:
        return 1.0
    pdf = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    variance = delta**2 * (1.0 - 2.0 * c * pdf / math.erf(c / math.sqrt(2.0)))
    return 1.0 + 3.0 * variance


def mean_volume(sp) -> float:
    """Expected particle volume (1 for the unit cube)."""
    from cubemc import shapes

    name, unit = particle(sp)
    return 1.0 if name == "cube" else float(shapes.get(name).volumes(unit, 1)[0]) * mean_cube_of_size(sp)


def nominal_lattice(sp):
    """(scale, lattice constants (3,)) of a crystal state point: constants proportional to the
    outer extents of the largest possible particle, at the packing fraction of the expected
    volume (scale > 1: that particle fits).  Crystal jobs are built on exactly this lattice, so a
    state point that passes the checks always builds; with polydispersity the sample's packing
    fraction differs from the state point's by its mean volume (about 2 % for 215 particles)."""
    from cubemc import shapes

    name, big = particle(sp, largest_size(sp))
    mod = shapes.get(name)
    extents = mod.extents(big)[0] if hasattr(mod, "extents") else np.ones(3)
    scale = (mean_volume(sp) / (sp["packing_fraction"] * float(np.prod(extents)))) ** (1.0 / 3.0)
    return scale, scale * extents


def dense_limit(sp):
    """Largest packing fraction of the compression route for the state point's polydispersity
    (None: monodisperse, not cubes (limits measured for cubes only), or more polydisperse than
    any measured)."""
    delta = sp.get(SIZE_POLYDISPERSITY, 0.0)
    if not delta or sp.get(SHAPE) != "cuboid" or EDGE_RATIOS in sp:
        return None
    return next((phi for top, phi in DENSE_CRYSTAL_LIMITS if delta <= top), None)


def is_dense_crystal(sp) -> bool:
    """A polydisperse crystal past the lattice cap: built by cubemc.dense_crystal."""
    return (
        sp["initial_state"] == "crystal_vacancy"
        and bool(sp.get(SIZE_POLYDISPERSITY))
        and nominal_lattice(sp)[0] <= 1.0 + 1e-9
    )


def box_errors(sp) -> list[str]:
    """The NVT box rule (studies.check_statepoint) for every shape: a crystal's lattice must leave
    the largest particle room, and every box edge must reach the engine's minimum (twice the
    interaction range of the largest particle: circumsphere or well range times its size)."""
    from cubemc import shapes
    from cubemc.geometry import interaction_range, min_box_edge

    name, _ = particle(sp)
    mod = shapes.get(name)
    reach = interaction_range(sp["well_range"], mod, particle(sp, largest_size(sp))[1])
    what = "cubes" if name == "cube" else "particles"
    errors = []
    if sp["initial_state"] == "crystal_vacancy":
        scale, lattice = nominal_lattice(sp)
        box = sp["n_lattice"] * lattice
        limit = dense_limit(sp)
        if scale <= 1.0 + 1e-9 and (limit is None or sp["packing_fraction"] > limit):
            route = (
                f", and compression (cubemc.dense_crystal) reaches {limit} at this polydispersity"
                if limit is not None
                else ""
            )
            errors.append(
                f"packing_fraction={sp['packing_fraction']} is too high for a lattice of these particles: "
                f"the largest possible one (size {largest_size(sp):.3g}) needs packing_fraction below "
                f"{sp['packing_fraction'] * scale**3:.4f}{route}"
            )
    else:
        box = np.full(3, (sp["N"] * mean_volume(sp) / sp["packing_fraction"]) ** (1.0 / 3.0))
    if float(box.min()) <= min_box_edge(reach):
        errors.append(
            f"N={sp['N']} does not fit: box edge {float(box.min()):.3f} must exceed twice the interaction "
            f"range 2*{reach:.3f} (use more {what} or a lower packing fraction)"
        )
    return errors


def pressure_errors(sp) -> list[str]:
    """Constant-pressure routes (cubemc.npt, eos.py) build unit cubes only."""
    if has_shape(sp):
        return ["pressure state points are unit cubes only (cubemc.npt routes); drop the shape keys"]
    return []


def initial_state(sp, seed):
    """The cubemc.State of a shape job: sizes from the job seed, crystal (compressed past the
    lattice cap: cubemc.dense_crystal) or compressed fluid."""
    from cubemc import lattices

    n = sp["n_lattice"] ** 3 if sp["initial_state"] == "crystal_vacancy" else sp["N"]
    sizes = lattices.draw_sizes(n, sp.get(SIZE_POLYDISPERSITY, 0.0), seed=seed)
    shape, edges = sp[SHAPE], (1.0, *sp.get(EDGE_RATIOS, (1.0, 1.0)))
    params = lattices.shape_params(shape, sizes, edges, sp.get(ROUNDING_RADIUS, 0.0))
    if is_dense_crystal(sp):
        from cubemc import dense_crystal

        return dense_crystal.simple_cubic(
            sp["n_lattice"], shape, params, sp["packing_fraction"], vacancies=sp["vacancies"], seed=seed
        )
    if sp["initial_state"] == "crystal_vacancy":
        # the validated lattice (exact packing fraction without polydispersity)
        lattice = nominal_lattice(sp)[1] if sp.get(SIZE_POLYDISPERSITY) else None
        return lattices.simple_cubic(
            sp["n_lattice"],
            shape,
            params,
            None if lattice is not None else sp["packing_fraction"],
            lattice_constant=lattice,
            vacancies=sp["vacancies"],
            seed=seed,
        )
    return lattices.fluid(n, sp["packing_fraction"], shape, params, seed=seed)


def label(sp) -> str:
    """Short text of the shape ('' for unit cubes), for describe() and report families."""
    if not has_shape(sp):
        return ""
    parts = [str(sp.get(SHAPE))]
    if EDGE_RATIOS in sp:
        ratios = sp[EDGE_RATIOS]
        parts.append("1:" + ":".join(map(str, ratios)) if isinstance(ratios, (list, tuple)) else str(ratios))
    if ROUNDING_RADIUS in sp:
        parts.append(f"r={sp[ROUNDING_RADIUS]}")
    if SIZE_POLYDISPERSITY in sp:
        parts.append(f"poly={sp[SIZE_POLYDISPERSITY]}")
    return " ".join(parts)
