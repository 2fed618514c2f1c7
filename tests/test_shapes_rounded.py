"""Rounded cuboids (a cuboid core swept by a sphere): the exact overlap test against an
independent distance (a bounded least-squares problem solved by scipy), B2 against Steiner's
formula, and the sharp limit r = 0 against the cube and cuboid engines bit for bit."""

import numpy as np
import pytest
from scipy.optimize import lsq_linear
from test_geometry import quat_about, quat_mul, unit_vectors

import cubemc
from cubemc import lattices
from cubemc.geometry import overlaps, quaternion_matrices, random_quaternions
from cubemc.shapes import rounded_cuboid

#: pairs whose core distance is this close to r_i + r_j (relative) are not compared
TOL = 1e-9
KINDS = [  # (core a, b, c, r) of particle 0 and particle 1
    ((0.8, 0.8, 0.8, 0.1), (0.8, 0.8, 0.8, 0.1)),  # rounded cubes, outer edge 1
    ((0.5, 0.5, 0.5, 0.25), (0.9, 0.9, 0.9, 0.05)),  # strongly and weakly rounded
    ((1.0, 1.0, 1.2, 0.0), (0.6, 0.6, 0.6, 0.2)),  # a sharp cuboid and a rounded cube
    ((0.0, 0.0, 0.0, 0.5), (0.8, 0.8, 0.8, 0.1)),  # a sphere and a rounded cube
    ((0.4, 0.4, 0.4, 0.1), (2.4, 2.4, 2.4, 0.3)),  # very unequal sizes
    ((0.2, 1.5, 1.0, 0.1), (1.6, 0.2, 0.2, 0.15)),  # a plate and a rod
    ((1.0, 0.0, 0.0, 0.1), (0.7, 0.8, 0.9, 0.05)),  # zero core edges: a rod and a box
    ((0.9, 0.0, 1.1, 0.1), (0.6, 0.6, 0.6, 0.2)),  # a plate and a rounded cube
]


def core_distance(d, qa, qb, pa, pb):
    """Distance between the cores: min |d + B u hb - A s ha| over s, u in [-1, 1]^3, a convex
    bounded least-squares problem (scipy's BVLS), independent of the engine's feature search."""
    a, b = quaternion_matrices(qa), quaternion_matrices(qb)
    out = np.empty(len(d))
    for k in range(len(d)):
        m = np.hstack([a[k] * (0.5 * pa[k, :3]), -b[k] * (0.5 * pb[k, :3])])
        res = lsq_linear(m, d[k], bounds=(-1, 1), method="bvls", tol=1e-14)
        out[k] = np.linalg.norm(m @ res.x - d[k])
    return out


def engine(d, qa, qb, pa, pb):
    out = np.empty(len(d), bool)
    keys, kind = np.unique(np.hstack([pa, pb]), axis=0, return_inverse=True)
    for k, key in enumerate(keys):
        sel = np.flatnonzero(kind.reshape(-1) == k)
        out[sel] = overlaps(d[sel], qa[sel], qb[sel], rounded_cuboid, key.reshape(2, 4))
    return out


def contact_distance(u, qa, qb, pa, pb):
    lo = np.zeros(len(u))
    hi = 0.5 * (np.linalg.norm(pa[:, :3], axis=1) + np.linalg.norm(pb[:, :3], axis=1)) + pa[:, 3] + pb[:, 3]
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        over = engine(u * mid[:, None], qa, qb, pa, pb)
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return hi


def kinds(rng, k):
    pick = rng.integers(0, len(KINDS), k)
    return np.array([KINDS[p][0] for p in pick]), np.array([KINDS[p][1] for p in pick])


