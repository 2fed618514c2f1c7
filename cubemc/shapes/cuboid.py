"""Cuboids with per-particle edge lengths (a, b, c) along the body x, y, z axes: exact
separating-axis test.  Size polydispersity (a = b = c varying) and aspect ratios are one family.

Parameters per particle: (a, b, c), all positive.  The particle size (the pair energy's length
scale, docs/model-shapes.md) is the mean edge (a + b + c) / 3, so a cube of edge e has size e.
A cuboid (1, 1, 1) runs exactly the arithmetic of cubemc.shapes.cube (bit-identical decisions).
"""

import math

import numpy as np

from .cube import SAT_EPS

NAME = "cuboid"
#: per-particle shape parameters: edge lengths along the body x, y and z axes
N_PARAMS = 3
#: the separating-axis test is small: the CPU kernels inline it (cubemc/kernels.py)
INLINE = True
#: relative widening of the circumsphere bound: sqrt and squares round, and a pair at exactly the
#: circumsphere distance may touch; a wider bound only sends a few more pairs to the exact test
BOUND_SLACK = 1e-9


def check(params):
    """Raise InputError unless every edge length is a positive finite number."""
    from ..errors import InputError

    p = np.asarray(params, np.float64)
    if p.ndim != 2 or p.shape[1] < 3:
        raise InputError(f"cuboid parameters must have shape (N, 3) = edges (a, b, c), got {p.shape}")
    edges = p[:, :3]
    if not np.all(np.isfinite(edges)) or np.any(edges <= 0):
        k = int(np.flatnonzero(~(np.isfinite(edges) & (edges > 0)).all(1))[0])
        raise InputError(
            f"cuboid edge lengths must be positive finite numbers, particle {k} has {edges[k].tolist()}"
        )


def extents(params):
    """(n, 3) outer edge lengths along the body axes."""
    return np.asarray(params, np.float64)[:, :3]


def sizes(params, n):
    """Particle sizes: the mean edge (a + b + c) / 3 (same arithmetic as the device `size`)."""
    p = np.asarray(params, np.float64)
    return (p[:, 0] + p[:, 1] + p[:, 2]) / 3.0


def circumsphere_diameter(params):
    """Largest circumsphere diameter (space diagonal; sqrt(3) for the unit cube, as cube's)."""
    p = np.asarray(params, np.float64)
    return float(np.sqrt(np.max(np.sum(p[:, :3] ** 2, axis=1))))


def insphere_diameter(params):
    """Smallest insphere diameter: the shortest edge of any particle."""
    return float(np.min(np.asarray(params, np.float64)[:, :3]))


def overlap_distance2(params):
    """Largest squared centre distance at which two cuboids of this system can overlap
    (slightly widened: BOUND_SLACK)."""
    return circumsphere_diameter(params) ** 2 * (1.0 + BOUND_SLACK)


def volumes(params, n):
    p = np.asarray(params, np.float64)
    return p[:, 0] * p[:, 1] * p[:, 2]


def box_vertices(half):
    """The 8 vertices of a box with half extents `half`, x slowest (cube.VERTICES order)."""
    hx, hy, hz = (float(h) for h in half)
    return [[x, y, z] for x in (-hx, hx) for y in (-hy, hy) for z in (-hz, hz)]


def gsd_types(params):
    """(type_shapes, typeid): one ConvexPolyhedron type per distinct edge triple.

    Half edges are exact in binary, and JSON keeps every double, so the edges read back exactly.
    """
    p = np.asarray(params, np.float64)[:, :3]
    rows, typeid = np.unique(p, axis=0, return_inverse=True)
    shapes = [
        {"type": "ConvexPolyhedron", "rounding_radius": 0.0, "vertices": box_vertices(0.5 * row)}
        for row in rows
    ]
    return shapes, typeid.reshape(-1).astype(np.uint32)


def gsd_shapes(params):
    """particles/type_shapes entries (one per distinct cuboid); needs the parameters."""
    if params is None:
        from ..errors import InputError

        raise InputError("cuboid GSD frames need the particles' shape parameters")
    return gsd_types(params)[0]


