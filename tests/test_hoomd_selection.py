"""The HOOMD backend's behaviour where HOOMD-blue is absent (these tests never need hoomd)."""

import subprocess
import sys

import pytest

import cubemc
from cubemc import hoomd_engine
from cubemc.workflow import EngineSelectionError
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


@pytest.mark.parametrize("version", ["4.6.0", "4.8.2", "4.8.2+55.g1234", "5.0.0", "6.1.1"])
def test_supported_hoomd_versions(version):
    hoomd_engine.check_version(version)


@pytest.mark.parametrize("version", ["3.11.0", "4.5.0", "7.0.0"])
def test_unsupported_hoomd_versions_are_refused(version):
    with pytest.raises(EngineSelectionError, match=f"found {version}.*conda-forge"):
        hoomd_engine.check_version(version)


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
