"""The cross-job report on synthetic job summaries."""

import json
import re
from pathlib import Path

import numpy as np

from analysis.report import CLAIM_IDS, main, write_report
from analysis.scattering import to_inverse_nm
from analysis.synthetic import crystal_with_vacancy, gsd_frame, push_row, write_gsd
from analysis.trajectory import analyze_trajectory

A = 0.8 ** (-1 / 3)


def crystal_job(beta, replica, row_mean, frac_loc, p95, fwhm_deg, with_peaks=True):
    k = np.linspace(0.5, 15, 50)
    peaks_k = 2 * np.pi / A * np.sqrt([1, 2, 3, 4, 5])
    hkl = ["100", "110", "111", "200", "210"]
    sc = {"a_sim": A, "a_nm": 11.4, "k": k.tolist(), "S": np.ones(50).tolist(),
          "I": np.exp(-k).tolist(), "q_nm": to_inverse_nm(k, A).tolist(),
          "peaks": [{"k": kk, "q_nm": float(to_inverse_nm(kk, A)), "hkl": h, "ratio": kk / peaks_k[0],
                     "deviation": 0.0, "S": 10.0, "I": 1.0} for kk, h in zip(peaks_k, hkl)]}
    rl = [1] * 5 + [int(round(row_mean))] * 5
    return {
        "statepoint": {"beta_epsilon": beta, "packing_fraction": 0.8, "well_range": 1.14, "N": 999,
                       "initial_state": "crystal", "replica": replica},
        "summary": {
            "N": 999, "discard": 0.0, "lattice": True, "energy_per_particle": 3 * beta,
            "vacancy": {"row_length_mean": row_mean, "row_length_p95": p95, "frac_localised": frac_loc,
                        "n_displaced_mean": row_mean - 1, "hops_per_sweep": 0.01},
            "orientation": {"inplane_fwhm_pooled_deg": fwhm_deg, "misorientation_fwhm_deg": 5.0,
                            "cubatic_mean": 0.99},
            "scattering": sc if with_peaks else None,
        },
        "series": {"step": list(range(10)), "row_length": rl},
    }


def fluid_job(beta, replica, sizes, cuboidality):
    return {
        "statepoint": {"beta_epsilon": beta, "packing_fraction": 0.3, "N": 1000,
                       "initial_state": "fluid", "replica": replica},
        "summary": {"N": 1000, "vacancy": None,
                    "clusters": {"largest_final": sizes[-1], "crystalline_fraction_final": 0.3,
                                 "n_clusters_final": 2,
                                 "largest_shapes_final": [{"size": sizes[-1], "cuboidality": cuboidality,
                                                           "kappa2": 0.01, "elongation": 1.1}]}},
        "series": {"step": [0, 100, 200], "largest_cluster": sizes},
    }


def verdicts(text):
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\| (\w+) \|.*\*\*(agree|disagree|not-measured)\*\* \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_report_with_replicas_and_single_jobs(tmp_path):
    jobs = [crystal_job(0.0, r, 5.0 + r, 0.1, 8.0, 6.0) for r in range(3)]
    jobs += [crystal_job(-0.5, r, 2.0, 0.6, 3.0, 5.0) for r in range(2)]
    jobs += [crystal_job(-1.0, 0, 1.0, 1.0, 1.0, 4.0)]  # one replica: error n/a
    jobs += [fluid_job(-2.0, 0, [1, 40, 300], 0.9), fluid_job(-2.0, 1, [2, 30, 250], 0.8)]
    path = write_report(jobs, tmp_path / "rep")
    text = Path(path).read_text()
    v = verdicts(text)
    assert set(v) == set(CLAIM_IDS)
    assert v["V1"] == "agree" and v["V2"] == "agree" and v["V3"] == "agree"
    assert v["E1"] == "agree" and v["S1"] == "agree" and v["S2"] == "agree"
    assert v["R1"] == "agree" and v["N1"] == "agree" and v["N2"] == "agree"
    assert v["F1"] == "not-measured" and v["O1"] == "not-measured"
    assert "6.00 ± 0.58 (n=3)" in text  # row length at beta eps = 0: mean 6, SEM 1/sqrt(3)
    assert "n=1, error n/a" in text
    assert "111 at 0.955" in text  # a peak the experiment does not list
    for fn in ("delocalisation.png", "row_length_distribution.png", "orientation_fwhm.png",
               "intensity.png", "cluster_growth.png"):
        assert (tmp_path / "rep" / fn).stat().st_size > 3000
        assert fn in text


