"""Geometry helpers of the analysis that the engine does not need.

Quaternions are scalar first, (w, x, y, z), as in GSD/HOOMD/freud. The functions here
broadcast over leading axes and work in float64 (GSD stores float32). Rotation matrices,
random rotations and the cube's vertices come from `cubemc.geometry` (one definition each).
"""

import itertools

import numpy as np


def quat_multiply(p, q):
    """Hamilton product p * q (rotation q first, then p)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        axis=-1,
    )


def quat_conjugate(q):
    """Inverse of a unit quaternion."""
    q = np.array(q, dtype=float)
    q[..., 1:] *= -1.0
    return q


def quat_normalize(q):
    q = np.asarray(q, dtype=float)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_from_axis_angle(axis, angle):
    """Quaternion for a rotation by `angle` (radians) about `axis`."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    angle, _ = np.broadcast_arrays(np.asarray(angle, dtype=float), axis[..., 0])
    angle = angle[..., None]
    return np.concatenate([np.cos(angle / 2), np.sin(angle / 2) * axis], axis=-1)


def matrix_to_quat(m):
    """Unit quaternion (w >= 0 where possible) of a single proper rotation matrix."""
    m = np.asarray(m, dtype=float)
    tr = np.trace(m)
    # Pick the largest diagonal combination to avoid dividing by ~0.
    cands = [tr, m[0, 0], m[1, 1], m[2, 2]]
    k = int(np.argmax(cands))
    if k == 0:
        s = 2.0 * np.sqrt(1.0 + tr)
        q = [s / 4, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif k == 1:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif k == 2:
        s = 2.0 * np.sqrt(1.0 - m[0, 0] + m[1, 1] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 - m[0, 0] - m[1, 1] + m[2, 2])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4]
    q = np.array(q)
    return q if q[0] >= 0 else -q


def cube_group():
    """The 24 proper rotations of the cube as quaternions, shape (24, 4); row 0 is identity."""
    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            m = np.zeros((3, 3))
            m[np.arange(3), perm] = signs
            if np.linalg.det(m) > 0:
                mats.append(m)
    quats = np.array([matrix_to_quat(m) for m in mats])
    order = np.argsort(-quats[:, 0], kind="stable")  # identity (w = 1) first
    return quats[order]


def minimum_image(d, box):
    """Wrap displacement vectors into the orthorhombic periodic box."""
    box = np.asarray(box, dtype=float)[:3]
    return d - box * np.round(d / box)


def wrap(positions, box):
    """Wrap positions into [-L/2, L/2)."""
    box = np.asarray(box, dtype=float)[:3]
    return positions - box * np.floor(positions / box + 0.5)


def lattice_sites(n_cells, box):
    """Simple-cubic sites in the engine's order: k = (ix*ny + iy)*nz + iz at -L/2 + (i+1/2)*a."""
    n = np.broadcast_to(np.asarray(n_cells, dtype=int), (3,))
    box = np.asarray(box, dtype=float)[:3]
    a = box / n
    idx = np.stack(np.meshgrid(*(np.arange(k) for k in n), indexing="ij"), -1).reshape(-1, 3)
    return -box / 2 + (idx + 0.5) * a


def site_index(ijk, n_cells):
    """Flat site index of integer lattice coordinates (periodic)."""
    n = np.broadcast_to(np.asarray(n_cells, dtype=int), (3,))
    ijk = np.mod(np.asarray(ijk, dtype=int), n)
    return (ijk[..., 0] * n[1] + ijk[..., 1]) * n[2] + ijk[..., 2]


def site_coords(index, n_cells):
    """Integer lattice coordinates (ix, iy, iz) of flat site indices."""
    n = np.broadcast_to(np.asarray(n_cells, dtype=int), (3,))
    index = np.asarray(index, dtype=int)
    return np.stack([index // (n[1] * n[2]), (index // n[2]) % n[1], index % n[2]], axis=-1)


def sc_lattice(n, a, vacancies=()):
    """Positions of an n x n x n simple-cubic crystal (engine convention) minus `vacancies`.

    Returns (positions, box). Handy for synthetic test data.
    """
    box = np.full(3, n * a)
    sites = lattice_sites(n, box)
    keep = np.ones(len(sites), dtype=bool)
    keep[list(vacancies)] = False
    return sites[keep], box


def fibonacci_sphere(n):
    """n nearly uniform unit vectors (golden-angle spiral), deterministic."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=-1)
