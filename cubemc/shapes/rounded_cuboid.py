"""Rounded cuboids: a cuboid core (a, b, c) swept by a sphere of radius r, from the sharp cuboid
(r = 0) to the sphere (core 0); outer edge = core edge + 2 r.  Exact overlap test.

Parameters per particle: (a, b, c, r), core edges >= 0 and r >= 0.  The size (docs/model-shapes.md)
is the mean outer edge (a + b + c) / 3 + 2 r.  Two particles overlap (touching counts) when the
distance between their cores is <= r_i + r_j:
  1. the cores overlap (the cuboid separating-axis test)  -> overlap;
  2. r_i + r_j = 0                                         -> no overlap (the sharp cuboid, bit for bit);
  3. the swept boxes (half extents + r) are separated     -> no overlap (they contain the particles);
  4. otherwise the exact distance of the two disjoint boxes: the closest points of disjoint convex
     polytopes lie on a vertex-box pair or on an edge-edge pair.  Every vertex of one box against
     the other box (16), and for each of the 9 edge directions the edge pair extreme along their
     common normal n = a_i x b_j (the only pair whose interior points can be closest: the
     connecting vector is then parallel to n and lies in both edges' normal cones).  Parallel
     edges are left to the vertex terms (sliding along them reaches an end point at the same
     distance); near-ties of the extreme edge take both candidates.  Zero core edges (plates,
     rods, needles, spheres) are boxes like any other: a zero-length edge is a vertex, and a zero
     half axis gives one extreme edge for both signs.
No arrays are allocated: the same source runs on the CPU and in CUDA.
"""

import math

import numpy as np

from .cuboid import BOUND_SLACK, box_vertices, make_box_overlap

NAME = "rounded_cuboid"
#: per-particle shape parameters: core edges along the body x, y, z axes and the rounding radius
N_PARAMS = 4
#: sin^2 of the angle below which two edges count as parallel, and the relative tie tolerance
PARALLEL2 = 1e-18
TIE = 1e-9


def check(params):
    """Raise InputError for negative core edges or radius, or particles without volume."""
    from ..errors import InputError

    p = np.asarray(params, np.float64)
    if p.ndim != 2 or p.shape[1] < 4:
        raise InputError(f"rounded_cuboid parameters must have shape (N, 4) = (a, b, c, r), got {p.shape}")
    if np.any(p[:, 3] < 0):
        raise InputError(f"the rounding radius must not be negative, got {p[p[:, 3] < 0, 3][0]}")
    if np.any(p[:, :3] < 0):
        raise InputError("core edge lengths of rounded cuboids must not be negative")
    if np.any(p[:, :3].min(axis=1) + 2 * p[:, 3] <= 0):
        raise InputError("a rounded cuboid needs a positive thickness: r > 0 or all core edges > 0")


def extents(params):
    p = np.asarray(params, np.float64)
    return p[:, :3] + 2.0 * p[:, 3:4]


def sizes(params, n):
    """Mean outer edge (same arithmetic as the device `size`)."""
    p = np.asarray(params, np.float64)
    return (p[:, 0] + p[:, 1] + p[:, 2]) / 3.0 + 2.0 * p[:, 3]


def circumsphere_diameter(params):
    p = np.asarray(params, np.float64)
    return float(np.max(np.sqrt(np.sum(p[:, :3] ** 2, axis=1)) + 2.0 * p[:, 3]))


def insphere_diameter(params):
    p = np.asarray(params, np.float64)
    return float(np.min(p[:, :3].min(axis=1) + 2.0 * p[:, 3]))


def overlap_distance2(params):
    return circumsphere_diameter(params) ** 2 * (1.0 + BOUND_SLACK)


def volumes(params, n):
    """Steiner: V + S r + M r^2 + 4 pi r^3 / 3 of the core box (S its area, M = pi (a + b + c))."""
    p = np.asarray(params, np.float64)
    a, b, c, r = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    area, curvature = 2.0 * (a * b + b * c + c * a), math.pi * (a + b + c)
    return a * b * c + area * r + curvature * r**2 + 4.0 * math.pi * r**3 / 3.0


def gsd_types(params):
    """(type_shapes, typeid): a ConvexPolyhedron with rounding_radius per distinct particle (the
    GSD form of a spheropolyhedron; a zero core is written as a Sphere)."""
    p = np.asarray(params, np.float64)[:, :4]
    rows, typeid = np.unique(p, axis=0, return_inverse=True)
    shapes = []
    for row in rows:
        if np.all(row[:3] == 0):
            shapes.append({"type": "Sphere", "diameter": 2.0 * float(row[3])})
        else:
            shapes.append(
                {
                    "type": "ConvexPolyhedron",
                    "rounding_radius": float(row[3]),
                    "vertices": box_vertices(0.5 * row[:3]),
                }
            )
    return shapes, typeid.reshape(-1).astype(np.uint32)


def gsd_shapes(params):
    if params is None:
        from ..errors import InputError

        raise InputError("rounded_cuboid GSD frames need the particles' shape parameters")
    return gsd_types(params)[0]


