"""The cluster analysis on configurations made by the engine (issue 17, item 5).

An SC block equilibrated by the engine inside an attractive fluid must be found as one
crystallite of about its size and shape, with its own cubes; a freshly quenched fluid must be
classified as fluid; a chain of bonded cubes that turns at random is an aggregate, not a crystal.
"""

import numpy as np
import pytest
from cubemc.analysis.clusters import SP_SERIES
from cubemc.analysis.nucleation import CrystalClusters, classify_state
from cubemc.analysis.supraparticle import Supraparticle

import cubemc

BLOCK = 5
SPACING = 1.04


def embedded_block(n_fluid=400, packing_fraction=0.12, seed=3):
    """A 5 x 5 x 5 SC block (cubes 0..124) in the middle of a hard-cube fluid."""
    g = (np.arange(BLOCK) - (BLOCK - 1) / 2) * SPACING
    block = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    fluid = cubemc.State.fluid(n_particles=n_fluid, packing_fraction=packing_fraction, seed=seed)
    away = np.abs(fluid.positions).max(axis=1) > BLOCK * SPACING / 2 + 0.9
    pos = np.concatenate([block, fluid.positions[away]])
    q = np.concatenate([np.tile([1.0, 0, 0, 0], (len(block), 1)), fluid.orientations[away]])
    return cubemc.State(pos, q, fluid.box)


def test_engine_block_in_fluid_is_found_with_its_size_and_shape():
    sim = cubemc.Simulation(embedded_block(), beta_epsilon=-5.0, well_range=1.14, seed=11, device="cpu")
    sim.run(1500)
    pos, q, box = sim.positions, sim.orientations, sim.box
    cc = CrystalClusters().compute(box, pos, q)
    members = np.flatnonzero(cc.cluster_idx == 0)
    block = members[members < BLOCK**3]
    # The block's own cubes form the largest crystallite; fluid cubes that stuck to its faces
    # and sit on lattice sites may join it, but the rest of the fluid stays out.
    assert len(block) >= 0.9 * BLOCK**3
    assert BLOCK**3 * 0.9 <= cc.largest_cluster_size <= BLOCK**3 + 30
    assert cc.crystalline[BLOCK**3 :].mean() < 0.1
    assert cc.num_clusters <= 3 and (cc.cluster_sizes[1:] < 15).all()
    upos, uq, percolating = cc.cluster_configuration(0)
    assert not percolating
    sp = Supraparticle().compute(upos, uq)
    assert sp.extents[0] >= BLOCK - 1 and sp.extents[2] <= BLOCK + 1
    assert 1.0 < sp.lattice_constant < 1.14  # bonded neighbours sit inside the well
    assert sp.site_fraction > 0.95 and sp.inplane_fwhm_deg < 15.0
    verdict = classify_state(box, pos, q, 1.14)
    assert verdict["class"] == "crystal" and verdict["largest_crystalline"] == cc.largest_cluster_size


def test_engine_quenched_fluid_is_fluid():
    state = cubemc.State.fluid(n_particles=400, packing_fraction=0.3, seed=5)
    sim = cubemc.Simulation(state, beta_epsilon=-4.0, well_range=1.14, seed=5, device="cpu")
    sim.run(1500)
    verdict = classify_state(sim.box, sim.positions, sim.orientations, 1.14)
    assert verdict["class"] == "fluid"
    assert verdict["largest_crystalline"] < 10 and verdict["bonds_per_cube"] < 0.5
    assert verdict["bonds_per_cube"] == pytest.approx(sim.bonds / sim.N)


def test_random_bonded_chain_is_an_aggregate():
    """A self-avoiding walk of face-to-face cubes: bonded but never 4 crystal bonds per cube."""
    rng = np.random.default_rng(8)
    steps = np.concatenate([np.eye(3), -np.eye(3)]) * SPACING
    pos = [np.zeros(3)]
    while len(pos) < 60:
        trial = pos[-1] + steps[rng.integers(6)]
        # Inside the well only with the cube before it (diagonal neighbours at 1.47 are not).
        if len(pos) == 1 or np.linalg.norm(np.array(pos[:-1]) - trial, axis=1).min() > 1.2:
            pos.append(trial)
    pos = np.array(pos)
    box = np.full(3, 3 * np.ptp(pos, axis=0).max() + 10)
    verdict = classify_state(box, pos - pos.mean(axis=0), np.tile([1.0, 0, 0, 0], (60, 1)), 1.14)
    assert verdict == {
        "class": "aggregate",
        "largest_crystalline": 0,
        "largest_bonded": 60,
        "bonds_per_cube": pytest.approx(59 / 60),
        "crystalline_fraction": 0.0,
        "reference": None,
    }


