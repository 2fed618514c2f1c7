"""The H200 run of 2026-12-04 made the CPU's chain: every GPU layout's acceptance rates, as that
run recorded them (benchmarks/results/gpu-h200-2026-12-04.json), are reached exactly by the CPU
from the same state, seed and move sizes after some number of sweeps.  Acceptance rates are
ratios of counts over thousands of trials, so an exact match of both means the GPU made the same
accept/reject decisions: its physics is the CPU's, which the statistical tests check.  (Runs on
the CPU only; the GPU half is the recorded file.  A change that alters the chains breaks it, as
it breaks tests/test_bitexact.py: then record a new GPU run.)"""

import json
from pathlib import Path

import cubemc

RECORD = Path(__file__).resolve().parents[1] / "benchmarks/results/gpu-h200-2026-12-04.json"


def test_every_gpu_layout_followed_the_cpu_chain_at_n_999(one_numba_thread):
    record = json.loads(RECORD.read_text())
    sizes = record["tuning"]
    gpu = {
        p["variant"]: (p["acceptance"]["translate"], p["acceptance"]["rotate"])
        for p in record["points"]
        if p.get("kind") == "gpu" and p.get("N") == 999
    }
    assert len(gpu) == 11
    state = cubemc.State.simple_cubic(n=10, packing_fraction=0.80, vacancies=1, seed=1)
    sim = cubemc.Simulation(
        state,
        -1.0,
        1.14,
        seed=2,
        device="cpu",
        translate_size=sizes["translate"],
        rotate_size=sizes["rotate"],
    )
    matched = {}
    for total in range(1, 260):  # the check ran 1 + 1 + 4 + 16 + 64 + ... sweeps per point
        sim.run(1)
        rates = (sim.acceptance["translate"], sim.acceptance["rotate"])
        matched.update({v: total for v, want in gpu.items() if want == rates and v not in matched})
    assert set(matched) == set(gpu), sorted(set(gpu) - set(matched))
    assert matched["cell"] == 203  # 1 to compile, then timed calls of 1, 4, 16, 64 and 117 sweeps
