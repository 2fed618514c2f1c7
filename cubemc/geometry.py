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
