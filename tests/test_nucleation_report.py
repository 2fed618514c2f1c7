"""Issue 17: the state diagram of runs from a fluid.  The per-run class and induction time on
frames whose crystallites are built by hand (known sizes), and the report's grouping of runs
into state points."""

import numpy as np
import pytest
from cubemc.analysis.analyzers import Frame
from cubemc.analysis.clusters import ClusterAnalyzer
from cubemc.analysis.nucleation_report import fluid_section, run_row, state_points
from cubemc.analysis.report import write_report
from cubemc.analysis.synthetic import crystallite, random_fluid, two_crystallites_in_fluid

from cubemc.geometry import random_quaternions

BOX = np.full(3, 16.0)


def _frame(step, pos, q, beta=-4.0, well=1.14):
    return Frame(step, BOX, pos, q, {"beta_epsilon": beta, "well_range": well})


def _fluid(rng, n=600):
    pos = random_fluid(n, BOX, 1.0, rng)
    return pos, random_quaternions(rng, len(pos))


def _growing_run(beta=-4.0):
    """A fluid, then crystallites of 64 and 27 cubes, then of 125 and 64 (sweeps 1000-3000)."""
    rng = np.random.default_rng(5)
    frames = [_frame(1000, *_fluid(rng), beta)]
    for step, shapes in ((2000, ((4, 4, 4), (3, 3, 3))), (3000, ((5, 5, 5), (4, 4, 4)))):
        box, pos, q, _ = two_crystallites_in_fluid(rng, shapes=shapes, n_fluid=500)
        frames.append(_frame(step, pos, q, beta))
    return frames


def _run(frames, sizes=None):
    analyzer = ClusterAnalyzer()
    if sizes:
        analyzer.INDUCTION_SIZES = sizes
    for f in frames:
        analyzer.compute(f)
    return analyzer.summary


def test_induction_is_the_first_frame_with_a_cluster_of_the_size():
    summary = _run(_growing_run())
    assert summary["induction_steps"] == {"50": 2000, "100": 3000}
    assert summary["n_crystallites_final"] == 2  # 125 and 64 cubes; 30 or more each
    # a cluster of exactly the size counts (the 4^3 block: 64 cubes, all crystalline)
    assert _run(_growing_run(), (64, 126))["induction_steps"] == {"64": 2000, "126": None}


def test_last_frame_is_classified_for_runs_with_attraction():
    state = _run(_growing_run())["state_final"]
    assert state["class"] == "crystal" and state["largest_crystalline"] == 125
    assert _run(_growing_run(beta=0.0))["state_final"] is None  # hard cubes: no bonds to count


def test_fluid_and_aggregate_frames():
    rng = np.random.default_rng(8)
    fluid = _run([_frame(1000, *_fluid(rng))])
    assert fluid["state_final"]["class"] == "fluid"
    assert fluid["induction_steps"] == {"50": None, "100": None}
    # a compact 4^3 block of cubes 1.05 apart, each turned at random: bonded by the well, but the
    # faces are not aligned, so no crystal bond
    pos, _ = crystallite((4, 4, 4), 1.05, np.zeros(3), np.array([1.0, 0, 0, 0]))
    aggregate = _run([_frame(1000, pos, random_quaternions(rng, len(pos)))])["state_final"]
    assert aggregate["class"] == "aggregate"
    assert aggregate["largest_bonded"] == 64 and aggregate["largest_crystalline"] < 30


def _job(phi, beta, replica, cls, induction, well=1.14, n=500, **protocol):  # noqa: PLR0913
    return {
        "statepoint": {
            "initial_state": "fluid",
            "packing_fraction": phi,
            "beta_epsilon": beta,
            "well_range": well,
            "N": n,
            "replica": replica,
            "production_sweeps": 100000,
            **protocol,
        },
        "summary": {
            "N": n,
            "box": [(n / phi) ** (1 / 3)] * 3,  # unit cubes: volume N / phi
            "last_step": 100000,
            "clusters": {
                "largest_final": 80 if cls == "crystal" else 3,
                "crystalline_fraction_final": 0.2,
                "n_crystallites_final": 1 if cls == "crystal" else 0,
                "induction_steps": {"50": induction, "100": None},
                "state_final": {"class": cls, "bonds_per_cube": 1.25},
            },
        },
        "series": {"step": [50000, 100000], "largest_cluster": [10, 80 if cls == "crystal" else 3]},
    }