def test_report_disagreements(tmp_path):
    # Hard cubes with a localised vacancy and attractive cubes with a long row contradict the seed.
    jobs = [crystal_job(0.0, 0, 1.0, 1.0, 1.0, 12.0), crystal_job(-1.0, 0, 4.0, 0.2, 6.0, 12.0)]
    text = Path(write_report(jobs, tmp_path)).read_text()
    v = verdicts(text)
    assert v["V1"] == "disagree" and v["V3"] == "disagree" and v["R1"] == "disagree"
    assert v["E1"] == "disagree"
    assert v["V2"] == "not-measured" and v["N1"] == "not-measured"


def test_report_with_no_or_partial_data(tmp_path):
    text = Path(write_report([], tmp_path / "empty")).read_text()
    v = verdicts(text)
    assert set(v) == set(CLAIM_IDS) and set(v.values()) == {"not-measured"}
    only_fluid = [fluid_job(-1.0, 0, [1, 2, 3], 0.5)]
    text = Path(write_report(only_fluid, tmp_path / "fluid")).read_text()
    assert verdicts(text)["N1"] == "disagree" and "cluster_growth.png" in text
    no_peaks = [crystal_job(0.0, 0, 5.0, 0.0, 8.0, 6.0, with_peaks=False)]
    text = Path(write_report(no_peaks, tmp_path / "nopk")).read_text()
    assert verdicts(text)["S1"] == "not-measured" and "intensity.png" not in text


def test_report_from_a_real_trajectory(tmp_path):
    pos, box, v = crystal_with_vacancy(n=6, vacancy=(2, 2, 2))
    frames = []
    for t in range(4):
        p = push_row(pos, box, 6, (2, 2, 2), 0, 1, 2, 0.4) if t % 2 else pos
        frames.append(gsd_frame(10 * t, box, p, np.tile([1.0, 0, 0, 0], (len(p), 1)), energy=-3.0 * len(p),
                                beta_epsilon=0.0))
    gsd_path = write_gsd(tmp_path / "t.gsd", frames)
    res = analyze_trajectory(str(gsd_path), discard=0.0, scattering_frames=1, k_max=13.5, sq_bins=80)
    job = {"statepoint": {"beta_epsilon": 0.0, "replica": 0, "initial_state": "crystal"}, **res}
    json_path = tmp_path / "job.json"
    json_path.write_text(json.dumps(job))
    assert main([str(tmp_path / "out"), str(json_path)]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "2.00 (n=1, error n/a)" in text  # row lengths 1, 3, 1, 3
    assert verdicts(text)["V1"] == "disagree"  # mean row length 2 < 3
    assert verdicts(text)["S2"] == "agree"


def test_families_are_not_mixed(tmp_path):
    jobs = [crystal_job(0.0, 0, 6.0, 0.0, 8.0, 6.0), crystal_job(-1.0, 0, 1.0, 1.0, 1.0, 5.0)]
    other = [crystal_job(0.0, r, 1.0, 1.0, 1.0, 6.0) for r in range(2)]  # denser crystal, other numbers
    for j in other:
        j["statepoint"]["packing_fraction"] = 0.85
    text = Path(write_report(jobs + other, tmp_path)).read_text()
    assert "Claims use the crystal runs with φ=0.8, λ=1.14, N=999" in text
    v = verdicts(text)
    assert v["V1"] == "agree"  # from the phi = 0.8 runs only (row length 6, not averaged with 1)
    assert "| φ=0.85, λ=1.14, N=999 | 0 | 2 |" in text and "| φ=0.8, λ=1.14, N=999 | 0 | 1 |" in text