def configurations(rng, n):
    """About n pairs: random, near contact, rounded corner against face, edge across edge, and
    parallel edges (aligned cores turned about z)."""
    k = n // 5
    out = []
    pa, pb = kinds(rng, k)
    reach = contact_distance(unit_vectors(rng, k), *[random_quaternions(rng, k) for _ in "ab"], pa, pb)
    d = unit_vectors(rng, k) * (reach * rng.uniform(0.6, 1.6, k))[:, None]
    out.append((d, random_quaternions(rng, k), random_quaternions(rng, k), pa, pb))
    for twist in ("random", "corner", "edge", "parallel"):
        pa, pb = kinds(rng, k)
        qa = random_quaternions(rng, k)
        u = unit_vectors(rng, k)
        if twist == "random":
            qb = random_quaternions(rng, k)
        elif twist == "corner":  # B's body diagonal points back at A along A's x axis
            to_diag = quat_mul(
                quat_about([0, 0, 1], np.pi / 4)[None],
                quat_about([0, 1, 0], -np.arctan(1 / np.sqrt(2)))[None],
            )
            qb = quat_mul(qa, np.repeat(to_diag, k, 0))
            u = np.einsum("nij,j->ni", quaternion_matrices(qa), [1.0, 0, 0]) + rng.normal(0, 0.05, (k, 3))
        elif twist == "edge":  # B turned 90 degrees about A's x: edges cross
            qb = quat_mul(qa, np.repeat(quat_about([1, 0, 0], np.pi / 2)[None], k, 0))
            qb = quat_mul(qb, np.repeat(quat_about([0, 0, 1], np.pi / 4)[None], k, 0))
            u = np.einsum("nij,j->ni", quaternion_matrices(qa), [1.0, 1.0, 0]) + rng.normal(0, 0.05, (k, 3))
        else:
            qa = np.array([quat_about([0, 0, 1], x) for x in rng.uniform(0, np.pi, k)])
            qb = np.array([quat_about([0, 0, 1], x) for x in rng.uniform(0, np.pi, k)])
            u[:, 2] = rng.uniform(-0.3, 0.3, k)
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = contact_distance(u, qa, qb, pa, pb) * (1 + rng.uniform(-1e-4, 1e-4, k))
        out.append((u * r[:, None], qa, qb, pa, pb))
    return [np.concatenate(parts) for parts in zip(*out, strict=True)]


def compare_with_least_squares(n, seed):
    rng = np.random.default_rng(seed)
    d, qa, qb, pa, pb = configurations(rng, n)
    fast = engine(d, qa, qb, pa, pb)
    swept = pa[:, 3] + pb[:, 3]
    dist = core_distance(d, qa, qb, pa, pb)
    scale = np.maximum(pa[:, :3].max(1) + pa[:, 3], pb[:, :3].max(1) + pb[:, 3])
    decided = np.abs(dist - swept) > TOL * scale
    assert decided.mean() > 0.99
    truth = dist <= swept
    wrong = np.flatnonzero(decided & (fast != truth))
    assert wrong.size == 0, (
        f"{wrong.size} disagreements, first {d[wrong[:3]]} {pa[wrong[:3]]} {pb[wrong[:3]]}"
    )
    for part in np.array_split(np.arange(len(d)), 5):
        assert 0.05 < truth[part].mean() < 0.95
    return len(d)


def test_overlap_agrees_with_least_squares_distance_fast():
    assert compare_with_least_squares(3_000, seed=21) >= 3_000


@pytest.mark.slow
def test_overlap_agrees_with_least_squares_distance_on_1e5_pairs():
    assert compare_with_least_squares(100_000, seed=22) >= 100_000


def test_sphere_limit_is_the_centre_distance():
    rng = np.random.default_rng(4)
    k = 50_000
    d = unit_vectors(rng, k) * rng.uniform(0.5, 1.5, (k, 1))
    params = np.array([[0, 0, 0, 0.5], [0, 0, 0, 0.3]], float)
    got = overlaps(d, random_quaternions(rng, k), random_quaternions(rng, k), rounded_cuboid, params)
    r = np.linalg.norm(d, axis=1)
    far = np.abs(r - 0.8) > 1e-12
    np.testing.assert_array_equal(got[far], (r <= 0.8)[far])


#: cores with zero edges (plates, rods, needles, spheres), also with ordinary cores: (a, b, c, r)
DEGENERATE = [
    ((1.0, 1.0, 0.0, 0.15), (1.2, 0.0, 0.0, 0.25)),  # a plate and a rod
    ((0.0, 0.9, 1.1, 0.1), (1.3, 0.0, 0.7, 0.05)),  # plates, thin along different axes
    ((0.0, 1.6, 0.0, 0.02), (0.0, 0.0, 1.4, 0.03)),  # needles
    ((0.0, 0.0, 0.0, 0.3), (1.0, 1.2, 0.0, 0.1)),  # a sphere and a plate
    ((0.0, 0.0, 0.0, 0.05), (0.0, 2.0, 0.0, 0.2)),  # a small sphere and a long rod
    ((0.0, 0.0, 0.0, 0.4), (0.7, 0.8, 0.9, 0.1)),  # a sphere and a rounded box
    ((0.3, 0.0, 0.0, 0.05), (2.5, 2.0, 0.0, 0.3)),  # very unequal: a short rod and a large plate
    ((0.0, 0.0, 0.0, 0.2), (0.0, 0.0, 0.0, 0.7)),  # two spheres
]