STUDY = [
    _job(0.4, -4.0, 0, "crystal", 20000),
    _job(0.4, -4.0, 1, "fluid", None),
    _job(0.4, -4.0, 2, "crystal", 60000),
    _job(0.2, -4.0, 0, "aggregate", None),
    _job(0.2, -3.0, 0, "fluid", None, well=1.3),
]


def test_state_points_count_classes_per_point_without_pooling_replicas():
    points = {(p["well_range"], p["packing_fraction"], p["beta_epsilon"]): p for p in state_points(STUDY)}
    assert set(points) == {(1.14, 0.4, -4.0), (1.14, 0.2, -4.0), (1.3, 0.2, -3.0)}
    dense = points[(1.14, 0.4, -4.0)]
    assert dense["runs"] == 3
    assert dense["counts"] == {"fluid": 1, "aggregate": 0, "crystal": 2}
    assert sorted(dense["induction"]) == [20000, 60000]
    assert points[(1.14, 0.2, -4.0)]["counts"]["aggregate"] == 1


def test_runs_with_other_dynamics_or_lengths_are_not_replicas():
    """A VMMC run and a longer run at the state point of STUDY's dense runs: three state points
    with their own induction times, not one of five runs."""
    vmmc = _job(0.4, -4.0, 0, "crystal", 9000, vmmc_moves_per_particle=0.1)
    longer = _job(0.4, -4.0, 0, "crystal", 400000, production_sweeps=1000000)
    points = [p for p in state_points([*STUDY, vmmc, longer]) if p["packing_fraction"] == 0.4]
    assert sorted((p["production_sweeps"], p["vmmc"], p["runs"], tuple(p["induction"])) for p in points) == [
        (100000, 0, 3, (20000, 60000)),
        (100000, 0.1, 1, (9000,)),
        (1000000, 0, 1, (400000,)),
    ]
    assert "| 1.14 | 0.4 | -4 | 500 | + VMMC 0.1 | 100000 | crystal 1/1 | 9000 |" in "\n".join(
        fluid_section([*STUDY, vmmc])
    )


def test_fluid_section_reads_the_counts_and_induction_spread():
    text = "\n".join(fluid_section(STUDY))
    assert (
        "| 1.14 | 0.4 | -4 | 500 | single | 100000 | fluid 1/3, crystal 2/3 | "
        "40000 (20000–60000) in 2 of 3 runs |" in text
    )
    assert "| 1.3 | 0.2 | -3 | 500 | single | 100000 | fluid 1/1 | — |" in text
    # rates: 2 nuclei in 20000 + 60000 + 100000 (censored) sweeps of a 1250 sigma^3 box, 2 / 2.25e8;
    # none in 100000 sweeps of 2500 sigma^3, below 7.378 / 5e8 (chi-square tables)
    assert "| 40000 (20000–60000) in 2 of 3 runs | 8.9e-09 (1e-09–3e-08) |" in text
    assert "| fluid 1/1 | — | < 1e-08 |" in text
    assert "| 1.14 | 0.4 | -4.0 | 1 | 500 | fluid |" in text  # every run has its own row


def test_report_draws_the_state_diagram(tmp_path):
    path = write_report(STUDY, str(tmp_path))
    text = open(path, encoding="utf-8").read()
    assert "### State diagram" in text and "state_diagram.png" in text
    assert (tmp_path / "state_diagram.png").stat().st_size > 10000
    assert (tmp_path / "cluster_growth.png").exists()


