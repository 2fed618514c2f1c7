"""Crystalline (simple-cubic) clusters of cubes: local order, cluster sizes and shapes.

Local order uses what makes the SC crystal of cubes special: neighbours sit face to face.
A *crystal bond* joins cubes i and j when
  - their centres are closer than `r_bond` (first shell: a <= 1.3 < sqrt(2) * 1),
  - the bond direction lies within `max_bond_angle` of a body axis of i and of j, and
  - the two cubes are aligned: misorientation (modulo the cube group) below
    `max_misorientation`.
A cube is crystalline ("core") with at least `min_bonds` crystal bonds; a cube with at least
`surface_bonds` crystal bonds to core cubes is added as crystal surface (corners of a
crystallite have only 3 bonds). Defaults (1.3, 30 deg, 25 deg, 4, 3) were chosen on synthetic
data (docs/analysis.md, tests/test_analysis_nucleation.py): an SC crystal with Gaussian
displacements of 0.06 a and rotations of 5 degrees per axis is 100 % crystalline, with
0.08 a and 7 degrees 95 %; a random fluid (phi 0.45, random orientations) gives 0 %, and
even the same fluid with all cubes aligned only 2 %.
Steinhardt q4/q6 over 6 nearest neighbours are reported alongside (perfect SC: 0.764/0.354)
as an orientation-blind cross-check.
"""

import freud
import numpy as np

from cubemc.geometry import quaternion_matrices

from .geometry import cube_group, minimum_image, quat_conjugate, quat_multiply, quat_normalize

__all__ = [
    "steinhardt_q4_q6",
    "crystal_bonds",
    "CrystalClusters",
    "cluster_shape",
    "mean_cubic_orientation",
    "bonded_clusters",
    "classify_state",
    "classify_computed",
]

_GROUP = cube_group()


def steinhardt_q4_q6(box, positions, num_neighbors=6):
    """Per-cube Steinhardt q4, q6 over the `num_neighbors` nearest neighbours (NaN for tiny N)."""
    if len(positions) <= num_neighbors:
        return np.full(len(positions), np.nan), np.full(len(positions), np.nan)
    st = freud.order.Steinhardt([4, 6])
    st.compute(
        (freud.box.Box(*np.asarray(box)[:3]), np.asarray(positions, np.float32)),
        {"num_neighbors": num_neighbors},
    )
    po = np.asarray(st.particle_order, dtype=float)
    return po[:, 0], po[:, 1]


def _pair_misorientation_cos(qi, qj):
    """cos(theta/2) of the smallest rotation (modulo the cube group) between pairs of cubes."""
    rel = quat_multiply(quat_conjugate(qi), qj)
    return np.abs(rel @ quat_conjugate(_GROUP).T).max(axis=-1)


def crystal_bonds(box, positions, orientations, r_bond=1.3, max_bond_angle=30.0, max_misorientation=25.0):
    """Crystal bonds (see module doc). Returns (i, j) index arrays with i < j."""
    box = np.asarray(box, dtype=float)[:3]
    pos = np.asarray(positions, dtype=float)
    q = quat_normalize(np.asarray(orientations, dtype=float))
    aq = freud.locality.AABBQuery(freud.box.Box(*box), pos.astype(np.float32))
    nl = aq.query(pos.astype(np.float32), {"r_max": r_bond, "exclude_ii": True}).toNeighborList()
    i, j = np.asarray(nl.query_point_indices), np.asarray(nl.point_indices)
    keep = i < j
    i, j = i[keep], j[keep]
    if i.size == 0:
        return i, j
    b = minimum_image(pos[j] - pos[i], box)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    R = quaternion_matrices(q)
    # |b . body axis| for every axis of i and of j; the best must beat cos(max angle).
    cos_b = np.cos(np.radians(max_bond_angle))
    align_i = np.abs(np.einsum("nk,nkl->nl", b, R[i])).max(axis=1)
    align_j = np.abs(np.einsum("nk,nkl->nl", b, R[j])).max(axis=1)
    cos_half = _pair_misorientation_cos(q[i], q[j])
    ok = (align_i >= cos_b) & (align_j >= cos_b) & (cos_half >= np.cos(np.radians(max_misorientation) / 2))
    return i[ok], j[ok]


