"""Particle shapes in the workflow (issue 12): the optional state-point keys, their validation,
the initial states they build, the shape studies and a tiny shape job through project.py."""

import math

import numpy as np
import pytest
import signac
from conftest import cli
from signac.job import calc_id

from cubemc import shapes
from cubemc.geometry import cell_grid
from cubemc.workflow import shape_keys
from cubemc.workflow.engine import initial_state
from cubemc.workflow.errors import StatePointError
from cubemc.workflow.init_cli import create_jobs
from cubemc.workflow.studies import get_study, make_statepoint, validate_grid


def crystal_point(**changes):
    sp = make_statepoint(
        initial_state="crystal_vacancy",
        beta_epsilon=-1.0,
        packing_fraction=0.8,
        well_range=1.14,
        n_lattice=4,
        vacancies=1,
        tune_sweeps=20,
        equilibration_sweeps=40,
        production_sweeps=100,
        sample_period=20,
    )
    sp.update(changes)
    return sp


#: ids recorded before the shape keys existed (git HEAD a45b2cd; the quick vacancy one at 4fafdf3):
#: first state point of each study
RECORDED_IDS = {
    ("vacancy", False): "08c918543028b21b10f3d1c2bf2aafd7",
    # the quick vacancy study changes on purpose when the demo's sweeps change (issue 16: hard
    # cubes 3 x 18000); its first point has no shape keys, so its id is still the cube id of that study
    ("vacancy", True): "043ca63f07abe166d6d7a935dd341e80",
    ("nucleation", False): "9fd18aba5364fb402cf4a6b0c02a11ae",
    ("nucleation", True): "debb9096ada9f6f05683aed09c44f2cf",
    ("eos", False): "d9c2b99ddb02a6a2c1a39a221845c7a2",
    ("eos", True): "fe0ad83ef3ced0908211a69eda8324df",
}


def test_existing_job_ids_are_unchanged():
    for (name, quick), job_id in RECORDED_IDS.items():
        points = get_study(name, quick=quick).statepoints()
        assert calc_id(points[0]) == job_id
        assert not any(shape_keys.has_shape(sp) for sp in points)
    # the unit cube in any spelling has no shape keys, so the vacancy-shapes study's r = 0 jobs
    # are the plain vacancy jobs
    assert shape_keys.make_shape_keys() == {}
    assert shape_keys.make_shape_keys(shape="cube", edge_ratios=(1, 1), size_polydispersity=0) == {}
    plain = [sp for sp in get_study("vacancy-shapes").statepoints() if not shape_keys.has_shape(sp)]
    assert plain and all(sp["packing_fraction"] == 0.8 for sp in plain)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"shape": "cuboid", "size_polydispersity": 1.2}, "must lie in [0, 1)"),
        ({"shape": "cuboid", "size_polydispersity": 0.6}, "yields non-positive sizes"),
        ({"shape": "cuboid", "size_polydispersity": -0.1}, "must lie in [0, 1)"),
        ({"shape": "rounded_cuboid", "rounding_radius": -0.1}, "must be a non-negative number"),
        ({"shape": "rounded_cuboid", "rounding_radius": 0.6}, "exceeds half the shortest edge"),
        ({"shape": "cuboid", "rounding_radius": 0.1}, "needs shape='rounded_cuboid'"),
        ({"shape": "cuboid", "edge_ratios": [1.1, 0.0]}, "edges must be positive"),
        ({"shape": "cuboid", "edge_ratios": [1.1]}, "must be two numbers"),
        ({"shape": "sphere"}, "must be one of cube, cuboid, rounded_cuboid"),
        ({"rounding_radius": 0.1}, "must be one of"),
        ({"shape": "cube", "size_polydispersity": 0.1}, "is the unit cube"),
        # the largest possible 12 % cube (size 1.24) does not fit a lattice at phi 0.85, and
        # compression (cubemc.dense_crystal) is admitted up to 0.80
        (
            {"shape": "cuboid", "size_polydispersity": 0.12, "packing_fraction": 0.85},
            "too high for a lattice",
        ),
        ({"shape": "rounded_cuboid", "rounding_radius": 0.2, "packing_fraction": 0.95}, "below 0.9077"),
        ({"shape": "rounded_cuboid", "rounding_radius": 0.1, "pressure": 20.0}, "unit cubes only"),
    ],
)
def test_bad_shape_is_one_line_and_nothing_is_written(tmp_path, changes, message):
    sp = crystal_point(**changes)
    if "pressure" in changes:
        del sp["packing_fraction"]
    with pytest.raises(StatePointError, match="nothing written") as info:
        create_jobs(str(tmp_path / "project"), [("custom", sp)], quiet=True)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "project").exists()