def test_runs_of_other_particles_get_their_own_section_and_figures(tmp_path):
    """Cube and polydisperse-cuboid runs from a fluid: each kind its own section and figures,
    the cuboids' runs never pooled into N1 (seed 000's claims are on unit cubes); with only
    cuboid runs, N1 says where they are instead of asking for runs from a fluid."""
    poly = {"shape": "cuboid", "size_polydispersity": 0.12}
    cuboids = [_job(0.45, -4.0, 0, "crystal", 58000, **poly), _job(0.45, -5.0, 0, "fluid", None, **poly)]
    text = open(write_report([*STUDY, *cuboids], str(tmp_path / "both")), encoding="utf-8").read()
    cubes_at, cuboids_at = (
        text.index("## Runs from a fluid (nucleation)"),
        text.index("## Runs from a fluid of cuboid poly=0.12"),
    )
    cuboid_part = text[cuboids_at:]
    assert "| 1.14 | 0.45 | -4 | 500 | single | 100000 | crystal 1/1 | 58000 |" in cuboid_part
    assert "| 1.14 | 0.45 | -5 | 500 | single | 100000 | fluid 1/1 | — |" in cuboid_part
    assert "0.45" not in text[cubes_at:cuboids_at]  # the cube section holds STUDY's points only
    for name in ("state_diagram.png", "cluster_growth.png"):
        assert (tmp_path / "both" / name).exists() and (
            tmp_path / "both" / f"cuboid-poly-0.12-{name}"
        ).exists()
    assert "(cuboid-poly-0.12-state_diagram.png)" in cuboid_part
    n1 = next(line for line in text.splitlines() if line.startswith("| N1 |"))
    assert "2 of 3 state point(s)" not in n1 and "1 of 3 state point(s)" in n1  # STUDY's alone
    alone = open(write_report(cuboids, str(tmp_path / "alone")), encoding="utf-8").read()
    n1 = next(line for line in alone.splitlines() if line.startswith("| N1 |"))
    assert "runs of cuboid poly=0.12 from a fluid: their own report section" in n1 and "not measured" in n1


def test_n1_judges_state_points_not_beta_epsilon_pooled_over_phi():
    """Four dilute runs without a crystallite and one dense run that nucleated, all at βε -4:
    pooled over φ the mean (0.06) is below 10 % of N; the dense point alone is 0.3."""
    from cubemc.analysis.structure_criteria import clusters_grow

    jobs = [_job(0.2, -4.0, r, "fluid", None) for r in range(4)] + [_job(0.45, -4.0, 0, "crystal", 20000)]
    for j in jobs:
        j["summary"]["clusters"]["largest_final"] = 150 if j["statepoint"]["packing_fraction"] == 0.45 else 0
    v = clusters_grow({"fluid_jobs": jobs}, 0.1)
    assert v.verdict == "agree"
    assert v.value.startswith("1 of 2 state point(s); largest: λ 1.14, φ 0.45, βε -4, N 500: 0.30 (n=1)")


def test_contacts_of_a_dense_hard_fluid_are_not_an_aggregate():
    """Random centres at number density 0.5 have a contact network of >= 30 cubes within 1.3
    without any attraction; against itself as the hard-fluid reference it is a fluid, and a
    compact block against a dilute reference is still an aggregate."""
    from cubemc.analysis.nucleation import AGGREGATE_BOND_RATIO, classify_state

    rng = np.random.default_rng(2)
    box = np.full(3, 10.0)
    dense = random_fluid(500, box, 0.9, rng)
    q = random_quaternions(rng, len(dense))
    alone = classify_state(box, dense, q, 1.3)
    assert alone["class"] == "aggregate" and alone["reference"] is None
    state = classify_state(box, dense, q, 1.3, reference=(box, dense))
    assert state["class"] == "fluid"
    assert state["reference"]["bonds_per_cube"] == state["bonds_per_cube"]
    assert state["reference"]["largest_bonded"] == alone["largest_bonded"] >= 30
    # a compact block of turned cubes: far more contacts than a dilute hard fluid
    pos, _ = crystallite((4, 4, 4), 1.05, np.zeros(3), np.array([1.0, 0, 0, 0]))
    dilute = random_fluid(64, np.full(3, 16.0), 1.0, rng)
    block = classify_state(
        np.full(3, 16.0), pos, random_quaternions(rng, 64), 1.14, reference=(np.full(3, 16.0), dilute)
    )
    assert block["class"] == "aggregate"
    assert block["bonds_per_cube"] >= AGGREGATE_BOND_RATIO * block["reference"]["bonds_per_cube"]