def make_box_overlap(jit):
    """The 15-axis separating-axis test of two boxes with given half extents (device function)."""

    @jit
    def box_overlap(dx, dy, dz, a, b, ha0, ha1, ha2, hb0, hb1, hb2):  # noqa: PLR0913 (scalars only)
        """True when box B (matrix b, half extents hb) at (dx, dy, dz) from box A (matrix a, half
        extents ha) overlaps or touches A (strict '>' for separation).

        Each sum is ordered as in cube.overlap, so equal half extents of 0.5 give the cube's
        decisions bit for bit (0.5 * x is exact).
        """
        t0 = a[0] * dx + a[3] * dy + a[6] * dz
        t1 = a[1] * dx + a[4] * dy + a[7] * dz
        t2 = a[2] * dx + a[5] * dy + a[8] * dz
        r00 = a[0] * b[0] + a[3] * b[3] + a[6] * b[6]
        r01 = a[0] * b[1] + a[3] * b[4] + a[6] * b[7]
        r02 = a[0] * b[2] + a[3] * b[5] + a[6] * b[8]
        r10 = a[1] * b[0] + a[4] * b[3] + a[7] * b[6]
        r11 = a[1] * b[1] + a[4] * b[4] + a[7] * b[7]
        r12 = a[1] * b[2] + a[4] * b[5] + a[7] * b[8]
        r20 = a[2] * b[0] + a[5] * b[3] + a[8] * b[6]
        r21 = a[2] * b[1] + a[5] * b[4] + a[8] * b[7]
        r22 = a[2] * b[2] + a[5] * b[5] + a[8] * b[8]
        # SAT_EPS keeps (nearly) parallel edges from a false separation (see cube.SAT_EPS)
        e00 = abs(r00) + SAT_EPS
        e01 = abs(r01) + SAT_EPS
        e02 = abs(r02) + SAT_EPS
        e10 = abs(r10) + SAT_EPS
        e11 = abs(r11) + SAT_EPS
        e12 = abs(r12) + SAT_EPS
        e20 = abs(r20) + SAT_EPS
        e21 = abs(r21) + SAT_EPS
        e22 = abs(r22) + SAT_EPS
        # face axes of A
        if abs(t0) > ha0 + hb0 * e00 + hb1 * e01 + hb2 * e02:
            return False
        if abs(t1) > ha1 + hb0 * e10 + hb1 * e11 + hb2 * e12:
            return False
        if abs(t2) > ha2 + hb0 * e20 + hb1 * e21 + hb2 * e22:
            return False
        # face axes of B
        if abs(t0 * r00 + t1 * r10 + t2 * r20) > hb0 + ha0 * e00 + ha1 * e10 + ha2 * e20:
            return False
        if abs(t0 * r01 + t1 * r11 + t2 * r21) > hb1 + ha0 * e01 + ha1 * e11 + ha2 * e21:
            return False
        if abs(t0 * r02 + t1 * r12 + t2 * r22) > hb2 + ha0 * e02 + ha1 * e12 + ha2 * e22:
            return False
        # edge-edge axes a_i x b_j
        if abs(t2 * r10 - t1 * r20) > ha2 * e10 + ha1 * e20 + hb2 * e01 + hb1 * e02:
            return False
        if abs(t2 * r11 - t1 * r21) > ha2 * e11 + ha1 * e21 + hb2 * e00 + hb0 * e02:
            return False
        if abs(t2 * r12 - t1 * r22) > ha2 * e12 + ha1 * e22 + hb1 * e00 + hb0 * e01:
            return False
        if abs(t0 * r20 - t2 * r00) > ha0 * e20 + ha2 * e00 + hb2 * e11 + hb1 * e12:
            return False
        if abs(t0 * r21 - t2 * r01) > ha0 * e21 + ha2 * e01 + hb2 * e10 + hb0 * e12:
            return False
        if abs(t0 * r22 - t2 * r02) > ha0 * e22 + ha2 * e02 + hb1 * e10 + hb0 * e11:
            return False
        if abs(t1 * r00 - t0 * r10) > ha1 * e00 + ha0 * e10 + hb2 * e21 + hb1 * e22:
            return False
        if abs(t1 * r01 - t0 * r11) > ha1 * e01 + ha0 * e11 + hb2 * e20 + hb0 * e22:
            return False
        if abs(t1 * r02 - t0 * r12) > ha1 * e02 + ha0 * e12 + hb1 * e20 + hb0 * e21:
            return False
        return True

    return box_overlap


def make(jit):
    """Device functions: size, pair_bounds and overlap (touching counts as overlapping)."""
    box_overlap = make_box_overlap(jit)

    @jit
    def size(params, i):
        """Mean edge of particle i."""
        return (params[i, 0] + params[i, 1] + params[i, 2]) / 3.0

    @jit
    def pair_bounds(params, i, j):
        """(circumsphere, insphere) contact distances squared of cuboids i and j."""
        a0, a1, a2 = params[i, 0], params[i, 1], params[i, 2]
        b0, b1, b2 = params[j, 0], params[j, 1], params[j, 2]
        outer = 0.5 * (math.sqrt(a0 * a0 + a1 * a1 + a2 * a2) + math.sqrt(b0 * b0 + b1 * b1 + b2 * b2))
        inner = 0.5 * (min(a0, a1, a2) + min(b0, b1, b2))
        return outer * outer * (1.0 + BOUND_SLACK), inner * inner

    @jit
    def overlap(dx, dy, dz, a, b, params, i, j):
        """Exact test of cuboid j (matrix b) at (dx, dy, dz) from cuboid i (matrix a)."""
        return box_overlap(
            dx,
            dy,
            dz,
            a,
            b,
            0.5 * params[i, 0],
            0.5 * params[i, 1],
            0.5 * params[i, 2],
            0.5 * params[j, 0],
            0.5 * params[j, 1],
            0.5 * params[j, 2],
        )

    return {"size": size, "pair_bounds": pair_bounds, "overlap": overlap}
