"""Initial states for every shape family: particle sizes drawn from a distribution, simple-cubic
(orthorhombic for cuboids) crystals that never overlap, and compressed fluids.

    sizes = lattices.draw_sizes(8 ** 3, polydispersity=0.12, seed=1)       # mean 1, 12 % width
    params = lattices.shape_params("cuboid", sizes, edges=(1, 1, 1.2))
    state = lattices.simple_cubic(8, "cuboid", params, packing_fraction=0.6, vacancies=1, seed=1)

The unit-cube builders `State.simple_cubic` and `State.fluid` stay as they are (bit-exact
restarts of existing runs); these are their generalisations.
"""

import math

import numpy as np

from . import shapes, validate
from .errors import InputError
from .geometry import min_box_edge, random_quaternions
from .state import State, _shape_params

#: sizes are drawn from a Gaussian truncated at this many widths either side of the mean 1
TRUNCATION = 2.0


def draw_sizes(n, polydispersity=0.0, sizes=None, seed=0, truncation=TRUNCATION):
    """n particle sizes: the given list `sizes`, or Gaussian with mean 1 and relative width
    `polydispersity` truncated at `truncation` widths (resampled), from `seed`."""
    n = validate.positive_int("n", n)
    if sizes is not None:
        s = np.array(sizes, np.float64).reshape(-1)
        if s.size != n:
            raise InputError(f"sizes must list {n} values, got {s.size}")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise InputError(f"sizes must be positive finite numbers, got e.g. {s[~(s > 0)][:3].tolist()}")
        return s
    delta = validate.finite("polydispersity", polydispersity)
    if not 0.0 <= delta < 1.0:
        raise InputError(f"polydispersity must lie in [0, 1), got {delta!r}")
    truncation = validate.positive("truncation", truncation)
    if delta == 0.0:
        return np.ones(n)
    if 1.0 - truncation * delta <= 0.0:
        raise InputError(
            f"polydispersity {delta} truncated at {truncation} widths yields non-positive "
            f"sizes; use polydispersity < {1.0 / truncation:.3g}"
        )
    rng = np.random.default_rng(validate.seed(seed))
    out = rng.normal(1.0, delta, n)
    bad = np.abs(out - 1.0) > truncation * delta
    while bad.any():
        out[bad] = rng.normal(1.0, delta, int(bad.sum()))
        bad = np.abs(out - 1.0) > truncation * delta
    return out


def shape_params(shape, sizes, edges=(1.0, 1.0, 1.0), rounding=0.0):
    """(N, P) parameters of particles of outer edges `edges` * size and rounding radius
    `rounding` * size (the whole particle scales), for shape "cube", "cuboid" or "rounded_cuboid"."""
    s = np.array(sizes, np.float64).reshape(-1)
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError("sizes must be positive finite numbers")
    e = np.array(edges, np.float64).reshape(-1)
    if e.shape != (3,) or not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise InputError(f"edges must be three positive lengths, got {np.asarray(edges).tolist()}")
    r = validate.finite("rounding", rounding)
    if r < 0:
        raise InputError(f"the rounding radius must not be negative, got {r}")
    if shape == "cube":
        if np.any(s != 1.0) or np.any(e != 1.0) or r != 0.0:
            raise InputError(
                "shape 'cube' is the unit cube; use 'cuboid' (or 'rounded_cuboid') "
                "for other sizes, edges or rounding"
            )
        return np.zeros((s.size, 1))
    if shape == "cuboid":
        if r != 0.0:
            raise InputError("cuboids have sharp edges; use shape 'rounded_cuboid' for rounding")
        return s[:, None] * e[None, :]
    if shape == "rounded_cuboid":
        if 2.0 * r > e.min():
            raise InputError(f"the rounding radius {r} exceeds half the shortest edge {e.min()}")
        core = np.maximum(e - 2.0 * r, 0.0)
        return s[:, None] * np.append(core, r)[None, :]
    raise InputError(f"shape_params builds 'cube', 'cuboid' or 'rounded_cuboid', not {shape!r}")


def _extents(shape, params):
    if hasattr(shape, "extents"):
        return shape.extents(params)
    return np.ones((params.shape[0], 3))


def _volume(shape, params):
    return float(np.sum(shape.volumes(params, params.shape[0])))


