"""Issue 17, growth: the crystalline cluster-size distribution per frame (size classes) on frames
built by hand with blocks of known size, the report's growth figure and its choice of runs, the
pictures of grown SPs (analysis option, workflow bridge, report links, dashboard)."""

import json
import os

import numpy as np
import pytest
from cubemc.analysis.analyzers import Frame
from cubemc.analysis.clusters import SIZE_CLASSES, ClusterAnalyzer, size_class_key
from cubemc.analysis.nucleation_report import fluid_section, growth_runs
from cubemc.analysis.report import write_report
from cubemc.analysis.synthetic import crystallite, gsd_frame, random_fluid, write_gsd
from cubemc.analysis.trajectory import analyze_trajectory

from cubemc.geometry import random_quaternions

BOX = np.full(3, 24.0)
#: block edges (cubes per side) and their centres: 343, 125, 64 and 27 cubes, far apart
BLOCKS = (((7, 7, 7), (-6.0, -6.0, -6.0)), ((5, 5, 5), (6.0, 6.0, 6.0)), ((4, 4, 4), (6.0, -6.0, -6.0)))
SMALL = ((3, 3, 3), (-6.0, 6.0, 6.0))
KEYS = [size_class_key(kind, c) for kind in ("clusters", "cubes") for c in SIZE_CLASSES]


def _blocks_in_fluid(blocks, seed=3, n_fluid=800):
    """SC blocks (lattice constant 1.05, each turned at random) in a dilute random fluid."""
    rng = np.random.default_rng(seed)
    pos, q = [], []
    for shape, centre in blocks:
        p, qq = crystallite(shape, 1.05, np.array(centre), random_quaternions(rng, 1)[0])
        pos.append(p)
        q.append(qq)
    cryst = np.concatenate(pos)
    fluid = random_fluid(n_fluid, BOX, 1.0, rng, exclude=cryst, exclude_distance=1.5)
    pos = np.concatenate([cryst, fluid])
    return pos - BOX * np.floor(pos / BOX + 0.5), np.concatenate([*q, random_quaternions(rng, len(fluid))])


def _series(*frames):
    analyzer = ClusterAnalyzer()
    for step, (pos, q) in enumerate(frames):
        analyzer.compute(Frame(1000 * (step + 1), BOX, pos, q, {"beta_epsilon": -4.0, "well_range": 1.14}))
    return analyzer.series


def test_size_class_edges_are_inclusive():
    """Class edges by hand: 8-29, 30-99, 100-299 and 300 or more cubes; 7 and fewer in none."""
    sizes = np.array([300, 299, 100, 99, 30, 29, 8, 7, 1])
    got = ClusterAnalyzer._size_classes(sizes)
    assert got == {
        "clusters_8_29": 2,
        "cubes_8_29": 37,
        "clusters_30_99": 2,
        "cubes_30_99": 129,
        "clusters_100_299": 2,
        "cubes_100_299": 399,
        "clusters_300_up": 1,
        "cubes_300_up": 300,
    }


def test_size_classes_of_hand_built_blocks_frame_by_frame():
    """A fluid with blocks of 343, 125, 64 and 27 cubes (every cube of a block crystalline, no
    fluid cube crystalline), then with the three large blocks only: one cluster per class and the
    block's cubes; the SP count is the clusters of 30 or more."""
    s = _series(_blocks_in_fluid((*BLOCKS, SMALL)), _blocks_in_fluid(BLOCKS))
    assert [s[k] for k in KEYS] == [
        [1, 0],
        [1, 1],
        [1, 1],
        [1, 1],
        [27, 0],
        [64, 64],
        [125, 125],
        [343, 343],
    ]
    assert s["n_crystallites"] == [3, 3] and s["largest_cluster"] == [343, 343]
    assert all(type(v) is int for k in KEYS for v in s[k])  # plain numbers per frame, for JSON


def _job(phi, beta, replica, cls, with_sizes=True, png=None, well=1.14, n=1000):
    series = {"step": [1000, 2000], "largest_cluster": [27, 343], "n_crystallites": [0, 3]}
    if with_sizes:
        series.update({k: [0, 0] for k in KEYS})
        series.update(cubes_8_29=[27, 0], clusters_8_29=[1, 0], cubes_300_up=[0, 343], clusters_300_up=[0, 1])
    summary = {
        "N": n,
        "last_step": 2000,
        "clusters": {"largest_final": 343, "state_final": {"class": cls, "bonds_per_cube": 1.5}},
    }
    if png:
        summary["crystallites_png"] = png
    sp = {"initial_state": "fluid", "packing_fraction": phi, "beta_epsilon": beta, "well_range": well}
    return {"statepoint": {**sp, "N": n, "replica": replica}, "summary": summary, "series": series}


def test_growth_runs_take_every_state_point_before_a_second_replica():
    jobs = [
        _job(0.2, -4.0, 2, "crystal"),
        _job(0.4, -4.0, 0, "crystal"),
        _job(0.4, -4.0, 1, "crystal"),
        _job(0.3, -4.0, 0, "crystal"),
        _job(0.2, -4.0, 1, "crystal"),
        _job(0.2, -4.0, 0, "crystal"),
        _job(0.1, -4.0, 0, "fluid"),  # not classed crystal
        _job(0.1, -5.0, 0, "crystal", with_sizes=False),  # analysed before the size classes
    ]
    shown, total = growth_runs(jobs, limit=4)
    assert total == 6
    picked = [(j["statepoint"]["packing_fraction"], j["statepoint"]["replica"]) for j in shown]
    assert picked == [(0.2, 0), (0.2, 1), (0.3, 0), (0.4, 0)]
    assert len(growth_runs(jobs)[0]) == 6


