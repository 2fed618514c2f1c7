"""benchmarks/gpu_check.py runs end to end under numba's CUDA simulator and writes valid JSON.

The command meant for a GPU machine (issue 15) is exercised here on tiny systems, so that it is
known to work before any GPU time is spent.  These tests check the file, never the figures.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def _run(tmp_path, *args):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((tmp_path / "out" / "gpu_check.json").read_text()), proc.stdout


def test_smoke_run_writes_complete_json(tmp_path):
    data, stdout = _run(tmp_path, "--smoke", "--vmmc", str(tmp_path / "out"))
    assert data["schema"] == "cubemc-gpu-check/1" and data["smoke"] is True
    assert data["status"] == "done" and data["finished"]
    assert all(step["ok"] for step in data["steps"].values()), data["steps"]
    assert data["machine"]["gpu"]["name"] == "CUDA simulator"
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu_model"]
    assert data["tuning"]["translate"] > 0
    # pytest ran (every GPU test skips under the simulator) and its JUnit file was parsed
    assert data["pytest_fast"]["returncode"] == 0 and data["pytest_fast"]["tests"]
    assert data["pytest_fast"]["counts"]["skipped"] == len(data["pytest_fast"]["tests"])
    kinds = {(p["kind"], p["variant"]) for p in data["points"]}
    assert {("gpu", v) for v in data["variants"]} <= kinds
    assert {("batch", v) for v in data["variants"]} <= kinds
    assert ("cpu", None) in kinds
    for p in data["points"]:
        assert p["trial_moves_per_second"] > 0 and p["books_ok"], p
    assert set(data["summary"]["targets"]) == {
        "gpu_1e9_at_1e6",
        "batch_3e8_for_128x1000",
        "gpu_30x_cpu_at_1e6",
    }
    # the VMMC step: one CPU core and the GPU kernel on batches, with the moves compared
    vmmc = {(p["device"], p.get("lanes"), p["systems"]): p for p in data["vmmc"]["points"]}
    assert {("cpu", None, 1), ("gpu", 1, 1), ("gpu", 1, 2), ("gpu", 4, 1), ("gpu", 4, 2)} <= set(vmmc)
    assert all(p["moves_per_s"] > 0 for p in vmmc.values())
    assert vmmc[("gpu", 1, 1)]["same_as_cpu"] and vmmc[("gpu", 4, 1)]["same_as_cpu"]
    assert (tmp_path / "out" / "gpu_check.log").stat().st_size > 0
    assert "gpu_check summary" in stdout and "vmmc lattice" in stdout


def test_a_failing_part_is_recorded_and_the_rest_still_runs(tmp_path):
    """An unknown variant and a missing profiler fail their parts only."""
    data, _ = _run(
        tmp_path,
        "--smoke",
        str(tmp_path / "out"),
        "--skip-pytest",
        "--variants",
        "warp",
        "cell",
        "--ncu",
        "cell",
        "--ncu-size",
        "4",
    )
    bad = [p for p in data["points"] if p["variant"] == "warp"]
    assert bad and all("InputError" in p["error"] for p in bad)
    good = [p for p in data["points"] if p["variant"] == "cell" or p["kind"] == "cpu"]
    assert good and all(p["trial_moves_per_second"] > 0 for p in good)
    assert "ncu" in data["steps"]  # recorded either way: an error without Nsight Compute
    assert "pytest_fast" not in data
