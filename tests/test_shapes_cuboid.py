"""Cuboids with per-particle edges: the exact overlap test against independent geometry (the
Minkowski difference's convex hull), B2 against Isihara-Hadwiger, and the unit cube limit."""

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from test_geometry import quat_about, quat_mul, unit_vectors

import cubemc
from cubemc.geometry import overlaps, quaternion_matrices, random_quaternions
from cubemc.shapes import cube, cuboid

#: pairs closer to contact than this (origin to hull, in units of the larger particle) are not
#: compared: the two methods round differently there (the engine's own slack is ~1e-12)
TOL = 1e-9
SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)


def box_corners(q, edges):
    """(K, 8, 3) lab-frame vertices of boxes with orientations q and edges (K, 3)."""
    return np.einsum("kij,kvj->kvi", quaternion_matrices(q), 0.5 * SIGNS[None] * edges[:, None])


def hull_margin(d, qa, qb, ea, eb):
    """Signed distance-like margin of the origin from the Minkowski difference A - B of boxes A
    (edges ea) and B (edges eb) at d: negative when their interiors intersect.  Independent of the
    separating-axis test: conv of the 64 vertex differences is A - B."""
    va = box_corners(qa, ea)
    vb = box_corners(qb, eb) + d[:, None, :]
    margin = np.empty(len(d))
    for k in range(len(d)):
        hull = ConvexHull((va[k][:, None, :] - vb[k][None, :, :]).reshape(-1, 3))
        margin[k] = hull.equations[:, 3].max()
    return margin


def engine(d, qa, qb, ea, eb):
    """The engine's test, pair by pair (each pair has its own edges)."""
    out = np.empty(len(d), bool)
    keys, kind = np.unique(np.hstack([ea, eb]), axis=0, return_inverse=True)
    for k, key in enumerate(keys):
        sel = np.flatnonzero(kind.reshape(-1) == k)
        out[sel] = overlaps(d[sel], qa[sel], qb[sel], cuboid, key.reshape(2, 3))
    return out


def contact_distance(u, qa, qb, ea, eb):
    """Bisection (on the engine's test) for the centre distance at which B along u touches A."""
    lo = np.zeros(len(u))
    hi = 0.5 * (np.linalg.norm(ea, axis=1) + np.linalg.norm(eb, axis=1)) + 1e-9
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        over = engine(u * mid[:, None], qa, qb, ea, eb)
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return hi


def edge_sets(rng, k, n_kinds=6):
    """Edges for k pairs drawn from a few kinds: aspect ratios, very unequal sizes, a cube."""
    kinds = [
        (np.array([1.0, 1.0, 1.2]), np.array([1.0, 1.0, 1.2])),
        (np.array([0.5, 1.0, 2.0]), np.array([1.0, 1.0, 1.0])),
        (np.array([1.0, 1.0, 1.0]), np.array([3.0, 3.0, 3.0])),  # very unequal sizes
        (np.array([0.2, 1.5, 1.5]), np.array([1.3, 0.4, 0.9])),  # a plate and a brick
        (np.array([0.88, 0.88, 0.88]), np.array([1.12, 1.12, 1.12])),
        (np.array([2.0, 0.3, 0.3]), np.array([0.3, 2.0, 0.3])),
    ]  # two rods
    pick = rng.integers(0, min(n_kinds, len(kinds)), k)
    return (np.array([kinds[p][0] for p in pick]), np.array([kinds[p][1] for p in pick]))