def test_report_draws_the_size_classes_only_when_the_series_exist(tmp_path):
    png = str(tmp_path / "workspace" / "j" / "crystallites.png")
    with_sizes = [_job(0.4, -4.0, 0, "crystal", png=png), _job(0.4, -4.0, 1, "fluid")]
    text = open(write_report(with_sizes, str(tmp_path / "a")), encoding="utf-8").read()
    assert "in 1 of the 1 runs classed crystal" in text and "(cluster_sizes.png)" in text
    assert "replica 0: ![](../workspace/j/crystallites.png)" in text  # relative to the report
    assert (tmp_path / "a" / "cluster_sizes.png").stat().st_size > 10000
    old = [_job(0.4, -4.0, 0, "crystal", with_sizes=False)]
    text = open(write_report(old, str(tmp_path / "b")), encoding="utf-8").read()
    assert "cluster_sizes.png" not in text and not (tmp_path / "b" / "cluster_sizes.png").exists()


def test_fluid_section_links_the_pictures_of_runs_classed_crystal(tmp_path):
    root = str(tmp_path)
    jobs = [
        _job(0.4, -4.0, 1, "crystal", png=os.path.join(root, "workspace", "b", "crystallites.png")),
        _job(0.4, -4.0, 0, "crystal", png=os.path.join(root, "workspace", "a", "crystallites.png")),
        _job(0.2, -4.0, 0, "fluid", png=os.path.join(root, "workspace", "c", "crystallites.png")),
        _job(0.3, -4.0, 0, "crystal", png="d/crystallites.png"),  # relative: kept as it is
    ]
    text = "\n".join(fluid_section(jobs, os.path.join(root, "report")))
    links = [line for line in text.splitlines() if "crystallites.png" in line]
    assert links == [
        "- λ 1.14, φ 0.3, βε -4.0, replica 0: ![](d/crystallites.png)",
        "- λ 1.14, φ 0.4, βε -4.0, replica 0: ![](../workspace/a/crystallites.png)",
        "- λ 1.14, φ 0.4, βε -4.0, replica 1: ![](../workspace/b/crystallites.png)",
    ]
    assert "### Grown supraparticles" in text
    assert "Grown supraparticles" not in "\n".join(fluid_section([_job(0.4, -4.0, 0, "crystal")]))


def test_trajectory_option_draws_the_crystallites_and_names_them(tmp_path):
    """The analysis of a GSD file: size-class series in the JSON, the picture of the last frame."""
    frames = [_blocks_in_fluid(BLOCKS[1:], n_fluid=300), _blocks_in_fluid((*BLOCKS[1:], SMALL), n_fluid=300)]
    path = write_gsd(
        str(tmp_path / "t.gsd"),
        [gsd_frame(1000 * (i + 1), BOX, p, q, beta_epsilon=-4.0) for i, (p, q) in enumerate(frames)],
    )
    png = tmp_path / "crystallites.png"
    result = analyze_trajectory(path, lattice=False, scattering_frames=0, crystallites=str(png))
    series = json.loads(json.dumps(result))["series"]
    assert series["cubes_30_99"] == [64, 64] and series["clusters_8_29"] == [0, 1]
    assert result["summary"]["crystallites_png"] == str(png) and png.stat().st_size > 10000
    assert "crystallites_png" not in analyze_trajectory(path, lattice=False, scattering_frames=0)["summary"]


@pytest.mark.parametrize(
    "change, drawn",
    [
        ({}, True),
        ({"beta_epsilon": 0.0}, False),  # hard cubes: nothing bonds them into SPs
        ({"initial_state": "crystal_vacancy", "n_lattice": 8}, False),
        ({"shape": "rounded_cuboid", "rounding_radius": 0.1}, False),  # not drawn as unit cubes
        ({"shape": "cube"}, True),
    ],
)
def test_workflow_asks_for_the_picture_of_runs_from_a_fluid_with_attraction(change, drawn):
    from cubemc.workflow import analysis_bridge

    sp = {"initial_state": "fluid", "beta_epsilon": -4.0, "N": 500, **change}
    options = analysis_bridge.trajectory_options(sp, "o.png", 1, crystallites="c.png")
    assert options.get("crystallites") == ("c.png" if drawn else None)
    assert "crystallites" not in analysis_bridge.trajectory_options(sp, "o.png", 1)


def test_dashboard_shows_the_crystallites_next_to_the_snapshot():
    from cubemc.workflow.dashboard import default_modules

    globs = [m.img_globs for m in default_modules() if hasattr(m, "img_globs")]
    assert globs.index(["crystallites.png"]) == globs.index(["snapshot.png"]) + 2  # after orthoslices


def test_the_picture_shows_a_crystallite_cut_by_the_box_in_one_piece():
    """A 5^3 block centred on a box corner lies in eight pieces; centred, it is whole."""
    from cubemc.analysis.geometry import wrap
    from cubemc.analysis.nucleation import CrystalClusters
    from cubemc.analysis.sp_snapshot import centred_positions
    from cubemc.analysis.synthetic import crystallite

    box = np.full(3, 14.0)
    pos, q = crystallite((5, 5, 5), 1.05, box / 2, np.array([1.0, 0, 0, 0]))
    pos = wrap(pos, box)
    assert np.ptp(pos, axis=0).min() > 10  # cut by every pair of faces
    cc = CrystalClusters().compute(box, pos, q)
    whole = centred_positions(cc, pos, box)
    assert np.allclose(np.ptp(whole, axis=0), 4 * 1.05)
    assert np.allclose(whole.mean(axis=0), 0.0, atol=1e-9)
