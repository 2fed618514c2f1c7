"""Cuboids, rounded cuboids and unequal sizes on the HOOMD-blue backend (cubemc.hoomd_shapes).

Skipped where `import hoomd` fails (CI); run against HOOMD-blue 4.8 and 7.x builds (docs/hoomd.md).
The references are independent of HOOMD: cubemc's exact overlap tests (themselves checked against
other methods in tests/test_shapes_*.py), plain uniform sampling and the native engine.
"""

import math

import gsd.hoomd
import numpy as np
import pytest

import cubemc
from cubemc import lattices, shapes
from cubemc.errors import EngineSelectionError
from cubemc.geometry import overlaps, quaternion_matrices, random_quaternions

hoomd = pytest.importorskip(
    "hoomd", reason="HOOMD-blue is not installed (conda-forge only); the HOOMD backend tests need it"
)

from cubemc.hoomd_engine import HoomdSimulation, version_tuple  # noqa: E402 (after the skip)
from cubemc.hoomd_shapes import HoomdTypes, hoomd_types, integrator_class, make_integrator  # noqa: E402

GAUSSIAN = version_tuple(hoomd.version.version) >= (7, 0)  # HOOMD 7 redefined the rotation size
#: whether this HOOMD build has the rounded particles' integrator (builds may keep only some shapes)
SPHEROPOLYHEDRA = hasattr(hoomd.hpmc._hpmc, hoomd.hpmc.integrate.ConvexSpheropolyhedron._cpp_cls)
needs_spheropolyhedra = pytest.mark.skipif(
    not SPHEROPOLYHEDRA, reason="this HOOMD build lacks ConvexSpheropolyhedron (docs/hoomd.md)"
)

CUBOIDS = ("cuboid", [[1.0, 1.0, 1.2], [1.3, 1.3, 1.56]])  # sizes 1.067 and 1.387
PLATE_ROD = ("rounded_cuboid", [[1.0, 1.0, 0.0, 0.15], [1.2, 0.0, 0.0, 0.25]])  # cores with zero edges
ROUNDED = ("rounded_cuboid", [[0.7, 0.7, 0.9, 0.15], [0.0, 0.0, 0.0, 0.65]])  # 1.067 and a sphere 1.3
PAIRS = {
    "cuboids": CUBOIDS,
    "rounded": ROUNDED,
    "sharp_rounded": ("rounded_cuboid", [[0.9, 1.0, 1.1, 0.0], [0.5, 0.6, 0.7, 0.3]]),
}


def pair_contact(params):
    """Largest centre distance at which the two particles can touch (circumspheres)."""
    p = np.asarray(params, float)
    radius = 0.5 * np.linalg.norm(p[:, :3], axis=1) + (p[:, 3] if p.shape[1] > 3 else 0.0)
    return float(radius.sum())


