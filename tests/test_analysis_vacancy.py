"""Vacancy mapping on synthetic crystals whose answer is known."""

import numpy as np
import pytest
from cubemc.analysis.geometry import lattice_sites, site_coords, site_index, wrap
from cubemc.analysis.synthetic import crystal_with_vacancy, push_row, share_vacancy
from cubemc.analysis.vacancy import LatticeVacancies, VacancyTracker, infer_cells, vacancy_series

N_CELLS = 8
VAC = (3, 4, 5)


@pytest.fixture()
def crystal():
    return crystal_with_vacancy(n=N_CELLS, packing_fraction=0.8, vacancy=VAC)


def test_site_order_matches_engine_convention():
    box = np.full(3, 6.0)
    sites = lattice_sites(3, box)
    # k = (ix*n + iy)*n + iz at -L/2 + (i + 0.5) a
    k = (2 * 3 + 0) * 3 + 1
    assert np.allclose(sites[k], [-3 + 2.5 * 2, -3 + 0.5 * 2, -3 + 1.5 * 2])
    assert site_index([2, 0, 1], 3) == k
    assert tuple(site_coords(k, 3)) == (2, 0, 1)
    assert site_index([3, -1, 1], 3) == site_index([0, 2, 1], 3)  # periodic


def test_infer_cells():
    assert list(infer_cells(999, [10.77] * 3)) == [10, 10, 10]
    assert list(infer_cells(1000, [10.77] * 3)) == [10, 10, 10]
    assert list(infer_cells(511, [8.0] * 3)) == [8, 8, 8]


def test_perfect_lattice_one_vacancy(crystal):
    pos, box, v = crystal
    lv = LatticeVacancies(box, n_particles=len(pos)).compute(pos)
    assert list(lv.empty_sites) == [v]
    assert len(lv.double_sites) == 0
    assert lv.n_displaced == 0
    assert lv.row_length == 1
    assert np.allclose(lv.drift, 0, atol=1e-6)
    assert np.bincount(lv.site_of).max() == 1


def test_no_vacancy_has_row_length_zero():
    pos, box, _ = crystal_with_vacancy(n=4)
    full = lattice_sites(4, box)
    lv = LatticeVacancies(box, n_cells=4).compute(full)
    assert len(lv.empty_sites) == 0 and lv.row_length == 0


@pytest.mark.parametrize("axis,side,count,fraction", [(0, 1, 3, 0.4), (1, -1, 2, 0.3), (2, 1, 1, 0.45)])
def test_shifted_row(crystal, axis, side, count, fraction):
    pos, box, v = crystal
    p = push_row(pos, box, N_CELLS, VAC, axis, side, count, fraction)
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert list(lv.empty_sites) == [v]
    assert lv.n_displaced == count
    assert lv.row_length == count + 1
    assert lv.row_axis == axis
    step = np.eye(3, dtype=int)[axis] * side
    expected = {v} | {int(site_index(np.add(VAC, step * k), N_CELLS)) for k in range(1, count + 1)}
    assert set(lv.row_sites) == expected


def test_line_shift(crystal):
    pos, box, v = crystal
    assert LatticeVacancies(box, n_cells=N_CELLS).compute(pos).line_shift == pytest.approx(0, abs=1e-6)
    p = push_row(pos, box, N_CELLS, VAC, 2, -1, 3, 0.4)
    lv = LatticeVacancies(box, n_cells=N_CELLS, refine_steps=0).compute(p)
    assert lv.line_shift == pytest.approx(1.2, abs=1e-6)


def test_vacancy_shared_evenly_by_a_row(crystal):
    """m - 1 cubes spread over m sites: displacements +-a/8, +-3a/8 for m = 5."""
    pos, box, v = crystal
    p = share_vacancy(pos, box, N_CELLS, VAC, 1, 5)
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert list(lv.empty_sites) == [v]
    assert lv.n_displaced == 2  # only the two 3a/8 cubes pass the 0.25 a threshold
    assert lv.row_length == 3 and lv.row_axis == 1
    assert lv.line_shift == pytest.approx(1.0, abs=1e-6)
    loose = LatticeVacancies(box, n_cells=N_CELLS, displacement_fraction=0.1).compute(p)
    assert loose.row_length == 5