def _vector_functions(jit):
    @jit
    def dot(u, v):
        return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]

    @jit
    def segment_distance2(p, d1, q, d2):
        """Squared distance of segments p + s d1 and q + u d2, s, u in [-1, 1] (not parallel)."""
        r = (p[0] - q[0], p[1] - q[1], p[2] - q[2])
        a, e, b = dot(d1, d1), dot(d2, d2), dot(d1, d2)
        c, f = dot(d1, r), dot(d2, r)
        denom = a * e - b * b
        s = min(1.0, max(-1.0, (b * f - c * e) / denom)) if denom > 0.0 else 0.0
        u = (b * s + f) / e
        if u < -1.0:
            u = -1.0
            s = min(1.0, max(-1.0, (-b - c) / a))
        elif u > 1.0:
            u = 1.0
            s = min(1.0, max(-1.0, (b - c) / a))
        x, y, z = r[0] + s * d1[0] - u * d2[0], r[1] + s * d1[1] - u * d2[1], r[2] + s * d1[2] - u * d2[2]
        return x * x + y * y + z * z

    @jit
    def vertex_box2(t, w0, w1, w2, h):
        """Smallest squared distance of the 8 vertices t +- w0 +- w1 +- w2 of one box from the
        axis-aligned box with half extents h (the other box, in its own frame)."""
        best = math.inf
        for k in range(8):
            s0 = 1.0 if k & 4 else -1.0
            s1 = 1.0 if k & 2 else -1.0
            s2 = 1.0 if k & 1 else -1.0
            d2 = 0.0
            for axis in range(3):
                g = abs(t[axis] + s0 * w0[axis] + s1 * w1[axis] + s2 * w2[axis]) - h[axis]
                if g > 0.0:
                    d2 += g * g
            best = min(best, d2)
        return best

    return dot, segment_distance2, vertex_box2


def _edge_functions(jit):
    dot, segment_distance2, vertex_box2 = _vector_functions(jit)

    @jit
    def signs(proj, scale):
        """Range of signs of the extreme edge(s) along a direction with projection proj.  A zero
        half axis (plates, rods, spheres) has one edge for both signs: take it once (with
        proj = 0 = tie neither strict test would hold, leaving no edge at all)."""
        if scale == 0.0:
            return 1, 1
        tie = TIE * scale
        return (-1 if proj < tie else 1), (1 if proj > -tie else -1)

    @jit
    def edge_pair2(t, d1, u1, u2, d2, w1, w2):  # noqa: PLR0913 (vectors of both boxes)
        """Squared distance of the edge of A along d1 and the edge of B along d2 that are extreme
        along their common normal (A at the origin with other half axes u1, u2; B at t with w1, w2);
        infinite for parallel or degenerate edges (the vertex terms cover them)."""
        a, e = dot(d1, d1), dot(d2, d2)
        n = (d1[1] * d2[2] - d1[2] * d2[1], d1[2] * d2[0] - d1[0] * d2[2], d1[0] * d2[1] - d1[1] * d2[0])
        nn = dot(n, n)
        if a == 0.0 or e == 0.0 or nn <= PARALLEL2 * a * e:
            return math.inf
        sigma = 1.0 if dot(n, t) >= 0.0 else -1.0  # n points from A to B
        norm = math.sqrt(nn)
        lo1, hi1 = signs(sigma * dot(n, u1), norm * math.sqrt(dot(u1, u1)))
        lo2, hi2 = signs(sigma * dot(n, u2), norm * math.sqrt(dot(u2, u2)))
        lo3, hi3 = signs(-sigma * dot(n, w1), norm * math.sqrt(dot(w1, w1)))
        lo4, hi4 = signs(-sigma * dot(n, w2), norm * math.sqrt(dot(w2, w2)))
        best = math.inf
        for s1 in range(lo1, hi1 + 1, 2):
            for s2 in range(lo2, hi2 + 1, 2):
                p = (s1 * u1[0] + s2 * u2[0], s1 * u1[1] + s2 * u2[1], s1 * u1[2] + s2 * u2[2])
                for s3 in range(lo3, hi3 + 1, 2):
                    for s4 in range(lo4, hi4 + 1, 2):
                        q = (
                            t[0] + s3 * w1[0] + s4 * w2[0],
                            t[1] + s3 * w1[1] + s4 * w2[1],
                            t[2] + s3 * w1[2] + s4 * w2[2],
                        )
                        best = min(best, segment_distance2(p, d1, q, d2))
        return best

    return edge_pair2, vertex_box2


