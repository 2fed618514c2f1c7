"""Non-cube shapes through the engine's writers: checkpoints and GSD frames keep the shape."""

import numpy as np

import cubemc
from cubemc import lattices


def test_polydisperse_rounded_cubes_restart_exactly_and_round_trip_through_gsd(tmp_path):
    sizes = lattices.draw_sizes(64, polydispersity=0.12, seed=1)
    params = lattices.shape_params("rounded_cuboid", sizes, rounding=0.1)
    state = lattices.simple_cubic(4, "rounded_cuboid", params, packing_fraction=0.4)
    sim = cubemc.Simulation(state, -1.0, 1.14, seed=3, device="cpu")
    sim.run(20, trajectory=tmp_path / "t.gsd", period=10, checkpoint=tmp_path / "c.npz")
    again = cubemc.Simulation.from_checkpoint(tmp_path / "c.npz", device="cpu")
    assert again.shape.NAME == "rounded_cuboid" and again.bonds == sim.bonds
    again.run(10)
    sim.run(10)
    assert np.array_equal(again.positions, sim.positions)
    assert np.array_equal(again.state.shape_params, state.shape_params)
    back = cubemc.State.from_gsd(tmp_path / "t.gsd")
    assert back.shape == "rounded_cuboid"
    assert np.array_equal(back.shape_params, state.shape_params)
