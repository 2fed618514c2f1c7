"""Dense polydisperse crystals (issue 12): the compression route past the lattice cap
(cubemc.dense_crystal), its SC-order check and the state points it serves.

Overlaps are checked twice, independently of the route's own guard (the cell-list count inside
cubemc.compress): by the brute-force all-pairs search (`first_overlap`, no cell list) and by the
from-scratch cell-list count of a fresh State.  Sizes: the set drawn from the seed, unchanged.
"""

import numpy as np
import pytest
from signac.job import calc_id

import cubemc
from cubemc import dense_crystal, lattices, pairs, shapes, targets
from cubemc.errors import InputError
from cubemc.workflow import shape_keys
from cubemc.workflow.engine import initial_state
from cubemc.workflow.errors import StatePointError
from cubemc.workflow.init_cli import create_jobs
from cubemc.workflow.studies import get_study, make_statepoint, validate_grid

N_LATTICE, DELTA, PHI, SEED = 4, 0.12, 0.70, 1


def brute_force_overlap(state):
    """One overlapping pair (i, j) by the all-pairs search, (-1, -1) if none."""
    kernels = targets.cpu(shapes.get(state.shape), pairs.square_well)
    i, j = kernels.first_overlap(
        state.positions, state.orientations, state.shape_params, state.box, np.zeros(2)
    )
    return int(i), int(j)


def check_dense(state, params, phi, n=N_LATTICE):
    """Overlap-free, at the requested packing fraction of the full lattice, SC order kept, one
    vacancy, the drawn sizes (all but the vacancy's) unchanged and still cubes."""
    assert brute_force_overlap(state) == (-1, -1)
    fresh = state.with_positions(state.positions, check=True)
    assert fresh.count_pairs()[1] == 0
    full = dense_crystal.full_lattice_volume("cuboid", params)
    assert abs(full / state.volume - phi) < 1e-9
    order = dense_crystal.sc_order(state, n)
    assert order["empty_sites"] == 1 and order["double_sites"] == 0, order
    assert order["tilt_deg"] < 15.0 and dense_crystal.ordered(order, 1), order
    drawn = np.sort(params[:, 0])
    kept = np.sort(state.shape_params[:, 0])
    assert len(kept) == len(drawn) - 1 and np.isin(kept, drawn).all()
    assert np.array_equal(state.shape_params, np.repeat(state.shape_params[:, :1], 3, axis=1))


def sizes(n=N_LATTICE, seed=SEED):
    return lattices.shape_params("cuboid", lattices.draw_sizes(n**3, DELTA, seed=seed))


def test_route_reaches_the_packing_fraction_without_overlaps():
    """63 cubes of 12 % polydispersity: a lattice with room for this sample's largest cube is
    capped at phi 0.64; the route reaches 0.70 keeping one vacancy and the SC order."""
    params = sizes()
    largest = params[:, 0].max()
    cap = dense_crystal.full_lattice_volume("cuboid", params) / (N_LATTICE * largest) ** 3
    assert cap < PHI - 0.05
    state = dense_crystal.simple_cubic(N_LATTICE, "cuboid", params, PHI, vacancies=1, seed=SEED)
    check_dense(state, params, PHI)


def test_sc_order_tells_crystal_from_disorder():
    """The checker itself: a perfect lattice is ordered; a shuffled, randomly turned one is not."""
    crystal = cubemc.State.simple_cubic(4, 0.5, vacancies=1, seed=2)
    order = dense_crystal.sc_order(crystal, 4)
    assert order["empty_sites"] == 1 and order["double_sites"] == 0 and order["off_site"] == 0
    assert order["tilt_deg"] < 1e-9 and order["max_displacement"] < 1e-9
    fluid = cubemc.State.fluid(63, 0.3, seed=2)
    disorder = dense_crystal.sc_order(fluid, 4)
    assert disorder["empty_sites"] > 1 and disorder["double_sites"] > 0, disorder
    assert 30.0 < disorder["tilt_deg"] < 45.0  # random orientations: about 38 degrees
    assert dense_crystal.ordered(order, 1) and not dense_crystal.ordered(disorder, 1)