def test_box_check_uses_the_largest_particle_and_scaled_well():
    """64 polydisperse cuboids (30 %, largest size 1.6) with well range 1.8 at phi 0.6: the box
    (5.05) passes the unit-cube rule (2 * 1.8) but not the shape's: twice max(1.6 sqrt 3,
    1.8 * 1.6) = 5.76, the engine's cubemc.geometry rule."""
    sp = make_statepoint(
        initial_state="fluid",
        beta_epsilon=-1.0,
        packing_fraction=0.6,
        well_range=1.8,
        N=64,
        tune_sweeps=1,
        equilibration_sweeps=1,
        production_sweeps=1,
        sample_period=1,
    )
    validate_grid([sp])
    sp.update(shape="cuboid", size_polydispersity=0.3)
    with pytest.raises(
        StatePointError, match=r"box edge 5\.05\d must exceed twice the interaction range 2\*2\.880"
    ):
        validate_grid([sp])
    with pytest.raises(ValueError, match="too small"):  # the engine agrees on the worst case
        big = shape_keys.particle(sp, shape_keys.largest_size(sp))[1]
        cell_grid([5.05] * 3, 1.8, shapes.get("cuboid"), big)


def test_initial_states_carry_the_shape():
    rounded = crystal_point(shape="rounded_cuboid", rounding_radius=0.2)
    state = initial_state(rounded, seed=3)
    assert state.shape == "rounded_cuboid" and state.N == 63
    assert np.allclose(state.shape_params, [0.6, 0.6, 0.6, 0.2])
    assert math.isclose(state.packing_fraction, 0.8 * 63 / 64)
    poly = crystal_point(shape="cuboid", size_polydispersity=0.12, packing_fraction=0.5)
    a, b = initial_state(poly, seed=3), initial_state(poly, seed=4)
    sizes = a.shape_params[:, 0]
    assert a.shape == "cuboid" and np.allclose(a.shape_params, sizes[:, None])  # cubes of size s
    assert np.all(np.abs(sizes - 1) <= 0.24) and 0.05 < sizes.std() < 0.2
    assert not np.array_equal(sizes, b.shape_params[:, 0])  # sizes from the job seed
    assert np.allclose(a.box, b.box) and abs(a.packing_fraction / 0.5 - 1) < 0.05  # nominal lattice
    validate_grid([rounded, poly])
    # a fluid of rounded cubes from the compression route
    fluid = make_statepoint(
        initial_state="fluid",
        beta_epsilon=0.0,
        packing_fraction=0.3,
        well_range=1.14,
        N=40,
        tune_sweeps=1,
        equilibration_sweeps=1,
        production_sweeps=1,
        sample_period=1,
    ) | {"shape": "rounded_cuboid", "rounding_radius": 0.45}
    validate_grid([fluid])
    state = initial_state(fluid, seed=1)
    assert state.shape == "rounded_cuboid" and math.isclose(state.packing_fraction, 0.3, rel_tol=1e-9)


def test_shape_study_grids():
    full = get_study("vacancy-shapes").statepoints()
    radii = {sp.get("rounding_radius", 0.0) for sp in full if sp["packing_fraction"] == 0.8}
    assert radii == {0.0, 0.05, 0.1, 0.2}
    assert {sp["beta_epsilon"] for sp in full} == {0.0, -0.5, -1.0, -3.0}
    poly = [sp for sp in full if "size_polydispersity" in sp]
    assert poly and all(sp["size_polydispersity"] == 0.12 and sp["packing_fraction"] == 0.8 for sp in poly)
    crystal = get_study("crystal-shapes").statepoints()
    assert {sp.get("rounding_radius", 0.0) for sp in crystal} == {0.0, 0.1, 0.2, 0.3, 0.4, 0.45}
    for name in ("vacancy-shapes", "crystal-shapes"):
        for quick in (False, True):
            points = get_study(name, quick=quick).statepoints()
            validate_grid(points)
            assert len({calc_id(sp) for sp in points}) == len(points)


