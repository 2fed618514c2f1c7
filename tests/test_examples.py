"""The scripts in examples/ run on the public API (they back numbers in docs/validation.md)."""

import importlib.util

import pytest
from conftest import REPO


def _load(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_anneal_supraparticle_starts_from_the_shape_asked_for(tmp_path):
    anneal = _load("anneal_supraparticle")
    picture = tmp_path / "sp.png"
    rows = anneal.main(
        ["--shape", "cube", "--cubes", "64", "--sweeps", "40", "--frames", "2", "--picture", str(picture)]
    )
    assert [r["sweep"] for r in rows] == [1000, 1020, 1040]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert rows[0]["extents"] == [4, 4, 4] and rows[0]["cuboidality"] > 0.95
    assert rows[0]["bulk_vacancies"] == [0, 8] and rows[0]["surface_vacancies"] == [0, 56]  # 4^3
    ball = anneal.sites("ball", 123)
    assert len(ball) == 123 and abs(ball.mean(axis=0)).max() < 0.5
    with pytest.raises(SystemExit, match="not a cube number"):
        anneal.main(["--shape", "cube", "--cubes", "100"])


def test_anneal_supraparticle_places_the_crystallite_in_a_vapour_without_overlaps():
    import numpy as np

    anneal = _load("anneal_supraparticle")
    args = anneal.parse(["--shape", "cube", "--cubes", "27", "--vapour", "0.1", "--box", "12", "--seed", "4"])
    state = anneal.crystallite_in_vapour(args)  # cubemc.State refuses overlapping cubes
    block = anneal.sites("cube", 27) * anneal.SPACING
    np.testing.assert_allclose(state.positions[:27], block - block.mean(axis=0))
    assert 100 < state.N - 27 <= 173 and np.allclose(state.box, 12.0, atol=0.01)


def test_anneal_supraparticle_grows_polydisperse_cubes_from_a_dense_seed(tmp_path):
    """--polydispersity: a 64-cuboid seed crystal cut from a dense crystal (every cube next to its
    own site of a 4^3 block) in a fluid of cuboids, sizes of both drawn with 12 % width; the
    State refuses overlaps; one short run draws the cuboids at their sizes.  --rounding: rounded
    cubes of edge 1 in seed and fluid alike."""
    import numpy as np

    anneal = _load("anneal_supraparticle")
    base = ["--shape", "cube", "--cubes", "64", "--vapour", "0.1", "--box", "12", "--seed", "4"]
    args = anneal.parse(base + ["--polydispersity", "0.12"])
    state = anneal.crystallite_in_vapour(args)
    assert state.shape == "cuboid" and 60 < state.N - 64 <= 170
    sizes = state.shape_params[:, 0]
    assert 0.09 < sizes.std() < 0.14 and np.array_equal(state.shape_params, np.repeat(sizes[:, None], 3, 1))
    seed = state.positions[:64]
    a = np.median(np.sort(np.linalg.norm(seed[:, None] - seed[None], axis=2), axis=1)[:, 1])
    assert 0.95 < a < 1.2  # at DENSE the lattice constant is about 1.09 mean edges
    grid = np.rint(seed / a + 1.5)  # the 4^3 block's sites, centred at the origin
    assert len(np.unique(grid, axis=0)) == 64 and grid.min() == 0 and grid.max() == 3
    picture = tmp_path / "poly.png"
    argv = ["--cubes", "64", "--beta-epsilon", "-6", "--polydispersity", "0.12", "--vapour", "0.1"]
    rows = anneal.main(argv + ["--box", "10", "--sweeps", "20", "--frames", "1", "--picture", str(picture)])
    assert rows[0]["largest"] >= 32 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SystemExit, match="k >= 4"):
        anneal.main(["--shape", "cube", "--cubes", "27", "--polydispersity", "0.12"])
    rounded = anneal.crystallite_in_vapour(anneal.parse(base + ["--rounding", "0.1"]))
    assert rounded.shape == "rounded_cuboid" and rounded.N > 64
    np.testing.assert_allclose(rounded.shape_params, np.tile([0.8, 0.8, 0.8, 0.1], (rounded.N, 1)))


def test_compress_suspension_follows_the_pressure_ramp():
    compress = _load("compress_suspension")
    assert compress.pressures(0.5, 8.0, 3) == pytest.approx([0.5, 2.0, 8.0])
    assert compress.pressures(0.5, 8.0, 1) == [8.0]
    rows = compress.main(
        ["--cubes", "64", "--beta-epsilon", "0", "--start-pressure", "0.5", "--end-pressure", "8"]
        + ["--stages", "3", "--stage-sweeps", "2000"]
    )
    assert [r["pressure"] for r in rows] == [0.5, 2.0, 8.0]
    assert [r["sweep"] for r in rows] == [2200, 4400, 6600]  # 200 tuning + 2000 sweeps per stage
    phis = [r["mean_packing_fraction"] for r in rows]
    # hard cubes: beta P 0.5 holds a dilute fluid, 8 one near freezing (phi about 0.5; 2000 sweeps
    # of 64 cubes get past 0.35 from the start at 0.1)
    assert phis[0] < 0.25 < 0.35 < phis[2] and phis[0] < phis[1] < phis[2]
    with pytest.raises(SystemExit, match="need 0 < start"):
        compress.main(["--start-pressure", "2", "--end-pressure", "1"])


def test_planted_vacancies_are_counted_three_ways_in_the_narrow_well():
    """A 7^3 block with 2 bulk and 3 face vacancies keeps them over 200 engine sweeps at -5."""
    planted = _load("planted_vacancies")
    rows = planted.main(["--sweeps", "200", "--every", "100"])
    assert [r["sweep"] for r in rows] == [100, 200]
    planted_counts = [[2, 5**3], [3, 7**3 - 5**3]]  # [vacancies, sites] in the bulk, on the surface
    for row in rows:
        assert row["site_fraction"] > 0.95 and row["double_sites"] == 0 and row["filled"] == 0
        assert row["bond_walk"] == row["lattice_free"] == row["every_cube"] == planted_counts
