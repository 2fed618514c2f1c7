"""The cross-job report on synthetic job summaries with known answers."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cubemc.analysis.claims import CLAIM_IDS
from cubemc.analysis.report import main, write_report
from cubemc.analysis.scattering import to_inverse_nm
from cubemc.analysis.synthetic import crystal_with_vacancy, gsd_frame, push_row, vacancy_job, write_gsd
from cubemc.analysis.trajectory import analyze_trajectory
from cubemc.analysis.verdicts import VERDICTS

A = 0.8 ** (-1 / 3)
VERDICT_RE = re.compile(r"^\| (\w+) \|.*\| \*\*(" + "|".join(VERDICTS) + r")\*\* \|")


def crystal_job(beta, excess, replica=0, fwhm_deg=6.0, with_peaks=True, **kw):
    """A synthetic vacancy run plus orientation and scattering summaries."""
    job = vacancy_job(beta, excess, replica=replica, seed=int(100 * abs(beta)), **kw)
    k = np.linspace(0.5, 15, 50)
    peaks_k = 2 * np.pi / A * np.sqrt([1, 2, 3, 4, 5])
    hkl = ["100", "110", "111", "200", "210"]
    sc = {
        "a_sim": A,
        "a_nm": 11.4,
        "k": k.tolist(),
        "S": np.ones(50).tolist(),
        "I": np.exp(-k).tolist(),
        "q_nm": to_inverse_nm(k, A).tolist(),
        "peaks": [
            {
                "k": kk,
                "q_nm": float(to_inverse_nm(kk, A)),
                "hkl": h,
                "ratio": kk / peaks_k[0],
                "deviation": 0.0,
                "S": 10.0,
                "I": 1.0,
            }
            for kk, h in zip(peaks_k, hkl, strict=True)
        ],
    }
    job["summary"]["orientation"] = {"inplane_fwhm_pooled_deg": fwhm_deg, "misorientation_fwhm_deg": 5.0}
    job["summary"]["scattering"] = sc if with_peaks else None
    frames = len(job["series"]["row_length"])
    job["series"]["inplane_fwhm"] = (
        fwhm_deg + 0.1 * np.random.default_rng(replica).normal(size=frames)
    ).tolist()
    return job


def fluid_job(beta, replica, sizes, cuboidality):
    return {
        "statepoint": {
            "beta_epsilon": beta,
            "packing_fraction": 0.3,
            "N": 1000,
            "initial_state": "fluid",
            "replica": replica,
        },
        "summary": {
            "N": 1000,
            "vacancy": None,
            "clusters": {
                "largest_final": sizes[-1],
                "crystalline_fraction_final": 0.3,
                "n_clusters_final": 2,
                "largest_shapes_final": [{"size": sizes[-1], "cuboidality": cuboidality}],
            },
        },
        "series": {"step": [0, 100, 200], "largest_cluster": sizes},
    }


def verdicts(text):
    return {m.group(1): m.group(2) for m in map(VERDICT_RE.match, text.splitlines()) if m}


def paper_like_study():
    """The paper's picture: hard cubes spread over a row, -0.5 a couple of sites, -1 as the limit."""
    limit = 0.2
    spreads = {0.0: 1.2, -0.5: 0.25, -1.0: 0.0, -2.0: 0.0, -3.0: 0.0}
    jobs = [crystal_job(b, limit + s, replica=r) for b, s in spreads.items() for r in range(2)]
    return jobs + [fluid_job(-2.0, 0, [1, 40, 300], 0.9), fluid_job(-2.0, 1, [2, 30, 250], 0.8)]


