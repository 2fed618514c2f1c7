"""Geometry shared by the state builders, the writers, the analysis and the tests."""

import math

import numpy as np

from .shapes import cube

#: body-frame vertices of the unit cube (edge 1), as HOOMD and OVITO expect them
CUBE_VERTICES = cube.VERTICES
#: circumsphere diameter of the unit cube: centres farther apart than this never overlap
CIRCUMSPHERE_DIAMETER = cube.CIRCUMSPHERE_DIAMETER


def interaction_range(well_range=0.0, shape=cube, params=None):
    """Largest centre distance at which two particles can interact (hard core or pair energy).

    `well_range` is the pair-energy cutoff for particles of size 1; it scales with the pair's
    mean size, so the largest pair reaches well_range * s_max (exactly well_range for cubes).
    """
    from .shapes import max_size

    return max(shape.circumsphere_diameter(params), float(well_range) * max_size(shape, params))


def min_box_edge(r_int):
    """The one box-size rule: every edge at least twice the interaction range (so the cell grid
    has two or more cells per axis and no particle meets two images of another)."""
    return 2.0 * r_int


def cell_grid(box, well_range=0.0, shape=cube, params=None):
    """Even cell counts per axis with cells at least one interaction range wide, and a cell capacity.

    Returns (grid, capacity) or raises ValueError when the box is thinner than two ranges.
    """
    r_int = interaction_range(well_range, shape, params)
    box = np.asarray(box, np.float64)
    if np.any(box < min_box_edge(r_int)):
        raise ValueError(
            f"box {tuple(np.round(box, 4))} is too small: every edge must be at least "
            f"{min_box_edge(r_int):.4f} (twice the interaction range {r_int:.4f})"
        )
    grid = np.maximum(2 * np.floor(box / (2.0 * r_int)).astype(np.int64), 2)
    width = float(np.max(box / grid))
    # centres are >= s (insphere diameter) apart: disjoint balls of radius s/2 in a cell grown by
    # s/2 per side, at most the densest sphere packing (0.7405) of that volume
    s = shape.insphere_diameter(params)
    capacity = int(0.7405 * (width + s) ** 3 / (math.pi / 6.0 * s**3)) + 1
    return grid, capacity


def random_quaternions(rng, n):
    """Uniform random rotations (normalised 4D Gaussians)."""
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def quaternion_matrices(q):
    """(n, 3, 3) rotation matrices of unit quaternions (w, x, y, z); column k is body axis k."""
    q = np.asarray(q, np.float64)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def overlaps(offsets, qa, qb, shape=cube, params=None):
    """Exact overlap of many pairs with the engine's own test: particle 1 (orientations qb) at
    `offsets` (K, 3) from particle 0 (orientations qa); `params` (2, P) are their shape
    parameters.  Returns a (K,) bool array."""
    from . import pairs, targets

    if params is None:
        params = np.zeros((2, max(shape.N_PARAMS, 1)))
    out = np.zeros(len(offsets), np.bool_)
    targets.cpu(shape, pairs.square_well).overlap_many(
        np.ascontiguousarray(offsets, np.float64),
        np.ascontiguousarray(qa, np.float64),
        np.ascontiguousarray(qb, np.float64),
        np.ascontiguousarray(params, np.float64),
        out,
    )
    return out


#: how far (lattice constants) a particle crowding a lattice site may be moved to another site by
#: `seat_on_lattice`: a cube half-way into a neighbouring vacancy belongs to the lattice, one
#: farther from every free site is an interstitial
RESEAT_REACH = 0.75
#: the 27 steps to a site and its neighbours, in the order the chain search tries them
_STEPS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])


