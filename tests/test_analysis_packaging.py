"""analysis/ installs as cubemc.analysis: importable anywhere, listed in pyproject, runnable as
``python -m cubemc.analysis.<module>``, and a project outside the repository runs every operation."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, TINY_GRID, clean_env

tomllib = pytest.importorskip("tomllib")


def outside_env():
    """The environment of a user who installed the package: no repository on the import path."""
    env = clean_env()
    env.pop("PYTHONPATH", None)
    return env


def test_every_cubemc_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "cubemc").rglob("__init__.py")}
    missing = on_disk - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
    assert config["package-dir"]["cubemc.analysis"] == "analysis"
    assert "cubemc.analysis" in listed


def test_cubemc_analysis_imports_from_any_directory(tmp_path):
    code = "import cubemc.analysis.report as r, cubemc.analysis.trajectory as t; print(r.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        Path(out.stdout.strip()).parent.resolve() == (REPO / "analysis").resolve()
        or "site-packages" in out.stdout
    )


@pytest.mark.parametrize("module", ["cubemc.analysis.report", "cubemc.analysis.trajectory"])
def test_module_command_lines_report_bad_input_in_one_line(tmp_path, module):
    args = (
        [str(tmp_path / "out"), str(tmp_path / "missing.json")]
        if module.endswith("report")
        else [str(tmp_path / "missing.gsd")]
    )
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=tmp_path, env=outside_env(), capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "error" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_project_outside_the_repository_runs_every_operation(tmp_path):
    project = tmp_path / "elsewhere"
    project.mkdir()
    for script in ("init.py", "project.py"):
        shutil.copy(REPO / script, project / script)
    env = outside_env()
    for cmd in (["init.py", *TINY_GRID, "--beta-epsilon", "-1"], ["project.py", "run"]):
        proc = subprocess.run(
            [sys.executable, *cmd], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "No module named" not in proc.stderr
    report = (project / "report" / "report.md").read_text()
    assert "## In one minute" in report and "| V1 |" in report
    assert len(list(project.glob("workspace/*/analysis.json"))) == 1
