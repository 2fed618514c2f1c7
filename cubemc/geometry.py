"""Cube geometry shared by the state builders, the writers and the tests."""

import math

import numpy as np

#: body-frame vertices of the unit cube (edge 1), as HOOMD and OVITO expect them
CUBE_VERTICES = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
#: circumsphere diameter: centres farther apart than this never overlap
CIRCUMSPHERE_DIAMETER = math.sqrt(3.0)


def interaction_range(well_range=0.0):
    """Largest centre distance at which two cubes can interact (hard core or well)."""
    return max(CIRCUMSPHERE_DIAMETER, float(well_range))


def cell_grid(box, well_range=0.0):
    """Even cell counts per axis with cells at least one interaction range wide, and a cell capacity.

    Returns (grid, capacity) or raises ValueError when the box is thinner than two ranges.
    """
    r_int = interaction_range(well_range)
    box = np.asarray(box, np.float64)
    grid = 2 * np.floor(box / (2.0 * r_int)).astype(np.int64)
    if np.any(grid < 2):
        raise ValueError(
            f"box {tuple(np.round(box, 4))} is too small: every edge must be at least "
            f"{2 * r_int:.4f} (twice the interaction range {r_int:.4f})")
    width = float(np.max(box / grid))
    # cube centres are >= 1 apart: disjoint balls of radius 1/2 in a cell grown by 1/2 per side,
    # at most the densest sphere packing (0.7405) of that volume
    capacity = int(0.7405 * (width + 1.0) ** 3 / (math.pi / 6.0)) + 1
    return grid, capacity


def random_quaternions(rng, n):
    """Uniform random rotations (normalised 4D Gaussians)."""
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def quaternion_matrices(q):
    """(n, 3, 3) rotation matrices of unit quaternions (w, x, y, z); column k is body axis k."""
    q = np.asarray(q, np.float64)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)