def mean_cubic_orientation(orientations, iterations=3):
    """Average orientation of roughly aligned cubes, modulo the cube group (quaternion)."""
    q = quat_normalize(np.asarray(orientations, dtype=float))
    ref = q[0]
    for _ in range(iterations):
        rel = quat_multiply(quat_conjugate(ref)[None, :], q)  # (n, 4)
        # Bring each cube to the symmetry-equivalent closest to ref, then fix the sign.
        cands = quat_multiply(q[:, None, :], _GROUP[None, :, :])  # (n, 24, 4)
        best = np.abs(rel @ quat_conjugate(_GROUP).T).argmax(axis=1)
        qq = cands[np.arange(len(q)), best]
        qq *= np.sign(qq @ ref)[:, None] + (qq @ ref == 0)[:, None]
        ref = quat_normalize(qq.mean(axis=0))
    return ref


def cluster_shape(positions, box=None, orientations=None, spacing=None):
    """Size and shape of one crystallite.

    With `box`, positions are unwrapped around the first cube by the minimum image (fine for
    clusters smaller than half the box; CrystalClusters.shapes() unwraps along bonds
    instead). Returns a dict with the gyration eigenvalues (ascending), radius of gyration,
    relative shape anisotropy kappa2 (0 for a cube or a sphere, -> 1 for a rod), elongation
    sqrt(lmax/lmin), the extents along the crystal's own axes (from the mean cube orientation;
    lab axes without orientations) and the cuboidality N a^3 / (product of extents), with a
    the median nearest-neighbour distance: 1 for a cube or any box-shaped crystallite, about
    0.35-0.5 for a sphere-shaped one.
    """
    pos = np.asarray(positions, dtype=float)
    if box is not None:
        pos = pos[0] + minimum_image(pos - pos[0], box)
    n = len(pos)
    c = pos.mean(axis=0)
    d = pos - c
    gyr = d.T @ d / n
    lam = np.sort(np.linalg.eigvalsh(gyr))
    tr = lam.sum()
    kappa2 = float(1.5 * (lam**2).sum() / tr**2 - 0.5) if tr > 0 else 0.0
    axes = (
        np.eye(3)
        if orientations is None
        else quaternion_matrices(mean_cubic_orientation(orientations)[None])[0]
    )
    proj = d @ axes
    if spacing is None:
        # Median nearest-neighbour distance inside the cluster (positions are unwrapped).
        if n > 1:
            from scipy.spatial import cKDTree

            spacing = float(np.median(cKDTree(pos).query(pos, k=2)[0][:, 1]))
        else:
            spacing = 1.0
    ext = np.ptp(proj, axis=0) + spacing
    return {
        "size": int(n),
        "gyration_eigenvalues": lam.tolist(),
        "radius_of_gyration": float(np.sqrt(tr)),
        "kappa2": kappa2,
        "elongation": float(np.sqrt(lam[-1] / lam[0])) if lam[0] > 0 else float("inf"),
        "extents": sorted(ext.tolist()),
        "cuboidality": float(n * spacing**3 / np.prod(ext)),
        "spacing": float(spacing),
    }