def test_init_cli_creates_shape_jobs(tmp_path):
    path = tmp_path / "project"
    cli("init.py", "vacancy-shapes", "--quick", "--project-dir", path, "-q", cwd=tmp_path)
    project = signac.get_project(str(path))
    assert len(project) == 20  # 16 rounded (r = 0: the cube) + 4 polydisperse
    assert {job.sp.get("shape") for job in project} == {None, "rounded_cuboid", "cuboid"}


@pytest.mark.slow
def test_tiny_shape_jobs_end_to_end(tmp_path):
    """Rounded cubes (r = 0.1) with a vacancy, hard and at the strong-attraction limit, through
    project.py run: initial state, trajectory and final checkpoint keep the shape, and the report
    gives the shape's own family with errors."""
    from cubemc import State

    path = tmp_path / "project"
    sps = [
        crystal_point(beta_epsilon=b, shape="rounded_cuboid", rounding_radius=0.1, production_sweeps=200)
        for b in (0.0, -3.0)
    ]
    create_jobs(str(path), [("custom", sp) for sp in sps], quiet=True)
    cli("project.py", "run", cwd=path, timeout=900)
    project = signac.get_project(str(path))
    for job in project:
        assert job.isfile("analysis.json") and job.doc["initial"]["N"] == 63
        for name in ("initial.gsd", "trajectory.gsd"):
            state = State.from_gsd(job.fn(name))
            assert state.shape == "rounded_cuboid" and np.allclose(state.shape_params, [0.8, 0.8, 0.8, 0.1])
        with np.load(job.fn("final.npz")) as final:
            assert str(final["shape"]) == "rounded_cuboid"
    report = (path / "report" / "report.md").read_text()
    assert "## Nanocrystal shapes: vacancy localisation" in report
    # the shape section has one row for the family (the vacancy table lists it too, on its own)
    section = report.split("## Nanocrystal shapes: vacancy localisation")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if "rounded_cuboid r=0.1 | 0 |" in line]
    assert len(rows) == 1 and rows[0].count(" ± ") == 2, report
    assert (path / "report" / "vacancy_shapes.png").stat().st_size > 10000


def crystal_job(r, fractions, sem=0.02, studies=("crystal-shapes",)):
    """Report input of one hard-particle fluid run with the given class fractions."""
    sp = {
        "initial_state": "fluid",
        "beta_epsilon": 0.0,
        "packing_fraction": 0.58,
        "well_range": 1.14,
        "N": 250,
    }
    if r:
        sp |= {"shape": "rounded_cuboid", "rounding_radius": r}
    estimates = {
        k: {"mean": v, "sem": sem, "frames": 20, "effective": 20.0, "replicas": 1, "converged": True}
        for k, v in fractions.items()
    }
    return {
        "statepoint": sp,
        "studies": list(studies),
        "summary": {"N": 250, "crystal_type": {"fractions": estimates}},
    }


