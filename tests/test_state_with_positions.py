"""State.with_positions: the State the constructor builds from new positions and everything else
of the old State, bit for bit."""

import numpy as np
import pytest

import cubemc
from cubemc import lattices
from cubemc.errors import OverlapError


@pytest.fixture
def cuboids():
    """Polydisperse cuboids in random orientations (a shape with parameters, quaternions that are
    not all the identity)."""
    sizes = lattices.draw_sizes(27, polydispersity=0.1, seed=2)
    params = lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.3))
    crystal = lattices.simple_cubic(3, "cuboid", params, packing_fraction=0.05)
    quat = cubemc.geometry.random_quaternions(np.random.default_rng(4), crystal.N)
    return cubemc.State(crystal.positions, quat, crystal.box, shape="cuboid", shape_params=params)


def test_new_positions_everything_else_kept(cuboids):
    rng = np.random.default_rng(5)
    positions = cuboids.positions + rng.uniform(-0.05, 0.05, (cuboids.N, 3))
    positions[0] += cuboids.box  # outside the box: wrapped as the constructor wraps
    moved = cuboids.with_positions(positions)
    by_hand = cubemc.State(
        positions,
        cuboids.orientations,
        cuboids.box,
        check=False,
        shape=cuboids.shape,
        shape_params=cuboids.shape_params,
    )
    for name in ("positions", "orientations", "box", "shape_params"):
        assert np.array_equal(getattr(moved, name), getattr(by_hand, name)), name
    assert moved.shape == "cuboid"
    assert np.array_equal(moved.orientations, cuboids.orientations)
    assert np.array_equal(moved.box, cuboids.box)
    assert np.array_equal(moved.shape_params, cuboids.shape_params)
    assert not np.array_equal(moved.positions, cuboids.positions)
    assert np.all(np.abs(moved.positions) <= moved.box / 2)
    # copies, as the constructor makes: the new State does not share the old one's arrays
    assert not any(np.shares_memory(getattr(moved, n), getattr(cuboids, n)) for n in ("orientations", "box"))
    assert not np.shares_memory(moved.shape_params, cuboids.shape_params)


def test_check_is_honoured(cuboids):
    positions = cuboids.positions.copy()
    positions[1] = positions[0] + 0.1  # two particles on top of each other
    assert cuboids.with_positions(positions).count_pairs()[1] >= 1  # check=False by default
    with pytest.raises(OverlapError):
        cuboids.with_positions(positions, check=True)
    assert cuboids.with_positions(cuboids.positions, check=True).count_pairs()[1] == 0