@pytest.fixture(scope="module")
def paper_report(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("paper")
    return outdir, Path(write_report(paper_like_study(), outdir)).read_text()


def test_report_of_a_study_that_reproduces_the_paper(paper_report):
    tmp_path, text = paper_report
    v = verdicts(text)
    assert set(v) == set(CLAIM_IDS)
    for cid in ("V1", "V2", "V3", "E1", "S1", "S2", "R1", "N1", "N2"):
        assert v[cid] == "agree", cid
    assert v["F1"] == v["O1"] == "not measured"
    # the summary comes first and names what agrees
    assert text.index("## In one minute") < text.index("## Seed claims")
    summary = text[text.index("## In one minute") : text.index("## Seed claims")]
    assert "Crystals of 999 cubes (10³" in summary and "βε = 0, -0.5, -1, -2, -3" in summary
    assert (
        "- **Agrees with the paper:**" in summary
        and "  - V3 (" in summary
        and "delocalisation.png" in summary
    )
    assert "111 at 0.955" in text  # a peak the experiment does not list
    for fn in (
        "delocalisation.png",
        "claim_V1.png",
        "claim_V2.png",
        "claim_V3.png",
        "orientation_fwhm.png",
        "intensity.png",
        "cluster_growth.png",
    ):
        assert (tmp_path / fn).stat().st_size > 3000, fn
        assert f"]({fn})" in text


def test_every_vacancy_verdict_carries_an_error_and_its_sample(paper_report):
    _, text = paper_report
    for line in text.splitlines():
        if re.match(r"\| (V1|V2|V3|E1) \|", line):
            assert re.search(r"\d ± \d", line), line
            assert "2 run(s), 800 frames" in line and "effective" in line


def test_report_disagreements(tmp_path):
    # hard cubes with a localised vacancy and a spread-out vacancy at -1 contradict the seed
    jobs = [crystal_job(0.0, 0.2), crystal_job(-1.0, 1.0, fwhm_deg=12.5), crystal_job(-3.0, 0.2)]
    v = verdicts(Path(write_report(jobs, tmp_path)).read_text())
    assert v["V1"] == v["V3"] == v["E1"] == v["R1"] == "disagree"
    assert v["V2"] == "not measured" and v["N1"] == "not measured"


def test_too_small_and_insufficient(tmp_path):
    small = [crystal_job(b, 0.2 + s, n_cells=6) for b, s in ((0.0, 1.0), (-0.5, 0.2), (-3.0, 0.0))]
    v = verdicts(Path(write_report(small, tmp_path / "small")).read_text())
    assert v["V1"] == v["V2"] == "too small to tell"
    no_limit = [crystal_job(0.0, 1.2), crystal_job(-1.0, 0.2)]
    text = Path(write_report(no_limit, tmp_path / "nolimit")).read_text()
    assert verdicts(text)["V3"] == "insufficient data" and "strong-attraction reference" in text


def test_report_with_no_or_partial_data(tmp_path):
    text = Path(write_report([], tmp_path / "empty")).read_text()
    v = verdicts(text)
    assert set(v) == set(CLAIM_IDS) and set(v.values()) <= {"not measured", "insufficient data"}
    text = Path(write_report([fluid_job(-1.0, 0, [1, 2, 3], 0.5)], tmp_path / "fluid")).read_text()
    assert verdicts(text)["N1"] == "disagree" and "cluster_growth.png" in text
    text = Path(write_report([crystal_job(0.0, 1.0, with_peaks=False)], tmp_path / "nopk")).read_text()
    assert verdicts(text)["S1"] == "not measured" and "intensity.png" not in text


def test_report_from_a_real_trajectory(tmp_path):
    pos, box, v = crystal_with_vacancy(n=6, vacancy=(2, 2, 2))
    frames = []
    for t in range(4):
        p = push_row(pos, box, 6, (2, 2, 2), 0, 1, 2, 0.4) if t % 2 else pos
        q = np.tile([1.0, 0, 0, 0], (len(p), 1))
        frames.append(gsd_frame(10 * t, box, p, q, energy=-3.0 * len(p), beta_epsilon=0.0))
    gsd_path = write_gsd(tmp_path / "t.gsd", frames)
    res = analyze_trajectory(str(gsd_path), discard=0.0, scattering_frames=1, k_max=13.5, sq_bins=80)
    job = {"statepoint": {"beta_epsilon": 0.0, "replica": 0, "initial_state": "crystal"}, **res}
    json_path = tmp_path / "job.json"
    json_path.write_text(json.dumps(job))
    assert main([str(tmp_path / "out"), str(json_path)]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "| 2.00 ± n/a |" in text  # row lengths 1, 3, 1, 3: too few frames for blocks
    assert verdicts(text)["V1"] == "too small to tell"  # a 6-site box holds rows of 3 sites
    assert verdicts(text)["S2"] == "agree"


def test_report_cli_bad_input(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert main([str(tmp_path), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "usage" in err and "cannot read" in err and "Traceback" not in err


def test_families_are_not_mixed(tmp_path):
    jobs = [crystal_job(0.0, 1.4), crystal_job(-3.0, 0.2)]
    other = [crystal_job(0.0, 0.2, replica=r) for r in range(2)]  # denser crystal, other numbers
    for j in other:
        j["statepoint"]["packing_fraction"] = 0.85
    text = Path(write_report(jobs + other, tmp_path)).read_text()
    assert "Claims use the crystal runs with φ=0.8, λ=1.14, N=999" in text
    assert verdicts(text)["V1"] == "agree"  # from the phi = 0.8 runs only
    assert re.search(r"\| φ=0.85, λ=1.14, N=999 \| 0 \| 2 \|", text)
    assert re.search(r"\| φ=0.8, λ=1.14, N=999 \| 0 \| 1 \|", text)


def test_summary_names_the_run_length_of_each_beta_epsilon(tmp_path):
    jobs = [crystal_job(0.0, 1.2, frames=200), crystal_job(-1.0, 0.2), crystal_job(-3.0, 0.2)]
    text = Path(write_report(jobs, tmp_path)).read_text()
    summary = text[text.index("## In one minute") : text.index("## Seed claims")]
    assert "200 frames over 19900 sweeps per run at βε = 0" in summary
    assert "400 frames over 39900 sweeps per run at βε = -1, -3" in summary


def _shape_rows():
    """vacancy_shape_rows-like rows: unit cubes (plain and r = 0), r = 0.1, 12 % polydisperse at
    phi 0.8 and N 999, plus families the right panel must leave out (other phi, other N)."""
    from cubemc.analysis.report import _family_label

    shapes = {
        (0.8, 999, ""): 0.30,
        (0.8, 999, "rounded_cuboid r=0"): 0.31,
        (0.8, 999, "rounded_cuboid r=0.1"): 0.20,
        (0.8, 999, "cuboid poly=0.12"): 0.10,
        (0.7, 999, ""): 0.50,
        (0.8, 215, ""): 0.40,
    }
    return [
        {
            "family": _family_label((phi, 1.14, n, shape)),
            "beta_epsilon": beta,
            "runs": 2,
            "spread": (value + beta, 0.01),
            "localised": (0.5, 0.1),
        }  # fmt: skip
        for (phi, n, shape), value in shapes.items()
        for beta in (0.0, -1.0)
    ]


def test_polydisperse_panel_pairs_the_polydisperse_cubes_with_unit_cubes_of_their_phi():
    from cubemc.analysis.report_figures import polydisperse_panel

    panel = {(x, r["family"], r["beta_epsilon"]) for x, r in polydisperse_panel(_shape_rows())}
    cube, r0, poly = "φ=0.8, λ=1.14, N=999", "φ=0.8, λ=1.14, N=999, rounded_cuboid r=0", "poly=0.12"
    expected = {(0.0, cube, b) for b in (0.0, -1.0)} | {(0.0, r0, b) for b in (0.0, -1.0)}
    expected |= {(1.0, f"φ=0.8, λ=1.14, N=999, cuboid {poly}", b) for b in (0.0, -1.0)}
    assert panel == expected


def test_rounding_panel_takes_one_phi_and_n_by_value():
    """The left panel's rounding series: the cubes and rounded cubes at phi 0.8 (by value, so not
    0.85, whose label also contains 'φ=0.8' and which has more rounded families) and N 999 (the
    phi 0.8 state with the most rounded families), never those at N 215, polydisperse cubes or
    cuboids."""
    from cubemc.analysis.report import _family_label
    from cubemc.analysis.report_figures import rounding_panel

    extra = [
        *((0.85, 999, f"rounded_cuboid r={r}") for r in (0.05, 0.1, 0.2)),  # more than at 0.8
        (0.8, 215, "rounded_cuboid r=0.05"),
        (0.8, 999, "rounded_cuboid r=0.2"),
        (0.8, 999, "cuboid 1:1.1:1.2"),
    ]
    rows = _shape_rows() + [
        {"family": _family_label((phi, 1.14, n, shape)), "beta_epsilon": 0.0, "spread": (0.1, 0.01)}
        for phi, n, shape in extra
    ]
    state = "φ=0.8, λ=1.14, N=999"
    expected = {state} | {f"{state}, rounded_cuboid r={r}" for r in ("0", "0.1", "0.2")}
    assert {r["family"] for r in rounding_panel(rows)} == expected
    assert rounding_panel(rows, phi=0.7) == [r for r in _shape_rows() if r["family"].startswith("φ=0.7,")]


def test_vacancy_shapes_figure_draws_both_panels(tmp_path, monkeypatch):
    """Both panels get one line per beta*eps; the right one at x = 0 (monodisperse) and 1."""
    from cubemc.analysis import report_figures

    saved = {}
    real_save = report_figures._save
    monkeypatch.setattr(
        report_figures, "_save", lambda fig, *a: saved.setdefault("fig", fig) and real_save(fig, *a)
    )
    name = report_figures.vacancy_shapes_figure(_shape_rows(), str(tmp_path))
    assert (tmp_path / name).stat().st_size > 10000
    left, right = saved["fig"].axes
    assert len(right.containers) == 2 and len(left.containers) == 2  # beta*eps 0 and -1
    for bars in right.containers:
        x = np.asarray(bars.lines[0].get_xdata()).tolist()
        assert x == [0.0, 0.0, 1.0]  # the plain and the r = 0 unit cubes, then the 12 % ones
    assert "φ = 0.8" in right.get_ylabel() and "0.53" not in right.get_ylabel()
    # the left panel: plain and r = 0 cubes, then r = 0.1, all at phi 0.8 and N 999 (not N 215)
    for bars in left.containers:
        assert np.asarray(bars.lines[0].get_xdata()).tolist() == [0.0, 0.0, 0.1]
    assert left.get_xlabel().endswith("φ = 0.8, λ = 1.14, N = 999")
