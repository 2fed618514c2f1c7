"""The trajectory driver on small synthetic GSD files in the cubemc frame format."""

import json
from pathlib import Path

import gsd.hoomd
import numpy as np
import pytest
from cubemc.analysis.analyzers import Analyzer, LogAnalyzer, VacancyAnalyzer
from cubemc.analysis.geometry import wrap
from cubemc.analysis.synthetic import (
    crystal_with_vacancy,
    gsd_frame,
    push_row,
    small_rotations,
    two_crystallites_in_fluid,
    write_gsd,
)
from cubemc.analysis.trajectory import analyze_trajectory, main, read_frames, to_jsonable, write_json

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
        frames.append(
            gsd_frame(
                100 * t,
                box,
                p,
                small_rotations(len(p), 2.0, rng),
                energy=-1.0 * (3 * len(p) - 3 - t),
                bonds=3 * len(p) - 3 - t,
                beta_epsilon=-1.0,
            )
        )
    path = tmp_path_factory.mktemp("traj") / "crystal.gsd"
    write_gsd(path, frames)
    return str(path), len(pos)


@pytest.fixture(scope="module")
def crystal_result(crystal_gsd, tmp_path_factory):
    path, _ = crystal_gsd
    png = tmp_path_factory.mktemp("png") / "slices.png"
    res = analyze_trajectory(
        path, discard=0.0, scattering_frames=1, k_max=9.0, sq_bins=60, orthoslice=str(png)
    )
    return res, png


def test_gsd_frames_follow_the_engine_format(crystal_gsd):
    path, n = crystal_gsd
    with gsd.hoomd.open(path) as t:
        f = t[0]
        assert f.particles.types == ["A"] and f.particles.N == n
        assert f.particles.type_shapes[0]["type"] == "ConvexPolyhedron"
        assert "cubemc/energy" in f.log  # stored as log/cubemc/energy
    frame = next(read_frames(path))
    assert frame.step == 0 and frame.positions.shape == (n, 3) and frame.orientations.shape == (n, 4)
    assert frame.log["beta_epsilon"] == -1.0 and frame.N == n


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
    assert "largest_cluster" not in s  # a crystal run is one cluster: not analysed by default
    assert s["bulk_line_shift"] == pytest.approx([0.0] * 6, abs=0.1)
    assert s["line_shift"][3] > 1.0 > s["line_shift"][0]


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
    assert "clusters" not in sm
    est = v["estimates"]
    assert est["row_length"]["mean"] == pytest.approx(2.0) and est["row_length"]["frames"] == 6
    assert est["localised"]["mean"] == pytest.approx(4 / 6) and est["long_row"]["mean"] == pytest.approx(
        2 / 6
    )
    assert est["excess_line_shift"]["mean"] == pytest.approx(
        np.mean(res["series"]["line_shift"]) - np.mean(res["series"]["bulk_line_shift"])
    )
    assert png.stat().st_size > 5000 and sm["orthoslice_png"] == str(png)


def test_json_roundtrip(crystal_result, tmp_path):
    res, _ = crystal_result
    out = write_json(res, tmp_path / "r.json")
    back = json.loads(Path(out).read_text())
    assert back["series"]["row_length"] == [1, 1, 1, 4, 4, 1]
    assert to_jsonable({"a": np.float32(np.nan), "b": np.arange(2), "c": (np.int64(3),)}) == {
        "a": None,
        "b": [0, 1],
        "c": [3],
    }


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
    assert main([crystal_gsd[0], "-o", str(out), "--stride", "2", "--discard", "0"]) == 0
    back = json.loads(out.read_text())
    assert back["series"]["step"] == [0, 200, 400]
    assert back["series"]["row_length"] == [1, 1, 4]


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing.gsd"), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err and "Traceback" not in err
    (tmp_path / "junk.gsd").write_text("not a gsd file")
    assert main([str(tmp_path / "junk.gsd"), "-o", str(tmp_path / "x.json")]) == 2
    capsys.readouterr()


def test_cli_missing_output_folder_is_one_line(crystal_gsd, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "folder" / "a.json"
    assert main([crystal_gsd[0], "-o", str(out), "--discard", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not out.parent.exists()


class CountingAnalyzer(Analyzer):
    """A user-written analyzer: the number of cubes with x > 0 per frame."""

    section = "counting"

    def compute(self, frame):
        self._append(right=int((frame.positions[:, 0] > 0).sum()))
        return self

    @property
    def summary(self):
        return {"right_mean": float(np.mean(self.production("right")))}


def test_a_list_of_analyzers(crystal_gsd):
    path, n = crystal_gsd
    frames = list(read_frames(path))
    vacancy = VacancyAnalyzer(frames[0].box, N, discard=0.5)
    log = LogAnalyzer(discard=0.5)
    for frame in frames:
        assert vacancy.compute(frame) is vacancy and log.compute(frame) is log  # freud style
    assert vacancy.n_frames == 6 and vacancy.first_production == 3
    assert vacancy.series["row_length"] == [1, 1, 1, 4, 4, 1]
    assert vacancy.summary["row_length_mean"] == pytest.approx(3.0)  # the last 3 frames only
    assert log.summary["beta_epsilon"] == -1.0 and set(log.series) == {"energy", "bonds"}
    res = analyze_trajectory(path, analyzers=[CountingAnalyzer(), LogAnalyzer()], discard=0.0)
    assert res["summary"]["counting"]["right_mean"] > 0 and "right" in res["series"]
    assert res["summary"]["vacancy"] is None and "row_length" not in res["series"]
    with pytest.raises(TypeError, match="unknown option"):
        analyze_trajectory(path, lattice_constant=1.0)


def test_logs_the_engine_never_wrote_are_left_out(tmp_path):
    pos, box, _ = crystal_with_vacancy(n=4)
    q = np.tile([1.0, 0, 0, 0], (len(pos), 1))
    path = write_gsd(tmp_path / "nolog.gsd", [gsd_frame(t, box, pos, q) for t in range(3)])
    res = analyze_trajectory(str(path), scattering_frames=0, discard=0.0)
    assert "energy" not in res["series"] and "energy_per_particle" not in res["summary"]