def _lattice_block(shape, spacing, centre):
    """Centres of an SC block of `shape` cubes per axis around `centre`."""
    axes = [(np.arange(n) - (n - 1) / 2) * spacing + c for n, c in zip(shape, centre, strict=True)]
    return np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T


def _summary_of(sim, series=None):
    """The cluster summary of the simulation's present frame (its series into `series`)."""
    from cubemc.analysis.analyzers import Frame
    from cubemc.analysis.clusters import ClusterAnalyzer

    frame = Frame(sim.sweep, sim.box, sim.positions, sim.orientations)
    analyzer = ClusterAnalyzer().compute(frame)
    if series is not None:
        series.update(analyzer.series)
    return analyzer.summary


def _verdict(test, summary, **parameters):
    from cubemc.analysis.structure_criteria import TESTS

    job = {"statepoint": {"initial_state": "fluid"}, "summary": {"N": 1, "clusters": summary}}
    return TESTS[test]({"fluid_jobs": [job]}, **parameters)


def test_engine_slab_spanning_the_box_is_skipped_for_the_block_beside_it():
    """A 3-layer slab that wraps around x and y (192 cubes) and a 4^3 block beside it, run by
    the engine: the slab is the largest crystallite but has no shape; N2 and F1 measure the block."""
    slab = _lattice_block((8, 8, 3), SPACING, (0.0, 0.0, -4.0))
    block = _lattice_block((4, 4, 4), SPACING, (0.0, 0.0, 2.0))
    pos = np.concatenate([slab, block])
    state = cubemc.State(
        pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), np.array([8 * SPACING, 8 * SPACING, 14.0])
    )
    sim = cubemc.Simulation(state, beta_epsilon=-5.0, well_range=1.14, seed=21, device="cpu")
    sim.run(800)
    cc = CrystalClusters().compute(sim.box, sim.positions, sim.orientations)
    assert cc.largest_cluster_size >= 180 and cc.cluster_configuration(0)[2]  # the slab wraps
    c = cc.largest_nonspanning(50)
    members = np.flatnonzero(cc.cluster_idx == c)
    assert c is not None and 58 <= members.size <= 70 and (members >= 192).mean() > 0.9
    summary = _summary_of(sim)
    ns = summary["nonspanning_final"]
    assert ns["size"] == members.size and ns["shape"]["cuboidality"] > 0.75
    assert ns["supraparticle"]["extents"] in ([4, 4, 4], [3, 4, 4], [4, 4, 5])
    assert summary["largest_shapes_final"][0]["percolating"]
    n2 = _verdict("clusters_cuboidal", summary, cuboidality=0.75, min_size=50)
    assert n2.verdict == "agree" and f"sizes {members.size}" in n2.value
    # 8 bulk sites expect 0.3 vacancies at 3.3 %: too small to tell, and said so
    f1 = _verdict("sp_vacancies", summary, bulk=0.033, surface=(0.055, 0.015))
    assert f1.verdict == "too small to tell" and "expects" in f1.test


def test_engine_box_spanning_crystal_has_no_measured_shape():
    """A periodic 5^3 crystal run by the engine wraps the box: nothing to measure, reason given."""
    pos = _lattice_block((5, 5, 5), SPACING, (0.0, 0.0, 0.0))
    state = cubemc.State(pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), np.full(3, 5 * SPACING))
    sim = cubemc.Simulation(state, beta_epsilon=-4.0, well_range=1.14, seed=22, device="cpu")
    sim.run(300)
    summary = _summary_of(sim)
    assert summary["largest_final"] == 125 and summary["nonspanning_final"] is None
    n2 = _verdict("clusters_cuboidal", summary, cuboidality=0.75, min_size=50)
    assert (
        n2.verdict == "not measured" and "does not wrap the box" in n2.test and n2.value.endswith(": 0 cubes")
    )
    f1 = _verdict("sp_vacancies", summary, bulk=0.033, surface=(0.055, 0.015))
    assert f1.verdict == "not measured"


def _crystallite_in_vapour(sites, seed):
    """Cubes on the given SC sites (spacing inside the well) alone in a box at packing fraction
    0.1, run by the engine at beta*eps -5 for 500 sweeps: the crystallite's own thermal state."""
    pos = sites * SPACING
    box = np.full(3, (len(pos) / 0.1) ** (1 / 3))
    state = cubemc.State(pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)), box)
    sim = cubemc.Simulation(state, beta_epsilon=-5.0, well_range=1.14, seed=seed, device="cpu")
    sim.run(500)
    series = {}
    ns = _summary_of(sim, series)["nonspanning_final"]
    # the per-frame series follow the same crystallite with the same (site) measures as N2, F1
    for key, attr in SP_SERIES.items():
        assert series[key] == [ns["supraparticle"][attr]], key
    return ns


