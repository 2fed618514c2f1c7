"""The HOOMD backend's behaviour where HOOMD-blue is absent (these tests never need hoomd)."""

import ast
import inspect
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cubemc
from cubemc import hoomd_engine
from cubemc.contract import SimulationProtocol
from cubemc.errors import EngineSelectionError
from cubemc.geometry import CUBE_VERTICES
from cubemc.hoomd_engine import (
    gaussian_rotation_spread,
    hoomd_rotate_size,
    native_rotate_size,
    native_rotation_spread,
)
from cubemc.hoomd_shapes import MAX_TYPES, hoomd_types
from cubemc.workflow.engine import get_engine


@pytest.fixture
def no_hoomd(monkeypatch):
    """Make `import hoomd` fail even where HOOMD-blue is installed."""
    monkeypatch.setitem(sys.modules, "hoomd", None)


def test_selecting_hoomd_without_hoomd_names_conda_forge(no_hoomd):
    with pytest.raises(EngineSelectionError, match="conda-forge"):
        get_engine("hoomd")


def test_adapter_module_imports_without_hoomd_and_fails_clearly_on_use(no_hoomd):
    with pytest.raises(EngineSelectionError, match="not importable.*conda-forge.*CUBEMC_ENGINE=native"):
        hoomd_engine.Engine()
    state = cubemc.State.simple_cubic(n=4, packing_fraction=0.7)
    with pytest.raises(EngineSelectionError, match="conda-forge"):
        hoomd_engine.HoomdSimulation(state, beta_epsilon=-0.5)


def test_importing_the_adapter_does_not_import_hoomd():
    code = "import sys, cubemc.hoomd_engine; print('hoomd' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "version", ["4.6.0", "4.8.2", "4.8.2+55.g1234", "5.0.0", "6.1.1", "7.0.0", "7.1.1", "7.9.0"]
)
def test_supported_hoomd_versions(version):
    hoomd_engine.check_version(version)


@pytest.mark.parametrize("version", ["3.11.0", "4.5.0", "8.0.0", "10.0.0"])
def test_unsupported_hoomd_versions_are_refused(version):
    with pytest.raises(EngineSelectionError, match=f"found {version}.*conda-forge.*<8"):
        hoomd_engine.check_version(version)


def test_adapter_has_the_protocols_members_with_the_same_signatures():
    """Static half of the contract (the isinstance check on a live object needs HOOMD)."""
    members = [m for m in vars(SimulationProtocol) if not m.startswith("_")]
    assert {"tune", "run", "save_checkpoint", "log_values", "sweep", "move_sizes"} <= set(members)
    for name in members:
        ours, theirs = getattr(hoomd_engine.HoomdSimulation, name), getattr(SimulationProtocol, name)
        assert isinstance(ours, property) == isinstance(theirs, property), name
        if callable(theirs):
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), (
                name
            )
    assigned = set(ast.unparse(ast.parse(inspect.getsource(hoomd_engine.HoomdSimulation))).split())
    for name in SimulationProtocol.__annotations__:  # instance attributes set in __init__
        assert f"self.{name}" in assigned, name


def test_adapter_imports_nothing_from_the_workflow():
    tree = ast.parse(Path(hoomd_engine.__file__).read_text())
    modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert modules and not [m for m in modules if "workflow" in m]


# ------------------------------------------------------------------ rotation move sizes
def _rotation_angle_cosines(relative):
    """cos(theta) of the rotations given as unit quaternions (w, x, y, z)."""
    return 2.0 * relative[:, 0] ** 2 - 1.0


@pytest.mark.parametrize("a", [0.05, 0.3, 0.7, 1.0, 1.6, 4.0])
def test_native_rotation_spread_is_exact(a):
    """Closed form against the move itself: q' = (q + a w)/|q + a w| from q = 1, w on S^3."""
    rng = np.random.default_rng(17)
    w = rng.normal(size=(400_000, 4))
    w /= np.linalg.norm(w, axis=1)[:, None]
    q = np.array([1.0, 0.0, 0.0, 0.0]) + a * w
    q /= np.linalg.norm(q, axis=1)[:, None]
    x = 1.0 - _rotation_angle_cosines(q)
    assert native_rotation_spread(a) == pytest.approx(x.mean(), abs=5 * x.std() / np.sqrt(x.size))


