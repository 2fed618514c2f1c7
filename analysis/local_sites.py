"""Vacancies of a crystallite counted without one lattice: each cube's own axes predict its sites.

`Supraparticle` maps a whole SP onto one simple-cubic lattice (or walks its bonds), which fails
once the crystallite bends, twists or holds two grains (fewer than ON_ONE_LATTICE of its cubes
near their sites; wide wells do this even to a perfect block).  Here nothing global is fitted.
Each cube predicts its six face-neighbour sites, one lattice constant `a` along its own axes
(a = median length of the crystallite's face bonds).  Predictions with no crystallite
cube within `tolerance * a` that lie within `tolerance * a` of each other are one empty site,
predicted by every cube that pointed at it.  The rule of the lattice count, made local: such a
site is a hole of the SP when it has predicting cubes on both sides along at least two of its
three lines (a hole in the bulk or in a face; a missing corner or edge cube, an unfinished layer
or the gap across a grain boundary is not).  A hole is a vacancy unless a cube outside the
crystallite (one our crystallinity criterion rejects) sits in it.  SP sites are the cubes and the
holes; one is a surface site when one of its six neighbour positions holds no SP site, else bulk.

On a crystal that one lattice fits this gives the lattice count (tests); on a bent one it still
finds the holes.  It finds none at a grain boundary (tested at twists of 5-45 degrees), where a
cube counts as bulk when a cube of the other grain happens to lie near its neighbour site.
"""

import numpy as np

from cubemc.geometry import quaternion_matrices

__all__ = ["LocalSites"]

#: the six face-neighbour directions as (axis, sign)
_DIRECTIONS = [(k, s) for k in range(3) for s in (1, -1)]


def _neighbour_sites(points, axes, a):
    """(n * 6, 3): the six face-neighbour positions of each point, `a` along its own axes
    (columns of axes[i]); row 6 i + d is direction _DIRECTIONS[d]."""
    steps = np.stack([s * axes[:, :, k] for k, s in _DIRECTIONS], axis=1)
    return (points[:, None, :] + a * steps).reshape(-1, 3)


def _groups(points, radius):
    """Labels of single-linkage groups of points closer than `radius`."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    n = len(points)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _spacing(tree, pos):
    """Median length of the face bonds: pairs closer than 1.25 nearest-neighbour distances (the
    nearest distance alone is biased short by thermal noise)."""
    if len(pos) < 2:
        return 1.0
    nearest = float(np.median(tree.query(pos, k=2)[0][:, 1]))
    pairs = tree.query_pairs(1.25 * nearest, output_type="ndarray")
    return float(np.median(np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)))


def _near(points, others, box, radius):
    """Whether each point has one of `others` within `radius` (periodic in `box` if given)."""
    from scipy.spatial import cKDTree

    if others is None or len(others) == 0 or len(points) == 0:
        return np.zeros(len(points), dtype=bool)
    others = np.asarray(others, dtype=float)[:, :3]
    if box is None:
        return cKDTree(others).query(points, distance_upper_bound=radius)[0] <= radius
    box = np.asarray(box, dtype=float)[:3]
    tree = cKDTree(np.mod(others, box), boxsize=box)
    return tree.query(np.mod(points, box), distance_upper_bound=radius)[0] <= radius


def _lines_with_both_sides(offsets, frame):
    """Of a site's three lines (columns of `frame`), how many have predicting cubes (at
    `offsets` from the site) on both sides."""
    proj = offsets @ frame
    axis = np.abs(proj).argmax(axis=1)
    sign = proj[np.arange(len(proj)), axis] > 0
    return sum(bool(np.any(sign[axis == k]) and np.any(~sign[axis == k])) for k in range(3))


def _holes(pos, axes, points, owners, radius):
    """Positions and frames of the sites the crystallite's cubes leave empty between them
    (predicting cubes on both sides along >= 2 lines); owners[j]: the cube that predicted points[j]."""
    found, frames = [], []
    if len(points) == 0:
        return np.empty((0, 3)), np.empty((0, 3, 3))
    labels = _groups(points, radius)
    for g in range(labels.max() + 1):
        members = labels == g
        if members.sum() < 4:  # two lines need four cubes
            continue
        site = points[members].mean(axis=0)
        cubes = owners[members]
        frame = axes[cubes[0]]
        if _lines_with_both_sides(pos[cubes] - site, frame) >= 2:
            found.append(site)
            frames.append(frame)
    return np.reshape(found, (-1, 3)), np.reshape(frames, (-1, 3, 3))


class LocalSites:
    """Bulk and surface vacancies of one crystallite from each cube's local lattice (freud style).

    After `compute(positions, orientations)` (unwrapped, one cluster): `lattice_constant`,
    `vacancy_positions` (m, 3), `bulk_sites`, `bulk_vacancies`, `bulk_vacancy_fraction`,
    `surface_sites`, `surface_vacancies`, `surface_vacancy_fraction`, and `summary()`.
    """

    def __init__(self, tolerance=0.5):
        self.tolerance = float(tolerance)

    def compute(self, positions, orientations, others=None, box=None):
        """positions, orientations: the crystallite's cubes (unwrapped).  others: positions of
        the remaining cubes (with `box` when periodic); one of them in a hole of the crystallite
        fills that site (the experiments see cubes, not our crystallinity criterion)."""
        from scipy.spatial import cKDTree

        pos = np.asarray(positions, dtype=float)[:, :3]
        axes = quaternion_matrices(np.asarray(orientations, dtype=float))
        tree = cKDTree(pos)
        self.lattice_constant = a = _spacing(tree, pos)
        radius = self.tolerance * a
        predicted = _neighbour_sites(pos, axes, a)
        empty = np.flatnonzero(tree.query(predicted, distance_upper_bound=radius)[0] > radius)
        holes, frames = _holes(pos, axes, predicted[empty], empty // len(_DIRECTIONS), radius)
        filled = _near(holes, others, box, radius)
        self.vacancy_positions = holes[~filled]
        self.filled_holes = int(filled.sum())
        self._classify(pos, axes, holes, frames, filled, a, radius)
        return self

    def _classify(self, pos, axes, holes, frames, filled, a, radius):
        """Surface or bulk for every SP site by whether all six neighbour positions hold one."""
        from scipy.spatial import cKDTree

        sites = np.concatenate([pos, holes])
        site_axes = np.concatenate([axes, frames])
        neighbours = _neighbour_sites(sites, site_axes, a)
        held = cKDTree(sites).query(neighbours, distance_upper_bound=radius)[0] <= radius
        bulk = held.reshape(len(sites), len(_DIRECTIONS)).all(axis=1)
        is_vacancy = np.concatenate([np.zeros(len(pos), dtype=bool), ~filled])
        self.bulk_sites, self.surface_sites = int(bulk.sum()), int((~bulk).sum())
        self.bulk_vacancies = int((bulk & is_vacancy).sum())
        self.surface_vacancies = int((~bulk & is_vacancy).sum())
        self.bulk_vacancy_fraction = (
            self.bulk_vacancies / self.bulk_sites if self.bulk_sites else float("nan")
        )
        self.surface_vacancy_fraction = (
            self.surface_vacancies / self.surface_sites if self.surface_sites else float("nan")
        )

    def summary(self):
        """The counts as plain Python values (JSON-ready)."""
        keys = ("bulk_sites", "bulk_vacancies", "surface_sites", "surface_vacancies", "filled_holes")
        return {k: getattr(self, k) for k in keys}
