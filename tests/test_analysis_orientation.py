"""Orientation measures on cubes rotated by known angles."""

import numpy as np
import pytest
from cubemc.analysis.geometry import cube_group, quat_from_axis_angle, quat_multiply
from cubemc.analysis.orientation import (
    GAUSS_FWHM,
    angle_distribution,
    cubatic_order,
    fwhm,
    inplane_angles,
    misorientation_angles,
    orientation_summary,
)

from cubemc.geometry import quaternion_matrices, random_quaternions


def test_cube_group_is_the_24_symmetries():
    g = cube_group()
    assert g.shape == (24, 4)
    assert np.allclose(g[0], [1, 0, 0, 0])
    m = quaternion_matrices(g)
    assert np.allclose(np.abs(m).sum(axis=1), 1)  # signed permutation matrices
    assert np.allclose(np.linalg.det(m), 1)
    flat = {tuple(np.rint(x).astype(int).ravel()) for x in m}
    assert len(flat) == 24


def test_misorientation_exact_for_known_rotations():
    rng = np.random.default_rng(0)
    n = 500
    theta = rng.uniform(0, np.radians(42), n)  # below 45 degrees the symmetric copies are farther
    q = quat_from_axis_angle(rng.normal(size=(n, 3)), theta)
    q = quat_multiply(q, cube_group()[rng.integers(0, 24, n)])  # cube symmetry must not matter
    q *= rng.choice([-1, 1], n)[:, None]  # nor the quaternion sign
    assert np.allclose(misorientation_angles(q), np.degrees(theta), atol=1e-6)


@pytest.mark.parametrize(
    "axis,angle,expected",
    [
        ([0, 0, 1], 60, 30),
        ([0, 0, 1], 45, 45),
        ([0, 0, 1], 90, 0),
        ([1, 0, 0], -100, 10),
        ([1, 1, 1], 120, 0),
        ([1, 1, 1], 60, 60),
    ],
)
def test_misorientation_special_angles(axis, angle, expected):
    q = quat_from_axis_angle(axis, np.radians(angle))[None]
    assert misorientation_angles(q)[0] == pytest.approx(expected, abs=1e-6)


def test_misorientation_relative_to_reference():
    ref = quat_from_axis_angle([1, 2, 3], 0.7)
    q = quat_multiply(ref, quat_from_axis_angle([0, 1, 0], np.radians(12)))[None]
    assert misorientation_angles(q, ref)[0] == pytest.approx(12, abs=1e-6)


def test_inplane_angle_about_z_and_other_planes():
    t = np.array([-40.0, -10.0, 0.0, 5.0, 30.0, 44.0, 50.0, 100.0])
    q = quat_from_axis_angle([0, 0, 1], np.radians(t))
    assert np.allclose(inplane_angles(q), [-40, -10, 0, 5, 30, 44, -40, 10], atol=1e-9)
    # A rotation about z is invisible in the xz and yz views.
    assert np.allclose(inplane_angles(q[:6], (0, 2)), 0, atol=1e-9)
    qy = quat_from_axis_angle([0, 1, 0], np.radians(20))[None]
    assert inplane_angles(qy, (0, 2))[0] == pytest.approx(-20)  # angle from x toward z
    assert inplane_angles(qy, (0, 1))[0] == pytest.approx(0, abs=1e-9)


def test_fwhm_of_known_distributions():
    rng = np.random.default_rng(2)
    sigma = 4.0
    x = rng.normal(0, sigma, 20000)
    assert fwhm(x) == pytest.approx(GAUSS_FWHM * sigma, rel=0.03)
    assert fwhm(x, "kde") == pytest.approx(GAUSS_FWHM * sigma, rel=0.04)
    u = rng.uniform(-5, 5, 20000)
    assert fwhm(u, "kde") == pytest.approx(10.0, rel=0.04)
    assert np.isnan(fwhm([1.0]))
    with pytest.raises(ValueError):
        fwhm(x, "nope")


def test_inplane_fwhm_of_gaussian_rotations_about_z():
    rng = np.random.default_rng(3)
    t = rng.normal(0, 4.0, 5000)
    q = quat_from_axis_angle([0, 0, 1], np.radians(t))
    assert fwhm(inplane_angles(q)) == pytest.approx(9.42, rel=0.05)
    centres, dens = angle_distribution(inplane_angles(q), bins=30, range_deg=(-15, 15))
    assert centres[np.argmax(dens)] == pytest.approx(0, abs=1.5)
    assert np.sum(dens) * 1.0 == pytest.approx(1.0, rel=0.02)  # density per degree, 1-degree bins


def test_misorientation_fwhm_of_maxwell_distribution():
    # Rotation vector with Gaussian components (sigma per axis): the angle follows a Maxwell
    # distribution; its FWHM is found numerically from the analytic density.
    rng = np.random.default_rng(4)
    sigma = 3.0
    rot = rng.normal(0, np.radians(sigma), (20000, 3))
    q = quat_from_axis_angle(rot, np.linalg.norm(rot, axis=1))
    r = np.linspace(0, 8, 200001)
    pdf = r**2 * np.exp(-(r**2) / 2)
    above = r[pdf >= pdf.max() / 2]
    expected = (above[-1] - above[0]) * sigma
    assert fwhm(misorientation_angles(q), "kde") == pytest.approx(expected, rel=0.05)
    assert misorientation_angles(q).mean() == pytest.approx(sigma * np.sqrt(8 / np.pi), rel=0.02)


def test_cubatic_order():
    aligned = np.tile([1.0, 0, 0, 0], (200, 1))
    assert cubatic_order(aligned)[0] > 0.99
    # Aligned modulo the cube group is still perfectly cubatic.
    sym = cube_group()[np.random.default_rng(5).integers(0, 24, 200)]
    assert cubatic_order(sym)[0] > 0.99
    rnd = random_quaternions(np.random.default_rng(6), 500)
    assert cubatic_order(rnd)[0] < 0.2
    assert cubatic_order(rnd, seed=3)[0] == cubatic_order(rnd, seed=3)[0]


def test_orientation_summary_keys():
    q = quat_from_axis_angle([0, 0, 1], np.radians(np.random.default_rng(7).normal(0, 3, 300)))
    s = orientation_summary(q)
    assert s["cubatic"] > 0.9
    assert s["inplane_fwhm_deg"] == pytest.approx(GAUSS_FWHM * 3, rel=0.15)
    # pooled over xy, xz, yz: two of three views see no rotation
    assert s["inplane_fwhm_pooled_deg"] < s["inplane_fwhm_deg"]
