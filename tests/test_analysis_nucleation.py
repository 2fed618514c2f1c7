"""Crystalline clusters and their shapes on synthetic crystallites."""

import numpy as np
import pytest
from cubemc.analysis.geometry import (
    cube_group,
    lattice_sites,
    minimum_image,
    quat_from_axis_angle,
    quat_multiply,
    wrap,
)
from cubemc.analysis.nucleation import (
    CrystalClusters,
    cluster_shape,
    crystal_bonds,
    mean_cubic_orientation,
    steinhardt_q4_q6,
)
from cubemc.analysis.synthetic import (
    crystal_with_vacancy,
    crystallite,
    random_fluid,
    small_rotations,
    sphere_crystallite,
    two_crystallites_in_fluid,
)

from cubemc.geometry import random_quaternions


def test_steinhardt_of_perfect_sc():
    pos, box, v = crystal_with_vacancy(n=6)
    q4, q6 = steinhardt_q4_q6(box, pos)
    # Cubes that are not next to the vacancy: perfect SC values.
    hole = lattice_sites(6, box)[v]
    far = np.linalg.norm(minimum_image(pos - hole, box), axis=1) > 1.2 * box[0] / 6
    assert far.sum() == len(pos) - 6
    assert np.allclose(q4[far], 0.7638, atol=1e-3)
    assert np.allclose(q6[far], 0.3536, atol=1e-3)
    assert np.all(q4[~far] < 0.7)  # a neighbour of the vacancy sees a different shell


def test_thresholds_on_noisy_crystal_and_random_fluid():
    """The justification of the default thresholds (see module doc)."""
    rng = np.random.default_rng(0)
    pos, box, _ = crystal_with_vacancy(n=8)
    a = box[0] / 8
    noisy = wrap(pos + rng.normal(0, 0.06 * a, pos.shape), box)
    cc = CrystalClusters().compute(box, noisy, small_rotations(len(pos), 5.0, rng))
    assert cc.crystalline_fraction == 1.0
    assert cc.largest_cluster_size == len(pos)
    hotter = wrap(pos + rng.normal(0, 0.08 * a, pos.shape), box)
    cc = CrystalClusters().compute(box, hotter, small_rotations(len(pos), 7.0, rng))
    assert cc.crystalline_fraction > 0.85

    L = (500 / 0.45) ** (1 / 3)
    fluid = random_fluid(500, np.full(3, L), 0.95, rng)
    cc = CrystalClusters().compute(np.full(3, L), fluid, random_quaternions(rng, len(fluid)))
    assert cc.crystalline_fraction == 0.0 and cc.num_clusters == 0 and cc.largest_cluster_size == 0
    # Even with every cube aligned (an extreme cubatic fluid) hardly any cube passes.
    cc = CrystalClusters().compute(np.full(3, L), fluid, np.tile([1.0, 0, 0, 0], (len(fluid), 1)))
    assert cc.crystalline_fraction < 0.05


def test_two_crystallites_in_fluid():
    rng = np.random.default_rng(3)
    box, pos, q, lab = two_crystallites_in_fluid(rng)
    cc = CrystalClusters().compute(box, pos, q)
    assert list(cc.cluster_sizes) == [125, 64]
    assert cc.num_clusters == 2 and cc.largest_cluster_size == 125
    assert np.array_equal(cc.crystalline, lab >= 0)
    assert np.array_equal(cc.cluster_idx, lab)  # clusters are numbered by decreasing size
    assert cc.size_distribution == {64: 1, 125: 1}
    # Corners (3 bonds) are crystal surface, not core.
    assert (cc.core & (lab == 0)).sum() == 125 - 8
    shapes = cc.shapes()
    assert [s["size"] for s in shapes] == [125, 64]
    assert all(s["cuboidality"] == pytest.approx(1.0, abs=1e-6) for s in shapes)
    assert all(not s["percolating"] for s in shapes)
    # Without the surface rule the corners drop out.
    bare = CrystalClusters(surface_bonds=None).compute(box, pos, q)
    assert list(bare.cluster_sizes) == [117, 56]