def test_holes_in_a_thermal_crystallite_are_counted_frame_by_frame():
    """A 7^3 block with three holes in its bulk, shaken by the engine: F1's per-frame counts read
    3 vacancies in 125 bulk sites and none in 218 surface sites (a cube next to a hole would have
    to break five bonds to move into it, e^-25 at beta*eps -5)."""
    g = np.arange(7)
    sites = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    holes = [(2, 2, 2), (4, 4, 4), (2, 4, 3)]
    sites = sites[~(sites[:, None, :] == np.array(holes)[None]).all(axis=2).any(axis=1)]
    ns = _crystallite_in_vapour(sites.astype(float), seed=17)
    sp = ns["supraparticle"]
    assert ns["size"] == len(sites) == 340
    assert (sp["bulk_vacancies"], sp["bulk_sites"]) == (3, 125)
    assert (sp["surface_vacancies"], sp["surface_sites"]) == (0, 218)


@pytest.mark.parametrize("kind", ["cube", "ball"])
def test_n2_measures_a_thermal_crystallite_by_its_sites(kind):
    """N2's cuboidality counts lattice sites, so a 6^3 block shaken by the engine reads 1 (less
    only corner cubes that leave their sites or bonds) and a ball of 389 sites its own fill,
    389/9^3 = 0.53 (less rim cubes with too few bonds to be crystalline); the continuous extents
    of cluster_shape read the thermal block at about 0.82 (a box is 1)."""
    from cubemc.analysis.nucleation_report import sp_cuboidality
    from cubemc.analysis.verdicts import fmt

    g = np.arange(-5, 6)
    sites = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    if kind == "cube":
        sites, expected = sites[(sites >= -2).all(axis=1) & (sites <= 3).all(axis=1)], 1.0
    else:
        sites = sites[np.linalg.norm(sites, axis=1) <= 4.5]  # 9 sites across
        expected = len(sites) / 9**3
    ns = _crystallite_in_vapour(sites.astype(float), seed=31)
    # every cube stays on its site; the few on the ball's rim with too few bonds are not crystalline
    assert ns is not None and ns["size"] >= 0.9 * len(sites)
    value = sp_cuboidality(ns)
    assert ns["supraparticle"]["extents"] == ([6, 6, 6] if kind == "cube" else [9, 9, 9])
    assert expected * 0.9 <= value <= expected, value
    n2 = _verdict("clusters_cuboidal", {"nonspanning_final": ns}, cuboidality=0.75, min_size=50)
    assert n2.verdict == ("agree" if kind == "cube" else "disagree") and n2.value.startswith(fmt(value))
    if kind == "cube":
        assert ns["shape"]["cuboidality"] < 0.92  # why N2 counts sites


@pytest.mark.parametrize("shape", ["cuboid", "rounded_cuboid"])
def test_well_contacts_of_sized_particles_are_the_engine_bonds(tmp_path, shape):
    """Polydisperse cuboids or rounded cubes in a bonded fluid: the analysis reads each particle's
    size from the engine's GSD frames, and its well pairs (centres closer than lambda times the
    pair's mean size) equal the engine's own integer bond count in every frame; the unit-cube
    well (sizes ignored) does not."""
    from cubemc.analysis.nucleation import bonded_clusters
    from cubemc.analysis.trajectory import read_frames

    from cubemc import lattices

    sizes = lattices.draw_sizes(300, 0.12, seed=5)
    params = lattices.shape_params(shape, sizes, rounding=0.1 if shape == "rounded_cuboid" else 0.0)
    state = lattices.fluid(300, 0.3, shape, params, seed=5)
    sim = cubemc.Simulation(state, beta_epsilon=-5.0, well_range=1.14, seed=2, device="cpu")
    sim.run(600, trajectory=str(tmp_path / "t.gsd"), period=200)
    frames = list(read_frames(str(tmp_path / "t.gsd")))
    assert len(frames) == 4 and np.allclose(frames[0].sizes, cubemc.shapes.sizes(sim.shape, params, 300))
    assert [bonded_clusters(f.box, f.positions, 1.14, f.sizes)[1] for f in frames] == [
        f.log["bonds"] for f in frames
    ]
    last = frames[-1]
    assert last.log["bonds"] > 100 and bonded_clusters(last.box, last.positions, 1.14)[1] != last.log["bonds"]
    cubes = cubemc.Simulation(
        cubemc.State.fluid(100, 0.2, seed=1), beta_epsilon=-1.0, well_range=1.14, seed=1
    )
    cubes.run(1, trajectory=str(tmp_path / "c.gsd"), period=1)
    assert all(f.sizes is None for f in read_frames(str(tmp_path / "c.gsd")))