class CrystalClusters:
    """Crystalline cubes and their clusters in one frame (freud-style: compute, then read).

    After `compute(box, positions, orientations)`: `q4`, `q6`, `n_bonds`, `core`,
    `crystalline` (bool per cube), `cluster_idx` (-1 for non-crystalline cubes, clusters
    numbered by decreasing size), `cluster_sizes` (descending), `num_clusters`,
    `largest_cluster_size`, `crystalline_fraction`, `size_distribution` (size -> count),
    and `shapes()` (cluster_shape of each cluster of at least `min_shape_size` cubes).
    """

    def __init__(
        self, r_bond=1.3, max_bond_angle=30.0, max_misorientation=25.0, min_bonds=4, surface_bonds=3
    ):
        self.r_bond = r_bond
        self.max_bond_angle = max_bond_angle
        self.max_misorientation = max_misorientation
        self.min_bonds = min_bonds
        self.surface_bonds = surface_bonds

    def compute(self, box, positions, orientations):
        box = np.asarray(box, dtype=float)[:3]
        pos = np.asarray(positions, dtype=float)[:, :3]
        q = np.asarray(orientations, dtype=float)
        n = len(pos)
        self._box, self._pos, self._q = box, pos, q
        self.q4, self.q6 = steinhardt_q4_q6(box, pos)
        i, j = crystal_bonds(box, pos, q, self.r_bond, self.max_bond_angle, self.max_misorientation)
        self.n_bonds = np.bincount(np.concatenate([i, j]), minlength=n)
        self.core = self.n_bonds >= self.min_bonds
        cryst = self.core.copy()
        if self.surface_bonds is not None:
            to_core = np.bincount(i[self.core[j]], minlength=n) + np.bincount(j[self.core[i]], minlength=n)
            cryst |= to_core >= self.surface_bonds
        self.crystalline = cryst
        both = cryst[i] & cryst[j]
        self._bi, self._bj = i[both], j[both]
        self.crystalline_fraction = float(cryst.mean()) if n else 0.0

        # Clusters of crystalline cubes joined by crystal bonds (freud Cluster on the subset).
        sub = np.flatnonzero(cryst)
        self.cluster_idx = np.full(n, -1)
        if sub.size:
            new = np.full(n, -1)
            new[sub] = np.arange(sub.size)
            keep = cryst[i] & cryst[j]
            qi = np.concatenate([new[i[keep]], new[j[keep]]])
            pj = np.concatenate([new[j[keep]], new[i[keep]]])
            vec = minimum_image(pos[sub][pj] - pos[sub][qi], box)
            order = np.lexsort((pj, qi))
            nl = freud.locality.NeighborList.from_arrays(
                sub.size, sub.size, qi[order], pj[order], vec[order].astype(np.float32)
            )
            cl = freud.cluster.Cluster().compute(
                (freud.box.Box(*box), pos[sub].astype(np.float32)), neighbors=nl
            )
            idx = np.asarray(cl.cluster_idx)
            sizes = np.bincount(idx)
            rank = np.empty_like(sizes)
            rank[np.argsort(-sizes, kind="stable")] = np.arange(sizes.size)
            self.cluster_idx[sub] = rank[idx]
            self.cluster_sizes = np.sort(sizes)[::-1]
        else:
            self.cluster_sizes = np.zeros(0, dtype=int)
        self.num_clusters = int(self.cluster_sizes.size)
        self.largest_cluster_size = int(self.cluster_sizes[0]) if self.num_clusters else 0
        u, c = np.unique(self.cluster_sizes, return_counts=True)
        self.size_distribution = {int(a): int(b) for a, b in zip(u, c, strict=False)}
        return self

    def _unwrapped(self, members):
        """Positions of one cluster unwrapped along its bonds; flags a box-spanning cluster."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import breadth_first_order

        local = np.full(len(self._pos), -1)
        local[members] = np.arange(members.size)
        keep = (local[self._bi] >= 0) & (local[self._bj] >= 0)
        bi, bj = local[self._bi[keep]], local[self._bj[keep]]
        pos = self._pos[members]
        g = coo_matrix((np.ones(bi.size), (bi, bj)), shape=(members.size,) * 2)
        order, pred = breadth_first_order(g, 0, directed=False, return_predecessors=True)
        step = np.zeros_like(pos)
        step[order[1:]] = minimum_image(pos[order[1:]] - pos[pred[order[1:]]], self._box)
        out = pos.copy()
        for v in order[1:]:  # parents come first in BFS order
            out[v] = out[pred[v]] + step[v]
        # A bond whose unwrapped vector is not its minimum image closes a loop through the box.
        mismatch = out[bj] - out[bi] - minimum_image(pos[bj] - pos[bi], self._box)
        percolating = bool(bi.size and np.abs(mismatch).max() > 1e-6)
        return out, percolating

    def cluster_configuration(self, cluster):
        """(positions unwrapped along bonds, orientations, percolating) of cluster number `cluster`."""
        members = np.flatnonzero(self.cluster_idx == cluster)
        pos, percolating = self._unwrapped(members)
        return pos, self._q[members], percolating

    def largest_nonspanning(self, min_size=1):
        """Number of the largest cluster of >= `min_size` cubes that does not wrap around the
        periodic box, or None. Larger box-spanning clusters are skipped: their shape is the box's
        (an SP in the experiments is a finite crystal with faces, never a periodic one)."""
        for c, size in enumerate(self.cluster_sizes):
            if size < min_size:
                return None
            if not self._unwrapped(np.flatnonzero(self.cluster_idx == c))[1]:
                return c
        return None

    def shapes(self, min_shape_size=8, max_clusters=None):
        """cluster_shape() of each cluster with at least `min_shape_size` cubes, largest first.

        A cluster that wraps around the periodic box (e.g. the whole crystal) has no shape:
        its entry is {"size": n, "percolating": True} with the shape numbers set to None.
        """
        out = []
        for c, size in enumerate(self.cluster_sizes):
            if size < min_shape_size or (max_clusters is not None and len(out) >= max_clusters):
                break
            members = np.flatnonzero(self.cluster_idx == c)
            pos, percolating = self._unwrapped(members)
            if percolating:
                shape = {
                    k: None
                    for k in (
                        "gyration_eigenvalues",
                        "radius_of_gyration",
                        "kappa2",
                        "elongation",
                        "extents",
                        "cuboidality",
                        "spacing",
                    )
                }
                shape["size"] = int(size)
            else:
                shape = cluster_shape(pos, None, self._q[members])
            shape["percolating"] = percolating
            out.append(shape)
        return out


#: classify_state: a crystalline cluster this large is a nucleated crystallite; a bonded
#: aggregate this large without one is amorphous (docs/analysis.md, nucleation thresholds)
MIN_CRYSTAL = 30
MIN_AGGREGATE = 30
#: ... and, where the hard fluid the run was quenched from is known, at least this many times its
#: bonds per cube: a dense hard fluid has well contacts of its own (phi 0.4, well 1.3: 0.67 per
#: cube and a 74-cube contact cluster), which are packing, not aggregation
AGGREGATE_BOND_RATIO = 2.0


def _well_pairs(box, positions, well_range, sizes=None):
    """freud box, float32 centres and the neighbour list of pairs inside the well: centres closer
    than `well_range`, or than `well_range` times the pair's mean size given particle `sizes`
    (the engine's well, cubemc.pairs.square_well)."""
    fbox = freud.box.Box(*np.asarray(box, dtype=float)[:3])
    pos = np.asarray(positions, dtype=np.float32)[:, :3]
    reach = well_range * (1.0 if sizes is None else float(np.max(sizes)))
    query = freud.locality.AABBQuery(fbox, pos).query(pos, {"r_max": reach, "exclude_ii": True})
    nl = query.toNeighborList()
    if sizes is not None:
        s = np.asarray(sizes, dtype=float)
        mean = 0.5 * (s[nl.query_point_indices] + s[nl.point_indices])
        nl.filter(np.asarray(nl.distances) < well_range * mean)  # in place: the list is ours
    return fbox, pos, nl


def bonded_clusters(box, positions, well_range, sizes=None):
    """Sizes (descending) of the clusters of cubes joined by the square well (centres closer than
    `well_range`, times the pair's mean size given particle `sizes`), and the number of pairs."""
    fbox, pos, nl = _well_pairs(box, positions, well_range, sizes)
    cl = freud.cluster.Cluster().compute((fbox, pos), neighbors=nl)
    return np.sort(np.bincount(np.asarray(cl.cluster_idx)))[::-1], len(nl) // 2


def classify_state(
    box,
    positions,
    orientations,
    well_range,
    min_crystal=MIN_CRYSTAL,
    min_aggregate=MIN_AGGREGATE,
    clusters=None,
    reference=None,
):
    """Classify one frame as "crystal", "aggregate" or "fluid" (the issue-17 state diagram).

    "crystal": the largest crystalline cluster (CrystalClusters) has >= `min_crystal` cubes;
    "aggregate": otherwise, the largest cluster bonded by the well has >= `min_aggregate`
    cubes (amorphous or gel-like) and, given the `reference` (box, positions) of the hard fluid
    the run started from, at least AGGREGATE_BOND_RATIO times its bonds per cube; "fluid":
    neither. Returns a dict with the class and the numbers it rests on (largest crystalline and
    bonded clusters, bonds per cube, crystalline fraction, and the reference's bonded numbers).
    """
    cc = (clusters or CrystalClusters()).compute(box, positions, orientations)
    return classify_computed(cc, box, positions, well_range, min_crystal, min_aggregate, reference)


def classify_computed(  # noqa: PLR0913
    cc,
    box,
    positions,
    well_range,
    min_crystal=MIN_CRYSTAL,
    min_aggregate=MIN_AGGREGATE,
    reference=None,
    sizes=None,
):
    """classify_state of a frame whose CrystalClusters `cc` are already computed; `sizes`:
    particle sizes (the well scales with a pair's mean size), the reference's too."""
    bonded, n_pairs = bonded_clusters(box, positions, well_range, sizes)
    per_cube = n_pairs / int(bonded.sum())
    ref = None
    if reference is not None:
        ref_sizes, ref_pairs = bonded_clusters(reference[0], reference[1], well_range, sizes)
        ref = {"largest_bonded": int(ref_sizes[0]), "bonds_per_cube": ref_pairs / int(ref_sizes.sum())}
    beyond_packing = ref is None or per_cube >= AGGREGATE_BOND_RATIO * ref["bonds_per_cube"]
    if cc.largest_cluster_size >= min_crystal:
        label = "crystal"
    elif bonded[0] >= min_aggregate and beyond_packing:
        label = "aggregate"
    else:
        label = "fluid"
    return {
        "class": label,
        "largest_crystalline": cc.largest_cluster_size,
        "largest_bonded": int(bonded[0]),
        "bonds_per_cube": per_cube,
        "crystalline_fraction": cc.crystalline_fraction,
        "reference": ref,
    }