def _dot(u, v):
    return np.einsum("ij,ij->i", u, v)


def point_box(x, half):
    """Distance of points x from centred axis-aligned boxes with half extents `half` (zeros too)."""
    return np.linalg.norm(x - np.clip(x, -half, half), axis=1)


def point_segment(x, p, d):
    s = np.clip(_dot(x - p, d) / np.maximum(_dot(d, d), 1e-300), 0, 1)
    return np.linalg.norm(x - p - s[:, None] * d, axis=1)


def segment_segment(p1, d1, p2, d2):
    """Segments p + s d, s in [0, 1]: the least of the four end point distances and, where it
    lies inside both segments, the distance of the unconstrained closest pair."""
    ends = [point_segment(p1, p2, d2), point_segment(p1 + d1, p2, d2)]
    best = np.minimum.reduce(ends + [point_segment(p2, p1, d1), point_segment(p2 + d2, p1, d1)])
    r = p1 - p2
    a, b, e, c, f = _dot(d1, d1), _dot(d1, d2), _dot(d2, d2), _dot(d1, r), _dot(d2, r)
    den = a * e - b * b
    ok = den > 1e-12 * a * e
    den = np.where(ok, den, 1.0)
    s, u = (b * f - c * e) / den, (a * f - b * c) / den
    inside = ok & (s >= 0) & (s <= 1) & (u >= 0) & (u <= 1)
    interior = np.linalg.norm(r + s[:, None] * d1 - u[:, None] * d2, axis=1)
    return np.where(inside, np.minimum(best, interior), best)