def configurations(rng, n):
    """About n pairs: random, near contact, face to face, edge to edge and parallel edges."""
    k = n // 5
    out = []
    ea, eb = edge_sets(rng, k)
    reach = 0.5 * (np.linalg.norm(ea, axis=1) + np.linalg.norm(eb, axis=1))
    d = rng.uniform(-1, 1, (k, 3)) * reach[:, None]
    out.append((d, random_quaternions(rng, k), random_quaternions(rng, k), ea, eb))
    # near contact: random direction and orientations at contact distance * (1 +- up to 1e-4)
    ea, eb = edge_sets(rng, k)
    qa, qb, u = random_quaternions(rng, k), random_quaternions(rng, k), unit_vectors(rng, k)
    r = contact_distance(u, qa, qb, ea, eb) * (1 + rng.uniform(-1e-4, 1e-4, k))
    out.append((u * r[:, None], qa, qb, ea, eb))
    # face to face: common frame up to quarter turns about z, offset along A's x near contact
    ea, eb = edge_sets(rng, k)
    qa = random_quaternions(rng, k)
    qb = quat_mul(qa, np.array([quat_about([0, 0, 1], a) for a in rng.choice([0, np.pi], k)]))
    gap = 0.5 * (ea[:, 0] + eb[:, 0])
    local = np.stack(
        [gap * (1 + rng.uniform(-1e-3, 1e-3, k)), rng.uniform(-1, 1, k), rng.uniform(-1, 1, k)], 1
    )
    out.append((np.einsum("nij,nj->ni", quaternion_matrices(qa), local), qa, qb, ea, eb))
    # edge to edge: B turned 45 degrees about A's z (and maybe x), along the diagonal near contact
    ea, eb = edge_sets(rng, k)
    qa = random_quaternions(rng, k)
    twist = np.array(
        [
            quat_mul(quat_about([0, 0, 1], np.pi / 4)[None], quat_about([1, 0, 0], b)[None])[0]
            for b in rng.choice([0.0, np.pi / 4], k)
        ]
    )
    qb = quat_mul(qa, twist)
    u = np.tile([1.0, 1.0, 0.0], (k, 1)) / np.sqrt(2)
    u[:, 2] = rng.uniform(-1e-3, 1e-3, k)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    lab = np.einsum("nij,nj->ni", quaternion_matrices(qa), u)
    r = contact_distance(lab, qa, qb, ea, eb) * (1 + rng.uniform(-0.02, 0.02, k))
    out.append((lab * r[:, None], qa, qb, ea, eb))
    # parallel edges: both turned about the lab z axis, centres near contact in the xy plane
    ea, eb = edge_sets(rng, k)
    qa = np.array([quat_about([0, 0, 1], a) for a in rng.uniform(0, np.pi, k)])
    qb = np.array([quat_about([0, 0, 1], a) for a in rng.uniform(0, np.pi, k)])
    u = unit_vectors(rng, k)
    u[:, 2] = rng.uniform(-0.3, 0.3, k)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = contact_distance(u, qa, qb, ea, eb) * (1 + rng.uniform(-1e-3, 1e-3, k))
    out.append((u * r[:, None], qa, qb, ea, eb))
    return [np.concatenate(parts) for parts in zip(*out, strict=True)]


def compare_with_hull(n, seed):
    rng = np.random.default_rng(seed)
    d, qa, qb, ea, eb = configurations(rng, n)
    fast = engine(d, qa, qb, ea, eb)
    scale = np.maximum(ea.max(1), eb.max(1))
    margin = hull_margin(d, qa, qb, ea, eb) / scale
    decided = np.abs(margin) > TOL
    assert decided.mean() > 0.999
    truth = margin < 0
    wrong = np.flatnonzero(decided & (fast != truth))
    assert wrong.size == 0, f"{wrong.size} disagreements, first {d[wrong[:3]]}, {ea[wrong[:3]]}"
    for part in np.array_split(np.arange(len(d)), 5):  # every category probes both sides
        assert 0.05 < truth[part].mean() < 0.95
    return len(d)


def test_overlap_agrees_with_minkowski_hull_fast():
    assert compare_with_hull(10_000, seed=11) >= 10_000


@pytest.mark.slow
def test_overlap_agrees_with_minkowski_hull_on_1e5_pairs():
    assert compare_with_hull(100_000, seed=12) >= 100_000


def test_unit_cuboid_decides_exactly_like_the_cube():
    """Same arithmetic: identical decisions even a hair from contact (bit-exact trajectories)."""
    rng = np.random.default_rng(5)
    k = 15_000
    qa, qb, u = random_quaternions(rng, k), random_quaternions(rng, k), unit_vectors(rng, k)
    ones = np.ones((k, 3))
    r = contact_distance(u, qa, qb, ones, ones) * (1 + rng.uniform(-1e-13, 1e-13, k))
    d = np.concatenate([u * r[:, None], rng.uniform(-1.8, 1.8, (k, 3))])
    qa, qb = np.concatenate([qa, qa]), np.concatenate([qb, qb])
    np.testing.assert_array_equal(overlaps(d, qa, qb, cuboid, np.ones((2, 3))), overlaps(d, qa, qb, cube))


