"""``python project.py report``: an interim report of the jobs analysed so far, on a real
project, and the full report still written by ``run`` once every job is analysed."""

import json

import signac
from conftest import cli

from cubemc.workflow.dashboard import report_status
from cubemc.workflow.operations import report_is_current


def _report(path):
    return (path / "report" / "report.md").read_text(encoding="utf-8")


def _manifest_jobs(path):
    return json.loads((path / "report" / "manifest.json").read_text(encoding="utf-8"))["jobs"]


def test_interim_report_of_the_analysed_jobs_then_the_full_one(tiny_project):
    path = tiny_project()
    ids = sorted(job.id for job in signac.get_project(str(path)))

    nothing = cli("project.py", "report", cwd=path, check=False)
    assert nothing.returncode != 0
    assert "no job of the 2 is analysed yet" in nothing.stderr
    assert len(nothing.stderr.strip().splitlines()) == 1 and "Traceback" not in nothing.stderr
    assert not (path / "report").exists()
    assert report_status(signac.get_project(str(path))) == "report: not written yet"

    wrong = cli("project.py", "report", "--all", cwd=path, check=False)
    assert wrong.returncode != 0 and "takes no arguments" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1

    cli("project.py", "run", "-j", ids[0], cwd=path, timeout=900)
    assert not (path / "report").exists()  # the report operation waits for every job
    interim = cli("project.py", "report", cwd=path)
    assert "interim: 1 job(s) not analysed yet" in interim.stdout + interim.stderr
    assert "**Interim report: 1 of 2 jobs analysed.**" in _report(path)
    assert _manifest_jobs(path) == [ids[0]]
    assert not report_is_current(*signac.get_project(str(path)))  # so `run` reports again
    assert report_status(signac.get_project(str(path))).startswith(
        "report: out of date (it covers 1 of the 2 jobs;"
    )  # the dashboard's project page

    cli("project.py", "run", cwd=path, timeout=900)  # the other job, then the full report
    assert "Interim report" not in _report(path)
    assert _manifest_jobs(path) == ids
    assert report_is_current(*signac.get_project(str(path)))  # nothing left for `run` to do
    assert report_status(signac.get_project(str(path))) == "report: up to date"