def test_report_has_crystal_type_rows_and_claims(tmp_path):
    """Cubes SC, nearly spheres FCC: C1 and C2 agree, the table gives every fraction with its
    error, rounded runs never enter the cube claims (N1), and replicas of one shape combine."""
    from cubemc.analysis.criteria import judge
    from cubemc.analysis.report import _context, write_report

    cubes = {"sc": 0.8, "fcc": 0.0, "hcp": 0.0, "fluid": 0.2}
    round_ = {"sc": 0.0, "fcc": 0.5, "hcp": 0.2, "fluid": 0.3}
    jobs = [crystal_job(0.0, cubes), crystal_job(0.0, cubes), crystal_job(0.45, round_)]
    ctx = _context(jobs)
    assert [(row["r"], row["runs"], row["type"]) for row in ctx["crystal_shapes"]] == [
        (0.0, 2, "sc"),
        (0.45, 1, "fcc"),
    ]
    assert ctx["fluid_jobs"] == []  # crystal-shapes runs are not seed 000's nucleation runs
    from cubemc.analysis.claims import CLAIMS

    claims = {c.id: c for c in CLAIMS}
    assert judge(claims["C1"], ctx).verdict == "agree" and judge(claims["C2"], ctx).verdict == "agree"
    # a rounded crystal that stays SC contradicts C1
    ctx = _context([crystal_job(0.45, cubes)])
    assert judge(claims["C1"], ctx).verdict == "disagree"
    # a run that stayed fluid (too short or below freezing) decides nothing; a partly frozen SC
    # crystal still supports C2 (fluid is not a rival crystal)
    fluid = {"sc": 0.0, "fcc": 0.01, "hcp": 0.02, "fluid": 0.97}
    ctx = _context([crystal_job(0.0, fluid), crystal_job(0.45, fluid)])
    assert judge(claims["C1"], ctx).verdict == judge(claims["C2"], ctx).verdict == "insufficient data"
    assert judge(claims["C2"], ctx).value.startswith("r=0, φ=0.58: 0 of 1 runs froze (fluid 0.97")
    ctx = _context([crystal_job(0.0, {"sc": 0.4, "fcc": 0.0, "hcp": 0.02, "fluid": 0.58})])
    assert judge(claims["C2"], ctx).verdict == "agree"
    text = open(write_report(jobs, str(tmp_path)), encoding="utf-8").read()
    rows = [line for line in text.splitlines() if line.startswith("| 0.45 | 0.58 | 250 |")]
    assert len(rows) == 1 and rows[0].count(" ± ") == 4 and "**fcc**" in rows[0]
    assert (tmp_path / "crystal_shapes.png").stat().st_size > 10000


def _c1(jobs):
    from cubemc.analysis.claims import CLAIMS
    from cubemc.analysis.criteria import judge
    from cubemc.analysis.report import _context

    return judge(next(c for c in CLAIMS if c.id == "C1"), _context(jobs))


def test_c1_is_judged_on_the_runs_that_froze_each_on_its_own():
    """Two replicas of r = 0.45, one frozen close-packed (40 % crystalline), one still fluid (3 %):
    pooled they are 21.5 % crystalline, below the 30 % rule, but the frozen run alone decides
    (FCC+HCP 0.40 +- 0.03 against SC 0.00 +- 0.02); a fluid replica never turns a verdict."""
    from cubemc.analysis.shape_report import crystal_rows

    frozen = {"sc": 0.0, "fcc": 0.3, "hcp": 0.1, "fluid": 0.6}
    fluid = {"sc": 0.0, "fcc": 0.0, "hcp": 0.03, "fluid": 0.97}
    jobs = [crystal_job(0.45, frozen), crystal_job(0.45, fluid)]
    (row,) = crystal_rows(jobs)
    assert (row["runs"], row["frozen"], row["type"], row["frozen_type"]) == (2, 1, "fluid", "fcc")
    assert row["fractions"]["fcc"].mean == pytest.approx(0.15)  # the table still pools both
    c1 = _c1(jobs)
    assert c1.verdict == "agree"
    assert (
        c1.value
        == "r=0.45, φ=0.58: 1 of 2 runs froze: FCC+HCP 0.40 ± 0.03, sc 0.00 ± 0.02, fluid 0.60 ± 0.02"
    )
    assert c1.evidence.startswith("1 frozen of 2 run(s)")
    # a frozen run too short for its own error (fewer than 20 effective samples) decides nothing;
    # FCC + HCP = 1 - fluid - SC, so it is the fluid's (or SC's) convergence that counts
    jobs[0]["summary"]["crystal_type"]["fractions"]["hcp"]["converged"] = False
    assert _c1(jobs).verdict == "agree"
    jobs[0]["summary"]["crystal_type"]["fractions"]["fluid"]["converged"] = False
    c1 = _c1(jobs)
    assert c1.verdict == "insufficient data" and c1.value.endswith(" (too short for its own error)")
    # a frozen SC crystal of nearly spherical particles contradicts C1 next to a fluid replica
    sc = {"sc": 0.35, "fcc": 0.0, "hcp": 0.0, "fluid": 0.65}
    assert _c1([crystal_job(0.45, sc), crystal_job(0.45, fluid)]).verdict == "disagree"
    # no run froze: undecided, never a disagreement
    c1 = _c1([crystal_job(0.45, fluid), crystal_job(0.45, fluid)])
    assert c1.verdict == "insufficient data" and c1.value.startswith(
        "r=0.45, φ=0.58: 0 of 2 runs froze (fluid 0.97"
    )