def make_box_distance2(jit):
    """Squared distance between two disjoint boxes (device function)."""
    edge_pair2, vertex_box2 = _edge_functions(jit)

    @jit
    def box_distance2(dx, dy, dz, a, b, ha, hb):  # noqa: PLR0913 (scalars and tuples)
        """Box B (matrix b, half extents hb) at (dx, dy, dz) from box A (matrix a, half extents
        ha), both disjoint: the squared distance of their closest points."""
        t = (
            a[0] * dx + a[3] * dy + a[6] * dz,
            a[1] * dx + a[4] * dy + a[7] * dz,
            a[2] * dx + a[5] * dy + a[8] * dz,
        )
        # columns of R = A^T B: B's unit axes in A's frame
        c0 = (
            a[0] * b[0] + a[3] * b[3] + a[6] * b[6],
            a[1] * b[0] + a[4] * b[3] + a[7] * b[6],
            a[2] * b[0] + a[5] * b[3] + a[8] * b[6],
        )
        c1 = (
            a[0] * b[1] + a[3] * b[4] + a[6] * b[7],
            a[1] * b[1] + a[4] * b[4] + a[7] * b[7],
            a[2] * b[1] + a[5] * b[4] + a[8] * b[7],
        )
        c2 = (
            a[0] * b[2] + a[3] * b[5] + a[6] * b[8],
            a[1] * b[2] + a[4] * b[5] + a[7] * b[8],
            a[2] * b[2] + a[5] * b[5] + a[8] * b[8],
        )
        b0 = (c0[0] * hb[0], c0[1] * hb[0], c0[2] * hb[0])
        b1 = (c1[0] * hb[1], c1[1] * hb[1], c1[2] * hb[1])
        b2 = (c2[0] * hb[2], c2[1] * hb[2], c2[2] * hb[2])
        a0, a1, a2 = (ha[0], 0.0, 0.0), (0.0, ha[1], 0.0), (0.0, 0.0, ha[2])
        best = vertex_box2(t, b0, b1, b2, ha)
        # A's vertices in B's frame: centre -R^T t, half axes ha_k times row k of R
        tb = (
            -(c0[0] * t[0] + c0[1] * t[1] + c0[2] * t[2]),
            -(c1[0] * t[0] + c1[1] * t[1] + c1[2] * t[2]),
            -(c2[0] * t[0] + c2[1] * t[1] + c2[2] * t[2]),
        )
        best = min(
            best,
            vertex_box2(
                tb,
                (c0[0] * ha[0], c1[0] * ha[0], c2[0] * ha[0]),
                (c0[1] * ha[1], c1[1] * ha[1], c2[1] * ha[1]),
                (c0[2] * ha[2], c1[2] * ha[2], c2[2] * ha[2]),
                hb,
            ),
        )
        best = min(
            best,
            edge_pair2(t, a0, a1, a2, b0, b1, b2),
            edge_pair2(t, a0, a1, a2, b1, b2, b0),
            edge_pair2(t, a0, a1, a2, b2, b0, b1),
            edge_pair2(t, a1, a2, a0, b0, b1, b2),
            edge_pair2(t, a1, a2, a0, b1, b2, b0),
            edge_pair2(t, a1, a2, a0, b2, b0, b1),
            edge_pair2(t, a2, a0, a1, b0, b1, b2),
            edge_pair2(t, a2, a0, a1, b1, b2, b0),
            edge_pair2(t, a2, a0, a1, b2, b0, b1),
        )
        return best

    return box_distance2


def make(jit):
    """Device functions: size, pair_bounds and overlap (touching counts as overlapping)."""
    box_overlap = make_box_overlap(jit)
    box_distance2 = make_box_distance2(jit)

    @jit
    def size(params, i):
        """Mean outer edge of particle i."""
        return (params[i, 0] + params[i, 1] + params[i, 2]) / 3.0 + 2.0 * params[i, 3]

    @jit
    def pair_bounds(params, i, j):
        """(circumsphere, insphere) contact distances squared of particles i and j."""
        a0, a1, a2 = params[i, 0], params[i, 1], params[i, 2]
        b0, b1, b2 = params[j, 0], params[j, 1], params[j, 2]
        swept = params[i, 3] + params[j, 3]
        outer = (
            0.5 * (math.sqrt(a0 * a0 + a1 * a1 + a2 * a2) + math.sqrt(b0 * b0 + b1 * b1 + b2 * b2)) + swept
        )
        inner = 0.5 * (min(a0, a1, a2) + min(b0, b1, b2)) + swept
        return outer * outer * (1.0 + BOUND_SLACK), inner * inner

    @jit
    def overlap(dx, dy, dz, a, b, params, i, j):
        """Exact test of particle j (matrix b) at (dx, dy, dz) from particle i (matrix a)."""
        ha = (0.5 * params[i, 0], 0.5 * params[i, 1], 0.5 * params[i, 2])
        hb = (0.5 * params[j, 0], 0.5 * params[j, 1], 0.5 * params[j, 2])
        if box_overlap(dx, dy, dz, a, b, ha[0], ha[1], ha[2], hb[0], hb[1], hb[2]):
            return True  # the cores overlap
        ri, rj = params[i, 3], params[j, 3]
        swept = ri + rj
        if swept == 0.0:
            return False  # sharp cuboids: the separating-axis test decided
        if not box_overlap(
            dx, dy, dz, a, b, ha[0] + ri, ha[1] + ri, ha[2] + ri, hb[0] + rj, hb[1] + rj, hb[2] + rj
        ):
            return False  # even the boxes around the rounded particles are apart
        return box_distance2(dx, dy, dz, a, b, ha, hb) <= swept * swept

    return {"size": size, "pair_bounds": pair_bounds, "overlap": overlap}