def test_crystal_bonds_require_alignment():
    box = np.full(3, 10.0)
    pos = np.array([[0, 0, 0], [1.05, 0, 0], [0, 0, 1.05]], dtype=float)
    q = np.tile([1.0, 0, 0, 0], (3, 1))
    i, j = crystal_bonds(box, pos, q)
    assert sorted(zip(i, j, strict=False)) == [(0, 1), (0, 2)]
    q[1] = quat_from_axis_angle([0, 0, 1], np.radians(40))  # misaligned neighbour
    i, j = crystal_bonds(box, pos, q)
    assert sorted(zip(i, j, strict=False)) == [(0, 2)]
    pos[2] = [-0.75, 0.0, 0.75]  # diagonal bond, 45 degrees from the axes
    q[1] = [1, 0, 0, 0]
    i, j = crystal_bonds(box, pos, q)
    assert sorted(zip(i, j, strict=False)) == [(0, 1)]


def test_shape_cube_sphere_rod():
    rng = np.random.default_rng(1)
    big = np.full(3, 30.0)
    shapes = {}
    for name, (p, q) in {
        "cube": crystallite((6, 6, 6), 1.05, [14.0, 0, 0], random_quaternions(rng, 1)[0]),  # wraps the box
        "sphere": sphere_crystallite(3.5, 1.05, [0, 14.5, 0], random_quaternions(rng, 1)[0]),
        "rod": crystallite((3, 3, 12), 1.05, [0, 0, 0], random_quaternions(rng, 1)[0]),
    }.items():
        cc = CrystalClusters().compute(big, wrap(p, big), q)
        assert cc.num_clusters == 1 and cc.largest_cluster_size == len(p)
        shapes[name] = cc.shapes()[0]
    cube, sphere, rod = shapes["cube"], shapes["sphere"], shapes["rod"]
    assert cube["cuboidality"] == pytest.approx(1.0, abs=1e-6)
    assert sphere["cuboidality"] < 0.6
    assert rod["cuboidality"] == pytest.approx(1.0, abs=1e-6)
    assert cube["kappa2"] < 1e-6 and sphere["kappa2"] < 1e-6
    assert rod["kappa2"] > 0.5
    assert rod["elongation"] == pytest.approx(np.sqrt((144 - 1) / (9 - 1)), rel=1e-6)
    assert np.allclose(cube["extents"], 6 * 1.05)
    assert np.allclose(rod["extents"], [3 * 1.05, 3 * 1.05, 12 * 1.05])


def test_cluster_shape_min_image_and_mean_orientation():
    rng = np.random.default_rng(2)
    q0 = random_quaternions(rng, 1)[0]
    p, q = crystallite((4, 4, 4), 1.0, [9.9, 9.9, 9.9], q0)
    box = np.full(3, 20.0)
    s = cluster_shape(wrap(p, box), box, q)
    assert s["cuboidality"] == pytest.approx(1.0, abs=1e-6)
    # Mean orientation equals q0 up to the cube group and sign.
    from cubemc.analysis.orientation import misorientation_angles

    assert misorientation_angles(mean_cubic_orientation(q)[None], q0)[0] < 1e-4
    # Noisy and scrambled by cube symmetries: the mean is still close to q0.
    noisy = quat_multiply(q, small_rotations(len(q), 3.0, rng))
    noisy = quat_multiply(noisy, cube_group()[rng.integers(0, 24, len(q))])
    assert misorientation_angles(mean_cubic_orientation(noisy)[None], q0)[0] < 1.5


def test_whole_crystal_is_percolating():
    pos, box, _ = crystal_with_vacancy(n=6)
    cc = CrystalClusters().compute(box, pos, np.tile([1.0, 0, 0, 0], (len(pos), 1)))
    s = cc.shapes()[0]
    assert s["percolating"] and s["cuboidality"] is None and s["size"] == len(pos)