def test_native_rotation_spread_limits():
    assert native_rotation_spread(1e-4) == pytest.approx(1.5e-8, rel=1e-8)  # <theta^2>/2 = 3a^2/2
    assert native_rotation_spread(1.0) == 1.0  # theta has density (2/pi) sin^2(theta) at a = 1
    assert native_rotation_spread(1e8) == pytest.approx(1.5)  # uniform rotations: <1 - cos> = 3/2


@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.0, 2.5])
def test_gaussian_rotation_spread_matches_hoomd7_moves(sigma):
    """Quadrature against HOOMD >= 7's move: s ~ N(0, sigma^2 I_3) redrawn while |s| > pi."""
    rng = np.random.default_rng(5)
    s = rng.normal(scale=sigma, size=(600_000, 3))
    theta = np.linalg.norm(s, axis=1)
    x = 1.0 - np.cos(theta[theta <= np.pi])
    assert gaussian_rotation_spread(sigma) == pytest.approx(x.mean(), abs=5 * x.std() / np.sqrt(x.size))
    assert gaussian_rotation_spread(1e6) == pytest.approx(1 + 6 / np.pi**2)  # uniform in the pi-ball


@pytest.mark.parametrize("a", [1e-6, 1e-3, 0.1, 0.3, 0.5, 1.0, 2.0, 30.0])
def test_hoomd7_size_has_the_native_spread_and_round_trips(a):
    sigma = hoomd_rotate_size(a, gaussian=True)
    assert gaussian_rotation_spread(sigma) == pytest.approx(native_rotation_spread(a), rel=1e-12)
    assert native_rotate_size(sigma, gaussian=True) == pytest.approx(a, rel=1e-9)
    assert hoomd_rotate_size(native_rotate_size(sigma, True), True) == pytest.approx(sigma, rel=1e-12)
    if a <= 0.1:  # both are <theta^2>/2 = 3 a^2 / 2 to leading order, so the sizes agree
        assert sigma == pytest.approx(a, rel=1e-3)


def test_hoomd7_sizes_are_monotonic_and_the_tuning_cap_is_known():
    sizes = [hoomd_rotate_size(a, True) for a in np.linspace(0.01, 5.0, 60)]
    assert np.all(np.diff(sizes) > 0)
    assert hoomd_rotate_size(1.0, True) == pytest.approx(1.01736, abs=1e-5)  # docs/hoomd.md
    assert native_rotate_size(50.0, True) == math.inf  # wider than any native move


def test_hoomd_before_7_uses_the_native_definition_unchanged():
    for a in (1e-3, 0.25, 1.0, 3.0):
        assert hoomd_rotate_size(a, gaussian=False) == a == native_rotate_size(a, gaussian=False)


def _gpu(usable, reason="no device"):
    def ask():
        ask.calls += 1
        return usable, reason

    ask.calls = 0
    return ask


def test_square_well_on_gpu_is_a_device_error():
    ask = _gpu(True)
    with pytest.raises(cubemc.DeviceError, match="CPU only.*MPI.*hard cubes.*native engine"):
        hoomd_engine.resolve_device("gpu", -0.5, ask)
    assert hoomd_engine.resolve_device("auto", -0.5, ask) == "cpu"  # auto: CPU for square wells
    assert hoomd_engine.resolve_device("cpu", -0.5, ask) == "cpu"
    assert ask.calls == 0


def test_hard_cubes_may_use_hoomds_gpu():
    assert hoomd_engine.resolve_device("gpu", 0.0, _gpu(True)) == "gpu"
    assert hoomd_engine.resolve_device("auto", 0.0, _gpu(True)) == "gpu"
    assert hoomd_engine.resolve_device("auto", 0.0, _gpu(False)) == "cpu"
    with pytest.raises(cubemc.DeviceError, match="cannot use a GPU here \\(no device\\)"):
        hoomd_engine.resolve_device("gpu", 0.0, _gpu(False))


def test_unknown_device_is_a_device_error():
    with pytest.raises(cubemc.DeviceError, match="unknown device 'tpu'"):
        hoomd_engine.resolve_device("tpu", 0.0, _gpu(True))