def test_overlap_simple_cases():
    ident = np.array([[1.0, 0, 0, 0]])
    rot45 = quat_about([0, 0, 1], np.pi / 4)[None]
    brick, cube2 = [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]
    cases = [  # (offset, edges A, edges B, qb, overlap)
        ([1.5 + 1e-9, 0, 0], brick, cube2, ident, False),  # faces a hair apart along x
        ([1.5, 0, 0], brick, cube2, ident, True),  # touching counts as overlap
        ([0, 2.0 + 1e-9, 0], brick, cube2, ident, False),
        ([0, 0, 2.5 - 1e-9], brick, cube2, ident, True),
        ([0.5 + np.sqrt(2) + 1e-7, 0, 0], brick, cube2, rot45, False),  # edge of B at A's face
        ([0.5 + np.sqrt(2) - 1e-7, 0, 0], brick, cube2, rot45, True),
    ]
    for off, ea, eb, qb, expected in cases:
        params = np.array([ea, eb])
        assert overlaps(np.array([off]), ident, qb, cuboid, params)[0] == expected, (off, ea, eb)
        # exchanging the particles gives the same answer
        assert overlaps(-np.array([off]), qb, ident, cuboid, params[::-1])[0] == expected


def isihara_hadwiger(ea, eb):
    """Orientation-averaged excluded volume of boxes ea and eb:
    V_a + V_b + (S_a M_b + S_b M_a) / (4 pi), with S = 2(ab+bc+ca), M = pi (a+b+c)."""

    def vsm(e):
        a, b, c = e
        return a * b * c, 2 * (a * b + b * c + c * a), np.pi * (a + b + c)

    va, sa, ma = vsm(ea)
    vb, sb, mb = vsm(eb)
    return va + vb + (sa * mb + sb * ma) / (4 * np.pi)


@pytest.mark.parametrize(
    "ea,eb",
    [
        ((1.0, 1.0, 1.2), (1.0, 1.0, 1.2)),  # B2 = abc + (a+b+c)(ab+bc+ca)/2
        ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0)),
        ((0.5, 1.0, 1.0), (0.5, 1.0, 1.0)),
        ((1.0, 1.0, 1.0), (2.5, 2.5, 2.5)),  # unequal sizes: the mixed coefficient
        ((0.3, 1.4, 0.8), (1.1, 0.9, 1.6)),
    ],
)
def test_excluded_volume_matches_isihara_hadwiger(ea, eb):
    rng = np.random.default_rng([int(1000 * x) for x in ea + eb])
    n = 2_000_000
    half = 0.5 * (np.linalg.norm(ea) + np.linalg.norm(eb))
    d = rng.uniform(-half, half, (n, 3))
    over = overlaps(d, random_quaternions(rng, n), random_quaternions(rng, n), cuboid, np.array([ea, eb]))
    width = (2 * half) ** 3
    p = over.reshape(40, -1).mean(1) * width
    estimate, sigma = p.mean(), p.std(ddof=1) / np.sqrt(len(p))
    exact = isihara_hadwiger(ea, eb)
    assert abs(estimate - exact) < 4 * sigma, (estimate, sigma, exact)
    assert sigma < 0.004 * exact  # resolves a 2 % error in the excluded volume


def test_bad_edges_are_one_line_input_errors():
    for edges in ([1.0, 0.0, 1.0], [1.0, -1.0, 1.0], [np.nan, 1.0, 1.0]):
        with pytest.raises(cubemc.InputError) as err:
            cubemc.State([[0, 0, 0]], [[1, 0, 0, 0]], [5, 5, 5], shape="cuboid", shape_params=[edges])
        assert "\n" not in str(err.value)
    with pytest.raises(cubemc.InputError, match="needs shape_params"):
        cubemc.State([[0, 0, 0]], [[1, 0, 0, 0]], [5, 5, 5], shape="cuboid")
    with pytest.raises(cubemc.InputError, match="must have shape"):
        cubemc.State(
            [[0, 0, 0]] * 2, [[1, 0, 0, 0]] * 2, [5, 5, 5], shape="cuboid", shape_params=np.ones((3, 3))
        )


def test_specialisations_loaded_in_one_process_stay_apart():
    """Cached kernels of two shapes in one process: each keeps its own compiled functions (numba
    names closures by qualified name; kernels.make_kernels tags them per specialisation)."""
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from cubemc.geometry import overlaps\n"
        "from cubemc.shapes import cuboid\n"
        "one = np.array([[1.0, 0, 0, 0]])\n"
        "a = overlaps(np.array([[1.5, 0, 0]]), one, one, cuboid, np.array([[1.0, 2, 3], [2.0, 2, 2]]))\n"
        "b = overlaps(np.array([[1.0, 0, 0]]), one, one)\n"
        "print(bool(a[0]), bool(b[0]))\n"
    )
    for _ in range(2):  # the second run loads both from numba's cache
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split() == ["True", "True"]