def simple_cubic(
    n, shape="cube", shape_params=None, packing_fraction=None, lattice_constant=None, vacancies=0, seed=0
):  # noqa: PLR0913 (the crystal, by name)
    """n x n x n lattice of aligned particles, one per site (shape_params: one row per site, or
    one row for all).  Lattice constants along x, y, z are proportional to the largest outer
    extents along the body axes (a simple-cubic lattice for cubes), set by `packing_fraction`
    (of the full lattice) or given as `lattice_constant` (a number or three); either must leave
    the largest particle room.  `vacancies` random sites (from `seed`) stay empty."""
    n = validate.positive_int("n", n)
    mod = shapes.get(shape)
    sites = n**3
    params = _shape_params(mod, shape_params, sites)
    largest = _extents(mod, params).max(axis=0)
    if (packing_fraction is None) == (lattice_constant is None):
        raise InputError("give exactly one of packing_fraction and lattice_constant")
    if packing_fraction is not None:
        phi = validate.fraction("packing_fraction", packing_fraction)
        scale = (_volume(mod, params) / (phi * sites * np.prod(largest))) ** (1.0 / 3.0)
        lattice = scale * largest
        if scale <= 1.0 + 1e-9:
            raise InputError(
                f"packing fraction {phi} is too high for a lattice of these particles: "
                f"the largest needs lattice constants above {largest.round(4).tolist()} "
                f"(packing fraction below {phi * scale**3:.4f})"
            )
    else:
        lattice = np.broadcast_to(np.array(lattice_constant, np.float64).reshape(-1), (3,)).copy()
        if not np.all(np.isfinite(lattice)) or np.any(lattice <= largest * (1.0 + 1e-12)):
            raise InputError(
                f"lattice constants {lattice.tolist()} are too tight for the largest "
                f"particle (outer extents {largest.round(4).tolist()})"
            )
    box = n * lattice
    smallest = min_box_edge(mod.circumsphere_diameter(params))
    if np.any(box < smallest):
        raise InputError(
            f"a {n}x{n}x{n} lattice gives a box of {box.round(3).tolist()}, thinner than "
            f"the minimum {smallest:.3f}; use n >= {math.ceil(smallest / lattice.min())}"
        )
    k = validate.nonnegative_int("vacancies", vacancies)
    if k >= sites:
        raise InputError(f"cannot remove {k} particles from a lattice of {sites} sites")
    removed = np.sort(np.random.default_rng(validate.seed(seed)).choice(sites, size=k, replace=False))
    axes = [(np.arange(n) + 0.5) * lattice[d] - box[d] / 2 for d in range(3)]
    pos = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    pos = np.delete(pos, removed, axis=0)
    quat = np.zeros((pos.shape[0], 4))
    quat[:, 0] = 1.0
    return State(pos, quat, box, shape=shape, shape_params=np.delete(params, removed, axis=0))


def fluid(n_particles, packing_fraction, shape="cube", shape_params=None, seed=0, max_sweeps=20000):  # noqa: PLR0913 (the fluid, by name)
    """Hard-particle fluid at `packing_fraction`: random orientations on a sparse lattice, then
    compressed with hard-particle Monte Carlo (cubemc.compress).  Not an equilibrium state:
    equilibrate afterwards."""
    from .compress import compress_fluid

    n = validate.positive_int("n_particles", n_particles)
    phi = validate.fraction("packing_fraction", packing_fraction)
    mod = shapes.get(shape)
    params = _shape_params(mod, shape_params, n)
    box_target = (_volume(mod, params) / phi) ** (1.0 / 3.0)
    circumsphere = mod.circumsphere_diameter(params)
    if box_target < min_box_edge(circumsphere):
        raise InputError(
            f"{n} particles at packing fraction {phi} give a box of {box_target:.3f}, "
            f"smaller than the minimum {min_box_edge(circumsphere):.3f}; use more"
        )
    rng = np.random.default_rng(validate.seed(seed))
    m = math.ceil(n ** (1.0 / 3.0) - 1e-9)
    spacing = max(box_target / m, 1.001 * circumsphere)  # random orientations cannot touch
    box = m * spacing
    g = (np.arange(m) + 0.5) * spacing - box / 2
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    pos = sites[np.sort(rng.choice(len(sites), size=n, replace=False))]
    state = State(pos, random_quaternions(rng, n), [box] * 3, shape=shape, shape_params=params)
    if box > box_target:
        state = compress_fluid(
            state,
            box_target,
            seed=validate.seed(seed),
            max_sweeps=validate.positive_int("max_sweeps", max_sweeps),
        )
    return state


def compressed(state, packing_fraction, seed=0, max_sweeps=20000):
    """`state` squeezed isotropically to `packing_fraction` by hard-particle Monte Carlo (e.g. a
    polydisperse crystal beyond the density at which its largest particle fits every site)."""
    from .compress import compress_fluid

    phi = validate.fraction("packing_fraction", packing_fraction)
    if phi <= state.packing_fraction:
        raise InputError(f"the state is already at packing fraction {state.packing_fraction:.4f}")
    scale = (state.packing_fraction / phi) ** (1.0 / 3.0)  # every box edge shrinks alike
    return compress_fluid(
        state,
        state.box[0] * scale,
        seed=validate.seed(seed),
        max_sweeps=validate.positive_int("max_sweeps", max_sweeps),
    )
