"""Orthoslices through a vacancy."""

import numpy as np
import pytest
from cubemc.analysis.geometry import quat_from_axis_angle
from cubemc.analysis.orthoslice import WINDOW_MARGIN, orthoslice_data, periodic_images, plot_orthoslices
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


def test_periodic_images_fill_the_window_edges(config):
    """Each lattice position inside the drawn window shows a cube, the vacancy excepted.

    Centred on the vacancy of a 6-cell crystal, the layer spans sites -3a .. 2a from the
    centre; the column at -3a (= -L/2) must reappear at +3a, or the right and top edges of
    every panel would look like a row of vacancies.
    """
    pos, q, box, lv = config
    a = box[0] / N
    half = box[0] / 2 + WINDOW_MARGIN
    k = np.arange(-4, 5)
    visible = k[np.abs(k * a) < half]
    grid = np.array([(i * a, j * a) for i in visible for j in visible if (i, j) != (0, 0)])
    for plane in ("xy", "xz", "yz"):
        d = orthoslice_data(pos, q, lv, plane)
        drawn = np.concatenate([d["xy"], d["image_xy"]])
        dist = np.linalg.norm(grid[:, None, :] - drawn[None, :, :], axis=2).min(axis=1)
        assert dist.max() < 0.5 * a  # no lattice position in the window is left empty
        # Without the images the far edge column is empty: the test can fail.
        alone = np.linalg.norm(grid[:, None, :] - d["xy"][None, :, :], axis=2).min(axis=1)
        assert (alone > 0.5 * a).sum() >= 2 * len(visible) - 1
        # An image is its cube shifted by whole box edges and keeps its flags for drawing.
        shift = d["image_xy"] - d["xy"][d["image_of"]]
        assert np.allclose(shift / box[0], np.rint(shift / box[0]), atol=1e-9)
        assert np.all(np.abs(np.rint(shift / box[0])).sum(axis=1) >= 1)
        assert len(d["empty_images"]) == 0  # the vacancy sits in the middle: no image in view


def test_periodic_images_of_points():
    period = np.array([10.0, 8.0])
    xy = np.array([[-4.9, 0.0], [4.9, 3.9], [0.0, 0.0]])
    idx, out = periodic_images(xy, period, margin=0.5)
    got = sorted((int(i), round(float(x), 6), round(float(y), 6)) for i, (x, y) in zip(idx, out))
    # The left-edge point reappears on the right; the corner point on three sides; the centre never.
    assert got == [(0, 5.1, 0.0), (1, -5.1, -4.1), (1, -5.1, 3.9), (1, 4.9, -4.1)]


def test_plot_draws_the_images(config):
    pos, q, box, lv = config
    fig = plot_orthoslices(pos, q, box, lattice=lv)
    d = orthoslice_data(pos, q, lv, "xy")
    polys = fig.axes[0].collections[0].get_paths()
    assert len(polys) == len(d["xy"]) + len(d["image_xy"]) > len(d["xy"])