def test_row_on_both_sides_and_threshold(crystal):
    pos, box, v = crystal
    p = push_row(pos, box, N_CELLS, VAC, 0, 1, 2, 0.35)
    p = push_row(p, box, N_CELLS, VAC, 0, -1, 1, 0.3)
    p = push_row(p, box, N_CELLS, VAC, 1, 1, 1, 0.2)  # below the 0.25 threshold
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert lv.n_displaced == 3
    assert lv.row_length == 4
    lv2 = LatticeVacancies(box, n_cells=N_CELLS, displacement_fraction=0.15).compute(p)
    assert lv2.n_displaced == 4
    assert lv2.row_length == 4  # the sideways cube runs along y: its own row is 2 long


def test_cube_pushed_away_is_not_part_of_the_row(crystal):
    pos, box, v = crystal
    p = push_row(pos, box, N_CELLS, VAC, 0, 1, 1, -0.4)  # pushed away from the vacancy
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert lv.n_displaced == 1 and lv.row_length == 1


def test_cube_jumping_into_the_vacancy_moves_it(crystal):
    pos, box, v = crystal
    p = push_row(pos, box, N_CELLS, VAC, 2, 1, 1, 1.0)
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert list(lv.empty_sites) == [int(site_index(np.add(VAC, [0, 0, 1]), N_CELLS))]
    assert lv.n_displaced == 0 and lv.row_length == 1


@pytest.mark.parametrize("shift", [[0.3, -0.2, 0.1], [0.5, 0.5, 0.5], [3.7, -12.2, 0.54]])
def test_drift_is_followed(crystal, shift):
    pos, box, v = crystal
    a = box[0] / N_CELLS
    rng = np.random.default_rng(1)
    p = pos + rng.normal(0, 0.03, pos.shape)
    p = push_row(p, box, N_CELLS, VAC, 0, 1, 2, 0.4)
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(wrap(p + np.array(shift) * a, box))
    # Drift modulo a lattice constant; the empty site moves with the crystal.
    d = np.asarray(shift) * a - lv.drift
    assert np.allclose(d / a, np.round(d / a), atol=0.02)
    assert lv.n_displaced == 2 and lv.row_length == 3 and len(lv.empty_sites) == 1
    assert len(lv.double_sites) == 0


def test_tracker_follows_slow_drift_and_counts_hops(crystal):
    pos, box, v = crystal
    a = box[0] / N_CELLS
    frames = []
    for t in range(12):  # drift by 1.1 a in total, in steps of 0.1 a
        p = pos + np.array([0.1 * t * a, 0.0, 0.0])
        if t >= 8:  # a neighbour jumps into the vacancy: one hop
            p = push_row(p - [0.1 * t * a, 0, 0], box, N_CELLS, VAC, 1, 1, 1, 1.0) + [0.1 * t * a, 0, 0]
        frames.append(wrap(p, box))
    s = vacancy_series(frames, box)
    assert s["n_empty"] == [1] * 12
    # Continuous drift keeps the label of the empty site although the crystal moved a whole site.
    assert s["empty_sites"][0] == [v] and s["empty_sites"][7] == [v]
    assert s["hops"] == [0] * 8 + [1, 0, 0, 0]
    assert s["hop_count"][-1] == 1
    assert np.isclose(s["drift"][-1][0], 1.1 * a, atol=1e-4)


def test_tracker_series_keys(crystal):
    pos, box, _ = crystal
    tr = VacancyTracker(box, n_particles=len(pos))
    tr.compute(pos).compute(pos)
    assert set(tr.series) == set(VacancyTracker.KEYS)
    assert all(len(v) == 2 for v in tr.series.values())


