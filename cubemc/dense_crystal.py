"""Dense polydisperse crystals: a simple-cubic (orthorhombic for cuboids) lattice built with room
for its largest particle, then compressed by hard-particle Monte Carlo past that limit.

    state = dense_crystal.simple_cubic(6, "cuboid", params, packing_fraction=0.7, vacancies=1, seed=1)
    order = dense_crystal.sc_order(state, 6)   # empty / doubly occupied sites, alignment

A lattice whose constant leaves every site room for the largest particle caps the packing
fraction of polydisperse particles (12 % cubes truncated at 2 widths: 0.542); real crystals of
such particles are denser because neighbours of a large particle are displaced and smaller ones
sit next to it.  The route here lets Monte Carlo find that: cubemc.compress shrinks the box,
removes the overlaps each shrink creates with ordinary trial moves, backs off near jamming, and
between shrinks exchanges the sizes of random pairs of particles where that creates no overlap
(swap moves, as used to compress polydisperse glasses), so large particles can move apart.  Every
state it hands on is overlap-free; the size distribution is the drawn one (only which particle
carries which size changes).  The result is a starting state, not an equilibrium sample: the
arrangement of sizes is frozen afterwards (the production runs make no swaps).

How far it gets depends on the polydispersity and, jamming being stochastic, on the seed
(docs/validation.md, issue 12): 12 % cubes reach phi 0.80 in most compressions and jam between
0.78 and 0.83, so the route tries up to ATTEMPTS compressions; workflow/shape_keys.py admits
state points only up to the limits measured there.  Patience matters: with a 500-sweep stall and
N/2 exchanges per shrink the same crystals jammed at 0.74-0.79.
"""

from __future__ import annotations

import numpy as np

from . import lattices, shapes, validate
from .errors import InputError
from .geometry import RESEAT_REACH, quaternion_matrices, seat_on_lattice

#: sweeps of overlap removal after a shrink before backing off (cubemc.compress)
STALL_SWEEPS = 2000
#: swap attempts between shrinks, per particle
SWAPS_PER_PARTICLE = 2
#: compressions tried (seeds seed, seed + 1, ...) before giving up: jamming is stochastic (12 %
#: cubes at phi 0.80: about 1 compression in 7 jammed between 0.78 and 0.80), and rows of aligned
#: cubes slide freely along their axis, so over 10^4 sweeps one may slip by half a lattice constant
#: (SC order lost; seen once in 8)
ATTEMPTS = 3
#: start lattice: constants this much above the largest particle's extents
START_GAP = 1e-4
#: a particle is on its site if within this fraction of the lattice constant (analysis/vacancy.py)
SITE_FRACTION = 0.25
#: sc_order: largest distance (lattice constants) at which a particle crowding a site is moved to
#: an empty one (beyond it the crystal has an interstitial: order lost); the analysis's too
REASSIGN = RESEAT_REACH
#: largest mean tilt (degrees) of an ordered crystal: the route's crystals have 4-9, random
#: orientations 38
MAX_TILT_DEG = 15.0


def full_lattice_volume(shape, params) -> float:
    """Particle volume of the full lattice (every site, vacancies included)."""
    mod = shapes.get(shape)
    return float(np.sum(mod.volumes(params, params.shape[0])))


def simple_cubic(n, shape, params, packing_fraction, vacancies=0, seed=0, max_sweeps=100000, stats=None):  # noqa: PLR0913 (the crystal, by name)
    """n x n x n crystal of `params` (one row per site, as lattices.simple_cubic) at
    `packing_fraction` of the full lattice (the drawn particles on every site: the convention of
    lattices.simple_cubic), vacancies included.  Built on the tightest lattice that fits the
    largest particle, then compressed; raises InputError (one line) if none of ATTEMPTS
    compressions reaches the target with the simple-cubic order kept.
    `stats`: as cubemc.compress.compress_fluid's (last attempt), plus `attempts` and
    `total_sweeps`."""
    n = validate.positive_int("n", n)
    phi = validate.fraction("packing_fraction", packing_fraction)
    mod = shapes.get(shape)
    params = np.array(params, np.float64)
    if params.shape[0] != n**3:
        raise InputError(f"give one row of shape parameters per site ({n**3}), got {params.shape[0]}")
    largest = mod.extents(params).max(axis=0) if hasattr(mod, "extents") else np.ones(3)
    start = lattices.simple_cubic(
        n, shape, params, lattice_constant=largest * (1 + START_GAP), vacancies=vacancies, seed=seed
    )
    edge = (full_lattice_volume(shape, params) / (phi * np.prod(largest))) ** (1 / 3) * largest[0]
    if edge >= start.box[0]:  # the largest particle fits: no compression needed
        return lattices.simple_cubic(n, shape, params, packing_fraction=phi, vacancies=vacancies, seed=seed)
    stats = {} if stats is None else stats
    max_sweeps = validate.positive_int("max_sweeps", max_sweeps)
    seed = validate.seed(seed)
    total, best = 0, 0.0
    for attempt in range(ATTEMPTS):
        try:
            dense = _compress(start, edge, (shape, params), (seed + attempt) % 2**63, max_sweeps, stats)
        except InputError:
            dense = None
            best = max(best, stats["reached"])
        total += stats["sweeps"]
        stats.update(attempts=attempt + 1, total_sweeps=total)
        if dense is None:
            continue
        dense = _register_rows(dense, n)
        order = sc_order(dense, n)
        if ordered(order, n**3 - dense.N):
            return dense
        best = max(best, phi)
    raise InputError(
        f"could not compress the {n}x{n}x{n} crystal of these particles to packing fraction {phi} "
        f"keeping its simple-cubic order in {ATTEMPTS} attempts of {max_sweeps} sweeps (best without "
        f"overlaps: {best:.4f}; the route's limits: cubemc.workflow.shape_keys.DENSE_CRYSTAL_LIMITS)"
    )


