"""``run --parallel`` starts the operations with the most work left first (workflow/parallel.py,
`operation_cost`): a resumed job counts only the sweeps it has not run yet."""

from types import SimpleNamespace

import signac

from cubemc.workflow.parallel import operation_cost

POINT = {"N": 1000, "tune_sweeps": 500, "equilibration_sweeps": 0, "production_sweeps": 300000}


def _operation(name, job):
    # the two attributes of signac-flow's job operation that the cost reads
    return SimpleNamespace(name=name, _jobs=(job,))


def _jobs(tmp_path):
    project = signac.init_project(tmp_path)
    fresh = project.open_job({**POINT, "replica": 0}).init()
    resumed = project.open_job({**POINT, "replica": 1}).init()
    resumed.doc["progress"] = {"stage": "sample", "done": 270000, "total": 300000, "sweep": 270500}
    return fresh, resumed


def test_a_resumed_sample_counts_only_the_sweeps_it_has_left(tmp_path):
    fresh, resumed = _jobs(tmp_path)
    assert operation_cost(_operation("sample", fresh)) == 1000 * 300000
    assert operation_cost(_operation("sample", resumed)) == 1000 * 30000
    # with the later operations (run_job_onwards) the same, since sampling is the last stage
    assert operation_cost(_operation("sample", resumed), onwards=True) == 1000 * 30000
    assert operation_cost(_operation("sample_gpu", resumed)) == 1000 * 30000


def test_progress_of_another_stage_leaves_the_cost_whole(tmp_path):
    fresh, resumed = _jobs(tmp_path)
    fresh.doc["progress"] = {"stage": "tune", "done": 400, "total": 500, "sweep": 400}
    assert operation_cost(_operation("equilibrate", fresh)) == 1000 * 500
    assert operation_cost(_operation("equilibrate", fresh), onwards=True) == 1000 * 300500
    # an operation without sweeps costs one unit per particle
    assert operation_cost(_operation("analyse", resumed)) == 1000


def test_a_finished_or_overrun_stage_still_costs_at_least_one_sweep(tmp_path):
    _, resumed = _jobs(tmp_path)
    resumed.doc["progress"] = {"stage": "sample", "done": 10**9, "total": 300000, "sweep": 10**9}
    assert operation_cost(_operation("sample", resumed)) == 1000
