"""The demo's report (``make demo``: init.py vacancy --quick, project.py run --parallel) states a
verdict and an error for every vacancy claim. Same study (three replicas per βε) and commands,
shorter runs so CI can afford it."""

import re

import pytest
from conftest import cli

pytestmark = pytest.mark.slow

SHORT = [
    "--tune-sweeps",
    "200",
    "--equilibration-sweeps",
    "500",
    "--production-sweeps",
    "2000",
    "--sample-period",
    "100",
]
VERDICTS = ("agree", "disagree", "insufficient data", "too small to tell")


def test_demo_report_has_a_verdict_and_an_error_for_every_vacancy_claim(tmp_path):
    project = tmp_path / "demo"
    cli("init.py", "vacancy", "--quick", *SHORT, "--project-dir", project, cwd=tmp_path)
    cli("project.py", "run", "--parallel", cwd=project, timeout=1500)
    report = (project / "report" / "report.md").read_text()
    summary = report[report.index("## In one minute") : report.index("## Seed claims")]
    assert "Crystals of 999 cubes" in summary and "βε = 0, -0.5, -1, -3" in summary
    for cid in ("V1", "V2", "V3", "E1"):
        row = next(line for line in report.splitlines() if line.startswith(f"| {cid} |"))
        verdict = re.search(r"\*\*([a-z ]+)\*\*", row).group(1)
        assert verdict in VERDICTS, row
        assert re.search(r"-?\d+\.\d+ ± \d+\.\d+", row), f"{cid} has no error: {row}"
        assert re.search(r"3 run\(s\), 63 frames, \d+ effective", row), row
    for name in ("delocalisation.png", "claim_V1.png", "claim_V2.png", "claim_V3.png"):
        assert (project / "report" / name).stat().st_size > 3000