def ordered(order, vacancies) -> bool:
    """Whether sc_order's result is a simple-cubic crystal with `vacancies` vacancies."""
    return (
        order["empty_sites"] == vacancies and not order["double_sites"] and order["tilt_deg"] <= MAX_TILT_DEG
    )


def _compress(start, edge, crystal, seed, max_sweeps, stats):  # noqa: PLR0913 (a route's settings)
    """compress_fluid with the route's settings; on a jam, `stats["reached"]` is the packing
    fraction of the full lattice (vacancies filled: the request's convention)."""
    from .compress import compress_fluid

    shape, params = crystal
    try:
        return compress_fluid(
            start,
            edge,
            seed=seed,
            max_sweeps=max_sweeps,
            stall_sweeps=STALL_SWEEPS,
            swaps=max(1, int(SWAPS_PER_PARTICLE * start.N)),
            stats=stats,
        )
    except InputError:
        stats["reached"] *= full_lattice_volume(shape, params) / start.packing_fraction / start.volume
        raise


def _lattice_frame(state, n):
    """(positions in lattice constants from the first site, drift removed; lattice constants)."""
    a = state.box / n
    rel = (state.positions + state.box / 2 - a / 2) / a
    drift = np.zeros(3)
    for _ in range(3):  # the crystal may have drifted as a whole
        drift += np.median(rel - drift - np.rint(rel - drift), axis=0)  # robust to a slipped row
    return rel - drift, a


def _register_rows(state, n):
    """Slide back onto the lattice each row of particles that slipped along its own axis by more
    than SITE_FRACTION (aligned cubes in a row slide freely along it, so over 10^4 sweeps a row
    can drift by half a lattice constant), keeping a slide only if it creates no overlap."""
    rel, a = _lattice_frame(state, n)
    for axis in range(3):
        others = [d for d in range(3) if d != axis]
        sites = np.mod(np.rint(rel[:, others]).astype(int), n)
        row_of = sites[:, 0] * n + sites[:, 1]
        phase = np.exp(2j * np.pi * rel[:, axis])
        for row in np.unique(row_of):
            members = np.flatnonzero(row_of == row)
            offset = np.angle(phase[members].mean()) / (2 * np.pi)
            if abs(offset) <= SITE_FRACTION:
                continue
            trial = state.positions.copy()
            trial[members, axis] -= offset * a[axis]
            moved = state.with_positions(trial)
            if moved.count_pairs()[1] == 0:
                state, rel[members, axis] = moved, rel[members, axis] - offset
    return state


def _seated(state, n):
    """(flat site per particle, its site (i, j, k), the particle's minimum-image offset from that
    site in lattice constants, lattice constants) with crowded sites relieved along chains."""
    rel, a = _lattice_frame(state, n)
    site_of = seat_on_lattice(rel, n, REASSIGN)
    ijk = np.stack(np.unravel_index(site_of, (n, n, n)), axis=1)
    offsets = rel - ijk
    return site_of, ijk, offsets - n * np.rint(offsets / n), a


def sc_order(state, n) -> dict:
    """Simple-cubic order of `state` on an n x n x n lattice filling its box (drift removed).

    Each particle goes to its nearest site; a crowded site is relieved along the shortest chain of
    particles, each moving at most REASSIGN lattice constants, that ends at an empty site, the
    particle farthest from the crowded site first (`cubemc.geometry.seat_on_lattice`, which the
    vacancy analysis shares: a cube half-way into a neighbouring vacancy belongs to the lattice).  Returns
    `empty_sites` and `double_sites` after that, `off_site` (particles farther than
    SITE_FRACTION lattice constants from their site), `max_displacement` (lattice constants),
    and `tilt_deg` (`max_tilt_deg`): the mean (largest) over particles of the angle in degrees
    between a body axis and its nearest box axis, the worst of the three axes (0: aligned with
    the lattice, as built; about 38 for random orientations)."""
    n = validate.positive_int("n", n)
    site_of, _, offsets, _ = _seated(state, n)
    occupancy = np.bincount(site_of, minlength=n**3)
    disp = np.linalg.norm(offsets, axis=1)
    cosines = np.abs(quaternion_matrices(state.orientations)).max(axis=1).min(axis=1)
    tilt = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    return {
        "empty_sites": int(np.sum(occupancy == 0)),
        "double_sites": int(np.sum(occupancy > 1)),
        "off_site": int(np.sum(disp > SITE_FRACTION)),
        "max_displacement": float(disp.max()),
        "tilt_deg": float(tilt.mean()),
        "max_tilt_deg": float(tilt.max()),
    }


def block(state, n):
    """Positions of the n x n x n crystal `state` cut out of its periodic box as one block centred
    at the origin (each particle next to its seated site, sc_order's seating), to seed growth in a
    larger box.  Pairs that were neighbours across the box's faces become the block's surface;
    no pair comes closer than it was, so the block is overlap-free wherever `state` was."""
    n = validate.positive_int("n", n)
    _, ijk, offsets, a = _seated(state, n)
    return (ijk + offsets - (n - 1) / 2) * a