def seat_on_lattice(rel, n_cells, reach=RESEAT_REACH, max_moves=None):
    """Flat site index (C order over `n_cells`) per particle of a periodic simple-cubic lattice.

    `rel`: (N, 3) positions in lattice constants, site (i, j, k) at (i, j, k).  Each particle goes
    to its nearest site; then, while a site holds two or more, one of its particles (the farthest
    from the site first) is re-seated along the shortest chain of particles, each moving to a site
    within `reach` of it, that ends at an empty site (a crowded row of unequal cubes spread over
    one site more).  A crowding particle with no such chain of at most `max_moves` moves (default:
    the largest cell count) stays.  Without a crowded site this is the nearest-site assignment.
    """
    rel = np.asarray(rel, np.float64)
    n = np.broadcast_to(np.asarray(n_cells, np.int64), (3,))
    nearest = np.mod(np.rint(rel), n).astype(np.int64)
    site_of = np.ravel_multi_index(nearest.T, n)
    occupancy = np.bincount(site_of, minlength=int(np.prod(n)))
    if occupancy.max(initial=0) < 2:
        return site_of
    max_moves = int(n.max()) if max_moves is None else int(max_moves)
    reachable = _reachable_sites(rel, nearest, n, reach)
    members = {}
    for p, s in enumerate(site_of.tolist()):
        members.setdefault(s, []).append(p)
    _reseat(rel, site_of, occupancy, members, reachable, n, max_moves)
    return site_of


def _reachable_sites(rel, nearest, n, reach):
    """{particle: [sites within `reach`]} for the particles that can reach more than one site
    (the others never move); one vectorised pass over the 27 sites around each nearest site."""
    targets = nearest[:, None, :] + _STEPS[None, :, :]
    d = rel[:, None, :] - targets
    near = np.linalg.norm(d - n * np.rint(d / n), axis=2) <= reach
    flat = np.ravel_multi_index(np.mod(targets, n).reshape(-1, 3).T, n).reshape(targets.shape[:2])
    mobile = np.flatnonzero(near.sum(axis=1) > 1)
    return {int(p): flat[p, near[p]].tolist() for p in mobile}


def _reseat(rel, site_of, occupancy, members, reachable, n, max_moves):  # noqa: PLR0913 (the search's state)
    """Re-seat crowding particles in place until a pass over the crowded ones moves none."""
    moved = True
    while moved:
        moved = False
        crowded = np.flatnonzero(occupancy[site_of] > 1)
        ijk = np.stack(np.unravel_index(site_of[crowded], n), axis=1)
        d = rel[crowded] - ijk
        dist = np.linalg.norm(d - n * np.rint(d / n), axis=1)
        for p in crowded[np.argsort(-dist, kind="stable")].tolist():
            if occupancy[site_of[p]] < 2:
                continue  # an earlier chain in this pass took its partner away
            path = _chain_to_empty(p, site_of, occupancy, members, reachable, max_moves)
            if path is None:
                continue
            for q, new in path:
                old = int(site_of[q])
                members[old].remove(q)
                members.setdefault(new, []).append(q)
                occupancy[old] -= 1
                occupancy[new] += 1
                site_of[q] = new
            moved = True


def _chain_to_empty(start, site_of, occupancy, members, reachable, max_moves):  # noqa: PLR0913
    """Breadth-first over sites: [(particle, new site), ...] moving `start` out of its site along
    the fewest moves to an empty site, or None.  Only particles in `reachable` can move, so in a
    crystal the search stays among the few displaced particles near `start`."""
    came = {int(site_of[start]): None}
    frontier = [start]
    for _ in range(max_moves):
        following = []
        for particle in frontier:
            for t in reachable.get(particle, ()):
                if t in came:
                    continue
                came[t] = (particle, int(site_of[particle]))
                if occupancy[t] == 0:
                    return _path(came, t)
                following.extend(members.get(t, ()))
        frontier = following
        if not frontier:
            break
    return None


def _path(came, site):
    """The moves that led to `site`, as [(particle, its new site), ...] from the last back."""
    path = []
    while came[site] is not None:
        particle, previous = came[site]
        path.append((particle, site))
        site = previous
    return path