def rectangle_sides(centre, g1, g2):
    corners = [centre + s1 * g1 + s2 * g2 for s1, s2 in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    return [(corners[k - 1], corners[k]) for k in range(4)]


def segment_rectangle(p, q, centre, g1, g2):
    """Segment pq and the rectangle centre + s g1 + u g2 (|s|, |u| <= 1, g1 perpendicular to g2):
    0 if the segment pierces it, else the least of its end points' distances to the rectangle
    and its distances to the 4 sides."""
    n1, n2 = np.linalg.norm(g1, axis=1), np.linalg.norm(g2, axis=1)
    e1, e2 = g1 / n1[:, None], g2 / n2[:, None]
    frame = np.stack([e1, e2, np.cross(e1, e2)], -1)
    p, q = (np.einsum("nji,nj->ni", frame, x - centre) for x in (p, q))
    half = np.stack([n1, n2, 0 * n1], -1)
    best = np.minimum(point_box(p, half), point_box(q, half))
    zero, x1, x2 = 0 * half, half * [1, 0, 0], half * [0, 1, 0]
    for a, b in rectangle_sides(zero, x1, x2):
        best = np.minimum(best, segment_segment(a, b - a, p, q - p))
    cross = (p[:, 2] * q[:, 2] <= 0) & (p[:, 2] != q[:, 2])
    x = p + (p[:, 2] / np.where(cross, p[:, 2] - q[:, 2], 1.0))[:, None] * (q - p)
    pierced = cross & np.all(np.abs(x[:, :2]) <= half[:, :2], axis=1)
    return np.where(pierced, 0.0, best)


def plain_distance(d, qa, qb, pa, pb):
    """Core distance of a point, segment or rectangle (core edges 0) from a core of the same
    kinds or, for a point, any box: plain geometry, no feature search shared with the engine."""
    cores = []
    for centre, q, p in ((0 * d, qa, pa), (d, qb, pb)):
        m, half = quaternion_matrices(q), 0.5 * np.asarray(p[:3])
        cores.append((centre, m, half, [half[k] * m[:, :, k] for k in range(3) if half[k] > 0]))
    (ca, ma, ha, ga), (cb, mb, hb, gb) = sorted(cores, key=lambda core: len(core[3]))
    if not ga:
        return point_box(np.einsum("nji,nj->ni", mb, ca - cb), np.broadcast_to(hb, ca.shape))
    if len(ga) == 1 and len(gb) == 1:
        return segment_segment(ca - ga[0], 2 * ga[0], cb - gb[0], 2 * gb[0])
    if len(ga) == 1 and len(gb) == 2:
        return segment_rectangle(ca - ga[0], ca + ga[0], cb, *gb)
    assert len(ga) == 2 and len(gb) == 2, "no plain distance for this pair of cores"
    sides = [(p, q, cb, *gb) for p, q in rectangle_sides(ca, *ga)]
    sides += [(p, q, ca, *ga) for p, q in rectangle_sides(cb, *gb)]
    return np.minimum.reduce([segment_rectangle(*side) for side in sides])


def compare_degenerate_cores(n, seed):
    """n pairs per family of DEGENERATE: a third within reach at random, a third near contact
    (0.1 % either side), a third near contact with aligned cores (parallel edges and faces)."""
    rng = np.random.default_rng(seed)
    for pa, pb in DEGENERATE:
        pa, pb = np.tile(pa, (n, 1)), np.tile(pb, (n, 1))
        qa, qb, u = random_quaternions(rng, n), random_quaternions(rng, n), unit_vectors(rng, n)
        qb[2 * n // 3 :] = qa[2 * n // 3 :]
        reach = contact_distance(u, qa, qb, pa, pb) * (1 + rng.uniform(-1e-3, 1e-3, n))
        reach[: n // 3] *= rng.uniform(0.0, 1.5, n // 3)
        d = u * reach[:, None]
        dist, swept = plain_distance(d, qa, qb, pa[0], pb[0]), pa[0, 3] + pb[0, 3]
        decided = np.abs(dist - swept) > TOL * (np.abs(pa[0]).sum() + np.abs(pb[0]).sum())
        truth = dist <= swept
        assert decided.mean() > 0.99 and 0.2 < truth.mean() < 0.8, (pa[0], pb[0], truth.mean())
        wrong = np.flatnonzero(decided & (engine(d, qa, qb, pa, pb) != truth))
        assert wrong.size == 0, f"{pa[0]} {pb[0]}: {wrong.size} wrong, first offsets {d[wrong[:3]]}"
    return n * len(DEGENERATE)


def test_plates_rods_needles_and_spheres_agree_with_plain_distances_fast():
    assert compare_degenerate_cores(1_500, seed=31) >= 12_000


@pytest.mark.slow
def test_plates_rods_needles_and_spheres_agree_with_plain_distances_on_1e5_pairs():
    assert compare_degenerate_cores(12_500, seed=32) >= 100_000


def steiner_excluded_volume(pa, pb):
    """Orientation-averaged excluded volume of two rounded boxes (Isihara-Hadwiger with Steiner's
    V, S, M of a box a x b x c swept by radius r)."""

    def vsm(p):
        a, b, c, r = p
        v, s, m = a * b * c, 2 * (a * b + b * c + c * a), np.pi * (a + b + c)
        return (
            v + s * r + m * r**2 + 4 * np.pi * r**3 / 3,
            s + 2 * m * r + 4 * np.pi * r**2,
            m + 4 * np.pi * r,
        )

    va, sa, ma = vsm(pa)
    vb, sb, mb = vsm(pb)
    return va + vb + (sa * mb + sb * ma) / (4 * np.pi)


@pytest.mark.parametrize(
    "pa,pb",
    [
        ((0.8, 0.8, 0.8, 0.1), (0.8, 0.8, 0.8, 0.1)),
        ((0.6, 0.6, 0.6, 0.2), (0.6, 0.6, 0.6, 0.2)),
        ((1.0, 1.0, 1.2, 0.05), (1.0, 1.0, 1.2, 0.05)),
        ((0.0, 0.0, 0.0, 0.5), (0.0, 0.0, 0.0, 0.5)),  # spheres: 4 pi d^3 / 3 with d = 1
        ((0.5, 0.5, 0.5, 0.1), (1.5, 1.0, 1.0, 0.3)),  # unequal: the mixed coefficient
        ((1.0, 1.0, 0.0, 0.15), (1.0, 1.0, 0.0, 0.15)),  # plates (core edge 0)
        ((1.2, 0.0, 0.0, 0.25), (1.2, 0.0, 0.0, 0.25)),  # rods (core edges 0)
    ],
)
def test_excluded_volume_matches_steiner(pa, pb):
    rng = np.random.default_rng([int(1000 * x) for x in pa + pb])
    n = 1_000_000
    half = 0.5 * (np.linalg.norm(pa[:3]) + np.linalg.norm(pb[:3])) + pa[3] + pb[3]
    d = rng.uniform(-half, half, (n, 3))
    over = overlaps(
        d, random_quaternions(rng, n), random_quaternions(rng, n), rounded_cuboid, np.array([pa, pb])
    )
    p = over.reshape(40, -1).mean(1) * (2 * half) ** 3
    estimate, sigma = p.mean(), p.std(ddof=1) / np.sqrt(len(p))
    exact = steiner_excluded_volume(pa, pb)
    assert abs(estimate - exact) < 4 * sigma, (estimate, sigma, exact)
    assert sigma < 0.006 * exact


def trajectory(shape, params, schedule="checkerboard"):
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.7, vacancies=1, seed=2)
    if shape != "cube":
        state = cubemc.State(state.positions, state.orientations, state.box, shape=shape, shape_params=params)
    sim = cubemc.Simulation(
        state, -1.0, 1.14, seed=9, device="cpu", schedule=schedule, translate_size=0.12, rotate_size=0.2
    )
    trace = sim.run_trace(30)
    return sim.positions, sim.orientations, trace


@pytest.mark.parametrize("schedule", ["checkerboard", "serial"])
def test_sharp_rounded_cube_reproduces_the_cube_bit_for_bit(schedule):
    cube = trajectory("cube", None, schedule)
    for shape, params in (("cuboid", [1.0, 1.0, 1.0]), ("rounded_cuboid", [1.0, 1.0, 1.0, 0.0])):
        other = trajectory(shape, params, schedule)
        for x, y in zip(cube, other, strict=True):
            np.testing.assert_array_equal(x, y)
    assert cube[2].max() > 0  # bonds formed: the energy path ran


def test_sharp_rounded_cuboid_reproduces_the_cuboid():
    edges = lattices.shape_params("cuboid", lattices.draw_sizes(64, 0.1, seed=3), edges=(1, 1, 1.2))
    state = lattices.simple_cubic(4, "cuboid", edges, packing_fraction=0.5)
    rounded = cubemc.State(
        state.positions,
        state.orientations,
        state.box,
        shape="rounded_cuboid",
        shape_params=np.hstack([edges, np.zeros((64, 1))]),
    )
    runs = []
    for st in (state, rounded):
        sim = cubemc.Simulation(st, -1.0, 1.14, seed=3, device="cpu", translate_size=0.1)
        runs.append((sim.run_trace(20), sim.positions, sim.orientations))
    for x, y in zip(*runs, strict=True):
        np.testing.assert_array_equal(x, y)


def test_running_energy_equals_recount_for_rounded_cubes():
    sizes = lattices.draw_sizes(125, polydispersity=0.12, seed=5)
    params = lattices.shape_params("rounded_cuboid", sizes, rounding=0.15)
    state = lattices.simple_cubic(5, "rounded_cuboid", params, packing_fraction=0.45, vacancies=1)
    sim = cubemc.Simulation(state, -1.0, 1.2, seed=4, device="cpu", translate_size=0.1, rotate_size=0.2)
    for _ in range(5):
        sim.run(20)
        bonds, overlapping = sim.state.count_pairs(1.2)
        assert overlapping == 0 and bonds == sim.bonds
    assert sim.bonds > 50


@pytest.mark.parametrize(
    "params,message",
    [
        ([0.8, 0.8, 0.8, -0.1], "must not be negative"),
        ([-0.1, 0.8, 0.8, 0.1], "must not be negative"),
        ([0.0, 0.8, 0.8, 0.0], "positive thickness"),
    ],
)
def test_bad_rounded_parameters_are_one_line_errors(params, message):
    with pytest.raises(cubemc.InputError, match=message) as err:
        cubemc.State([[0, 0, 0]], [[1, 0, 0, 0]], [5, 5, 5], shape="rounded_cuboid", shape_params=params)
    assert "\n" not in str(err.value)