@pytest.mark.parametrize("sites", [3, 5, 7])
def test_line_shift_of_a_vacancy_shared_by_m_sites(sites):
    """The known answer behind the V1/V2 bound: a vacancy shared evenly by m sites has (m - 1)/4 a."""
    from cubemc.analysis.vacancy_criteria import shared_sites_line_shift

    pos, box, v = crystal_with_vacancy(n=10, vacancy=(4, 5, 6))
    p = share_vacancy(pos, box, 10, (4, 5, 6), 0, sites)
    lv = LatticeVacancies(box, n_cells=10, refine_steps=0).compute(p)
    assert lv.line_shift == pytest.approx(shared_sites_line_shift(sites), abs=1e-6)
    assert lv.bulk_line_shift == pytest.approx(0.0, abs=1e-6)  # the row does not reach the bulk sites


def test_bulk_line_shift_measures_thermal_rattling_only(crystal):
    pos, box, v = crystal
    a = box[0] / N_CELLS
    rng = np.random.default_rng(4)
    quiet = LatticeVacancies(box, n_cells=N_CELLS).compute(pos)
    assert quiet.bulk_line_shift == pytest.approx(0.0, abs=1e-9)
    noisy = pos + rng.normal(0.0, 0.05 * a, pos.shape)
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(noisy)
    # 6 cubes per line, Gaussian components of 0.05 a: the best of 3 axes lies above zero
    assert 0.0 < lv.bulk_line_shift < 0.5
    pushed = LatticeVacancies(box, n_cells=N_CELLS).compute(push_row(noisy, box, N_CELLS, VAC, 1, 1, 3, 0.4))
    assert pushed.bulk_line_shift == pytest.approx(lv.bulk_line_shift, abs=1e-9)
    assert pushed.line_shift > lv.line_shift + 1.0


def test_a_vacancy_shared_by_two_sites_has_the_line_shift_of_three():
    """The known answer behind the V3 bound: one neighbour (almost) halfway into the hole gives
    0.5 a, like a vacancy shared evenly by 3 sites; V3's bound of 0.25 a lies halfway to it."""
    from cubemc.analysis.vacancy_criteria import ON_SITE_BOUND, TWO_SITES_LINE_SHIFT

    pos, box, v = crystal_with_vacancy(n=10, vacancy=(4, 5, 6))
    half = push_row(pos, box, 10, (4, 5, 6), 2, -1, 1, 0.499)
    lv = LatticeVacancies(box, n_cells=10, refine_steps=0).compute(half)
    assert lv.line_shift == pytest.approx(TWO_SITES_LINE_SHIFT, abs=0.002) and lv.row_length == 2
    assert ON_SITE_BOUND == pytest.approx(TWO_SITES_LINE_SHIFT / 2)


# --- crowded sites: re-seating along chains (cubemc.geometry.seat_on_lattice) ---------------------


def _site(offset):
    return int(site_index(np.add(VAC, offset), N_CELLS))


def test_a_vacancy_squeezed_from_both_sides_is_one_empty_site(crystal):
    """The cube left of the vacancy sits 0.6 a into the hole, the one right of it 0.55 a: both
    are nearest to the vacant site (a double) and both their sites look empty.  Re-seated, the
    right cube (farther from the crowded site) goes home: one empty site, where the cube left
    from that moved farthest into the hole, and no double."""
    pos, box, v = crystal
    p = push_row(pos, box, N_CELLS, VAC, 0, -1, 1, 0.6)
    p = push_row(p, box, N_CELLS, VAC, 0, 1, 1, 0.55)
    nearest = LatticeVacancies(box, n_cells=N_CELLS, reseat_reach=None).compute(p)
    assert list(nearest.double_sites) == [v]
    assert sorted(nearest.empty_sites) == sorted([_site([-1, 0, 0]), _site([1, 0, 0])])
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert list(lv.empty_sites) == [_site([-1, 0, 0])] and len(lv.double_sites) == 0
    assert np.bincount(lv.site_of).max() == 1
    a = box[0] / N_CELLS
    assert lv.max_displacement == pytest.approx(0.55, abs=1e-3)  # the right cube (drift: 1e-4 a)
    assert np.sort(np.abs(lv.displacements[lv.displaced, 0]) / a) == pytest.approx([0.4, 0.55], abs=1e-3)