def test_the_workflow_passes_the_hard_start_as_the_reference(tmp_path):
    """A dense random fluid as trajectory: an aggregate alone, a fluid against itself as the
    initial state's GSD (the file the analyse operation passes); only runs from a fluid get it."""
    from cubemc.analysis.synthetic import gsd_frame, write_gsd
    from cubemc.analysis.trajectory import analyze_trajectory

    from cubemc.workflow import analysis_bridge

    rng = np.random.default_rng(2)
    box = np.full(3, 10.0)
    pos = random_fluid(500, box, 0.9, rng)
    frame = gsd_frame(1000, box, pos, random_quaternions(rng, len(pos)), beta_epsilon=-2.0, well_range=1.3)
    path = write_gsd(str(tmp_path / "t.gsd"), [frame])
    start = write_gsd(str(tmp_path / "initial.gsd"), [frame])
    sp = {"initial_state": "fluid", "beta_epsilon": -2.0, "N": 500}
    options = analysis_bridge.trajectory_options(sp, scattering_frames=0, reference=start)
    assert options["reference"] == start
    crystal_sp = {"initial_state": "crystal_vacancy", "n_lattice": 8, "beta_epsilon": -2.0}
    assert "reference" not in analysis_bridge.trajectory_options(crystal_sp, reference=start)

    def state(**kw):
        return analyze_trajectory(path, lattice=False, scattering_frames=0, **kw)["summary"]["clusters"][
            "state_final"
        ]

    assert state()["class"] == "aggregate"
    with_reference = state(reference=start)
    assert with_reference["class"] == "fluid" and with_reference["reference"]["largest_bonded"] >= 30


def test_each_run_row_gives_the_shape_of_the_crystallite_n2_measures():
    clusters = _run(_growing_run())  # last frame: blocks of 125 and 64 cubes in a fluid
    assert clusters["nonspanning_final"]["size"] == 125
    job = _job(0.4, -4.0, 0, "crystal", 2000)
    job["summary"]["clusters"] = clusters
    row = run_row(job)
    assert row["cuboidality"] == 1.0 and row["hull_fill"] == pytest.approx(1.0)
    section = fluid_section([job])
    runs = section[: section.index("### Supraparticles measured as in the experiments (last frame)")]
    header, rule, line = [t for t in runs if t.startswith("|")][-3:]
    assert header.endswith("| cuboidality | hull fill |") and line.endswith("| 1.00 | 1.00 |")
    assert header.count("|") == rule.count("|") == line.count("|")


def test_the_summary_of_a_nucleation_study_counts_the_classes(tmp_path):
    text = open(write_report(STUDY, str(tmp_path)), encoding="utf-8").read()
    summary = text[text.index("## In one minute") : text.index("## Seed claims")]
    assert (
        "5 jobs, none of them a crystal with a vacancy; 5 runs from a fluid with attraction at 3 "
        "state point(s), whose last frames are 2 crystal, 1 aggregate, 2 fluid" in summary
    )
    assert "seed 000, Fig. 5" not in summary  # the vacancy measure is for crystal runs


def test_the_largest_sps_history_is_drawn_and_linked_from_n2_and_f1(tmp_path):
    """The analyzer's per-frame SP counts (a perfect 5^3 block at the last frame: 27 bulk and 98
    surface sites, no vacancy) reach the report as sp_history.png, the figure of N2 and F1."""
    analyzer = ClusterAnalyzer()
    for frame in _growing_run():
        analyzer.compute(frame)
    series = {"step": [1000, 2000, 3000], **analyzer.series}
    assert series["largest_bulk_sites"][-1] == 27 and series["largest_surface_sites"][-1] == 98
    assert series["largest_bulk_vacancies"][-1] == series["largest_surface_vacancies"][-1] == 0
    assert series["largest_bulk_sites"][0] is None  # the fluid frame has no crystallite
    job = _job(0.4, -4.0, 0, "crystal", 2000)
    job["summary"]["clusters"] = analyzer.summary
    job["series"] = series
    text = open(write_report([job], str(tmp_path)), encoding="utf-8").read()
    assert (tmp_path / "sp_history.png").stat().st_size > 10000
    for claim in ("N2", "F1"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {claim} |"))
        assert row.endswith("| [sp_history.png](sp_history.png) |"), row
    # the SP table: the experiments' row, then the block measured as they measure it
    table = text[text.index("### Supraparticles measured as in the experiments") :].splitlines()
    header, rule, experiment, row = [t for t in table if t.startswith("|")][:4]
    assert header.count("|") == rule.count("|") == experiment.count("|") == row.count("|") == 18
    assert "| 3.3 % | 5.5 ± 1.5 % |" in experiment and "≤ 9.6 ± 1.4 (ED)" in experiment
    assert row.startswith("| 1.14 | 0.4 | -4.0 | 0 | 125 | 5 × 5 × 5 | 1.00 | 1.00 | 1.00 |"), row
    # the same block counted without a lattice (analysis.local_sites) gives the same sites
    assert row.endswith("| 0/27 (0.0 %) | 0/98 (0.0 %) | 0/27 (0.0 %), 0/98 (0.0 %) | pooled |"), row
