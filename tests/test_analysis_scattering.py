"""S(q), the cube form factor and peak analysis on lattices with known peaks."""

import numpy as np
import pytest
from cubemc.analysis.geometry import sc_lattice
from cubemc.analysis.scattering import (
    MEASURED_PEAKS_NM,
    SC_RATIOS,
    cube_form_factor,
    find_peaks,
    index_sc_peaks,
    intensity,
    peak_ratios,
    plot_intensity,
    refine_peaks,
    structure_factor,
    to_inverse_nm,
)


@pytest.fixture(scope="module")
def sc_sq():
    pos, box = sc_lattice(6, 1.0)
    k, S = structure_factor(pos, box, k_max=15.0, bins=150)
    return k, S


def test_sc_bragg_peaks_at_known_positions(sc_sq):
    k, S = sc_sq
    kp, h = find_peaks(k, S)
    width = k[1] - k[0]
    expected = 2 * np.pi * np.sqrt([1, 2, 3, 4, 5])
    assert len(kp) == 5
    assert np.allclose(kp, expected, atol=width)
    assert np.allclose(peak_ratios(kp), SC_RATIOS, rtol=0.02)
    assert [h for _, h, _ in index_sc_peaks(kp, 1.0)] == ["100", "110", "111", "200", "210"]
    # No k = 0 term and a zero background between Bragg shells.
    assert np.nanmin(S) < 1e-3
    assert np.isclose(k[np.nanargmax(S)], expected, atol=width).any()  # top bin on a Bragg shell


def test_lattice_constant_scales_peaks():
    a = 0.8 ** (-1 / 3)
    pos, box = sc_lattice(5, a, vacancies=[7])
    rng = np.random.default_rng(0)
    k, S = structure_factor(pos + rng.normal(0, 0.04, pos.shape), box, k_max=9.5, bins=80)
    kp, _ = find_peaks(k, S)
    assert kp[0] == pytest.approx(2 * np.pi / a, abs=k[1] - k[0])
    assert kp[1] == pytest.approx(2 * np.pi / a * np.sqrt(2), abs=k[1] - k[0])


def test_nan_bins_are_handled():
    k = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = np.array([0.0, np.nan, 5.0, 1.0, np.nan, 0.0])
    kp, h = find_peaks(k, y)
    assert list(kp) == [3.0] and list(h) == [5.0]
    assert len(find_peaks(k, np.full(6, np.nan))[0]) == 0


def test_form_factor_normalised_and_guinier():
    assert cube_form_factor(0.0)[0] == pytest.approx(1.0)
    q = np.array([0.1, 0.3, 0.6])
    rg2 = 0.25  # unit cube: 3 * 1/12
    assert np.allclose(cube_form_factor(q), np.exp(-(q**2) * rg2 / 3), rtol=2e-4)
    assert np.allclose(cube_form_factor(q), 1 - q**2 * rg2 / 3, atol=2e-3)
    # Scaling: P(q; edge e) = P(q e; 1)
    assert cube_form_factor(2.0, edge=1.5)[0] == pytest.approx(cube_form_factor(3.0)[0])
    # Along an axis the amplitude vanishes at q = 2 pi; orientation averaging fills the zero in but
    # P is far below 1 there and decays overall.
    p = cube_form_factor(np.array([2 * np.pi, 20.0]))
    assert p[0] < 0.1 and p[1] < p[0]


def test_intensity_and_nm_mapping(sc_sq, tmp_path):
    k, S = sc_sq
    i_q = intensity(k, S)
    ok = np.isfinite(S)
    assert np.all(i_q[ok] <= S[ok] + 1e-9)
    a = 0.8 ** (-1 / 3)
    q100 = to_inverse_nm(2 * np.pi / a, a)
    assert q100 == pytest.approx(2 * np.pi / 11.4)
    assert q100 == pytest.approx(MEASURED_PEAKS_NM[0], abs=0.005)
    assert to_inverse_nm(2 * np.pi / a, a, a_nm=12.3) == pytest.approx(2 * np.pi / 12.3)
    out = plot_intensity(to_inverse_nm(k, 1.0), i_q, tmp_path / "iq.png", S=S)
    assert (tmp_path / "iq.png").stat().st_size > 1000 and out == tmp_path / "iq.png"


def test_index_sc_peaks_rejects_non_sc():
    a = 1.0
    out = index_sc_peaks([2 * np.pi * 1.2, 2 * np.pi * np.sqrt(6)], a)
    assert out[0][1] is None
    assert out[1][1] == "211"


def test_refined_peaks_and_particle_subset():
    a = 0.8 ** (-1 / 3)
    pos, box = sc_lattice(7, a, vacancies=[0])
    pos = pos + np.random.default_rng(1).normal(0, 0.04, pos.shape)
    # A 150-cube random subset still shows the Bragg peaks where they belong.
    k, S = structure_factor(pos, box, k_max=13.5, bins=60, max_particles=150)
    kp, _ = find_peaks(k, S, k_from=0.8 * 2 * np.pi / a)
    assert len(kp) >= 4
    exact = refine_peaks(pos, box, kp, k[1] - k[0], max_particles=200)
    assert [h for _, h, _ in index_sc_peaks(exact, a)][:4] == ["100", "110", "111", "200"]
    ideal = 2 * np.pi / a * np.sqrt([1, 2, 3, 4])
    # Binned positions are off by up to half a bin; refined ones hit |G| exactly.
    assert np.abs(kp[:4] - ideal).max() > 1e-3
    assert np.allclose(exact[:4], ideal, rtol=2e-3)


def test_index_sc_peaks_handles_any_order_including_fluid_noise():
    """Peaks beyond (300) and between allowed orders (e.g. m = 7, 12.9) are indexed or left
    unassigned, never looped on (fluid S(q) has such peaks)."""
    from cubemc.analysis.scattering import index_sc_peaks, sc_reflection

    assert [sc_reflection(s) for s in (1, 2, 3, 4, 5, 6, 8, 9, 12, 14)] == [
        "100",
        "110",
        "111",
        "200",
        "210",
        "211",
        "220",
        "300",
        "222",
        "321",
    ]
    assert sc_reflection(7) is None and sc_reflection(15) is None and sc_reflection(28) is None
    a = 1.1
    k = 2 * np.pi / a * np.sqrt(np.array([12.0, 7.0, 12.9, 40.0]))
    out = index_sc_peaks(k, a)
    assert out[0][1] == "222"
    assert out[1][1] is None  # 7 lies between 6 and 8, 8 % off both
    assert out[2][1] == "320" and out[3][1] == "620"  # 12.9 is 0.4 % below 13