# ------------------------------------------------------------------ shapes as HOOMD types
def _state(shape, params, n=4):
    pos = [[2.5 * k, 0.0, 0.0] for k in range(n)]
    return cubemc.State(pos, [[1, 0, 0, 0]] * n, [12.0] * 3, check=False, shape=shape, shape_params=params)


def test_unit_cubes_are_one_type_with_the_unscaled_well():
    types = hoomd_types(cubemc.State.simple_cubic(n=4, packing_fraction=0.5))
    assert types.integrator == "ConvexPolyhedron" and types.names == ("A",)
    assert np.all(types.typeid == 0) and types.sizes.tolist() == [1.0]
    assert types.shape_entries[0] == {"vertices": CUBE_VERTICES.tolist()}
    assert types.well_ranges(1.14) == {("A", "A"): 1.14}  # exactly the unit cubes' well


def test_cuboids_get_one_type_per_distinct_particle():
    edges = [[1.0, 1.0, 1.2], [1.1, 1.1, 1.32], [1.0, 1.0, 1.2], [0.9, 0.9, 1.08]]
    types = hoomd_types(_state("cuboid", edges))
    assert types.integrator == "ConvexPolyhedron" and types.names == ("A0", "A1", "A2")
    for i, row in enumerate(edges):  # each particle's type has its own half edges as vertices
        vertices = np.array(types.shape_entries[types.typeid[i]]["vertices"])
        assert vertices.shape == (8, 3)
        assert np.array_equal(np.abs(vertices), np.tile(0.5 * np.array(row), (8, 1)))
        assert types.sizes[types.typeid[i]] == pytest.approx(sum(row) / 3)
    ranges = types.well_ranges(1.2)
    assert len(ranges) == 6  # every unordered pair of the 3 types, itself included
    s = types.sizes
    for (a, b), r in ranges.items():
        assert r == pytest.approx(1.2 * (s[int(a[1:])] + s[int(b[1:])]) / 2, rel=1e-15)


def test_rounded_cuboids_carry_their_core_and_sweep_radius():
    params = [[0.8, 0.8, 0.8, 0.1], [0.0, 0.0, 0.0, 0.6], [1.0, 1.0, 0.0, 0.2], [1.0, 0.0, 0.0, 0.3]]
    types = hoomd_types(_state("rounded_cuboid", params))
    assert types.integrator == "ConvexSpheropolyhedron"
    by_particle = [types.shape_entries[t] for t in types.typeid]
    assert [len(e["vertices"]) for e in by_particle] == [8, 1, 4, 2]  # cube, sphere, plate, rod
    assert [e["sweep_radius"] for e in by_particle] == [0.1, 0.6, 0.2, 0.3]
    assert np.abs(by_particle[0]["vertices"]).max() == 0.4
    assert by_particle[1]["vertices"] == [[0.0, 0.0, 0.0]]
    assert [types.sizes[t] for t in types.typeid] == pytest.approx([1.0, 1.2, 2 / 3 + 0.4, 1 / 3 + 0.6])


def test_shapes_hoomd_cannot_run_are_refused_in_one_line():
    import sphere_shape  # the test-only shape of tests/sphere_shape.py

    cubemc.shapes.register(sphere_shape)
    state = cubemc.State([[0, 0, 0], [2, 0, 0]], [[1, 0, 0, 0]] * 2, [8.0] * 3, False, sphere_shape.NAME)
    with pytest.raises(cubemc.InputError, match="runs the shapes cube, cuboid, rounded_cuboid, not 'test_sp"):
        hoomd_types(state)
    sizes = 1.0 + 0.001 * np.arange(MAX_TYPES + 1)
    many = _state("cuboid", np.repeat(sizes, 3).reshape(-1, 3), n=MAX_TYPES + 1)
    with pytest.raises(cubemc.InputError, match=f"{MAX_TYPES + 1} \\(more than {MAX_TYPES}.*native") as err:
        hoomd_types(many)
    assert "\n" not in str(err.value)
    assert (
        len(hoomd_types(_state("cuboid", np.repeat(sizes[:-1], 3).reshape(-1, 3), n=MAX_TYPES)).names) == 64
    )