def _two_grains(twist_deg):
    """Two 6^3 SC blocks face to face along x, the second turned by `twist_deg` about x (a twist
    boundary: the x faces still meet, so the crystal bonds join the grains), in a vapour box."""
    from cubemc.geometry import quaternion_matrices

    a = _lattice_block((6, 6, 6), SPACING, (-3 * SPACING, 0.0, 0.0))
    b = _lattice_block((6, 6, 6), SPACING, (3 * SPACING, 0.0, 0.0))
    half = np.radians(twist_deg) / 2
    qb = np.array([np.cos(half), np.sin(half), 0.0, 0.0])
    centre = np.array([3 * SPACING, 0.0, 0.0])
    b = (b - centre) @ quaternion_matrices(qb[None])[0].T + centre
    q = np.concatenate([np.tile([1.0, 0, 0, 0], (len(a), 1)), np.tile(qb, (len(b), 1))])
    pos = np.concatenate([a, b])
    return cubemc.State(pos, q, np.full(3, (len(pos) / 0.1) ** (1 / 3)))


def test_n2_names_a_bicrystal_that_one_lattice_does_not_fit():
    """Two grains run by the engine: aligned they are one 6 x 6 x 12 block (cuboidality 1, all
    cubes on their sites); turned 15 degrees against each other they stay one crystallite, whose
    outline is the same block but whose cubes one lattice cannot hold (the cuboidality in sites
    drops with it). N2's value counts the crystallites above the threshold and names the one
    that is not on one lattice; its verdict still reads the mean."""
    from cubemc.analysis.structure_criteria import TESTS

    jobs = []
    for twist in (0.0, 15.0):
        sim = cubemc.Simulation(_two_grains(twist), beta_epsilon=-5.0, well_range=1.14, seed=5, device="cpu")
        sim.run(300)
        summary = _summary_of(sim)
        sp = summary["nonspanning_final"]["supraparticle"]
        assert summary["nonspanning_final"]["size"] >= 420
        free = sp["lattice_free"]  # both grains are full blocks: no hole without a lattice either
        assert free["bulk_vacancies"] == free["surface_vacancies"] == 0, free
        if twist:
            assert sp["site_fraction"] < 0.3 and sp["double_sites"] > 0 and sp["cuboidality"] < 0.75
        else:
            assert sp["site_fraction"] > 0.95 and sp["cuboidality"] > 0.95
            assert all(free[k] == sp[k] for k in ("bulk_sites", "surface_sites")), (free, sp)
        jobs.append({"statepoint": {"initial_state": "fluid"}, "summary": {"N": 1, "clusters": summary}})
    n2 = TESTS["clusters_cuboidal"]({"fluid_jobs": jobs}, cuboidality=0.75, min_size=50)
    assert "; 1 of 2 ≥ 0.75; 1 not on one lattice (< 90 % of cubes on its sites)" in n2.value, n2.value
    aligned = TESTS["clusters_cuboidal"]({"fluid_jobs": [jobs[0], jobs[0]]}, cuboidality=0.75, min_size=50)
    assert aligned.verdict == "agree" and aligned.value.endswith("; 2 of 2 ≥ 0.75"), aligned.value
    # F1 pools the aligned block alone and shows the bicrystal apart; the bicrystal alone: no SP
    f1 = TESTS["sp_vacancies"]({"fluid_jobs": jobs}, bulk=0.033, surface=(0.055, 0.015))
    assert f1.evidence.startswith("1 SP(s)") and "; not pooled: 1 SP(s) not on one lattice" in f1.value
    assert "counted without a lattice: bulk 0/" in f1.value, f1.value
    twisted = TESTS["sp_vacancies"]({"fluid_jobs": jobs[1:]}, bulk=0.033, surface=(0.055, 0.015))
    assert twisted.verdict == "not measured" and "needs an SP on one lattice" in twisted.test
    # the report's SP table says which SP F1 pools
    from cubemc.analysis.sp_report import sp_table

    rows = [t for t in sp_table(jobs) if t.startswith("| —")]
    assert [r.rsplit("|", 2)[1].strip() for r in rows] == ["pooled", "apart"], rows
