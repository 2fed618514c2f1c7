"""The unit cube (edge 1, vertices at (+-1/2)^3 in the body frame): exact separating-axis test.

A shape module gives the kernels what they need and nothing else (see cubemc/shapes/__init__.py):
host-side constants and descriptions, and `make(jit)` returning the device functions.
"""

import math

import numpy as np

NAME = "cube"
#: per-particle shape parameters (none: every cube is the unit cube)
N_PARAMS = 0
#: the separating-axis test is small: the CPU kernels inline it (cubemc/kernels.py)
INLINE = True
#: body-frame vertices, as HOOMD and OVITO expect them
VERTICES = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
CIRCUMSPHERE_DIAMETER = math.sqrt(3.0)
INSPHERE_DIAMETER = 1.0
VOLUME = 1.0
#: added to |R_ij| in the separating-axis test so that (nearly) parallel edges, whose cross-product
#: axis degenerates to ~0, never report a false separation through rounding (inflates the excluded
#: volume by ~1e-12, far below any statistical resolution).
SAT_EPS = 1e-12


def circumsphere_diameter(params):
    """Largest circumsphere diameter of the particles with these parameters (N, N_PARAMS)."""
    return CIRCUMSPHERE_DIAMETER


def insphere_diameter(params):
    """Smallest insphere diameter (centres closer than this always overlap)."""
    return INSPHERE_DIAMETER


def overlap_distance2(params):
    """Largest squared centre distance at which two cubes can overlap (exactly 3.0)."""
    return 3.0


def volumes(params, n):
    return np.full(n, VOLUME)


def sizes(params, n):
    """Particle sizes: every cube has size 1 (its edge)."""
    return np.ones(n)


def gsd_shapes(params):
    """particles/type_shapes entries (one type)."""
    return [{"type": "ConvexPolyhedron", "rounding_radius": 0.0, "vertices": VERTICES.tolist()}]


def make(jit):
    """Device functions: pair_bounds, overlap (touching counts as overlapping) and size."""

    @jit
    def size(params, i):
        """The size of every unit cube (the pair energy's length scale)."""
        return 1.0

    @jit
    def pair_bounds(params, i, j):
        """(circumsphere, insphere) contact distance squared of particles i and j."""
        return 3.0, 1.0

    @jit
    def overlap(dx, dy, dz, a, b, params, i, j):
        """Exact test for unit cubes with rotation matrices a, b (9-tuples): 15 separating axes.

        B sits at (dx, dy, dz) from A.  Returns True when the cubes overlap or touch (strict '>'
        for separation).
        """
        h = 0.5
        # t = A^T d : centre offset in A's frame
        t0 = a[0] * dx + a[3] * dy + a[6] * dz
        t1 = a[1] * dx + a[4] * dy + a[7] * dz
        t2 = a[2] * dx + a[5] * dy + a[8] * dz
        # R_ij = a_i . b_j
        r00 = a[0] * b[0] + a[3] * b[3] + a[6] * b[6]
        r01 = a[0] * b[1] + a[3] * b[4] + a[6] * b[7]
        r02 = a[0] * b[2] + a[3] * b[5] + a[6] * b[8]
        r10 = a[1] * b[0] + a[4] * b[3] + a[7] * b[6]
        r11 = a[1] * b[1] + a[4] * b[4] + a[7] * b[7]
        r12 = a[1] * b[2] + a[4] * b[5] + a[7] * b[8]
        r20 = a[2] * b[0] + a[5] * b[3] + a[8] * b[6]
        r21 = a[2] * b[1] + a[5] * b[4] + a[8] * b[7]
        r22 = a[2] * b[2] + a[5] * b[5] + a[8] * b[8]
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
        if abs(t0) > h * (1.0 + e00 + e01 + e02):
            return False
        if abs(t1) > h * (1.0 + e10 + e11 + e12):
            return False
        if abs(t2) > h * (1.0 + e20 + e21 + e22):
            return False
        # face axes of B
        if abs(t0 * r00 + t1 * r10 + t2 * r20) > h * (1.0 + e00 + e10 + e20):
            return False
        if abs(t0 * r01 + t1 * r11 + t2 * r21) > h * (1.0 + e01 + e11 + e21):
            return False
        if abs(t0 * r02 + t1 * r12 + t2 * r22) > h * (1.0 + e02 + e12 + e22):
            return False
        # edge-edge axes a_i x b_j
        if abs(t2 * r10 - t1 * r20) > h * (e10 + e20 + e01 + e02):
            return False
        if abs(t2 * r11 - t1 * r21) > h * (e11 + e21 + e00 + e02):
            return False
        if abs(t2 * r12 - t1 * r22) > h * (e12 + e22 + e00 + e01):
            return False
        if abs(t0 * r20 - t2 * r00) > h * (e20 + e00 + e11 + e12):
            return False
        if abs(t0 * r21 - t2 * r01) > h * (e21 + e01 + e10 + e12):
            return False
        if abs(t0 * r22 - t2 * r02) > h * (e22 + e02 + e10 + e11):
            return False
        if abs(t1 * r00 - t0 * r10) > h * (e00 + e10 + e21 + e22):
            return False
        if abs(t1 * r01 - t0 * r11) > h * (e01 + e11 + e20 + e22):
            return False
        if abs(t1 * r02 - t0 * r12) > h * (e02 + e12 + e20 + e21):
            return False
        return True

    return {"pair_bounds": pair_bounds, "overlap": overlap, "size": size}
