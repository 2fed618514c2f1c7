"""Orthoslices through a vacancy."""

import numpy as np
import pytest
from cubemc.analysis.geometry import quat_from_axis_angle
from cubemc.analysis.orthoslice import orthoslice_data, plot_orthoslices
from cubemc.analysis.synthetic import crystal_with_vacancy, push_row
from cubemc.analysis.vacancy import LatticeVacancies

N = 6
VAC = (2, 3, 4)


@pytest.fixture()
def config():
    pos, box, v = crystal_with_vacancy(n=N, vacancy=VAC)
    pos = push_row(pos, box, N, VAC, 0, 1, 2, 0.4)  # row along x
    q = quat_from_axis_angle([0, 0, 1], np.radians(np.linspace(-10, 10, len(pos))))
    lv = LatticeVacancies(box, n_cells=N).compute(pos)
    return pos, q, box, lv


def test_slice_contents(config):
    pos, q, box, lv = config
    counts = {}
    for plane in ("xy", "xz", "yz"):
        d = orthoslice_data(pos, q, lv, plane)
        assert len(d["xy"]) == N * N - 1  # one layer minus the vacancy
        assert np.allclose(d["empty"], [[0.0, 0.0]], atol=1e-9)  # centred on the vacancy
        counts[plane] = int(d["displaced"].sum())
    assert counts == {"xy": 2, "xz": 2, "yz": 0}
    d = orthoslice_data(pos, q, lv, "xy")
    # Rotation about z shows up in the xy view, not in the others.
    assert np.ptp(d["angle"]) > 15
    assert np.allclose(orthoslice_data(pos, q, lv, "yz")["angle"], 0, atol=1e-6)
    # The displaced cubes sit at x = +1 and +2 sites minus 0.4 a, y = 0.
    a = box[0] / N
    xs = np.sort(d["xy"][d["displaced"]][:, 0])
    # (relative to the drift-corrected site: the row shifts the crystal mean by 0.8 a / 215)
    assert np.allclose(xs, [0.6 * a, 1.6 * a], atol=0.01)
    assert np.allclose(d["xy"][d["displaced"]][:, 1], 0, atol=0.01)


def test_plot_writes_png(config, tmp_path):
    pos, q, box, lv = config
    out = tmp_path / "slices.png"
    plot_orthoslices(pos, q, box, lattice=lv, outfile=out, title="test")
    assert out.stat().st_size > 5000
    fig = plot_orthoslices(pos, q, box)  # computes the lattice itself
    assert len(fig.axes) == 3
    assert "2 displaced" in fig.axes[0].get_title()