def test_a_crowded_row_away_from_the_vacancy_leaves_no_empty_site(crystal):
    """A cube three sites from the vacancy pushed 0.6 a onto its neighbour's site: nearest sites
    read two empty sites and a double; re-seated, only the vacancy is empty."""
    pos, box, v = crystal
    a = box[0] / N_CELLS
    home = lattice_sites(N_CELLS, box)[_site([0, 3, 0])]
    j = np.argmin(np.linalg.norm(pos - home, axis=1))
    p = pos.copy()
    p[j, 1] += 0.6 * a
    nearest = LatticeVacancies(box, n_cells=N_CELLS, reseat_reach=None).compute(p)
    assert sorted(nearest.empty_sites) == sorted([v, _site([0, 3, 0])])
    assert list(nearest.double_sites) == [_site([0, 4, 0])]
    lv = LatticeVacancies(box, n_cells=N_CELLS).compute(p)
    assert list(lv.empty_sites) == [v] and len(lv.double_sites) == 0
    assert lv.site_of[j] == _site([0, 3, 0]) and lv.row_length == 1


def test_frames_without_a_crowded_site_read_exactly_as_nearest_sites():
    """Monte Carlo frames of a monodisperse crystal with a vacancy (phi 0.80, hard cubes): where
    no site is crowded, re-seating changes nothing, bit for bit, over the whole series."""
    import cubemc

    state = cubemc.State.simple_cubic(n=6, packing_fraction=0.80, vacancies=1, seed=1)
    sim = cubemc.Simulation(state, beta_epsilon=0, well_range=1.14, seed=2, device="cpu")
    frames = []
    for _ in range(30):
        sim.run(10)
        frames.append(sim.state.positions.copy())
    nearest = VacancyTracker(state.box, n_particles=state.N)
    nearest.lattice.reseat_reach = None
    reseated = VacancyTracker(state.box, n_particles=state.N)
    for f in frames:
        nearest.compute(f)
        reseated.compute(f)
        assert np.array_equal(nearest.lattice.site_of, reseated.lattice.site_of)
        assert np.array_equal(nearest.lattice.displacements, reseated.lattice.displacements)
    assert max(nearest.series["n_double"]) == 0 and nearest.series == reseated.series
    assert min(nearest.series["max_displacement"]) > 0.0  # the cubes did move


@pytest.fixture(scope="module")
def polydisperse_crystal():
    """64 sites minus one of 12 % polydisperse cubes compressed to phi 0.80 (cubemc.dense_crystal,
    about 5 s); this seed's crystal has a crowded row that nearest sites misread."""
    from cubemc import dense_crystal, lattices

    params = lattices.shape_params("cuboid", lattices.draw_sizes(64, 0.12, seed=2))
    return dense_crystal.simple_cubic(4, "cuboid", params, 0.80, vacancies=1, seed=2)


def test_a_polydisperse_crystal_with_one_vacancy_has_one_empty_site(polydisperse_crystal):
    state = polydisperse_crystal
    nearest = LatticeVacancies(state.box, n_cells=4, reseat_reach=None).compute(state.positions)
    assert len(nearest.empty_sites) == 2 and len(nearest.double_sites) == 1  # the misreading
    lv = LatticeVacancies(state.box, n_cells=4).compute(state.positions)
    assert len(lv.empty_sites) == 1 and len(lv.double_sites) == 0
    assert np.array_equal(np.sort(lv.site_of), np.setdiff1d(np.arange(64), lv.empty_sites))
    assert lv.max_displacement < 0.75  # every cube within the re-seating reach of its site


def test_chains_are_bounded_by_max_moves():
    """Cubes at 0, 0.6, 1.4 and 2.4 on a row of 4 sites: nearest sites 0, 1, 1, 2; the way out
    takes two moves (the cube at 1.4 to site 2, its cube to site 3), so one move is not enough."""
    from cubemc.geometry import seat_on_lattice

    rel = np.array([[0.0, 0, 0], [0.6, 0, 0], [1.4, 0, 0], [2.4, 0, 0]])
    assert seat_on_lattice(rel, (4, 1, 1)).tolist() == [0, 1, 2, 3]
    assert seat_on_lattice(rel, (4, 1, 1), max_moves=1).tolist() == [0, 1, 1, 2]
