"""Issue 17: the nucleation-scan studies and cluster moves as a study field / init option."""

import signac
from conftest import cli

from cubemc.workflow.cluster_moves import KEY
from cubemc.workflow.nucleation_studies import QUICK_SCAN_DEPTHS, SCAN_CLUSTER_MOVES, SCAN_DEPTHS
from cubemc.workflow.studies import get_study, validate_grid


def _grid(points):
    return {(p["well_range"], p["packing_fraction"], p["beta_epsilon"]) for p in points}


def test_quick_scan_is_one_run_per_point_of_both_wells_without_cluster_moves():
    points = get_study("nucleation-scan", quick=True).statepoints()
    assert len(points) == 30 and {p["N"] for p in points} == {500} and {p["replica"] for p in points} == {0}
    expected = {
        (w, phi, b)
        for w, betas in QUICK_SCAN_DEPTHS.items()
        for phi in (0.1, 0.2, 0.3, 0.4, 0.5)
        for b in betas
    }
    assert _grid(points) == expected
    assert not any(KEY in p for p in points)
    validate_grid(points)


def test_full_scan_has_replicas_and_cluster_moves():
    points = get_study("nucleation-scan").statepoints()
    assert len(points) == 2 * 6 * sum(len(b) for b in SCAN_DEPTHS.values())
    assert {p[KEY] for p in points} == {SCAN_CLUSTER_MOVES}
    assert min(p["packing_fraction"] for p in points) == 0.05
    validate_grid(points)


def test_studies_without_cluster_moves_keep_their_statepoints():
    """The new Study field adds no key where it is 0, so existing job ids do not change."""
    (quick,) = get_study("nucleation", quick=True).statepoints()
    assert quick == {
        "beta_epsilon": -4.0,
        "packing_fraction": 0.45,
        "well_range": 1.14,
        "initial_state": "fluid",
        "N": 500,
        "replica": 0,
        "tune_sweeps": 200,
        "equilibration_sweeps": 0,
        "production_sweeps": 100000,
        "sample_period": 2000,
    }


def test_init_option_asks_for_cluster_moves_and_rejects_bad_values(tmp_path):
    project_dir = tmp_path / "p"
    args = ("nucleation", "--quick", "--project-dir", project_dir)
    cli("init.py", *args, "--vmmc-moves-per-particle", "0.1", cwd=tmp_path)
    (job,) = signac.get_project(project_dir)
    assert job.sp[KEY] == 0.1
    bad = cli("init.py", *args, "--vmmc-moves-per-particle", "20", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and bad.stderr.count("error:") == 1 and "from 0 to 10" in bad.stderr
    assert len(signac.get_project(project_dir)) == 1