def test_sc_order_seats_crowding_cubes_along_a_chain():
    """A row of four sites holding cubes at 0, 0.6, 1.4 and 2.4 lattice constants: nearest sites
    0, 1, 1, 2, so site 1 is crowded and site 3 empty.  The cube at 0.6 has no way out (site 0's
    cube is stuck), the one at 1.4 has: to site 2, whose cube goes to site 3.  Full crystal
    again: no empty and no crowded site, largest displacement 0.6."""
    crystal = cubemc.State.simple_cubic(4, 0.5, seed=2)
    a = crystal.box[0] / 4
    pos = crystal.positions.copy()
    row = np.flatnonzero((np.abs(pos[:, 1] - pos[0, 1]) < 1e-9) & (np.abs(pos[:, 2] - pos[0, 2]) < 1e-9))
    row = row[np.argsort(pos[row, 0])]
    pos[row, 0] = pos[row[0], 0] + a * np.array([0.0, 0.6, 1.4, 2.4])
    state = cubemc.State(pos, crystal.orientations, crystal.box, check=False)
    order = dense_crystal.sc_order(state, 4)
    assert order["empty_sites"] == 0 and order["double_sites"] == 0, order
    assert abs(order["max_displacement"] - 0.6) < 0.05, order
    # at 1.2 the cube is 0.8 from the empty site 2: no chain, the crowding stays
    pos[row, 0] = pos[row[0], 0] + a * np.array([0.0, 0.6, 1.2, 3.0])
    stuck = dense_crystal.sc_order(cubemc.State(pos, crystal.orientations, crystal.box, check=False), 4)
    assert stuck["double_sites"] == 1 and stuck["empty_sites"] == 1, stuck


def test_a_slipped_row_slides_back():
    """A row of aligned cubes moved 0.4 a along its own axis (free for aligned cubes) goes back
    onto its sites; one moved across its neighbours' path would overlap and stays."""
    crystal = cubemc.State.simple_cubic(4, 0.5, vacancies=1, seed=2)
    a = crystal.box[0] / 4
    pos = crystal.positions.copy()
    row = np.flatnonzero((np.abs(pos[:, 1] - pos[0, 1]) < 1e-9) & (np.abs(pos[:, 2] - pos[0, 2]) < 1e-9))
    pos[row, 0] += 0.4 * a
    slipped = cubemc.State(pos, crystal.orientations, crystal.box)
    assert dense_crystal.sc_order(slipped, 4)["off_site"] == len(row)
    back = dense_crystal._register_rows(slipped, 4)
    assert np.allclose(back.positions, crystal.positions) and back.count_pairs()[1] == 0


def test_unreachable_packing_fraction_is_one_line():
    params = sizes()
    with pytest.raises(InputError, match="could not compress the 4x4x4 crystal") as info:
        dense_crystal.simple_cubic(N_LATTICE, "cuboid", params, 0.95, vacancies=1, seed=SEED, max_sweeps=200)
    assert "\n" not in str(info.value)


def test_skipping_overlap_removal_is_caught(monkeypatch):
    """Hand mutation: the compression's overlap count always says 'none', so the box is shrunk to
    the target without removing overlaps; the independent checks above must fail."""
    real = targets.cpu(shapes.get("cuboid"), pairs.square_well)

    class Blind:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def count_pairs(*args):
            return 0, 0

    monkeypatch.setattr(cubemc.State, "_kernels", lambda self: Blind())
    params = sizes()
    state = dense_crystal.simple_cubic(N_LATTICE, "cuboid", params, PHI, vacancies=1, seed=SEED)
    monkeypatch.undo()
    with pytest.raises(AssertionError):
        check_dense(state, params, PHI)
    assert brute_force_overlap(state) != (-1, -1)


def crystal_point(**changes):
    sp = make_statepoint(
        initial_state="crystal_vacancy",
        beta_epsilon=-1.0,
        packing_fraction=PHI,
        well_range=1.14,
        n_lattice=N_LATTICE,
        vacancies=1,
        tune_sweeps=20,
        equilibration_sweeps=40,
        production_sweeps=100,
        sample_period=20,
    )
    return sp | {"shape": "cuboid", "size_polydispersity": DELTA} | changes


