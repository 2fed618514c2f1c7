"""The exact cube overlap test against independent geometry."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from cubemc.geometry import CUBE_VERTICES, overlaps, quaternion_matrices, random_quaternions

#: pairs closer to contact than this (distance of the origin to the hull) are not compared:
#: both methods round differently there, and the engine's own slack is 1e-12
TOL = 1e-9


def quat_about(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis])


def quat_mul(p, q):
    w1, x1, y1, z1 = p.T
    w2, x2, y2, z2 = q.T
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        -1,
    )


def sat(d, qa, qb):
    return overlaps(d, qa, qb)


def hull_margin(d, qa, qb):
    """Signed distance of the origin from the Minkowski difference A - B (negative = overlap).

    Independent of the SAT: the cubes' interiors intersect iff the origin lies strictly inside the
    convex hull of all 64 vertex differences.
    """
    va = np.einsum("nij,kj->nki", quaternion_matrices(qa), CUBE_VERTICES)
    vb = np.einsum("nij,kj->nki", quaternion_matrices(qb), CUBE_VERTICES) + d[:, None, :]
    margin = np.empty(len(d))
    for k in range(len(d)):
        hull = ConvexHull((va[k][:, None, :] - vb[k][None, :, :]).reshape(-1, 3))
        margin[k] = hull.equations[:, 3].max()  # unit normals: offset = -distance of origin
    return margin


def contact_distance(direction, qa, qb):
    """Bisection (on the SAT) for the centre distance at which B along `direction` touches A."""
    lo, hi = np.full(len(direction), 1.0 - 1e-9), np.full(len(direction), np.sqrt(3.0) + 1e-9)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        over = sat(direction * mid[:, None], qa, qb)
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return hi


def unit_vectors(rng, n):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def configurations(rng, n):
    """About n pairs: random, near-contact, face-to-face, edge-to-edge and parallel-edge."""
    k = n // 5
    out = []
    # random relative positions and orientations within the circumsphere reach
    out.append((rng.uniform(-1.8, 1.8, (k, 3)), random_quaternions(rng, k), random_quaternions(rng, k)))
    # near contact: random direction and orientations at contact distance * (1 +- up to 1e-4)
    qa, qb, u = random_quaternions(rng, k), random_quaternions(rng, k), unit_vectors(rng, k)
    r = contact_distance(u, qa, qb) * (1 + rng.uniform(-1e-4, 1e-4, k))
    out.append((u * r[:, None], qa, qb))
    # face to face: common random frame, B offset along A's x axis by 1 +- 1e-3 with a lateral shift
    qa = random_quaternions(rng, k)
    turns = np.array([quat_about([0, 0, 1], a) for a in rng.choice([0, np.pi / 2, np.pi], k)])
    qb = quat_mul(qa, turns)
    local = np.stack([1 + rng.uniform(-1e-3, 1e-3, k), rng.uniform(-1, 1, k), rng.uniform(-1, 1, k)], 1)
    out.append((np.einsum("nij,nj->ni", quaternion_matrices(qa), local), qa, qb))
    # edge to edge: B turned 45 degrees about A's z (its edge points at A's face) or about
    # x then z (edge across edge), offset near contact along the diagonal
    qa = random_quaternions(rng, k)
    twist = np.array(
        [
            quat_mul(quat_about([0, 0, 1], np.pi / 4)[None], quat_about([1, 0, 0], b)[None])[0]
            for b in rng.choice([0.0, np.pi / 4], k)
        ]
    )
    qb = quat_mul(qa, twist)
    diag = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    local = diag[None] * (np.sqrt(2) * (1 + rng.uniform(-0.2, 0.2, k)))[:, None]
    local[:, 2] = rng.uniform(-1e-3, 1e-3, k)
    out.append((np.einsum("nij,nj->ni", quaternion_matrices(qa), local), qa, qb))
    # parallel edges: both cubes turned about the same lab axis z by independent angles,
    # centres in the xy plane near contact, so their z edges are exactly parallel
    qa = np.array([quat_about([0, 0, 1], a) for a in rng.uniform(0, np.pi, k)])
    qb = np.array([quat_about([0, 0, 1], a) for a in rng.uniform(0, np.pi, k)])
    u = unit_vectors(rng, k)
    u[:, 2] = rng.uniform(-0.3, 0.3, k)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = contact_distance(u, qa, qb) * (1 + rng.uniform(-1e-3, 1e-3, k))
    out.append((u * r[:, None], qa, qb))
    return [np.concatenate(parts) for parts in zip(*out, strict=True)]


@pytest.mark.slow
def test_overlap_agrees_with_minkowski_hull_on_1e5_pairs():
    rng = np.random.default_rng(2024)
    d, qa, qb = configurations(rng, 100_000)
    assert len(d) >= 100_000
    fast = sat(d, qa, qb)
    margin = hull_margin(d, qa, qb)
    decided = np.abs(margin) > TOL
    assert decided.mean() > 0.999  # nearly every pair is far enough from contact to compare
    truth = margin < 0
    wrong = np.flatnonzero(decided & (fast != truth))
    assert wrong.size == 0, f"{wrong.size} disagreements, first {d[wrong[:3]]}"
    # the sample really probes both sides of contact in every category
    for part in np.array_split(np.arange(len(d)), 5):
        assert 0.05 < truth[part].mean() < 0.95


def test_overlap_simple_cases():
    ident = np.array([[1.0, 0, 0, 0]])
    rot45 = quat_about([0, 0, 1], np.pi / 4)[None]
    cases = [  # (offset, qa, qb, overlap)
        ([1.0 + 1e-9, 0, 0], ident, ident, False),  # face to face, a hair apart
        ([1.0, 0, 0], ident, ident, True),  # touching counts as overlap
        ([0.999, 0.3, -0.2], ident, ident, True),
        ([0.5 + np.sqrt(0.5) + 1e-7, 0, 0], ident, rot45, False),  # edge of B at A's face
        ([0.5 + np.sqrt(0.5) - 1e-7, 0, 0], ident, rot45, True),
        ([1.73, 0, 0], ident, ident, False),
        ([0.0, 0, 0], ident, rot45, True),
    ]
    for off, qa, qb, expected in cases:
        assert sat(np.array([off]), qa, qb)[0] == expected, off
        # the test is symmetric under exchange of the cubes
        assert sat(-np.array([off]), qb, qa)[0] == expected, off


def test_excluded_volume_is_11():
    """Orientation-averaged excluded volume of two unit cubes = 11 (B2 = 5.5, Isihara-Hadwiger)."""
    rng = np.random.default_rng(7)
    n, half = 2_000_000, 1.8
    d = rng.uniform(-half, half, (n, 3))
    over = sat(d, random_quaternions(rng, n), random_quaternions(rng, n))
    width = (2 * half) ** 3
    p = over.mean()
    estimate, sigma = p * width, np.sqrt(p * (1 - p) / n) * width
    assert abs(estimate - 11.0) < 4 * sigma, (estimate, sigma)
    assert sigma < 0.03  # resolution: the test can tell 11 from 11.1
