"""Vacancies counted without one lattice (LocalSites) on crystallites with known holes."""

import numpy as np
import pytest
from cubemc.analysis.geometry import quat_from_axis_angle, quat_multiply
from cubemc.analysis.local_sites import LocalSites
from cubemc.analysis.supraparticle import ON_ONE_LATTICE, Supraparticle
from cubemc.analysis.synthetic import crystallite, small_rotations

from cubemc.geometry import quaternion_matrices, random_quaternions

A = 1.06


def _indices(shape):
    return np.stack(np.meshgrid(*(np.arange(k) for k in shape), indexing="ij"), -1).reshape(-1, 3)


def _without(idx, sites):
    return ~np.any(np.all(idx[:, None, :] == np.asarray(sites)[None], axis=2), axis=1)


def _counts(sp):
    return (sp.bulk_vacancies, sp.bulk_sites), (sp.surface_vacancies, sp.surface_sites)


def _thermal(pos, q, rng):
    return pos + rng.normal(0, 0.05 * A, pos.shape), quat_multiply(q, small_rotations(len(q), 4.0, rng))


def test_a_block_that_one_lattice_fits_gives_the_lattice_count():
    rng = np.random.default_rng(2)
    shape = (5, 6, 7)
    pos, q = crystallite(shape, A, rng.uniform(-3, 3, 3), random_quaternions(rng, 1)[0])
    bulk = [(2, 2, 3), (1, 1, 1), (3, 4, 5), (2, 3, 3)]  # the last two a divacancy along z
    face = [(0, 2, 3), (4, 3, 2), (2, 0, 4), (1, 5, 1), (2, 3, 0), (3, 2, 6)]
    shape_only = [(0, 0, 0), (4, 5, 3), (2, 5, 6)]  # a corner and two edge cubes
    keep = _without(_indices(shape), bulk + face + shape_only)
    pos, q = _thermal(pos[keep], q[keep], rng)
    local = LocalSites().compute(pos, q)
    # 210 sites less 3 of shape: 60 bulk, 147 surface
    assert _counts(local) == ((4, 60), (6, 147)) == _counts(Supraparticle().compute(pos, q))
    assert local.bulk_vacancy_fraction == pytest.approx(4 / 60)
    assert local.surface_vacancy_fraction == pytest.approx(6 / 147)
    assert local.lattice_constant == pytest.approx(A, rel=0.05) and len(local.vacancy_positions) == 10
    assert local.summary() == {
        "bulk_sites": 60,
        "bulk_vacancies": 4,
        "surface_sites": 147,
        "surface_vacancies": 6,
        "filled_holes": 0,
    }


def _bent_slab(shape=(16, 6, 6), degrees=40.0):
    """A slab bent about its y axis by `degrees` end to end, each cube turned with its row."""
    idx = _indices(shape)
    centred = (idx - (np.asarray(shape) - 1) / 2) * A
    radius = (shape[0] - 1) * A / np.radians(degrees)
    angle = centred[:, 0] / radius
    r = radius + centred[:, 2]
    pos = np.stack([r * np.sin(angle), centred[:, 1], r * np.cos(angle) - radius], axis=1)
    q = quat_from_axis_angle(np.tile([0.0, 1.0, 0.0], (len(idx), 1)), angle)
    return pos, q, idx


def test_a_bent_crystal_has_its_holes_counted_where_one_lattice_fails():
    rng = np.random.default_rng(7)
    pos, q, idx = _bent_slab()
    bulk = [(3, 2, 2), (8, 3, 3), (12, 1, 4), (6, 4, 1)]
    face = [(0, 2, 3), (15, 3, 2), (5, 0, 3), (9, 5, 2), (4, 2, 0), (11, 3, 5), (13, 1, 0)]
    keep = _without(idx, bulk + face + [(0, 0, 0), (15, 5, 3)])
    pos, q = _thermal(pos[keep], q[keep], rng)
    lattice = Supraparticle().compute(pos, q)
    assert lattice.site_fraction < ON_ONE_LATTICE and lattice.bulk_vacancies > 20  # one lattice fails
    # 16 x 6 x 6 = 576 sites: 14 x 4 x 4 = 224 bulk, 352 surface less a corner and an edge cube
    assert _counts(LocalSites().compute(pos, q)) == ((4, 224), (7, 350))


def test_a_grain_boundary_and_an_unfinished_layer_are_not_vacancies():
    """Two 6^3 grains sharing a face, one twisted by 25 degrees about its normal, plus a 2 x 3
    terrace on the first grain's top: no hole at the boundary or beside the terrace."""
    rng = np.random.default_rng(9)
    grain, qg = crystallite((6, 6, 6), A, np.zeros(3), np.array([1.0, 0, 0, 0]))
    twist = quat_from_axis_angle(np.array([[1.0, 0, 0]]), np.radians([25.0]))[0]
    other, qo = crystallite((6, 6, 6), A, np.array([6 * A, 0, 0]), twist)
    terrace = [((i - 2.5) * A, (j - 2.5) * A, 3.5 * A) for i in range(2) for j in range(3)]
    pos = np.concatenate([grain, other, terrace])
    q = np.concatenate([qg, qo, np.tile([1.0, 0, 0, 0], (6, 1))])
    local = LocalSites().compute(*_thermal(pos, q, rng))
    assert local.bulk_vacancies == local.surface_vacancies == 0
    assert local.bulk_sites + local.surface_sites == 2 * 216 + 6
    # bulk: each grain's 4^3 core and the 2 top sites the terrace covers, and a boundary cube
    # (16 per grain) where a cube of the other grain happens to sit near its neighbour site
    assert 2 * 64 + 2 <= local.bulk_sites <= 2 * 64 + 2 + 2 * 16


def test_a_cube_outside_the_crystallite_fills_its_hole_across_the_box_edge():
    rng = np.random.default_rng(5)
    shape, box = (6, 6, 6), np.full(3, 12.0)
    turn = random_quaternions(rng, 1)[0]
    pos, q = crystallite(shape, A, np.array([6.0, 6.0, 0.0]), turn)  # centred on a box edge
    idx = _indices(shape)
    filled = _without(idx, [(2, 2, 2), (0, 3, 3)]) == 0
    empty = _without(idx, [(3, 3, 3), (5, 2, 3)]) == 0
    keep = ~(filled | empty)
    others = pos[filled] - box * np.floor(pos[filled] / box + 0.5)  # wrapped, as the engine has them
    plain = LocalSites().compute(pos[keep], q[keep])
    assert _counts(plain) == ((2, 64), (2, 152))
    seen = LocalSites().compute(pos[keep], q[keep], others=others, box=box)
    assert _counts(seen) == ((1, 64), (1, 152)) and seen.filled_holes == 2
    R = quaternion_matrices(turn[None])[0]
    expected = pos[empty] @ R  # the two empty sites, in the block's frame
    found = seen.vacancy_positions @ R
    assert np.allclose(np.sort(found, axis=0), np.sort(expected, axis=0), atol=0.1)