def test_state_points_past_the_cap_take_the_route():
    sp = crystal_point()
    validate_grid([sp])
    assert shape_keys.is_dense_crystal(sp)
    assert not shape_keys.is_dense_crystal(crystal_point(packing_fraction=0.5))  # nominal lattice
    state = initial_state(sp, seed=5)
    params = sizes(seed=5)
    check_dense(state, params, PHI)


@pytest.mark.parametrize(
    "changes, limit",
    [
        ({"packing_fraction": 0.85}, "0.8"),
        ({"size_polydispersity": 0.15}, None),
        ({"shape": "rounded_cuboid", "rounding_radius": 0.1}, None),  # limits measured for cubes only
    ],
)
def test_state_point_beyond_the_route_is_one_line_and_nothing_is_written(tmp_path, changes, limit):
    sp = crystal_point(**changes)
    with pytest.raises(StatePointError, match="nothing written") as info:
        create_jobs(str(tmp_path / "project"), [("custom", sp)], quiet=True)
    message = str(info.value)
    assert "too high for a lattice" in message and "\n" not in message
    assert (f"compression (cubemc.dense_crystal) reaches {limit}" in message) == (limit is not None)
    assert not (tmp_path / "project").exists()


def test_vacancy_shapes_polydisperse_branch_is_dense():
    """The 12 % branch runs at the route's packing fraction, 0.80, next to its monodisperse
    reference (the plain cube jobs at the same phi and beta*eps)."""
    for quick in (False, True):
        points = get_study("vacancy-shapes", quick=quick).statepoints()
        validate_grid(points)
        poly = [sp for sp in points if "size_polydispersity" in sp]
        phi = shape_keys.dense_limit(poly[0])
        assert phi is not None and all(sp["packing_fraction"] == phi for sp in poly)
        assert all(shape_keys.is_dense_crystal(sp) for sp in poly)
        reference = [sp for sp in points if not shape_keys.has_shape(sp) and sp["packing_fraction"] == phi]
        assert {sp["beta_epsilon"] for sp in reference} == {sp["beta_epsilon"] for sp in poly}
        assert len({calc_id(sp) for sp in points}) == len(points)


@pytest.mark.slow
def test_route_for_215_cubes():
    """The vacancy study's size and density: 6^3 sites minus one at phi 0.80 (20 s on one idle
    core: 2 x 10^4 sweeps)."""
    n = 6
    phi = shape_keys.dense_limit({"shape": "cuboid", "size_polydispersity": DELTA})
    params = sizes(n, seed=3)
    state = dense_crystal.simple_cubic(n, "cuboid", params, phi, vacancies=1, seed=3)
    check_dense(state, params, phi, n=n)


def test_block_cuts_the_crystal_out_of_its_box_in_one_piece():
    """A crystal shifted by half a lattice constant straddles its box's faces; `block` puts every
    particle next to its own site of one n^3 block centred at the origin, overlap-free in a
    larger box, with each lattice pair at the distance it had across the periodic box."""
    params = sizes()
    state = dense_crystal.simple_cubic(N_LATTICE, "cuboid", params, PHI, seed=SEED)
    a = state.box[0] / N_LATTICE
    straddling = state.with_positions(state.positions + 0.5 * a)
    assert np.ptp(straddling.positions, axis=0).min() > (N_LATTICE - 0.5) * a  # split by the faces
    pos = dense_crystal.block(straddling, N_LATTICE)
    sites = np.rint(pos / a + (N_LATTICE - 1) / 2).astype(int)
    assert sites.min() == 0 and sites.max() == N_LATTICE - 1
    assert len(np.unique(sites, axis=0)) == N_LATTICE**3 and np.abs(pos.mean(axis=0)).max() < 0.1 * a
    alone = cubemc.State(
        pos, state.orientations, 3 * state.box, shape="cuboid", shape_params=state.shape_params
    )
    assert brute_force_overlap(alone) == (-1, -1)
    d_block = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    wrapped = state.positions[:, None] - state.positions[None]
    d_box = np.linalg.norm(wrapped - state.box * np.rint(wrapped / state.box), axis=2)
    lattice_pairs = np.abs(sites[:, None] - sites[None]).sum(axis=2) == 1
    np.testing.assert_allclose(d_block[lattice_pairs], d_box[lattice_pairs], atol=1e-9)
