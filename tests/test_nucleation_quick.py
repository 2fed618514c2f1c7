"""The quick nucleation study nucleates: its one job (fixed seed from its job id) ends with an
SC crystallite of at least 50 cubes (issue 17, item 4).

Runs the real workflow (init.py nucleation --quick, project.py run for the sampling stages) and
measures the final configuration with the cluster analysis.
"""

import json

import numpy as np
import pytest
import signac
from conftest import cli
from cubemc.analysis.nucleation import classify_state
from cubemc.analysis.trajectory import read_frames

pytestmark = pytest.mark.slow


def test_quick_nucleation_study_grows_a_crystallite(tmp_path):
    cli("init.py", "nucleation", "--quick", cwd=tmp_path)
    (job,) = signac.get_project(str(tmp_path))
    assert (job.sp.packing_fraction, job.sp.beta_epsilon, job.sp.N) == (0.45, -4.0, 500)
    cli("project.py", "run", "-o", "create_initial_state|equilibrate|sample", cwd=tmp_path, timeout=900)
    with np.load(job.fn("final.npz")) as final:
        pos, q, box = final["positions"], final["orientations"], final["box"]
        assert int(final["sweep"]) >= job.sp.production_sweeps
    verdict = classify_state(box, pos, q, job.sp.well_range)
    assert verdict["class"] == "crystal", verdict
    assert verdict["largest_crystalline"] >= 50, verdict
    # Bonded: the fluid it started from has about 1 bond per cube, an SC crystal 3.
    assert verdict["bonds_per_cube"] > 1.2, verdict
    # The analyse operation classifies the same frame, times the induction and draws the grown SP.
    cli("project.py", "run", "-o", "analyse", cwd=tmp_path, timeout=900)
    clusters = json.loads(open(job.fn("analysis.json"), encoding="utf-8").read())["summary"]["clusters"]
    assert clusters["state_final"]["class"] == "crystal"
    # the same frame as the trajectory stores it (float32 positions: a cube on a bond threshold
    # may read differently from final.npz's float64, 271 against 270 cubes once)
    *_, last = read_frames(job.fn("trajectory.gsd"))
    stored = classify_state(last.box, last.positions, last.orientations, job.sp.well_range)
    assert clusters["state_final"]["largest_crystalline"] == stored["largest_crystalline"]
    assert abs(stored["largest_crystalline"] - verdict["largest_crystalline"]) <= 3
    # judged against the hard fluid it was quenched from (initial.gsd): fewer contacts there
    assert clusters["state_final"]["reference"]["bonds_per_cube"] < verdict["bonds_per_cube"] / 2
    first = clusters["induction_steps"]["50"]
    assert first is not None and first <= job.sp.production_sweeps
    assert job.isfile("crystallites.png")
