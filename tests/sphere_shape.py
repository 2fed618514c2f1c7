"""A test-only shape: hard spheres of diameter 1 (shows that a new shape is one module plus
`cubemc.shapes.register`, and gives exactly known answers)."""

import math

import numpy as np

NAME = "test_sphere"
N_PARAMS = 0


def circumsphere_diameter(params):
    return 1.0


def insphere_diameter(params):
    return 1.0


def overlap_distance2(params):
    return 1.0


def volumes(params, n):
    return np.full(n, math.pi / 6)


def gsd_shapes(params):
    return [{"type": "Sphere", "diameter": 1.0}]


def make(jit):
    @jit
    def pair_bounds(params, i, j):
        return 1.0, 1.0  # centres closer than 1 overlap, farther never: no exact test needed

    @jit
    def overlap(dx, dy, dz, a, b, params, i, j):
        return dx * dx + dy * dy + dz * dz < 1.0

    return {"pair_bounds": pair_bounds, "overlap": overlap}
