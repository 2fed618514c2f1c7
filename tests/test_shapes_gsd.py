"""GSD output of shaped particles: particles/type_shapes that viewers render (one ConvexPolyhedron
type per distinct particle, rounded ones with their rounding radius), read back exactly."""

import gsd.hoomd
import numpy as np
import pytest

import cubemc
from cubemc import lattices, shapes
from cubemc import trajectory as gsdio
from cubemc.contract import LOG_KEYS


def write(path, state):
    type_shapes, typeid = gsdio.shape_types(shapes.get(state.shape), state.shape_params)
    log = {key: 0 for key in LOG_KEYS}
    frame = gsdio.make_frame(state.positions, state.orientations, state.box, 0, log, type_shapes, typeid)
    gsdio.append(str(path), frame)


def test_polydisperse_cuboids_round_trip_exactly(tmp_path):
    sizes = lattices.draw_sizes(64, polydispersity=0.12, seed=3)
    params = lattices.shape_params("cuboid", sizes, edges=(1.0, 1.0, 1.2))
    state = lattices.simple_cubic(4, "cuboid", params, packing_fraction=0.4)
    write(tmp_path / "t.gsd", state)
    with gsd.hoomd.open(str(tmp_path / "t.gsd")) as traj:
        f = traj[0]
        assert len(f.particles.types) == len(f.particles.type_shapes) == 64
        entry = f.particles.type_shapes[int(f.particles.typeid[0])]
        assert entry["type"] == "ConvexPolyhedron" and len(entry["vertices"]) == 8
        np.testing.assert_array_equal(np.abs(entry["vertices"]).max(0) * 2, params[0])
    back = cubemc.State.from_gsd(str(tmp_path / "t.gsd"))
    assert back.shape == "cuboid"
    np.testing.assert_array_equal(back.shape_params, state.shape_params)


def test_unit_cube_frames_are_unchanged(tmp_path):
    state = cubemc.State.simple_cubic(3, 0.5)
    type_shapes, typeid = gsdio.shape_types(shapes.get("cube"), state.shape_params)
    assert type_shapes == [gsdio.CUBE_SHAPE] and not typeid.any()
    write(tmp_path / "c.gsd", state)
    with gsd.hoomd.open(str(tmp_path / "c.gsd")) as traj:
        assert traj[0].particles.types == ["A"]
    back = cubemc.State.from_gsd(str(tmp_path / "c.gsd"))
    assert back.shape == "cube"
    # the plain reader still refuses anything but unit cubes
    sizes = lattices.draw_sizes(27, polydispersity=0.1, seed=1)
    cuboids = lattices.simple_cubic(3, "cuboid", lattices.shape_params("cuboid", sizes), packing_fraction=0.3)
    write(tmp_path / "p.gsd", cuboids)
    with pytest.raises(cubemc.InputError, match="not a unit cube"):
        gsdio.read_frame(str(tmp_path / "p.gsd"))


def test_rounded_cuboids_and_spheres_round_trip_exactly(tmp_path):
    sizes = lattices.draw_sizes(27, polydispersity=0.1, seed=4)
    params = lattices.shape_params("rounded_cuboid", sizes, rounding=0.1)
    params[0] = [0.0, 0.0, 0.0, 0.55]  # a sphere
    state = lattices.simple_cubic(3, "rounded_cuboid", params, packing_fraction=0.3)
    write(tmp_path / "r.gsd", state)
    with gsd.hoomd.open(str(tmp_path / "r.gsd")) as traj:
        entries = traj[0].particles.type_shapes
    assert {"type": "Sphere", "diameter": 1.1} in entries
    rounded = [e for e in entries if e["type"] == "ConvexPolyhedron"]
    assert len(rounded) == 26 and all(e["rounding_radius"] > 0 for e in rounded)
    back = cubemc.State.from_gsd(str(tmp_path / "r.gsd"))
    assert back.shape == "rounded_cuboid"
    np.testing.assert_array_equal(back.shape_params, state.shape_params)
