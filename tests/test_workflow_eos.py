"""State points at a fixed pressure, the eos study and the equation of state in the report."""

import math

import numpy as np
import pytest
import signac
from conftest import cli
from cubemc.analysis.eos import (
    EquationOfStateAnalyzer,
    eos_points,
    in_well_free_volume,
    second_virial_coefficient,
)
from cubemc.analysis.report import write_report
from signac.job import calc_id

import cubemc
from cubemc.workflow import stages
from cubemc.workflow.config import load_config
from cubemc.workflow.errors import StatePointError
from cubemc.workflow.init_cli import create_jobs
from cubemc.workflow.studies import get_study, make_statepoint, validate_grid


def npt_point(**changes):
    """A small crystal at constant pressure (4^3 sites, no vacancy), square well, short runs."""
    sp = make_statepoint(
        initial_state="crystal_vacancy",
        beta_epsilon=-1.0,
        pressure=20.0,
        well_range=1.14,
        n_lattice=4,
        vacancies=0,
        tune_sweeps=60,
        equilibration_sweeps=100,
        production_sweeps=200,
        sample_period=20,
    )
    sp.update(changes)
    return sp


# --- the state-point key -------------------------------------------------------------------------


def test_existing_job_ids_are_unchanged():
    """Ids recorded before the pressure key existed: a state point without it keeps its id."""
    crystal = make_statepoint(
        initial_state="crystal_vacancy",
        beta_epsilon=-1.0,
        packing_fraction=0.8,
        well_range=1.14,
        n_lattice=10,
        vacancies=1,
        tune_sweeps=2000,
        equilibration_sweeps=20000,
        production_sweeps=200000,
        sample_period=1000,
    )
    fluid = make_statepoint(
        initial_state="fluid",
        beta_epsilon=-2.0,
        packing_fraction=0.45,
        well_range=1.14,
        N=500,
        replica=1,
        tune_sweeps=200,
        equilibration_sweeps=0,
        production_sweeps=20000,
        sample_period=200,
    )
    assert "pressure" not in crystal and "pressure" not in fluid
    assert calc_id(crystal) == "80a26340100deb75937673f27739d716"
    assert calc_id(fluid) == "d25a0552e668921b766a5f907b706060"
    assert all("pressure" not in sp for sp in get_study("vacancy").statepoints())