def hoomd_overlap_flags(shape, params, offsets, qa, qb):
    """HOOMD's overlap verdict for each pair: particle 1 (qb) at offsets[k] from particle 0 (qa),
    all K pairs in one box, far apart, checked by HOOMD's mapped types (map_overlaps)."""
    k = len(offsets)
    side = math.ceil(k ** (1 / 3))
    spacing = 2.0 * pair_contact(params) + 2.0
    grid = (np.arange(side) + 0.5) * spacing - side * spacing / 2
    centres = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1).reshape(-1, 3)[:k]
    pos = np.empty((2 * k, 3))
    pos[0::2], pos[1::2] = centres, centres + offsets
    quat = np.empty((2 * k, 4))
    quat[0::2], quat[1::2] = qa, qb
    state = cubemc.State(pos, quat, [side * spacing] * 3, False, shape, np.tile(params, (k, 1)))
    types = hoomd_types(state)
    sim = hoomd.Simulation(device=hoomd.device.CPU(), seed=1)
    snap = hoomd.Snapshot()
    snap.configuration.box = [side * spacing] * 3 + [0, 0, 0]
    snap.particles.N = 2 * k
    snap.particles.types = list(types.names)
    snap.particles.typeid[:] = types.typeid
    snap.particles.position[:] = state.positions
    snap.particles.orientation[:] = quat
    sim.create_state_from_snapshot(snap)
    sim.operations.integrator = make_integrator(hoomd, types, 0.0, 1.0, default_d=0.0, default_a=0.0)
    sim.run(0)
    flags = np.zeros(k, bool)
    for i, j in sim.operations.integrator.map_overlaps:
        assert abs(i - j) == 1 and min(i, j) % 2 == 0  # only the intended partners are close
        flags[min(i, j) // 2] = True
    return flags


@pytest.mark.parametrize("case", list(PAIRS))
def test_hoomd_bodies_are_cubemcs_particles(case):
    """HOOMD's overlap verdicts on 3000 random pairs within reach equal cubemc's exact test, for
    unequal cuboids, a rounded cuboid with a sphere, and a sharp with a rounded cuboid.

    Pairs within 1e-5 of contact (cubemc's verdict changes between 0.99999 and 1.00001 times the
    offset) are left out: HOOMD tests overlaps in single precision."""
    if PAIRS[case][0] == "rounded_cuboid" and not SPHEROPOLYHEDRA:
        pytest.skip("this HOOMD build lacks ConvexSpheropolyhedron (docs/hoomd.md)")
    shape, params = PAIRS[case]
    module, params = shapes.get(shape), np.array(params)
    offsets, qa, qb = random_pairs(params)
    n = len(offsets)
    exact = overlaps(offsets, qa, qb, module, params)
    decided = (overlaps(offsets * (1 - 1e-5), qa, qb, module, params) == exact) & (
        overlaps(offsets * (1 + 1e-5), qa, qb, module, params) == exact
    )
    assert decided.sum() > 0.99 * n and 0.1 < exact.mean() < 0.9  # both verdicts are common
    flags = hoomd_overlap_flags(shape, params, offsets, qa, qb)
    wrong = np.flatnonzero(decided & (flags != exact))
    assert wrong.size == 0, (wrong[:5], exact[wrong[:5]])


def random_pairs(params, n=3000, seed=11):
    """n random (offset, orientation, orientation) within reach of each other."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n, 3))
    radius = pair_contact(params) * rng.uniform(0, 1, (n, 1)) ** 0.5
    return u / np.linalg.norm(u, axis=1, keepdims=True) * radius, *(random_quaternions(rng, n) for _ in "ab")


def segment_distance(p1, q1, p2, q2):
    """Exact distance of segments p1q1 and p2q2: the unconstrained closest pair if inside, else
    the best of the four clamped end-point candidates."""
    d1, d2, r = q1 - p1, q2 - p2, p1 - p2
    a, b, c, e, f = d1 @ d1, d1 @ d2, d1 @ r, d2 @ d2, d2 @ r
    candidates = [(s, np.clip((b * s + f) / e, 0, 1)) for s in (0.0, 1.0)]
    candidates += [(np.clip((b * t - c) / a, 0, 1), t) for t in (0.0, 1.0)]
    if a * e - b * b > 1e-14:
        s, t = (b * f - c * e) / (a * e - b * b), (a * f - b * c) / (a * e - b * b)
        if 0 <= s <= 1 and 0 <= t <= 1:
            candidates.append((s, t))
    return min(np.linalg.norm(p1 + s * d1 - p2 - t * d2) for s, t in candidates)


def rod_plate_distance(offset, q_plate, q_rod, half_plate, half_rod):
    """Exact distance of a rectangle (half edges x, y; z = 0) and a segment (half length along
    its body x) at `offset`: 0 if the segment pierces it, else the least of its end points'
    distances to the rectangle and its distances to the rectangle's 4 sides."""
    plate = quaternion_matrices(q_plate[None])[0]
    centre = plate.T @ offset
    half = plate.T @ quaternion_matrices(q_rod[None])[0][:, 0] * half_rod
    p, q = centre - half, centre + half
    if p[2] * q[2] <= 0 and p[2] != q[2]:
        x = p + p[2] / (p[2] - q[2]) * (q - p)
        if abs(x[0]) <= half_plate[0] and abs(x[1]) <= half_plate[1]:
            return 0.0
    best = min(np.linalg.norm(v - np.clip(v, -half_plate, half_plate)) for v in (p, q))
    corners = [
        np.array([sx * half_plate[0], sy * half_plate[1], 0.0])
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    return min([best] + [segment_distance(corners[i], corners[i - 1], p, q) for i in range(4)])


def plate_rod_verdicts():
    """(offsets, orientations, exact overlap, decided): the exact verdict of a plate and a rod."""
    params = np.array(PLATE_ROD[1])
    offsets, qa, qb = random_pairs(params)
    half_plate = np.array([0.5 * params[0, 0], 0.5 * params[0, 1], 0.0])
    distance = np.array(
        [rod_plate_distance(*x, half_plate, 0.5 * params[1, 0]) for x in zip(offsets, qa, qb)]
    )
    swept = params[:, 3].sum()
    return offsets, qa, qb, distance <= swept, np.abs(distance - swept) > 1e-5


@needs_spheropolyhedra
def test_hoomd_plates_and_rods_are_exact():
    """Rounded cuboids with zero core edges (a rounded square plate and a rounded rod): HOOMD's
    verdicts on 3000 pairs equal the exact plate-segment distance compared with r_i + r_j."""
    offsets, qa, qb, exact, decided = plate_rod_verdicts()
    assert decided.sum() > 0.99 * len(exact) and 0.1 < exact.mean() < 0.9
    flags = hoomd_overlap_flags(*PLATE_ROD, offsets, qa, qb)
    assert np.count_nonzero(decided & (flags != exact)) == 0


def test_cubemc_plates_and_rods_are_exact():
    offsets, qa, qb, exact, decided = plate_rod_verdicts()
    verdict = overlaps(offsets, qa, qb, shapes.get("rounded_cuboid"), np.array(PLATE_ROD[1]))
    assert np.count_nonzero(decided & (verdict != exact)) == 0


def two_particles(shape, params, box, beta_eps, well, distance=2.0, seed=3, **moves):
    """Two aligned particles `distance` apart along x."""
    pos = [[-distance / 2, 0, 0], [distance / 2, 0, 0]]
    state = cubemc.State(pos, [[1, 0, 0, 0]] * 2, [box] * 3, True, shape, params)
    return HoomdSimulation(state, beta_eps, well, seed=seed, device="cpu", **moves)


@pytest.mark.parametrize("case", ["cuboids", "rounded"])
def test_square_well_spans_the_pairs_mean_size(case):
    """HOOMD's pair energy of two unequal particles just inside and just outside
    lambda (s_i + s_j) / 2, centres along x, particles aligned (no overlap there)."""
    if PAIRS[case][0] == "rounded_cuboid" and not SPHEROPOLYHEDRA:
        pytest.skip("this HOOMD build lacks ConvexSpheropolyhedron (docs/hoomd.md)")
    shape, params = PAIRS[case]
    sizes = shapes.sizes(shapes.get(shape), np.array(params), 2)
    well = 2.0 * (pair_contact(params) + 0.05) / sizes.sum()  # the well reaches past contact
    edge = well * 0.5 * sizes.sum()
    for r, bonded in ((edge * (1 - 1e-9), 1), (edge * (1 + 1e-9), 0)):
        sim = two_particles(shape, params, 6.0, -2.0, well, distance=r)
        sim._sim.run(0)  # HOOMD computes energies once its integrator is attached
        assert sim._mc.pair_energy == pytest.approx(-2.0 * bonded)
        assert sim.bonds == bonded  # cubemc's recount agrees


def exact_well_probability(shape, params, beta_eps, well, box, n=200_000, seed=1):
    """(p, standard error): probability that two particles in a periodic box are in the well,
    p = x w / (f + x w), w = exp(-beta eps), x and f the non-overlapping configuration volumes
    inside and outside the well, from uniform sampling with cubemc's exact overlap test."""
    module, params = shapes.get(shape), np.array(params)
    rng = np.random.default_rng(seed)
    ball = 4 / 3 * math.pi * well**3 / box**3

    def free_fraction(d):
        over = overlaps(d, random_quaternions(rng, len(d)), random_quaternions(rng, len(d)), module, params)
        return (~over).reshape(20, -1).mean(1)

    u = rng.normal(size=(n, 3))
    inside = u / np.linalg.norm(u, axis=1, keepdims=True) * well * rng.uniform(0, 1, (n, 1)) ** (1 / 3)
    outside = rng.uniform(-box / 2, box / 2, (2 * n, 3))
    outside = outside[np.linalg.norm(outside, axis=1) >= well][: n // 20 * 20]
    w = math.exp(-beta_eps)
    p = (
        ball
        * free_fraction(inside)
        * w
        / ((1 - ball) * free_fraction(outside) + ball * free_fraction(inside) * w)
    )
    return p.mean(), p.std(ddof=1) / np.sqrt(len(p))


def block_error(series, blocks=40):
    series = np.asarray(series, float)
    means = series[: len(series) // blocks * blocks].reshape(blocks, -1).mean(1)
    return means.std(ddof=1) / np.sqrt(blocks)


class EnergyRecorder(hoomd.custom.Action):
    """HOOMD's pair energy after every timestep (sweep), recorded inside one run."""

    def __init__(self, integrator):
        self.integrator, self.energies = integrator, []

    def act(self, timestep):
        self.energies.append(self.integrator.pair_energy)


@pytest.mark.parametrize("case, box", [("cuboids", 5.0), ("rounded", 4.5)])
def test_two_unequal_particles_well_occupancy_is_exact(case, box):
    """HOOMD's Markov chain against plain uniform sampling: the fraction of sweeps two unequal
    particles spend in the well lambda (s_i + s_j) / 2 (p = 0.16 for the cuboids, 40000 sweeps:
    error 0.007).  Resolution: the well of the larger particle's size (lambda s_max) gives an
    occupancy many errors away."""
    if PAIRS[case][0] == "rounded_cuboid" and not SPHEROPOLYHEDRA:
        pytest.skip("this HOOMD build lacks ConvexSpheropolyhedron (docs/hoomd.md)")
    shape, params = PAIRS[case]
    beta_eps, well_range = -2.0, 1.4
    sizes = shapes.sizes(shapes.get(shape), np.array(params), 2)
    p_exact, err_exact = exact_well_probability(shape, params, beta_eps, well_range * sizes.mean(), box)
    p_wrong, _ = exact_well_probability(shape, params, beta_eps, well_range * sizes.max(), box)
    sim = two_particles(shape, params, box, beta_eps, well_range, translate_size=2.0, rotate_size=1.0)
    sim.run(200)
    recorder = EnergyRecorder(sim._mc)
    sim._sim.operations.writers.append(hoomd.write.CustomWriter(action=recorder, trigger=1))
    sim.run(40_000)
    trace = np.array(recorder.energies) / beta_eps  # bonds: 0 or 1
    assert len(trace) == 40_000 and set(np.unique(trace)) <= {0.0, 1.0}
    assert trace[-1] == sim.bonds  # HOOMD's energy and cubemc's recount agree
    p, err = trace.mean(), block_error(trace)
    sigma = math.hypot(err, err_exact)
    assert sigma < 0.015 and abs(p_wrong - p_exact) > 8 * sigma  # resolution
    assert abs(p - p_exact) < 4 * sigma, (p, err, p_exact, err_exact)


def polydisperse(family, n=3, phi=0.4, seed=1):
    """n^3 aligned particles with three sizes (cuboids 1 : 1 : 1.2) or two (rounded cubes,
    r = 0.1 of the size): a few HOOMD types, the well sized per pair."""
    if family == "cuboid":
        sizes = np.resize([0.9, 1.0, 1.1], n**3)
        params = lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.2))
    else:
        sizes = np.resize([0.95, 1.05], n**3)
        params = lattices.shape_params("rounded_cuboid", sizes, rounding=0.1)
    return lattices.simple_cubic(n, family, params, packing_fraction=phi, seed=seed)


def family_param(family):
    marks = [needs_spheropolyhedra] if family == "rounded_cuboid" else []
    return pytest.param(family, marks=marks)


@pytest.mark.parametrize("family", [family_param("cuboid"), family_param("rounded_cuboid")])
def test_frames_and_checkpoints_keep_the_shape(tmp_path, family):
    """HOOMD run -> GSD frame and checkpoint -> native engine -> checkpoint -> HOOMD again, and an
    exact HOOMD restart: the shape and every particle's parameters survive each step."""
    state = polydisperse(family, n=4)
    sim = HoomdSimulation(state, -0.5, 1.3, seed=5, device="cpu")
    assert len(sim._types.names) == (3 if family == "cuboid" else 2)
    assert sim.bonds == state.count_pairs(1.3)[0] > 0
    traj, ckpt = tmp_path / "t.gsd", tmp_path / "hoomd.npz"
    sim.run(20, trajectory=str(traj), period=10, checkpoint=str(ckpt))
    frame = cubemc.State.from_gsd(str(traj))
    assert frame.shape == family and np.array_equal(frame.shape_params, state.shape_params)
    with gsd.hoomd.open(str(traj)) as f:
        assert f[-1].particles.type_shapes[0]["type"] == "ConvexPolyhedron"
    native = cubemc.Simulation.from_checkpoint(ckpt, device="cpu")
    assert native.state.shape == family and native.bonds == sim.bonds and native.sweep == 20
    assert np.array_equal(native.state.shape_params, state.shape_params)
    native.run(10)
    native.save_checkpoint(tmp_path / "native.npz")
    back = HoomdSimulation.from_checkpoint(tmp_path / "native.npz", device="cpu")
    assert back.state.shape == family and np.array_equal(back.state.shape_params, state.shape_params)
    assert back.bonds == native.bonds and np.array_equal(back.positions, native.positions)
    straight = HoomdSimulation.from_checkpoint(ckpt, device="cpu")
    straight.run(20)
    first = HoomdSimulation.from_checkpoint(ckpt, device="cpu")
    first.run(10, checkpoint=str(tmp_path / "mid.npz"))
    resumed = HoomdSimulation.from_checkpoint(tmp_path / "mid.npz", device="cpu")
    resumed.run(10)
    assert np.array_equal(resumed.positions, straight.positions)
    assert np.array_equal(resumed.orientations, straight.orientations)


def test_what_hoomd_cannot_run_is_refused_in_one_line():
    import sphere_shape  # the test-only shape of tests/sphere_shape.py

    shapes.register(sphere_shape)
    spheres = cubemc.State([[0, 0, 0], [2, 0, 0]], [[1, 0, 0, 0]] * 2, [8.0] * 3, False, sphere_shape.NAME)
    with pytest.raises(cubemc.InputError, match="hoomd engine runs the shapes .* not 'test_sphere'"):
        HoomdSimulation(spheres, -0.5, 1.2, device="cpu")
    n = 4**3  # all sizes distinct: one more type than the adapter accepts
    sizes = 1.0 + 0.001 * np.arange(n + 1)
    params = lattices.shape_params("cuboid", sizes[:n], edges=(1, 1, 1.2))
    many = lattices.simple_cubic(4, "cuboid", params, packing_fraction=0.3)
    assert HoomdSimulation(many, -0.5, 1.2, device="cpu").N == n  # 64 types: accepted
    params = lattices.shape_params("cuboid", np.resize(sizes, 125), edges=(1, 1, 1.2))
    too_many = lattices.simple_cubic(5, "cuboid", params, packing_fraction=0.3)
    with pytest.raises(cubemc.InputError, match="one HOOMD type per distinct particle .* 65 "):
        HoomdSimulation(too_many, -0.5, 1.2, device="cpu")
    with pytest.raises(cubemc.DeviceError, match="CPU only"):
        HoomdSimulation(many, -0.5, 1.2, device="gpu")


def test_rounded_particles_need_a_build_with_spheropolyhedra():
    """Where the HOOMD build lacks ConvexSpheropolyhedron (builds may keep only some shapes), the
    adapter says so in one line; where it has it, the same state runs."""
    state = polydisperse("rounded_cuboid")
    if SPHEROPOLYHEDRA:
        sim = HoomdSimulation(state, -0.5, 1.2, seed=2, device="cpu")
        sim.run(5)
        assert sim.sweep == 5 and type(sim._mc).__name__ == "ConvexSpheropolyhedron"
    else:
        with pytest.raises(EngineSelectionError, match="module_convex_spheropolyhedron.cc"):
            HoomdSimulation(state, -0.5, 1.2, seed=2, device="cpu")


def replica_statistics(runs):
    """(mean, error) over independent runs of (mean, block error): the error is the larger of
    the runs' scatter and their combined block errors."""
    means, errors = (np.array(x) for x in zip(*runs, strict=True))
    k = len(means)
    scatter = means.std(0, ddof=1) / np.sqrt(k)
    return means.mean(0), np.maximum(scatter, np.sqrt((errors**2).sum(0)) / k)


def block_statistics(sim, trace, n_atoms, blocks=20, sweeps=500):
    """(mean, error) of bonds per particle and of both acceptances over `blocks` blocks of
    `sweeps` sweeps after 300 sweeps of equilibration; trace(n) runs n sweeps, returns bonds."""
    trace(300)
    values = []
    for _ in range(blocks):
        sim.reset_acceptance()
        bonds = np.mean(trace(sweeps)) / n_atoms
        values.append((bonds, sim.acceptance["translate"], sim.acceptance["rotate"]))
    values = np.array(values)
    return values.mean(0), values.std(0, ddof=1) / np.sqrt(blocks)


@pytest.mark.slow
@pytest.mark.parametrize("family", [family_param("cuboid"), family_param("rounded_cuboid")])
def test_energy_and_acceptance_agree_with_the_native_engine(family):
    """27 polydisperse particles (3 cuboid sizes, or 2 rounded-cube sizes), beta*eps = -1, fixed
    move sizes: mean bonds per particle and the translation acceptance (and, before HOOMD 7, whose
    rotation move differs, the rotation acceptance) from HOOMD and from the native engine's serial
    schedule (the same trial moves) agree within 4 errors.  Three independent runs per engine:
    one run's block errors understate the run-to-run scatter (native rounded-cuboid translation
    acceptance 0.249, 0.264, 0.258 +- 0.003 for three seeds), so the error of each engine's mean
    is the larger of the replicas' scatter and the combined block errors."""
    state = polydisperse(family, phi=0.38)
    beta_eps, well_range, moves = -1.0, 1.3, dict(translate_size=0.15, rotate_size=0.2)

    def native_run(seed):
        native = cubemc.Simulation(
            state, beta_eps, well_range, seed=seed, device="cpu", schedule="serial", **moves
        )
        return block_statistics(native, native.run_trace, state.N)

    def hoomd_run(seed):
        sim = HoomdSimulation(state, beta_eps, well_range, seed=seed, device="cpu", **moves)
        recorder = EnergyRecorder(sim._mc)
        sim._sim.operations.writers.append(hoomd.write.CustomWriter(action=recorder, trigger=1))

        def hoomd_trace(sweeps):
            recorder.energies.clear()
            sim.run(sweeps)
            return np.array(recorder.energies) / beta_eps

        return block_statistics(sim, hoomd_trace, state.N)

    m1, e1 = replica_statistics([native_run(seed) for seed in (3, 7, 8)])
    m2, e2 = replica_statistics([hoomd_run(seed) for seed in (4, 5, 6)])
    assert np.all(e1[:1] < 0.03) and np.all(e2[:1] < 0.03)  # resolution of the bond count
    checked = 2 if GAUSSIAN else 3
    z = np.abs(m1 - m2) / np.hypot(e1, e2)
    assert np.all(z[:checked] < 4), (m1, e1, m2, e2)


def test_an_integrator_missing_from_the_build_is_named():
    """The check behind the previous test, on an integrator this build may lack: builds made as
    docs/hoomd.md describes keep only ConvexPolyhedron and ConvexSpheropolyhedron, so Sphere is
    missing there and the refusal names its source file; a full build has it."""
    types = HoomdTypes("Sphere", ("A",), np.zeros(1, np.int64), ({"diameter": 1.0},), np.ones(1))
    if hasattr(hoomd.hpmc._hpmc, hoomd.hpmc.integrate.Sphere._cpp_cls):
        assert integrator_class(hoomd, types) is hoomd.hpmc.integrate.Sphere
    else:
        with pytest.raises(EngineSelectionError, match="without the HPMC shape Sphere.*module_sphere.cc"):
            integrator_class(hoomd, types)
