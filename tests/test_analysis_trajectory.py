"""The trajectory driver on small synthetic GSD files in the cubemc frame format."""

import json
from pathlib import Path

import gsd.hoomd
import numpy as np
import pytest

from analysis.geometry import wrap
from analysis.synthetic import (crystal_with_vacancy, gsd_frame, push_row, small_rotations,
                                two_crystallites_in_fluid, write_gsd)
from analysis.trajectory import analyze_trajectory, main, read_frames, to_jsonable, write_json

N = 8
VAC = (3, 4, 5)


@pytest.fixture(scope="module")
def crystal_gsd(tmp_path_factory):
    """6 frames: vacancy localised for 3 frames, then a 3-cube row along y, then a hop."""
    rng = np.random.default_rng(0)
    pos, box, v = crystal_with_vacancy(n=N, vacancy=VAC)
    a = box[0] / N
    frames = []
    for t in range(6):
        p = pos + rng.normal(0, 0.02 * a, pos.shape)
        if t in (3, 4):
            p = push_row(p, box, N, VAC, 1, -1, 3, 0.35)
        if t == 5:
            p = push_row(p, box, N, VAC, 2, 1, 1, 1.0)  # neighbour fills the hole: the vacancy hops
        p = wrap(p + [0.05 * t * a, 0, 0], box)  # slow drift
        frames.append(gsd_frame(100 * t, box, p, small_rotations(len(p), 2.0, rng),
                                energy=-1.0 * (3 * len(p) - 3 - t), bonds=3 * len(p) - 3 - t,
                                beta_epsilon=-1.0))
    path = tmp_path_factory.mktemp("traj") / "crystal.gsd"
    write_gsd(path, frames)
    return str(path), len(pos)


@pytest.fixture(scope="module")
def crystal_result(crystal_gsd, tmp_path_factory):
    path, _ = crystal_gsd
    png = tmp_path_factory.mktemp("png") / "slices.png"
    res = analyze_trajectory(path, discard=0.0, scattering_frames=1, k_max=9.0, sq_bins=60,
                             orthoslice=str(png))
    return res, png


def test_gsd_frames_follow_the_engine_format(crystal_gsd):
    path, n = crystal_gsd
    with gsd.hoomd.open(path) as t:
        f = t[0]
        assert f.particles.types == ["A"] and f.particles.N == n
        assert f.particles.type_shapes[0]["type"] == "ConvexPolyhedron"
        assert "cubemc/energy" in f.log  # stored as log/cubemc/energy
    step, box, pos, q = next(read_frames(path))
    assert step == 0 and pos.shape == (n, 3) and q.shape == (n, 4)


def test_vacancy_series(crystal_result):
    res, png = crystal_result
    s = res["series"]
    assert s["step"] == [0, 100, 200, 300, 400, 500]
    assert s["n_empty"] == [1] * 6
    assert s["n_displaced"] == [0, 0, 0, 3, 3, 0]
    assert s["row_length"] == [1, 1, 1, 4, 4, 1]
    assert s["hops"] == [0, 0, 0, 0, 0, 1]
    assert s["empty_sites"][0] == s["empty_sites"][4]  # drift followed, label kept
    assert s["energy"][0] == pytest.approx(-(3 * (N**3 - 1) - 3))
    assert all(c > 0.99 for c in s["cubatic"])
    assert s["largest_cluster"] == [N**3 - 1] * 6


def test_crystal_summary(crystal_result, crystal_gsd):
    res, png = crystal_result
    sm = res["summary"]
    n = crystal_gsd[1]
    assert sm["lattice"] is True and sm["N"] == n and sm["beta_epsilon"] == -1.0
    v = sm["vacancy"]
    assert v["row_length_mean"] == pytest.approx(2.0)
    assert v["row_length_max"] == 4 and v["frac_localised"] == pytest.approx(4 / 6)
    assert v["hops"] == 1 and v["hops_per_sweep"] == pytest.approx(1 / 500)
    assert v["n_cells"] == [N, N, N]
    assert sm["bonds_per_particle"] == pytest.approx(np.mean([3 * n - 3 - t for t in range(6)]) / n)
    o = sm["orientation"]
    # 2 degrees per axis: in-plane FWHM about 2.3548 * 2
    assert o["inplane_fwhm_deg"] == pytest.approx(4.71, rel=0.1)
    sc = sm["scattering"]
    hkl = [p["hkl"] for p in sc["peaks"]]
    assert hkl[:2] == ["100", "110"]
    assert sc["peaks"][0]["q_nm"] == pytest.approx(2 * np.pi / 11.4, rel=0.02)
    assert sm["clusters"]["largest_shapes_final"][0]["percolating"] is True
    assert png.stat().st_size > 5000 and sm["orthoslice_png"] == str(png)


def test_json_roundtrip(crystal_result, tmp_path):
    res, _ = crystal_result
    out = write_json(res, tmp_path / "r.json")
    back = json.loads(Path(out).read_text())
    assert back["series"]["row_length"] == [1, 1, 1, 4, 4, 1]
    assert to_jsonable({"a": np.float32(np.nan), "b": np.arange(2), "c": (np.int64(3),)}) == \
        {"a": None, "b": [0, 1], "c": [3]}


def test_fluid_trajectory_with_crystallites(tmp_path):
    rng = np.random.default_rng(3)
    box, pos, q, lab = two_crystallites_in_fluid(rng, n_fluid=300)
    frames = [gsd_frame(t * 50, box, pos, q, energy=-float(t)) for t in range(3)]
    path = write_gsd(tmp_path / "fluid.gsd", frames)
    res = analyze_trajectory(str(path), scattering_frames=0)
    sm = res["summary"]
    assert sm["lattice"] is False and sm["vacancy"] is None and "scattering" not in sm
    assert res["series"]["largest_cluster"] == [125] * 3
    assert res["series"]["n_clusters"] == [2] * 3
    assert sm["clusters"]["size_distribution_final"] == {"64": 1, "125": 1}  # JSON keys are strings
    assert [s["size"] for s in sm["clusters"]["largest_shapes_final"]] == [125, 64]
    assert sm["clusters"]["largest_shapes_final"][0]["cuboidality"] == pytest.approx(1.0, abs=1e-4)
    assert res["series"]["largest_cuboidality"][0] == pytest.approx(1.0, abs=1e-4)
    json.dumps(res, allow_nan=False)  # plain Python already


def test_cli(crystal_gsd, tmp_path):
    out = tmp_path / "cli.json"
    main([crystal_gsd[0], "-o", str(out), "--stride", "2", "--discard", "0"])
    back = json.loads(out.read_text())
    assert back["series"]["step"] == [0, 200, 400]
    assert back["series"]["row_length"] == [1, 1, 4]