def test_a_pressure_state_point_has_no_packing_fraction():
    sp = npt_point()
    assert sp["pressure"] == 20.0 and "packing_fraction" not in sp
    assert validate_grid([sp]) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pressure": -1.0}, "pressure=-1.0 must be positive"),
        ({"pressure": 0.0}, "pressure=0.0 must be positive"),
        ({"pressure": float("nan")}, "pressure=nan is not a finite number"),
        ({"pressure": float("inf")}, "pressure=inf is not a finite number"),
        ({"pressure": "10"}, "pressure='10' is not a finite number"),
        ({"packing_fraction": 0.5}, "packing_fraction and pressure both given"),
        # near close packing 27 cubes would fill a box narrower than twice the interaction range
        ({"n_lattice": 3, "N": 27}, "N=27 is too small for a run at constant pressure"),
    ],
)
def test_bad_pressure_is_one_line_and_nothing_is_written(tmp_path, changes, message):
    sp = npt_point(**changes)
    with pytest.raises(StatePointError) as error:
        validate_grid([sp])
    text = str(error.value)
    assert message in text and "nothing written" in text and "\n" not in text
    with pytest.raises(StatePointError):
        create_jobs(str(tmp_path / "project"), [("custom", sp)], quiet=True)
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--pressure", "-2"], "pressure=-2.0 must be positive"),
        (["--pressure", "nan"], "pressure=nan is not a finite number"),
        (["--pressure", "5", "--packing-fraction", "0.3"], "--packing-fraction and --pressure both given"),
    ],
)
def test_init_refuses_a_bad_pressure(tmp_path, flags, message):
    project = tmp_path / "project"
    args = ["--project-dir", project, "--initial-state", "fluid", "--n-particles", "100", *flags]
    proc = cli("init.py", *args, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not project.exists()


def test_eos_study_grids():
    full = get_study("eos").statepoints()
    assert validate_grid(full) == []
    fluid = [sp for sp in full if sp["initial_state"] == "fluid"]
    crystal = [sp for sp in full if sp["initial_state"] == "crystal_vacancy"]
    assert all("pressure" not in sp for sp in fluid) and all("packing_fraction" not in sp for sp in crystal)
    assert {sp["beta_epsilon"] for sp in full} == {0.0, -1.0, -2.0}
    assert {sp["well_range"] for sp in full} == {1.14}
    phis = sorted({sp["packing_fraction"] for sp in fluid})
    assert phis[0] == 0.05 and phis[-1] == 0.5
    assert all(sp["vacancies"] == 0 for sp in crystal)
    quick = get_study("eos", quick=True).statepoints()
    assert validate_grid(quick) == [] and len(quick) < len(full)
    assert {"pressure" in sp for sp in quick} == {True, False}
    assert max(sp["N"] for sp in quick) <= 64


# --- analysis and report -------------------------------------------------------------------------


def test_in_well_free_volume_against_exact_limits():
    """Centres closer than 1 always overlap (x = 0); beyond sqrt 3 never, and the excluded volume
    11 lies inside that ball, so x = 4 pi lambda^3 / 3 - 11 for lambda >= sqrt 3."""
    assert in_well_free_volume(1.0, n=100_000)[0] == 0.0
    x, err = in_well_free_volume(2.0, n=400_000)
    exact = 4 / 3 * math.pi * 8 - 11.0
    assert abs(x - exact) < 4 * err, (x, err, exact)
    assert second_virial_coefficient(0.0, 1.14) == 5.5
    assert second_virial_coefficient(-1.0, 2.0, x) == pytest.approx((11 - (math.e - 1) * x) / 2)


def frame_log(box, pressure):
    from cubemc.analysis.analyzers import Frame

    return Frame(0, np.array(box, float), np.zeros((8, 3)), np.zeros((8, 4)), {"pressure": pressure})


def test_eos_analyzer_and_points():
    rng = np.random.default_rng(1)
    nvt, npt = EquationOfStateAnalyzer(), EquationOfStateAnalyzer()
    for _ in range(64):
        nvt.compute(frame_log([4.0, 4.0, 4.0], 2.0 + rng.normal(0, 0.1)))
        npt.compute(frame_log([4.0, 4.0, 4.0 + rng.normal(0, 0.02)], 9.0 + rng.normal(0, 0.1)))
    assert nvt.summary["packing_fraction"]["mean"] == pytest.approx(8 / 64)
    assert nvt.summary["packing_fraction"]["sem"] == 0.0
    assert abs(nvt.summary["pressure"]["mean"] - 2.0) < 4 * nvt.summary["pressure"]["sem"]
    base = {"beta_epsilon": 0.0, "well_range": 1.14, "N": 8, "initial_state": "fluid"}
    jobs = [
        {"statepoint": {**base, "packing_fraction": 0.125}, "summary": {"eos": nvt.summary}},
        {"statepoint": {**base, "pressure": 9.0}, "summary": {"eos": npt.summary}},
        {"statepoint": {**base, "packing_fraction": 0.3}, "summary": {}},  # not analysed: left out
    ]
    points = eos_points(jobs)
    assert [p["ensemble"] for p in points] == ["NPT", "NVT"]
    npt_point_, nvt_point = points
    assert npt_point_["pressure"].mean == 9.0 and npt_point_["pressure"].sem == 0.0
    assert npt_point_["packing_fraction"].sem > 0 and nvt_point["pressure"].sem > 0
    assert npt_point_["measured_pressure"].known


def eos_job(sp, pressure, phi, replica=0):
    est = {"frames": 100, "effective": 50.0, "replicas": 1, "converged": True}
    return {
        "statepoint": {"well_range": 1.14, "N": 64, "replica": replica, **sp},
        "studies": ["eos-quick"],
        "summary": {
            "N": 64,
            "eos": {"pressure": {**est, **pressure}, "packing_fraction": {**est, **phi}},
        },
    }


def test_report_has_the_equation_of_state(tmp_path):
    jobs = [
        eos_job(
            {"initial_state": "fluid", "beta_epsilon": be, "packing_fraction": phi},
            p,
            {"mean": phi, "sem": 0},
        )
        for be in (0.0, -2.0)
        for phi, p in ((0.05, {"mean": 0.066, "sem": 0.002}), (0.3, {"mean": 1.5, "sem": 0.05}))
    ]
    jobs.append(
        eos_job(
            {
                "initial_state": "crystal_vacancy",
                "beta_epsilon": 0.0,
                "pressure": 30.0,
                "n_lattice": 4,
                "vacancies": 0,
            },
            {"mean": 29.0, "sem": 0.6},
            {"mean": 0.848, "sem": 0.002},
        )
    )
    path = write_report(jobs, str(tmp_path))
    text = open(path, encoding="utf-8").read()
    assert "## Equation of state" in text and (tmp_path / "eos.png").stat().st_size > 10000
    assert "| 0 | 1.14 | fluid | NVT | 64 | 0.050 | 0.066 ± 0.002 |" in text
    assert "| 0 | 1.14 | crystal | NPT | 64 | 0.848 ± 0.002 | 30.000 |" in text
    assert "virial line" in text
    assert "Equation of state: 5 state points, crystal start (NPT), fluid start (NVT);" in text
    # runs made for the equation of state are no evidence for the seed claims
    assert "Does not agree:** none" in text


def test_a_fluid_that_nucleated_is_no_equation_of_state_point(tmp_path):
    """A quench whose last frame is a crystal or an aggregate has a mean pressure of no single
    phase: the table leaves it out and says so; a run that stayed fluid stays in."""
    fluid = {"initial_state": "fluid", "beta_epsilon": -4.0}
    jobs = []
    for phi, end in ((0.1, "fluid"), (0.3, "aggregate"), (0.5, "crystal")):
        job = eos_job({**fluid, "packing_fraction": phi}, {"mean": 1.0, "sem": 0.1}, {"mean": phi, "sem": 0})
        job["summary"]["clusters"] = {"state_final": {"class": end}}
        jobs.append(job)
    assert [p["packing_fraction"].mean for p in eos_points(jobs)] == [0.1]
    text = open(write_report(jobs, str(tmp_path)), encoding="utf-8").read()
    assert "Equation of state: 1 state point, fluid start (NVT) (2 runs from a fluid that " in text
    assert "| -4 | 1.14 | fluid | NVT | 64 | 0.100 |" in text
    assert "| -4 | 1.14 | fluid | NVT | 64 | 0.300 |" not in text
    assert "are left out (2 here)" in text
    # all of them nucleated (a nucleation study): no equation of state at all
    text = open(write_report(jobs[1:], str(tmp_path / "all")), encoding="utf-8").read()
    assert "Equation of state" not in text


# --- the workflow at constant pressure -----------------------------------------------------------


def run_npt_job(path, interrupt=False):
    """Create, tune, burn in and sample one NPT job in a real signac project; with `interrupt`,
    the production run is cut as a killed process leaves it (a checkpoint after 100 sweeps and
    two frames past it) and the sample stage resumes."""
    create_jobs(str(path), [("custom", npt_point())], quiet=True)
    (job,) = signac.get_project(str(path))
    config = load_config(str(path))
    for stage in ("create", "equilibrate"):
        assert stages.run_stage(job, stage, config, "cpu")
    if interrupt:
        sim = cubemc.Simulation.from_checkpoint(job.fn(stages.EQUILIBRATED), device="cpu")
        sim.run(100, trajectory=job.fn(stages.TRAJECTORY), period=20)
        sim.save_checkpoint(job.fn(stages.SAMPLE_RESTART))
        sim.run(40, trajectory=job.fn(stages.TRAJECTORY), period=20)
    assert stages.run_stage(job, "sample", config, "cpu")
    return job


def test_npt_job_tunes_box_moves_once_and_resumes_bit_for_bit(tmp_path):
    import gsd.hoomd

    reference = run_npt_job(tmp_path / "reference")
    resumed = run_npt_job(tmp_path / "resumed", interrupt=True)
    assert reference.id == resumed.id
    with np.load(reference.fn("final.npz")) as a, np.load(resumed.fn("final.npz")) as b:
        assert set(a.files) == set(b.files) and "box_move_settings" in a.files
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key

    def production(job):
        with gsd.hoomd.open(job.fn(stages.TRAJECTORY)) as traj:
            frames = [(f.configuration.box[:3].copy(), f.particles.position.copy()) for f in traj]
        return frames, gsd.hoomd.read_log(job.fn(stages.TRAJECTORY))["log/cubemc/pressure"]

    (frames_a, pressure_a), (frames_b, pressure_b) = production(reference), production(resumed)
    assert len(frames_a) == len(frames_b) == 11
    for (box_a, pos_a), (box_b, pos_b) in zip(frames_a, frames_b, strict=True):
        assert np.array_equal(box_a, box_b) and np.array_equal(pos_a, pos_b)
    assert np.array_equal(pressure_a, pressure_b)
    assert len({float(box[0]) for box, _ in frames_a}) > 1  # the box moved during production
    # box-move sizes: tuned while tuning, fixed from then on
    sizes = {}
    for name in (stages.INITIAL, stages.TUNED, stages.EQUILIBRATED, stages.FINAL):
        with np.load(reference.fn(name)) as data:
            sizes[name] = data["box_move_settings"][3:5].copy()
            assert data["box_move_settings"][0] == 20.0
    assert not np.array_equal(sizes[stages.INITIAL], sizes[stages.TUNED])
    assert np.array_equal(sizes[stages.TUNED], sizes[stages.EQUILIBRATED])
    assert np.array_equal(sizes[stages.TUNED], sizes[stages.FINAL])


@pytest.mark.slow
def test_quick_eos_study_end_to_end(tmp_path):
    """init.py eos --quick for hard cubes at two fluid densities and both crystal pressures, and
    project.py run: every job analysed, NPT jobs with box moves, the report with the EOS table and
    figure (the square-well line is tested on report inputs above)."""
    path = tmp_path / "project"
    grid = ["--beta-epsilon", "0", "--packing-fraction", "0.05", "0.4"]
    cli("init.py", "eos", "--quick", "--project-dir", path, "-q", *grid, cwd=tmp_path)
    project = signac.get_project(str(path))
    assert len(project) == 4
    cli("project.py", "run", cwd=path, timeout=900)
    for job in project:
        assert job.isfile("analysis.json")
        eos = job.doc["summary"]["eos"]
        assert eos["pressure"]["frames"] == 41 and eos["pressure"]["sem"] > 0
        with np.load(job.fn("final.npz")) as final:
            assert ("box_move_settings" in final.files) == ("pressure" in job.sp)
        if "pressure" in job.sp:  # the measured pressure of the NPT runs is near the imposed one
            assert abs(eos["pressure"]["mean"] / job.sp["pressure"] - 1) < 0.3, eos
    report = (path / "report" / "report.md").read_text()
    assert "## Equation of state" in report and (path / "report" / "eos.png").stat().st_size > 10000
    rows = [line for line in report.splitlines() if "| NVT |" in line or "| NPT |" in line]
    assert len(rows) == 4 and all(" ± " in row for row in rows)
    # dilute hard cubes: beta P = phi + B2 phi^2 + O(phi^3), B2 = 5.5 (the third term is below 0.005)
    (dilute,) = [j for j in project if j.sp["beta_epsilon"] == 0.0 and j.sp.get("packing_fraction") == 0.05]
    measured = dilute.doc["summary"]["eos"]["pressure"]
    assert abs(measured["mean"] - (0.05 + 5.5 * 0.05**2)) < 4 * measured["sem"] + 0.005, measured
    assert "none of them a crystal with a vacancy" in report
    # the dashboard's job page shows the pressure with its error (signac-dashboard's own app)
    import html

    from cubemc.workflow.dashboard import equation_of_state, make_dashboard

    client = make_dashboard(str(path), config={"ACCESS_TOKEN": None}).app.test_client()
    page = client.get(f"/jobs/{dilute.id}").get_data(as_text=True)
    text = equation_of_state(dilute)
    assert text.startswith("beta P sigma^3: 0.0") and " ± " in text and "packing fraction: fixed 0.05" in text
    assert "Equation of state" in page and html.escape(text) in page


def test_pressure_jobs_refuse_an_engine_without_box_moves():
    from cubemc.workflow import eos
    from cubemc.workflow.errors import WorkflowError

    eos.check_engine(npt_point(), "native")
    eos.check_engine(get_study("vacancy").statepoints()[0], "hoomd")
    with pytest.raises(WorkflowError, match="native engine's box moves"):
        eos.check_engine(npt_point(), "hoomd")


def test_fluid_job_at_a_pressure_is_compressed_and_stays_cubic(tmp_path):
    """The compression route through the stages: a dilute fluid compressed to beta P = 2, then
    isotropic box moves only (the box stays cubic and changes); its density is that of the
    measured NVT equation of state at beta P = 2 (phi about 0.3), loosely."""
    import gsd.hoomd

    sp = make_statepoint(
        initial_state="fluid",
        beta_epsilon=0.0,
        pressure=2.0,
        well_range=1.14,
        N=64,
        tune_sweeps=60,
        equilibration_sweeps=100,
        production_sweeps=200,
        sample_period=20,
    )
    create_jobs(str(tmp_path / "fluid"), [("custom", sp)], quiet=True)
    (job,) = signac.get_project(str(tmp_path / "fluid"))
    config = load_config(job.project.path)
    for stage in stages.STAGES:
        assert stages.run_stage(job, stage, config, "cpu")
    with gsd.hoomd.open(job.fn(stages.TRAJECTORY)) as traj:
        boxes = np.array([f.configuration.box[:3] for f in traj])
    assert np.all(boxes == boxes[:, :1]) and len(np.unique(boxes[:, 0])) > 1
    phi = 64 / np.prod(boxes, axis=1)
    # an ideal gas would sit at phi = beta P = 2; hard cubes measured 0.68 at phi 0.2, 4.4 at 0.4
    assert 0.15 < phi.mean() < 0.45, phi