def test_frozen_runs_combine_as_replicas_and_the_rule_is_30_percent_per_run():
    """Frozen runs FCC 0.5 and 0.3 (a 29 % crystalline replica is fluid and left out): mean 0.4,
    error the larger of the pooled within-run 0.02 sqrt(2) / 2 = 0.014 and the scatter of the run
    means, std 0.1 sqrt(2) over sqrt(2) = 0.1; exactly 30 % crystalline counts as frozen."""
    from cubemc.analysis.shape_report import crystal_rows

    jobs = [
        crystal_job(0.45, {"sc": 0.0, "fcc": 0.5, "hcp": 0.0, "fluid": 0.5}),
        crystal_job(0.45, {"sc": 0.0, "fcc": 0.3, "hcp": 0.0, "fluid": 0.7}),
        crystal_job(0.45, {"sc": 0.0, "fcc": 0.29, "hcp": 0.0, "fluid": 0.71}),
    ]
    (row,) = crystal_rows(jobs)
    assert row["frozen"] == 2
    fcc = row["frozen_fractions"]["fcc"]
    assert (fcc.mean, fcc.sem, fcc.replicas) == (pytest.approx(0.4), pytest.approx(0.1), 2)
    assert row["fractions"]["fcc"].mean == pytest.approx(1.09 / 3)


def test_close_packed_error_is_not_inflated_by_the_fcc_hcp_exchange():
    """Two frozen runs that split the same close-packed 0.40 differently between FCC and HCP
    (stacking): FCC and HCP scatter by 0.2 between them, their sum does not.  Its error is the
    pooled within-run 0.02 sqrt(2) sqrt(2) / 2 = 0.02 from the fluid and SC errors (1 - fluid -
    SC), not sqrt(0.1^2 + 0.1^2) = 0.14 from adding the FCC and HCP errors."""
    from cubemc.analysis.shape_report import crystal_rows

    jobs = [
        crystal_job(0.45, {"sc": 0.0, "fcc": 0.3, "hcp": 0.1, "fluid": 0.6}),
        crystal_job(0.45, {"sc": 0.0, "fcc": 0.1, "hcp": 0.3, "fluid": 0.6}),
    ]
    (row,) = crystal_rows(jobs)
    assert row["frozen_fractions"]["fcc"].sem == pytest.approx(0.1)
    cp = row["frozen_close_packed"]
    assert (cp.mean, cp.sem, cp.replicas) == (pytest.approx(0.4), pytest.approx(0.02), 2)
    assert _c1(jobs).value == (
        "r=0.45, φ=0.58: 2 of 2 runs froze: FCC+HCP 0.40 ± 0.02, sc 0.00 ± 0.01, fluid 0.60 ± 0.01"
    )


def test_crystal_table_counts_the_runs_that_froze(tmp_path):
    from cubemc.analysis.report import write_report

    frozen = {"sc": 0.0, "fcc": 0.3, "hcp": 0.1, "fluid": 0.6}
    fluid = {"sc": 0.0, "fcc": 0.0, "hcp": 0.03, "fluid": 0.97}
    text = open(write_report([crystal_job(0.45, frozen), crystal_job(0.45, fluid)], str(tmp_path))).read()
    (row,) = [line for line in text.splitlines() if line.startswith("| 0.45 | 0.58 | 250 | 2 |")]
    assert row.endswith("| **fluid** | 1 of 2 (fcc) |")
    assert "A run froze when its own crystalline fraction (SC + FCC + HCP) reached 0.3" in text


