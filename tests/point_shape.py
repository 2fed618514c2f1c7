"""A test-only shape: points that never overlap (an ideal gas with beta_epsilon = 0), so box moves
can be checked against the exact volume distribution of the isobaric ideal gas."""

import numpy as np

NAME = "test_point"
N_PARAMS = 0


def circumsphere_diameter(params):
    return 1.0  # sets the cell width (and the smallest box edge, 2), not an overlap


def insphere_diameter(params):
    return 1.0  # sets the cell capacity (about 38 per cell: far more than the tests use)


def overlap_distance2(params):
    return 0.0


def volumes(params, n):
    return np.zeros(n)


def gsd_shapes(params):
    return [{"type": "Sphere", "diameter": 0.0}]


def make(jit):
    @jit
    def pair_bounds(params, i, j):
        return 0.0, 0.0  # every centre distance is beyond the overlap distance

    @jit
    def overlap(dx, dy, dz, a, b, params, i, j):
        return False

    return {"pair_bounds": pair_bounds, "overlap": overlap}