def test_init_cli_shape_flags(tmp_path):
    proc = cli(
        "init.py", "--shape", "rounded_cuboid", "--rounding-radius", "0.1", "0.2", "--beta-epsilon", "0",
        "--dry-run", cwd=tmp_path,
    )  # fmt: skip
    assert "rounded_cuboid r=0.1" in proc.stdout and "rounded_cuboid r=0.2" in proc.stdout
    path = tmp_path / "project"
    bad = cli("init.py", "--size-polydispersity", "1.5", "--project-dir", path, cwd=tmp_path, check=False)
    assert bad.returncode != 0 and "size_polydispersity=1.5 must lie in [0, 1)" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not path.exists()


def test_shape_families_are_never_pooled_with_cubes(tmp_path):
    """Rounded-cube runs at the cubes' (phi, lambda, N) form their own family: the seed claims
    keep the cube runs (V1 as for cubes alone), the shape section lists the rounded family."""
    import re
    from pathlib import Path

    from cubemc.analysis.report import write_report
    from test_analysis_report import crystal_job as vacancy_run
    from test_analysis_report import verdicts

    cubes = [vacancy_run(0.0, 1.4), vacancy_run(-3.0, 0.2)]
    rounded = [vacancy_run(0.0, 0.2), vacancy_run(-3.0, 0.2)]
    for job in rounded:
        job["statepoint"] |= {"shape": "rounded_cuboid", "rounding_radius": 0.1}
    text = Path(write_report(cubes + rounded, tmp_path)).read_text()
    assert "Claims use the crystal runs with φ=0.8, λ=1.14, N=999." in text
    assert verdicts(text)["V1"] == "agree"  # the rounded runs (no spread) would contradict it
    assert re.search(r"\| φ=0.8, λ=1.14, N=999, rounded_cuboid r=0.1 \| 0 \| 1 \|", text)
    row = [
        line
        for line in text.splitlines()
        if line.startswith("| φ=0.8, λ=1.14, N=999, rounded_cuboid r=0.1 | 0 | 1 | ") and line.count("|") == 6
    ]  # the shape section's row (the vacancy table has one too)
    assert len(row) == 1 and row[0].count(" ± ") == 2
    assert (tmp_path / "vacancy_shapes.png").stat().st_size > 10000


def test_on_one_site_is_not_shown_for_polydisperse_families(tmp_path):
    """A 12 % polydisperse family's on-one-site cell reads '— (polydisperse)' with the reason under
    the table; a rounded family and cubes with an explicit size_polydispersity 0 keep their value."""
    from pathlib import Path

    from cubemc.analysis.report import _context, write_report
    from cubemc.analysis.shape_report import NOT_ON_ONE_SITE, POLYDISPERSE_NOTE
    from test_analysis_report import crystal_job as vacancy_run

    families = {
        "cuboid poly=0.12": {"shape": "cuboid", "size_polydispersity": 0.12},
        "rounded_cuboid r=0.1": {"shape": "rounded_cuboid", "rounding_radius": 0.1},
        "cuboid poly=0": {"shape": "cuboid", "size_polydispersity": 0.0},
    }
    jobs = []
    for keys in families.values():
        for job in (vacancy_run(0.0, 0.2), vacancy_run(-3.0, 0.2)):
            job["statepoint"] |= keys
            jobs.append(job)
    flags = {r["family"].split(", ")[-1]: r["polydisperse"] for r in _context(jobs)["vacancy_shapes"]}
    assert flags == {"cuboid poly=0.12": True, "rounded_cuboid r=0.1": False, "cuboid poly=0": False}
    text = Path(write_report(jobs, tmp_path)).read_text()
    section = text.split("## Nanocrystal shapes: vacancy localisation")[1].split("\n## ")[0]
    for shape in families:
        (row,) = [
            line for line in section.splitlines() if line.startswith(f"| φ=0.8, λ=1.14, N=999, {shape} | 0 |")
        ]
        cell = row.split(" | ")[-1].rstrip(" |")
        assert (cell == NOT_ON_ONE_SITE) == (shape == "cuboid poly=0.12"), row
        assert cell == NOT_ON_ONE_SITE or cell.count(" ± ") == 1
    assert POLYDISPERSE_NOTE in section and "0.25 a" in POLYDISPERSE_NOTE
